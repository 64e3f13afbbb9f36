"""What the FastAPI tests share: their principals and keys, and the app under test."""

from __future__ import annotations

import contextvars
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from starlette.requests import HTTPConnection

from rampart import AsyncRampart, Rampart
from rampart.fastapi import (
    AuditSink,
    CurrentPrincipal,
    RampartMiddleware,
    current_principal,
    require,
)

from .conftest import Server

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test principal's)


@dataclass(frozen=True)
class World:
    """The principals of these tests and their keys."""

    service_key: str  # the application's own key: authz:check and audit:write
    caller_id: str
    caller_name: str
    caller_key: str  # scopes ["*"]: a developer in team payments
    narrow_key: str  # the same caller, scopes ["audit:read"]
    narrow_key_id: str


def make_world(server: Server) -> World:
    """A service principal for the app, a developer calling it, and their keys."""
    suffix = uuid.uuid4().hex[:8]
    with Rampart(server.base_url, server.admin_key) as admin:
        service = admin.principals.create(f"py-app-{suffix}", type="service", roles=["operator"])
        service_key = admin.api_keys.create(
            "app", scopes=["authz:check", "audit:write"], principal_id=service.id
        )
        caller = admin.principals.create(
            f"py-caller-{suffix}", password=PASSWORD, roles=["developer"], teams=["payments"]
        )
        wide = admin.api_keys.create("wide", scopes=["*"], principal_id=caller.id)
        narrow = admin.api_keys.create("narrow", scopes=["audit:read"], principal_id=caller.id)
    return World(
        service_key.key.get_secret_value(),
        caller.id,
        caller.name,
        wide.key.get_secret_value(),
        narrow.key.get_secret_value(),
        narrow.id,
    )


class Counting(httpx.AsyncBaseTransport):
    """Counts the calls to each path on the way to the real server."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.calls: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls[request.url.path] = self.calls.get(request.url.path, 0) + 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


seen_in_background: list[tuple[str | None, str | None]] = []
request_tag: contextvars.ContextVar[str | None] = contextvars.ContextVar("tag", default=None)


async def tag_request(connection: HTTPConnection) -> str:
    """An async dependency that sets a contextvar."""
    tag = connection.headers.get("x-tag", "none")
    request_tag.set(tag)
    return tag


def make_app(client: AsyncRampart, audit: AuditSink | None, **options: Any) -> FastAPI:
    """The application under test."""
    app = FastAPI()
    app.add_middleware(RampartMiddleware, client=client, audit=audit, **options)

    @app.get("/health")
    async def health() -> dict[str, bool]:
        return {"ok": current_principal() is None}

    @app.get("/me")
    async def me(who: CurrentPrincipal) -> dict[str, Any]:
        return {"id": who.principal_id, "name": who.name, "scopes": who.scopes}

    def scan(connection: HTTPConnection) -> dict[str, Any]:
        team = connection.query_params.get("team", "payments")
        return {"type": "scan", "id": connection.path_params["scan_id"], "team_id": team}

    @app.get("/scans/{scan_id}", dependencies=[Depends(require("keys:encrypt", resource=scan))])
    async def read_scan(scan_id: str) -> dict[str, str]:
        if scan_id == "missing":
            raise HTTPException(404)
        return {"scan": scan_id}

    @app.post("/approve", dependencies=[Depends(require("actions:approve"))])
    async def approve() -> dict[str, bool]:
        return {"approved": True}

    @app.get("/background")
    async def background(tasks: BackgroundTasks, tag: str = Depends(tag_request)) -> dict[str, str]:
        def record() -> None:
            who = current_principal()
            seen_in_background.append((who.principal_id if who else None, request_tag.get()))

        tasks.add_task(record)
        return {"tag": tag}

    return app
