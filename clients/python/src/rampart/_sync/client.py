# Generated from _async/client.py by scripts/unasync.py: edit that file, not this one.
"""``Rampart``: the connection with every namespace of the API attached."""

from __future__ import annotations

from typing import Any, Self

import httpx

from ._core import Core
from .api_keys import ApiKeys
from .audit import Audit
from .auth import Auth
from .keys import Keys
from .policy import RolePolicy
from .principals import Principals

# The credential of a client made by ``login`` until its session replaces it (never sent:
# the login itself is anonymous).
_BEFORE_LOGIN = "rampart-login-pending"


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
        self._options: dict[str, Any] = {
            "timeout": timeout,
            "retries": retries,
            "backoff": backoff,
            "transport": transport,
        }
        #: The tamper-evident audit log.
        self.audit = Audit(self)
        #: Named keys and encryption.
        self.keys = Keys(self)
        #: Logins, sessions, introspection and authorization decisions.
        self.auth = Auth(self)
        #: Principals and their second factor.
        self.principals = Principals(self)
        #: API keys.
        self.api_keys = ApiKeys(self)
        #: The role policy.
        self.policy = RolePolicy(self)

    @classmethod
    def login(
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
            session = client.auth.login(name, password, totp)
        except BaseException:
            client.close()
            raise
        client._token = type(client._token)(session.token.get_secret_value())
        return client

    def with_token(self, token: str) -> Self:
        """A new client of the same server and settings using ``token`` (an API key or a session
        token, e.g. a login's). It has its own connections: close it too."""
        return type(self)(self.base_url, token, **self._options)
