"""The synchronous client: ``Rampart``, with ``audit`` and ``keys``."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from . import _shared
from .errors import ConnectionFailed
from .models import AppendResult, AuditEntry, Checkpoint, Encrypted, InclusionProof, Key


class Rampart:
    """A client of one Rampart server. Reuses its connections; close it (or use ``with``).

    Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose connection failed, are
    retried up to ``retries`` times, waiting for ``Retry-After`` or backing off exponentially.
    The token never appears in ``repr``, errors or logs.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._token = _shared.Token(token)
        self._retries = retries
        self._backoff = backoff
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"user-agent": _shared.USER_AGENT},
        )
        self.audit = Audit(self)
        self.keys = Keys(self)

    def __repr__(self) -> str:
        return f"Rampart({str(self._http.base_url)!r}, token=[REDACTED])"

    def __enter__(self) -> Rampart:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Closes the connections."""
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """Calls the API; returns the answer's JSON or raises the problem's exception."""
        attempt = 0
        while True:
            try:
                response = self._http.request(
                    method, path, json=json, params=params, headers=self._token.header()
                )
            except httpx.TransportError as e:
                if method in _shared.IDEMPOTENT and attempt < self._retries:
                    time.sleep(_shared.delay(None, attempt, self._backoff))
                    attempt += 1
                    continue
                raise ConnectionFailed(0, "cannot reach the server", type(e).__name__) from None
            if _shared.should_retry(method, response, attempt, self._retries):
                time.sleep(_shared.delay(response, attempt, self._backoff))
                attempt += 1
                continue
            return _shared.answer(response)


class Audit:
    """The tamper-evident audit log."""

    def __init__(self, client: Rampart) -> None:
        self._client = client

    def append(self, event: Mapping[str, Any]) -> AppendResult:
        """Appends one event; returns once it is durable."""
        return AppendResult.model_validate(
            self._client.request("POST", "/v1/audit/entries", json=dict(event))
        )

    def append_batch(self, events: Sequence[Mapping[str, Any]]) -> AppendResult:
        """Appends 1 to 10,000 events as one all-or-nothing batch."""
        body = {"events": [dict(e) for e in events]}
        return AppendResult.model_validate(
            self._client.request("POST", "/v1/audit/entries", json=body)
        )

    def entries(self, *, page_size: int = 100, **filters: Any) -> Iterator[AuditEntry]:
        """Every entry matching ``filters`` (the API's query parameters), page after page."""
        cursor: str | None = None
        while True:
            params = _shared.entries_params(page_size, cursor, filters)
            page = self._client.request("GET", "/v1/audit/entries", params=params)
            for item in page["items"]:
                yield AuditEntry.model_validate(item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def checkpoint(self) -> Checkpoint:
        """The latest signed tree head."""
        return Checkpoint.model_validate(self._client.request("GET", "/v1/audit/checkpoint"))

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """The audit path of entry ``seq`` (in the current tree unless ``tree_size``)."""
        params: dict[str, int] = {"seq": seq}
        if tree_size is not None:
            params["tree_size"] = tree_size
        return InclusionProof.model_validate(
            self._client.request("GET", "/v1/audit/proofs/inclusion", params=params)
        )

    def verify_inclusion(self, seq: int) -> bool:
        """Whether entry ``seq`` is in the latest checkpoint's tree, checked locally (RFC 9162).
        The checkpoint's signature is not checked here yet."""
        checkpoint = self.checkpoint()
        proof = self.inclusion_proof(seq, checkpoint.tree_size)
        return _shared.proves_inclusion(checkpoint, proof)


class Keys:
    """Named keys: applications never hold key material."""

    def __init__(self, client: Rampart) -> None:
        self._client = client

    def create(self, name: str, key_type: str = "aes256-gcm", **options: Any) -> Key:
        """Creates a key (``options``: ``rotation_period_days``, ``team_id``, ...)."""
        body = {"name": name, "type": key_type, **options}
        return Key.model_validate(self._client.request("POST", "/v1/keys", json=body))

    def encrypt(
        self, name: str, plaintext: bytes, associated_data: bytes | None = None
    ) -> Encrypted:
        """Encrypts ``plaintext`` with the key's latest version."""
        body = _shared.encrypt_body(plaintext, associated_data)
        return Encrypted.model_validate(
            self._client.request("POST", _shared.key_path(name, "encrypt"), json=body)
        )

    def decrypt(self, name: str, ciphertext: str, associated_data: bytes | None = None) -> bytes:
        """Decrypts a ciphertext with the key version it names."""
        body = _shared.decrypt_body(ciphertext, associated_data)
        answer = self._client.request("POST", _shared.key_path(name, "decrypt"), json=body)
        return base64.b64decode(answer["plaintext"])
