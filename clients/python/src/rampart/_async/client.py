"""``AsyncRampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

from typing import Any, Self

import httpx

from ._core import AsyncCore
from .api_keys import AsyncApiKeys
from .audit import AsyncAudit
from .auth import AsyncAuth
from .keys import AsyncKeys
from .policy import AsyncRolePolicy
from .principals import AsyncPrincipals

# The credential of a client made by ``login`` until its session replaces it (never sent:
# the login itself is anonymous).
_BEFORE_LOGIN = "rampart-login-pending"


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
        self._options: dict[str, Any] = {
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "transport": transport,
        }
        #: The tamper-evident audit log.
        self.audit = AsyncAudit(self)
        #: Named keys and encryption.
        self.keys = AsyncKeys(self)
        #: Logins, sessions, introspection and authorization decisions.
        self.auth = AsyncAuth(self)
        #: Principals and their second factor.
        self.principals = AsyncPrincipals(self)
        #: API keys.
        self.api_keys = AsyncApiKeys(self)
        #: The role policy.
        self.policy = AsyncRolePolicy(self)

    @classmethod
    async def login(
        cls,
        base_url: str,
        name: str,
        password: str,
        totp: str | None = None,
        **options: Any,
    ) -> Self:
        """Logs in and returns a client whose credential is the new session (``options``: the
        constructor's ``timeout``, ``retries``, ...). End the session with
        ``client.auth.logout()``; close the client as any other."""
        client = cls(base_url, _BEFORE_LOGIN, **options)
        try:
            session = await client.auth.login(name, password, totp)
        except BaseException:
            await client.aclose()
            raise
        client._token = type(client._token)(session.token.get_secret_value())
        return client

    def with_token(self, token: str) -> Self:
        """A new client of the same server and settings using ``token`` (an API key or a session
        token, e.g. a login's). It has its own connections: close it too."""
        return type(self)(self.base_url, token, **self._options)
