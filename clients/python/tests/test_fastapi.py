"""The FastAPI integration against a real server: a real FastAPI app served in-process (httpx's
ASGITransport, or Starlette's TestClient) authenticating its callers with Rampart."""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from starlette.requests import HTTPConnection

from rampart import AsyncRampart, Rampart
from rampart.fastapi import CurrentPrincipal, RampartMiddleware, current_principal, require

from .conftest import Server

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test principal's)


class TaskAppenderForTests:
    """A stand-in for the buffered appender (``AsyncAuditAppender``, written elsewhere): each
    event is appended by a task of its own; ``flush`` waits for them. Tests only."""

    def __init__(self, client: AsyncRampart) -> None:
        self._client = client
        self._tasks: set[asyncio.Task[Any]] = set()
        self.events: list[dict[str, Any]] = []

    def append(self, event: Mapping[str, Any]) -> None:
        """Starts appending ``event`` and returns at once."""
        self.events.append(dict(event))
        self._tasks.add(asyncio.create_task(self._client.audit.append(event)))

    async def flush(self) -> None:
        """Waits until every event so far is written."""
        await asyncio.gather(*self._tasks)
        self._tasks.clear()


@dataclass(frozen=True)
class World:
    """The principals of these tests and their keys."""

    service_key: str  # the application's own key: authz:check and audit:write
    caller_id: str
    caller_name: str
    caller_key: str  # scopes ["*"]: a developer in team payments
    narrow_key: str  # the same caller, scopes ["audit:read"]
    narrow_key_id: str


@pytest.fixture(scope="module")
def world(server: Server) -> World:
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


def make_app(client: AsyncRampart, audit: TaskAppenderForTests | None, **options: Any) -> FastAPI:
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


def test_credentials_are_checked_and_answers_cached(server: Server, world: World) -> None:
    async def run() -> None:
        counting = Counting()
        clock = Clock()
        rampart = AsyncRampart(server.base_url, world.service_key, transport=counting)
        async with rampart:
            app = make_app(rampart, None, cache_ttl=30.0, inactive_ttl=5.0, clock=clock)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                bare = await http.get("/me")
                assert bare.status_code == 401
                assert bare.headers["content-type"] == "application/problem+json"
                assert bare.headers["www-authenticate"].startswith("Bearer")
                assert bare.json()["type"].endswith("/unauthenticated")
                assert (await http.get("/health")).json() == {"ok": True}
                basic = await http.get("/me", headers={"authorization": "Basic dXNlcjpwYXNz"})
                assert basic.status_code == 401
                assert counting.calls.get("/v1/auth/introspect", 0) == 0

                unknown = {"authorization": "Bearer rk_unknown_key_of_nobody"}
                assert (await http.get("/me", headers=unknown)).status_code == 401
                assert (await http.get("/me", headers=unknown)).status_code == 401
                assert counting.calls["/v1/auth/introspect"] == 1, "inactive answers cached"

                wide = {"authorization": f"Bearer {world.caller_key}"}
                first, second = await asyncio.gather(
                    http.get("/me", headers=wide), http.get("/me", headers=wide)
                )
                assert first.json() == second.json()
                assert first.json()["id"] == world.caller_id and first.json()["scopes"] is None
                assert (await http.get("/me", headers=wide)).status_code == 200
                assert counting.calls["/v1/auth/introspect"] == 2, "one call for three requests"

                session = await rampart.auth.login(world.caller_name, PASSWORD)
                token = session.token.get_secret_value()
                by_session = await http.get("/me", headers={"authorization": f"Bearer {token}"})
                assert by_session.json()["id"] == world.caller_id

                clock.now += 6  # past the inactive TTL, inside the active one
                assert (await http.get("/me", headers=unknown)).status_code == 401
                assert (await http.get("/me", headers=wide)).status_code == 200
                assert counting.calls["/v1/auth/introspect"] == 4

                async with AsyncRampart(server.base_url, server.admin_key) as admin:
                    doomed = await admin.api_keys.create(
                        "doomed", scopes=["audit:read"], principal_id=world.caller_id
                    )
                    header = {"authorization": f"Bearer {doomed.key.get_secret_value()}"}
                    assert (await http.get("/me", headers=header)).status_code == 200
                    await admin.api_keys.revoke(doomed.id)
                assert (await http.get("/me", headers=header)).status_code == 200, "cached"
                clock.now += 31
                assert (await http.get("/me", headers=header)).status_code == 401, "expired"

    asyncio.run(run())


