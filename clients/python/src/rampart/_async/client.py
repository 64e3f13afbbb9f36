"""``AsyncRampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

import httpx

from ._core import AsyncCore
from .audit import AsyncAudit
from .keys import AsyncKeys
from .privacy import AsyncPrivacy


class AsyncRampart(AsyncCore):
    """A client of one Rampart server, every call awaited. Reuses its connections; close it
    (or use ``async with``). Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose
    connection failed, are retried up to ``retries`` times, waiting for ``Retry-After`` or
    backing off exponentially. The token never appears in ``repr``, errors or logs.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, retries=retries, backoff=backoff, transport=transport
        )
        #: The tamper-evident audit log.
        self.audit = AsyncAudit(self)
        #: Named keys and encryption.
        self.keys = AsyncKeys(self)
        #: Redaction and detection of personal data and secrets.
        self.privacy = AsyncPrivacy(self)
