"""The middleware at the ASGI level: streaming unbuffered, failing closed, credentials kept
only as hashes, wrapping an app from outside, websockets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from rampart import AsyncRampart
from rampart.fastapi import (
    CurrentPrincipal,
    RampartMiddleware,
    Refused,
    refused_handler,
    require,
)

from .conftest import Server
from .fastapi_app import World, make_app, make_world


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    """This module's principals and keys."""
    return make_world(server)


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


def test_outside_the_error_middleware_with_the_handler(server: Server, world: World) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, world.service_key) as rampart:
            inner = make_app(rampart, None)
            inner.user_middleware.clear()  # wrapped from outside instead
            inner.add_exception_handler(Refused, refused_handler)
            schemes = inner.openapi()["components"]["securitySchemes"]
            assert [s["scheme"] for s in schemes.values()] == ["bearer"]
            app = RampartMiddleware(inner, rampart)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                denied = await http.post(
                    "/approve", headers={"authorization": f"Bearer {world.caller_key}"}
                )
                assert denied.status_code == 403
                assert denied.headers["content-type"] == "application/problem+json"
                assert denied.json()["status"] == 403

    asyncio.run(run())


def test_websockets_without_a_credential_are_closed(server: Server, world: World) -> None:
    async def run() -> list[dict[str, Any]]:
        async with AsyncRampart(server.base_url, world.service_key) as rampart:
            gate = RampartMiddleware(make_app(rampart, None), rampart)
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "websocket.connect"}

            async def send(message: Any) -> None:
                sent.append(dict(message))

            scope = {"type": "websocket", "path": "/ws", "headers": [], "client": ("::1", 1)}
            await gate(scope, receive, send)
            return sent

    assert asyncio.run(run()) == [{"type": "websocket.close", "code": 1008}]


def test_require_wants_a_permission() -> None:
    with pytest.raises(ValueError, match="permission"):
        require("approve")
    with pytest.raises(ValueError):
        require("")


class RecordingSink:
    """An audit sink that keeps the events it is given (no server: nothing is appended)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def append(self, event: Any) -> None:
        """Keeps ``event``."""
        self.events.append(dict(event))


def test_refused_requests_are_audited_without_their_raw_path() -> None:
    async def run(audit_unauthenticated: bool) -> list[dict[str, Any]]:
        sink = RecordingSink()
        async with AsyncRampart("http://127.0.0.1:9", "rk_unused") as rampart:
            app = FastAPI()

            @app.get("/reset/{token}")
            async def reset(token: str) -> dict[str, str]:
                return {"ok": token}

            app.add_middleware(
                RampartMiddleware,
                client=rampart,
                audit=sink,
                audit_unauthenticated=audit_unauthenticated,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                answer = await http.get("/reset/magic-link-4242")
                assert answer.status_code == 401
        return sink.events

    events = asyncio.run(run(True))
    assert len(events) == 1 and events[0]["status"] == "denied"
    assert events[0]["resource"] == {"type": "http_route", "id": "(unmatched)"}
    assert "magic-link-4242" not in str(events)
    assert asyncio.run(run(False)) == [], "audit_unauthenticated=False leaves them out"
