"""FastAPI integration: the middleware and the dependencies that use it.

.. code-block:: python

    from fastapi import Depends, FastAPI
    from rampart import AsyncRampart
    from rampart.fastapi import CurrentPrincipal, RampartMiddleware, require

    rampart = AsyncRampart(url, token=service_key)  # authz:check (+ audit:write)
    app = FastAPI()
    app.add_middleware(RampartMiddleware, client=rampart, audit=appender)

    @app.post("/scans", dependencies=[Depends(require("scans:write"))])
    async def create_scan(who: CurrentPrincipal) -> dict[str, str]: ...

Install with the ``fastapi`` extra: ``pip install "rampart-client[fastapi]"``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response

from .errors import RampartError
from .integrations.asgi import (
    STATE_GATE,
    STATE_PRINCIPAL,
    AuditSink,
    RampartMiddleware,
    Refused,
    current_principal,
)
from .models.identity import Introspection

__all__ = [
    "AuditSink",
    "CurrentPrincipal",
    "RampartMiddleware",
    "Refused",
    "current_principal",
    "optional_principal",
    "principal",
    "refused_handler",
    "require",
]

# Declares the bearer scheme in the OpenAPI document; the middleware does the checking.
_bearer = HTTPBearer(auto_error=False, description="A Rampart API key (rk_…) or session token")

ResourceOf = (
    Mapping[str, Any]
    | Callable[[HTTPConnection], Mapping[str, Any] | None]
    | Callable[[HTTPConnection], Awaitable[Mapping[str, Any] | None]]
)


def _gate(connection: HTTPConnection) -> RampartMiddleware:
    gate = connection.scope.get("state", {}).get(STATE_GATE)
    if not isinstance(gate, RampartMiddleware):
        raise RuntimeError("rampart.fastapi: add RampartMiddleware to the app first")
    return gate


async def optional_principal(
    connection: HTTPConnection,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Introspection | None:
    """The caller's principal, or ``None`` (an exempt path called without a credential)."""
    _gate(connection)
    found = connection.scope["state"].get(STATE_PRINCIPAL)
    return found if isinstance(found, Introspection) else None


async def principal(
    found: Annotated[Introspection | None, Depends(optional_principal)],
) -> Introspection:
    """The caller's principal (the introspection of its credential); 401 without one."""
    if found is None:
        raise Refused(401, "unauthenticated", "Unauthenticated", "a credential is required")
    return found


#: A handler's parameter typed ``who: CurrentPrincipal`` receives the caller's principal.
CurrentPrincipal = Annotated[Introspection, Depends(principal)]


def require(
    action: str, *, resource: ResourceOf | None = None
) -> Callable[..., Coroutine[Any, Any, Introspection]]:
    """A dependency that lets the request through only when the caller may do ``action``
    (a permission, e.g. ``"scans:write"``) on ``resource``: a mapping, or a function of the
    request returning one (e.g. from ``request.path_params``), which may be async. It checks
    the credential's scopes, then asks ``POST /v1/authorize`` (decisions cached briefly).
    Refusal: 403 problem+json; Rampart unreachable: 503. Returns the principal."""
    if not action or ":" not in action:
        raise ValueError("require: an action is a permission such as 'scans:write'")

    async def dependency(
        connection: HTTPConnection, who: Annotated[Introspection, Depends(principal)]
    ) -> Introspection:
        target = resource(connection) if callable(resource) else resource
        if inspect.isawaitable(target):
            target = await target
        try:
            decision = await _gate(connection).decide(who, action, target)
        except RampartError as failed:
            detail = f"authorization is unavailable ({failed.status})"
            raise Refused(503, "unavailable", "Unavailable", detail) from None
        if not decision.allowed:
            raise Refused(403, "forbidden", "Forbidden", f"not allowed: {action}")
        return who

    dependency.__name__ = f"require_{action.replace(':', '_').replace('*', 'all')}"
    return dependency


async def refused_handler(request: Request, error: Exception) -> Response:
    """Answers ``Refused`` as problem+json from inside the app. The middleware does it already
    when added with ``app.add_middleware``; register this
    (``app.add_exception_handler(Refused, refused_handler)``) when the middleware wraps the app
    from outside Starlette's error middleware instead."""
    if not isinstance(error, Refused):
        raise error
    headers = {"www-authenticate": 'Bearer realm="rampart"'} if error.status == 401 else None
    return JSONResponse(
        error.problem(),
        status_code=error.status,
        headers=headers,
        media_type="application/problem+json",
    )
