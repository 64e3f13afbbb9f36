"""Logins and sessions, and the checks applications make on their own callers: introspection
of a credential and authorization decisions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.identity import (
    AccessDecision,
    AuthorizeRequest,
    Introspection,
    IntrospectRequest,
    LoginRequest,
    Session,
    WhoAmI,
)
from ._core import AsyncCore


class AsyncAuth:
    """Logins, sessions, introspection and authorization decisions."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def login(self, name: str, password: str, totp: str | None = None) -> Session:
        """Logs in (no credential needed) and returns the session; its ``token`` never prints.
        A wrong name or password is ``AuthenticationError``; a missing second factor too
        (``problem_type`` ending in ``mfa-required``); too many failures ``Locked``."""
        body = LoginRequest.model_validate({"name": name, "password": password, "totp": totp})
        answer = await self._core.request(
            "POST", "/v1/auth/login", json=body.body(), anonymous=True
        )
        return Session.model_validate(answer)

    async def logout(self, session: Session | str | None = None) -> bool:
        """Ends a session: ``session`` (or its token), else the client's own credential."""
        token = session.token.get_secret_value() if isinstance(session, Session) else session
        answer = await self._core.request("POST", "/v1/auth/logout", token=token)
        return bool(answer and answer.get("revoked"))

    async def whoami(self) -> WhoAmI:
        """The principal and credential behind the client's own credential."""
        return WhoAmI.model_validate(await self._core.request("GET", "/v1/auth/whoami"))

    async def introspect(self, credential: str, client_ip: str | None = None) -> Introspection:
        """Checks a credential one of the application's callers presented (``authz:check``).
        Send ``client_ip``: a key limited to networks is active only from inside them."""
        body = IntrospectRequest.model_validate({"credential": credential, "client_ip": client_ip})
        answer = await self._core.request("POST", "/v1/auth/introspect", json=body.body())
        return Introspection.model_validate(answer)

    async def authorize(
        self, principal_id: str, action: str, resource: Mapping[str, Any] | None = None
    ) -> AccessDecision:
        """Whether ``principal_id`` may do ``action`` (a permission) on ``resource`` (e.g.
        ``{"type": "service", "id": "checkout", "team_id": "payments"}``). A denial is an
        answer (``allowed=False``), not an exception."""
        body = AuthorizeRequest(
            principal_id=principal_id,
            action=action,
            resource=dict(resource) if resource is not None else None,
        )
        return AccessDecision.model_validate(
            await self._core.request("POST", "/v1/authorize", json=body.body())
        )
