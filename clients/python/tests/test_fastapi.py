"""The FastAPI integration against a real server: a real FastAPI app served in-process
(httpx's ASGITransport) authenticating its callers with Rampart, caching, deciding, auditing."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from rampart import AsyncAuditAppender, AsyncRampart
from rampart.fastapi import current_principal

from .conftest import Server
from .fastapi_app import (
    PASSWORD,
    Clock,
    Counting,
    World,
    make_app,
    make_world,
    seen_in_background,
)


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    """This module's principals and keys."""
    return make_world(server)


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


def test_an_audit_entry_per_request(server: Server, world: World, tmp_path: Path) -> None:
    async def run() -> None:
        async with (
            AsyncRampart(server.base_url, world.service_key) as rampart,
            AsyncRampart(server.base_url, server.admin_key) as admin,
        ):
            appender = AsyncAuditAppender(rampart, spool_path=tmp_path / "audit.spool")
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
            await appender.aclose()
            assert appender.pending == 0 and appender.dead_letters == 0

            ids = {r.headers["x-request-id"] for r in (ok, missing, denied, anonymous)}
            found = {}
            async for entry in admin.audit.entries(action="http.*", order="desc", page_size=50):
                rid = (entry.context or {}).get("request_id")
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
