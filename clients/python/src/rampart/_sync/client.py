# Generated from _async/client.py by scripts/unasync.py: edit that file, not this one.
"""``Rampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

import httpx

from ._core import Core
from .audit import Audit
from .keys import Keys
from .privacy import Privacy


class Rampart(Core):
    """A client of one Rampart server. Reuses its connections; close it
    (or use ``with``). Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose
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
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, retries=retries, backoff=backoff, transport=transport
        )
        #: The tamper-evident audit log.
        self.audit = Audit(self)
        #: Named keys and encryption.
        self.keys = Keys(self)
        #: Redaction and detection of personal data and secrets.
        self.privacy = Privacy(self)