def test_require_allows_denies_and_caches_decisions(server: Server, world: World) -> None:
    async def run() -> None:
        counting = Counting()
        rampart = AsyncRampart(server.base_url, world.service_key, transport=counting)
        async with rampart:
            app = make_app(rampart, None)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                wide = {"authorization": f"Bearer {world.caller_key}"}
                allowed = await http.get("/scans/s-1", headers=wide)
                assert allowed.status_code == 200 and allowed.json() == {"scan": "s-1"}
                assert (await http.get("/scans/s-1", headers=wide)).status_code == 200
                assert counting.calls["/v1/authorize"] == 1, "the decision is cached"
                assert (await http.get("/scans/s-2", headers=wide)).status_code == 200
                assert counting.calls["/v1/authorize"] == 2, "another resource, another call"

                other_team = await http.get("/scans/s-1?team=treasury", headers=wide)
                assert other_team.status_code == 403, "team isolation"
                assert other_team.headers["content-type"] == "application/problem+json"
                assert other_team.json()["type"].endswith("/forbidden")

                denied = await http.post("/approve", headers=wide)
                assert denied.status_code == 403, "a developer may not approve"
                assert denied.json()["detail"] == "not allowed: actions:approve"

                calls = counting.calls["/v1/authorize"]
                narrow = {"authorization": f"Bearer {world.narrow_key}"}
                scoped = await http.get("/scans/s-1", headers=narrow)
                assert scoped.status_code == 403, "outside the key's scopes"
                assert counting.calls["/v1/authorize"] == calls, "refused here, not asked"
                assert (await http.post("/approve")).status_code == 401

    asyncio.run(run())


def test_an_audit_entry_per_request(server: Server, world: World) -> None:
    async def run() -> None:
        async with (
            AsyncRampart(server.base_url, world.service_key) as rampart,
            AsyncRampart(server.base_url, server.admin_key) as admin,
        ):
            appender = TaskAppenderForTests(rampart)
            app = make_app(rampart, appender)
            transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4242))
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                wide = {"authorization": f"Bearer {world.caller_key}"}
                tag = uuid.uuid4().hex
                ok = await http.get("/scans/s-9", headers={**wide, "x-request-id": tag})
                assert ok.headers["x-request-id"] == tag
                missing = await http.get("/scans/missing", headers=wide)
                denied = await http.post("/approve", headers=wide)
                anonymous = await http.get("/me", headers={"user-agent": "probe/1"})
                assert (await http.get("/health")).status_code == 200
            assert [r.status_code for r in (ok, missing, denied, anonymous)] == [200, 404, 403, 401]
            assert len(appender.events) == 4, "one event a request, none for exempt paths"
            await appender.flush()

            ids = {r.headers["x-request-id"] for r in (ok, missing, denied, anonymous)}
            found = {}
            async for entry in admin.audit.entries(action="http.*", order="desc", page_size=50):
                rid = (entry.model_extra or {}).get("context", {}).get("request_id")
                if rid in ids:
                    found[rid] = entry
                if len(found) == len(ids):
                    break
            assert len(found) == 4
            first = found[tag]
            assert first.actor == {
                "type": "user",
                "id": world.caller_id,
                "ip": "198.51.100.7",
                "user_agent": first.actor["user_agent"],
                "email": None,
            }
            assert first.action == "http.get" and first.status == "success"
            assert first.resource["type"] == "http_route"
            assert first.resource["id"] == "/scans/{scan_id}"
            assert found[missing.headers["x-request-id"]].status == "failure"
            refused = found[denied.headers["x-request-id"]]
            assert (refused.status, refused.action, refused.resource["id"]) == (
                "denied",
                "http.post",
                "/approve",
            )
            stranger = found[anonymous.headers["x-request-id"]]
            assert stranger.status == "denied" and stranger.actor["id"] == "anonymous"
            assert stranger.actor["user_agent"] == "probe/1"

    asyncio.run(run())


