"""What the sync and async clients share: the retry policy, request shapes, answer parsing."""

from __future__ import annotations

import base64
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from . import merkle, note, signed
from .errors import from_response, retry_after
from .models import Checkpoint, InclusionProof, Key, Outcome, RedactResult

T = TypeVar("T")

#: Methods retried on 429 and 503 (and on a failed connection): repeating them changes nothing.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
#: Longest wait between two attempts, whatever Retry-After says.
MAX_DELAY_SECONDS = 30.0
USER_AGENT = "rampart-client-python/0.1.0"


class Token:
    """A credential that never prints: ``repr`` and ``str`` show ``[REDACTED]``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("token: an API key (rk_…) or a session token is required")
        self._value = value

    def header(self) -> dict[str, str]:
        """The Authorization header carrying it."""
        return {"authorization": f"Bearer {self._value}"}

    def __repr__(self) -> str:
        return "Token([REDACTED])"

    __str__ = __repr__


def should_retry(method: str, response: httpx.Response, attempt: int, retries: int) -> bool:
    """Whether an idempotent call answered 429 or 503 gets another attempt."""
    return method in IDEMPOTENT and response.status_code in (429, 503) and attempt < retries


def delay(response: httpx.Response | None, attempt: int, backoff: float) -> float:
    """Seconds before the next attempt: Retry-After when given, else exponential backoff."""
    given = retry_after(response) if response is not None else None
    wait = given if given is not None else backoff * (2**attempt)
    return max(0.0, min(wait, MAX_DELAY_SECONDS))


def answer(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer (``None`` when empty); a problem becomes its exception."""
    if response.status_code >= 400:
        raise from_response(response)
    return response.json() if response.content else None


#: The query parameters of ``GET /v1/audit/entries`` besides ``limit`` and ``cursor``.
ENTRY_FILTERS = frozenset(
    {
        "actor_id",
        "actor_type",
        "action",
        "resource_type",
        "resource_id",
        "team_id",
        "status",
        "tag",
        "subject_id",
        "since",
        "until",
        "from_seq",
        "to_seq",
        "order",
    }
)

#: Members the API adds to an entry outside its leaf: the leaf hash itself, and the opened
#: ``personal`` data shown to ``gdpr:read`` callers.
OUTSIDE_LEAF = frozenset({"leaf_hash", "personal_plain"})

log = logging.getLogger("rampart.audit")


def entry_leaf(entry: Mapping[str, Any]) -> bytes:
    """The leaf hash of an entry as ``GET /v1/audit/entries/{seq}`` returns it, computed here:
    SHA-256(0x00 || RFC 8785 form of the entry without ``leaf_hash`` and ``personal_plain``).
    Raises ``signed.JSONError`` when the entry has no RFC 8785 form."""
    body = {k: v for k, v in entry.items() if k not in OUTSIDE_LEAF}
    return merkle.leaf_hash(signed.canonical(body))


def proves_entry(
    checkpoint: Checkpoint, proof: InclusionProof, seq: int, entry: Mapping[str, Any]
) -> bool:
    """Whether ``proof`` proves ``entry`` (as the server returned it) is entry ``seq`` of
    ``checkpoint``'s tree: the proof is for ``seq``, its leaf hash is the one computed here from
    the entry's content and the one the entry carries, and its path leads to the root."""
    if proof.seq != seq or entry.get("seq") != seq or isinstance(entry.get("seq"), bool):
        return False
    try:
        computed = entry_leaf(entry).hex()
    except signed.JSONError:
        return False
    claimed = entry.get("leaf_hash")
    return (
        isinstance(claimed, str)
        and hmac.compare_digest(computed, claimed)
        and hmac.compare_digest(computed, proof.leaf_hash)
        and proves_inclusion(checkpoint, proof)
    )


def strict_answer(response: httpx.Response) -> Any:
    """``answer``, parsed strictly (``signed.loads``: no duplicate key, NaN or Infinity), for
    answers whose content is verified."""
    if response.status_code >= 400:
        raise from_response(response)
    return signed.loads(response.content)


def warn_unpinned(key_id: str) -> None:
    """Logs (once per client, by the caller) that signatures are checked with the key the
    server itself serves."""
    log.warning(
        "audit signatures are checked with the key the server serves (key_id %s), not a pinned "
        "one: a compromised server could sign its own forgeries. Pin the key: "
        "Rampart(..., audit_public_key=...)",
        key_id,
    )


