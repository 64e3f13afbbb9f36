"""What the sync and async clients share: the retry policy, request shapes, answer parsing."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from . import merkle
from .errors import from_response, retry_after
from .models import Checkpoint, InclusionProof, RedactResult

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


def encrypt_body(plaintext: bytes, associated_data: bytes | None) -> dict[str, str]:
    """``POST /v1/keys/{name}/encrypt``'s body."""
    body = {"plaintext": base64.b64encode(plaintext).decode()}
    if associated_data is not None:
        body["associated_data"] = base64.b64encode(associated_data).decode()
    return body


def decrypt_body(ciphertext: str, associated_data: bytes | None) -> dict[str, str]:
    """``POST /v1/keys/{name}/decrypt``'s body."""
    body = {"ciphertext": ciphertext}
    if associated_data is not None:
        body["associated_data"] = base64.b64encode(associated_data).decode()
    return body


def entries_params(limit: int, cursor: str | None, filters: Mapping[str, Any]) -> dict[str, Any]:
    """The query of one page of ``GET /v1/audit/entries``."""
    params = {k: v for k, v in filters.items() if v is not None}
    params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    return params


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