def test_contextvars_reach_background_tasks(server: Server, world: World) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, world.service_key) as rampart:
            transport = httpx.ASGITransport(app=make_app(rampart, None))
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                seen_in_background.clear()
                headers = {"authorization": f"Bearer {world.caller_key}", "x-tag": "t-42"}
                answer = await http.get("/background", headers=headers)
                assert answer.json() == {"tag": "t-42"}
                assert seen_in_background == [(world.caller_id, "t-42")]
                assert current_principal() is None, "reset after the request"

    asyncio.run(run())


def test_streaming_passes_through_unbuffered(server: Server, world: World) -> None:
    async def run() -> None:
        first_chunk_sent = asyncio.Event()
        app = FastAPI()

        @app.get("/stream")
        async def stream(who: CurrentPrincipal) -> StreamingResponse:
            async def chunks() -> AsyncIterator[bytes]:
                yield b"first;"
                # Only reached if the first chunk went out before the response ended.
                await asyncio.wait_for(first_chunk_sent.wait(), timeout=5)
                yield f"for {who.name}".encode()

            return StreamingResponse(chunks(), media_type="text/plain")

        async with AsyncRampart(server.base_url, world.service_key) as rampart:
            gate = RampartMiddleware(app, rampart)
            bodies: list[bytes] = []

            async def send(message: Any) -> None:
                if message["type"] == "http.response.body":
                    bodies.append(message.get("body", b""))
                    if b"first;" in message.get("body", b""):
                        first_chunk_sent.set()

            async def receive() -> dict[str, Any]:
                await asyncio.sleep(10)
                return {"type": "http.disconnect"}

            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/stream",
                "raw_path": b"/stream",
                "root_path": "",
                "query_string": b"",
                "headers": [(b"authorization", f"Bearer {world.caller_key}".encode())],
                "client": ("127.0.0.1", 5000),
                "server": ("app", 80),
            }
            await asyncio.wait_for(gate(scope, receive, send), timeout=10)
            assert b"".join(bodies) == f"first;for {world.caller_name}".encode()

    asyncio.run(run())


def test_fails_closed_when_rampart_is_unreachable(world: World) -> None:
    async def run() -> None:
        async with AsyncRampart("http://127.0.0.1:9", "rk_x", retries=0, timeout=2) as nowhere:
            transport = httpx.ASGITransport(app=make_app(nowhere, None))
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                refused = await http.get("/me", headers={"authorization": "Bearer rk_anything"})
                assert refused.status_code == 503
                assert refused.headers["retry-after"]
                assert (await http.get("/health")).status_code == 200

    asyncio.run(run())


def test_credentials_are_kept_only_as_hashes(
    server: Server, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")

    async def run() -> RampartMiddleware:
        async with AsyncRampart(server.base_url, world.service_key) as rampart:
            gate = RampartMiddleware(make_app(rampart, None), rampart)
            assert await gate.authenticate(world.caller_key, "127.0.0.1") is not None
            assert await gate.authenticate("rk_" + "0" * 40) is None
            return gate

    gate = asyncio.run(run())
    keys = gate._principals.keys()
    assert len(keys) == 2 and all(isinstance(k, bytes) and len(k) == 32 for k in keys)
    for text in (repr(gate), repr(keys), caplog.text):
        assert world.caller_key not in text and world.service_key not in text
