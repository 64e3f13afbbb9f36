"""Pure ASGI middleware that authenticates every request with Rampart and audits it.

It never subclasses ``BaseHTTPMiddleware`` (which breaks contextvars and background tasks:
Kludex/starlette#919), never reads the request body (fastapi/fastapi#394), and passes the
response's messages through as they come (streaming stays streaming).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Protocol

from .._async.client import AsyncRampart
from ..errors import NotFound, RampartError
from ..models.identity import AccessDecision, Introspection
from ._cache import Miss, TTLCache

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Where the middleware puts the caller's principal (``request.state.rampart_principal``).
STATE_PRINCIPAL = "rampart_principal"
#: Where it puts itself, for the dependencies (``request.state.rampart_gate``).
STATE_GATE = "rampart_gate"
#: Where it puts the request id it audits under (``request.state.rampart_request_id``).
STATE_REQUEST_ID = "rampart_request_id"

_log = logging.getLogger("rampart.integrations")
_principal: ContextVar[Introspection | None] = ContextVar("rampart_principal", default=None)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_ACTOR_TYPES = frozenset({"user", "service", "ai_agent", "device"})


def current_principal() -> Introspection | None:
    """The principal of the request being served (``None`` outside one, or when anonymous):
    visible in handlers, dependencies, background tasks and anything they call."""
    return _principal.get()


class AuditSink(Protocol):
    """Where audit events go: ``rampart``'s buffered appender, or anything that takes an event
    without blocking (``append`` must return at once; sending happens in the background)."""

    def append(self, event: Mapping[str, Any]) -> None:
        """Queues one audit event."""


class Refused(Exception):
    """A request refused (401, 403, 503): raised by the dependencies, answered by the
    middleware as problem+json (when the response has not started)."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail

    def problem(self) -> dict[str, Any]:
        """The problem+json body (RFC 9457)."""
        return {
            "type": f"https://rampart.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _bearer(scope: Scope) -> str | None:
    given = _header(scope, b"authorization")
    if not given:
        return None
    kind, _, credential = given.partition(" ")
    credential = credential.strip()
    return credential if kind.lower() == "bearer" and credential else None


def _scope_grants(scopes: Iterable[str], action: str) -> bool:
    """Whether a credential's scopes cover ``action`` (``*``, ``resource:*`` or exact)."""
    resource = action.split(":", 1)[0]
    return any(s in ("*", action, f"{resource}:*") for s in scopes)


def _outcome(status: int) -> str:
    if status in (401, 403):
        return "denied"
    return "success" if status < 400 else "failure"


class RampartMiddleware:
    """Authenticates each request's ``Authorization: Bearer`` credential (an API key ``rk_…``
    or a session token) by ``POST /v1/auth/introspect`` and puts the principal in
    ``scope["state"]`` and ``current_principal()``. A request with no valid credential to a
    path not in ``exempt_paths`` is answered 401 (problem+json) by the middleware itself.

    Results are cached ``cache_ttl`` seconds (inactive ones ``inactive_ttl``), at most
    ``cache_size``, under the SHA-256 of the credential and client address, never the
    credential itself; ``require`` decisions ``decision_ttl`` seconds. So a revoked key works
    at most ``cache_ttl`` seconds more. When Rampart cannot answer, requests get 503: the
    middleware fails closed.

    With ``audit`` (the buffered appender), every request that is not exempt gets an audit event
    (actor: the principal; action ``http.<method>``; resource: the route's path template;
    status ``success``, ``failure`` or ``denied`` from the response's status), appended in the
    background. ``client`` needs ``authz:check`` (and the appender's client ``audit:write``).
    A request no route matched is recorded as ``(unmatched)``, never by its raw path (paths can
    carry reset tokens or magic links). ``audit_unauthenticated=False`` leaves requests without
    a valid credential out of the log: while Rampart is unreachable they would otherwise fill
    the appender's spool, at an attacker's pace, before the events that matter.
    ``exempt_paths`` are exact paths, or prefixes when they end in ``*``.
    """

    def __init__(
        self,
        app: ASGIApp,
        client: AsyncRampart,
        *,
        cache_ttl: float = 30.0,
        inactive_ttl: float = 5.0,
        decision_ttl: float = 5.0,
        cache_size: int = 10_000,
        audit: AuditSink | None = None,
        audit_unauthenticated: bool = True,
        exempt_paths: Iterable[str] = ("/health", "/healthz"),
        realm: str = "rampart",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self._client = client
        self._ttl = cache_ttl
        self._inactive_ttl = min(inactive_ttl, cache_ttl)
        self._decision_ttl = decision_ttl
        self._audit = audit
        self._audit_unauthenticated = audit_unauthenticated
        self._exact = frozenset(p for p in exempt_paths if not p.endswith("*"))
        self._prefixes = tuple(p[:-1] for p in exempt_paths if p.endswith("*"))
        self._realm = realm
        self._principals: TTLCache[bytes, Introspection | None] = TTLCache(cache_size, clock)
        self._decisions: TTLCache[tuple[str, str, str], AccessDecision] = TTLCache(
            cache_size, clock
        )
        self._pending: dict[bytes, asyncio.Task[Introspection | None]] = {}

    def __repr__(self) -> str:
        return f"RampartMiddleware({self._client!r}, cached={len(self._principals)})"

    def exempt(self, path: str) -> bool:
        """Whether ``path`` is served without a credential (and not audited)."""
        return path in self._exact or path.startswith(self._prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        exempt = self.exempt(path)
        client_ip = scope["client"][0] if scope.get("client") else None
        given_id = _header(scope, b"x-request-id")
        request_id = given_id if given_id and _REQUEST_ID.match(given_id) else uuid.uuid4().hex
        credential = _bearer(scope)
        refusal: Refused | None = None
        try:
            who = await self.authenticate(credential, client_ip) if credential else None
        except RampartError as failed:
            _log.warning("rampart: introspection failed (%s %s)", failed.status, failed.title)
            who = None
            if not exempt:
                refusal = Refused(503, "unavailable", "Unavailable", "try again later")
        else:
            if who is None and not exempt:
                detail = "a valid API key or session token is required (Authorization: Bearer)"
                refusal = Refused(401, "unauthenticated", "Unauthenticated", detail)
        state = scope.setdefault("state", {})
        state[STATE_PRINCIPAL], state[STATE_GATE], state[STATE_REQUEST_ID] = who, self, request_id
        status = 500
        started = False

        async def send_through(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = int(message["status"]), True
                headers = list(message.get("headers") or [])
                if not any(bytes(k).lower() == b"x-request-id" for k, _ in headers):
                    headers.append((b"x-request-id", request_id.encode()))
                    message["headers"] = headers
            await send(message)

        reset = _principal.set(who)
        try:
            if refusal is not None:
                raise refusal
            await self.app(scope, receive, send_through)
        except Refused as refused:
            if started:
                raise
            status = refused.status
            await self._refuse(scope, receive, send, refused, request_id)
        finally:
            _principal.reset(reset)
            if self._audit is not None and scope["type"] == "http" and not exempt:
                if who is not None or self._audit_unauthenticated:
                    self._append(scope, who, status, request_id, client_ip)

    async def authenticate(
        self, credential: str, client_ip: str | None = None
    ) -> Introspection | None:
        """The active principal behind ``credential`` (``None`` if not active), cached.
        Concurrent requests with the same credential share one introspection."""
        key = hashlib.sha256(f"{credential}\x00{client_ip or ''}".encode()).digest()
        cached = self._principals.get(key)
        if not isinstance(cached, Miss):
            return cached
        task = self._pending.get(key)
        if task is None:
            task = asyncio.create_task(self._introspect(key, credential, client_ip))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._pending[key] = task
        return await asyncio.shield(task)

    async def _introspect(
        self, key: bytes, credential: str, client_ip: str | None
    ) -> Introspection | None:
        try:
            seen = await self._client.auth.introspect(credential, client_ip)
        finally:
            self._pending.pop(key, None)
        if not seen.active or not seen.principal_id:
            self._principals.put(key, None, self._inactive_ttl)
            return None
        self._principals.put(key, seen, min(self._ttl, _seconds_left(seen.expires_at)))
        return seen

    async def decide(
        self, who: Introspection, action: str, resource: Mapping[str, Any] | None = None
    ) -> AccessDecision:
        """Whether ``who`` may do ``action`` on ``resource``: the credential's scopes here, then
        ``POST /v1/authorize`` (cached ``decision_ttl`` seconds per principal, action and
        resource). An unknown principal is a denial; other failures raise ``RampartError``."""
        if who.scopes is not None and not _scope_grants(who.scopes, action):
            return AccessDecision(allowed=False, reason="outside the credential's scopes")
        assert who.principal_id is not None
        key = (who.principal_id, action, json.dumps(resource, sort_keys=True, default=str))
        cached = self._decisions.get(key)
        if isinstance(cached, AccessDecision):
            return cached
        try:
            decision = await self._client.auth.authorize(who.principal_id, action, resource)
        except NotFound:
            decision = AccessDecision(allowed=False, reason="unknown principal")
        self._decisions.put(key, decision, self._decision_ttl)
        return decision

    def forget(self) -> None:
        """Empties both caches (e.g. after revoking keys, to not wait for ``cache_ttl``)."""
        self._principals.clear()
        self._decisions.clear()

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, refused: Refused, request_id: str
    ) -> None:
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008})
            return
        body = json.dumps(refused.problem()).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
        ]
        if refused.status == 401:
            headers.append((b"www-authenticate", f'Bearer realm="{self._realm}"'.encode()))
        if refused.status == 503:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": refused.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _append(
        self,
        scope: Scope,
        who: Introspection | None,
        status: int,
        request_id: str,
        client_ip: str | None,
    ) -> None:
        assert self._audit is not None
        try:
            self._audit.append(_event(scope, who, status, request_id, client_ip))
        except Exception:  # an audit sink's failure never fails the request
            _log.exception("rampart: the audit event of request %s was not queued", request_id)


def _seconds_left(expires_at: str | None) -> float:
    if not expires_at:
        return float("inf")
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()


def _event(
    scope: Scope,
    who: Introspection | None,
    status: int,
    request_id: str,
    client_ip: str | None,
) -> dict[str, Any]:
    """The audit event of one request."""
    method = str(scope.get("method", "GET"))
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    actor: dict[str, Any] = {"type": "user", "id": "anonymous"}
    if who is not None and who.principal_id:
        kind = who.principal_type if who.principal_type in _ACTOR_TYPES else "service"
        actor = {"type": kind, "id": who.principal_id}
    if client_ip:
        actor["ip"] = client_ip
    agent = _header(scope, b"user-agent")
    if agent:
        actor["user_agent"] = agent[:256]
    details: dict[str, Any] = {"method": method, "status_code": status}
    name = getattr(route, "name", None)
    if isinstance(name, str):
        details["route_name"] = name
    return {
        "actor": actor,
        "action": f"http.{method.lower()}",
        "resource": {"type": "http_route", "id": str(template or "(unmatched)")},
        "context": {"request_id": request_id},
        "details": details,
        "status": _outcome(status),
    }
