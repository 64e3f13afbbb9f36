"""Rampart's signed documents checked locally, and the strict JSON that verification needs.

A subject's export (``GET /v1/subjects/{id}/export``), an erasure certificate
(``GET /v1/erasures/{id}``), a disposal certificate, a compliance report (its JSON form) and an
evidence package's manifest are JSON objects with a ``signature_b64`` member: the standard-base64
Ed25519 signature, by the audit log's key (``GET /v1/audit/public-key``), over the RFC 8785 (JCS)
form of the object without ``signature_b64``. Nothing else is signed (no key name, no context),
so member order and white space do not matter.

Verify with a key you hold (pinned in your configuration): a key fetched from the server whose
document you check proves only that the server signed what it serves.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel

from . import note

#: The member that carries a document's signature.
SIGNATURE_MEMBER = "signature_b64"


class JSONError(ValueError):
    """JSON that verification refuses: a duplicate key, NaN or Infinity, or a value RFC 8785
    cannot canonicalize (a number beyond IEEE 754 doubles, an integer above 2**53)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JSONError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise JSONError(f"{name} is not JSON")


def loads(text: str | bytes) -> Any:
    """Parses JSON refusing what two readers could read differently: a key given twice in one
    object (Python keeps the last, others the first), ``NaN`` and ``Infinity``. Raises
    ``JSONError`` (a ``ValueError``) for those and for text that is not JSON."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except JSONError:
        raise
    except (ValueError, RecursionError) as e:
        raise JSONError(f"not JSON: {e}") from None


def canonical(value: Any) -> bytes:
    """The RFC 8785 (JCS) form of ``value``; ``JSONError`` when it has none (NaN, Infinity,
    an integer beyond 2**53, a non-string key, a value JSON does not have)."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as e:
        raise JSONError(f"no RFC 8785 form: {type(e).__name__}") from None


def signing_input(document: Mapping[str, Any]) -> bytes:
    """The bytes a document's signature covers: the RFC 8785 form of ``document`` without
    ``signature_b64``."""
    return canonical({k: v for k, v in document.items() if k != SIGNATURE_MEMBER})


def _as_mapping(document: Mapping[str, Any] | BaseModel) -> Mapping[str, Any]:
    if isinstance(document, BaseModel):
        # Every member as the server sent it (extras kept), none the model merely defaults.
        dumped: dict[str, Any] = document.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return dumped
    return document


def verify_document(document: Mapping[str, Any] | BaseModel, public_key: str) -> bool:
    """Whether ``document`` carries a valid ``signature_b64`` by ``public_key`` (the log's
    ``verifier_key`` string or raw ``public_key_b64``) over its RFC 8785 form without that
    member. ``document`` is the parsed JSON (parse files with ``rampart.signed.loads``, which
    refuses duplicate keys) or the client's answer model (``SubjectExport``, ``Erasure``,
    ``Report``, ``DisposalCertificate``), whose members are dumped as received. ``False``
    for a missing or malformed signature, another key, any change to the content, or content
    with no RFC 8785 form; a public key that does not parse raises ``note.NoteError``."""
    _, raw_key = note.parse_key(public_key)
    mapping = _as_mapping(document)
    if not isinstance(mapping, Mapping):
        return False
    encoded = mapping.get(SIGNATURE_MEMBER)
    if not isinstance(encoded, str):
        return False
    try:
        signature = base64.b64decode(encoded, validate=True)
        data = signing_input(mapping)
    except (binascii.Error, JSONError, ValueError):
        return False
    if len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, data)
    except InvalidSignature:
        return False
    return True


def verify_file(path: str | os.PathLike[str], public_key: str) -> bool:
    """``verify_document`` of a JSON file (as saved from the API), parsed strictly: a file
    with a duplicate key, NaN or Infinity does not verify."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        document = loads(raw)
    except JSONError:
        return False
    return isinstance(document, dict) and verify_document(document, public_key)