def proves_inclusion(checkpoint: Checkpoint, proof: InclusionProof) -> bool:
    """Whether ``proof`` puts its leaf in the tree ``checkpoint`` names, checked here."""
    if proof.tree_size != checkpoint.tree_size:
        return False
    try:
        return merkle.verify_inclusion(
            proof.seq,
            proof.tree_size,
            bytes.fromhex(proof.leaf_hash),
            [bytes.fromhex(h) for h in proof.hashes],
            bytes.fromhex(checkpoint.root_hash),
        )
    except ValueError:
        return False


def key_path(name: str, action: str = "") -> str:
    """``/v1/keys/{name}[/action]`` with the name escaped: it never becomes a path of its own."""
    base = f"/v1/keys/{quote(name, safe='')}"
    return f"{base}/{action}" if action else base


def checkpoint_signed(checkpoint: Checkpoint, public_key: str) -> bool:
    """Whether the checkpoint's note is signed by ``public_key`` and matches its fields."""
    try:
        signed = note.verify_note(checkpoint.note, public_key)
    except (note.NoteError, ValueError):
        return False
    return (
        signed.tree_size == checkpoint.tree_size
        and signed.root_hash.hex() == checkpoint.root_hash
        and signed.origin == checkpoint.origin
    )


def b64(data: bytes) -> str:
    """Standard base64 with padding, as the API takes binary values."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    return base64.b64encode(bytes(data)).decode()


def crypt_item(
    field: str,
    value: str,
    associated_data: bytes | None,
    ttl_seconds: int | None = None,
    at_time: int | None = None,
) -> dict[str, Any]:
    """One encrypt/decrypt/rewrap item (the single body, or an element of a batch)."""
    item: dict[str, Any] = {field: value}
    if associated_data is not None:
        item["associated_data"] = b64(associated_data)
    if ttl_seconds is not None:
        if ttl_seconds < 0:
            raise ValueError("ttl_seconds: must be 0 or more")
        item["ttl_seconds"] = int(ttl_seconds)
    if at_time is not None:
        item["at_time"] = int(at_time)
    return item


def batch_body(items: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"batch": items}``, refused here when empty or over 10,000 items."""
    if not 1 <= len(items) <= MAX_BATCH:
        raise ValueError(f"batch: must hold 1 to {MAX_BATCH} items")
    return {"batch": items}


#: Most items in one batch request.
MAX_BATCH = 10_000


def outcomes(answer: Any, parse: Callable[[dict[str, Any]], T]) -> list[Outcome[T]]:
    """A batch answer as one ``Outcome`` per item, in request order."""
    out: list[Outcome[T]] = []
    for item in answer["batch"]:
        if "error" in item:
            out.append(Outcome(error=str(item["error"])))
        else:
            out.append(Outcome(value=parse(item)))
    return out


def verify_ed25519(key: Key, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (``rampart:v<n>:<base64>``) is version n of ``key`` signing
    ``data``, checked here with ``cryptography`` against the key's ``public_key_b64``."""
    try:
        prefix, version_text, encoded = signature.split(":", 2)
        version = int(version_text.removeprefix("v"))
        raw_signature = base64.b64decode(encoded, validate=True)
    except ValueError:
        return False
    if prefix != "rampart" or not version_text.startswith("v"):
        return False
    public = next((v.public_key_b64 for v in key.versions if v.version == version), None)
    if public is None or version < key.min_decryption_version:
        return False
    try:
        _, raw_key = note.parse_key(public)
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, data)
    except (InvalidSignature, ValueError):
        return False
    return True


_ITEM_PATH = re.compile(r"^\[(\d+)\]\.?(.*)$", re.DOTALL)


def split_redaction(answer: Any, count: int) -> list[RedactResult]:
    """``redact_many``'s answer (one redaction of a JSON array of ``count`` records) split back
    into one result per record, finding paths made relative to the record."""
    documents = answer.get("document") if isinstance(answer, dict) else None
    if not isinstance(documents, list) or len(documents) != count:
        raise ValueError("the server's answer to a batch redaction is not an array of the records")
    findings: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    for finding in answer.get("findings", []):
        found = _ITEM_PATH.match(str(finding.get("path", "")))
        if found is None or int(found.group(1)) >= count:
            raise ValueError("the server's answer to a batch redaction names no record")
        findings[int(found.group(1))].append({**finding, "path": found.group(2) or None})
    return [
        RedactResult.model_validate({"document": doc, "findings": f})
        for doc, f in zip(documents, findings, strict=True)
    ]
