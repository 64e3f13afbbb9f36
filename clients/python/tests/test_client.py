"""The clients against a real server: audit appends, queries across pages and proofs checked
locally; keys; typed errors with field errors; no token in any repr; sync and async alike."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from rampart import (
    AsyncRampart,
    AuthenticationError,
    NotFound,
    PermissionDenied,
    Rampart,
    ServerError,
    ValidationError,
)

from .conftest import Server


def _event(i: int, action: str = "payment.authorize") -> dict[str, Any]:
    return {
        "actor": {"type": "user", "id": f"u{i}"},
        "action": action,
        "resource": {"type": "payment", "id": f"p{i}"},
        "status": "success",
    }


def test_appends_are_queried_across_pages_and_proved_locally(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        one = rampart.audit.append(_event(0, "py.single"))
        batch = rampart.audit.append_batch([_event(i, "py.page") for i in range(250)])
        assert len(batch.entries) == 250
        assert batch.tree_size >= 251
        seen = [e.seq for e in rampart.audit.entries(action="py.page", page_size=100)]
        assert seen == [e.seq for e in batch.entries], "every entry once, in order, 3 pages"
        assert rampart.audit.verify_inclusion(one.entries[0].seq)
        assert rampart.audit.verify_inclusion(batch.entries[-1].seq)
        # A proof for another leaf does not prove this one.
        checkpoint = rampart.audit.checkpoint()
        proof = rampart.audit.inclusion_proof(batch.entries[3].seq, checkpoint.tree_size)
        forged = proof.model_copy(update={"leaf_hash": batch.entries[4].leaf_hash})
        from rampart import _shared

        assert _shared.proves_inclusion(checkpoint, proof)
        assert not _shared.proves_inclusion(checkpoint, forged)


def test_keys_encrypt_and_decrypt_bytes(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        key = rampart.keys.create("py-payments")
        assert key.latest_version == 1
        sealed = rampart.keys.encrypt("py-payments", b"\x00card notes\xff", b"order-7")
        assert sealed.ciphertext.startswith("rampart:v1:")
        assert rampart.keys.decrypt("py-payments", sealed.ciphertext, b"order-7") == (
            b"\x00card notes\xff"
        )
        with pytest.raises(ValidationError):
            rampart.keys.decrypt("py-payments", sealed.ciphertext, b"order-8")


def test_problems_become_typed_exceptions(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        with pytest.raises(NotFound) as missing:
            rampart.keys.encrypt("no-such-key", b"x")
        assert missing.value.status == 404
        assert missing.value.request_id
        with pytest.raises(ValidationError) as invalid:
            rampart.audit.append({"actor": {"type": "user", "id": "u"}, "status": "success"})
        fields = {e.field for e in invalid.value.errors}
        assert "action" in fields, invalid.value.errors
        # A name that is not a key name never becomes a path of its own.
        with pytest.raises((NotFound, ValidationError)):
            rampart.keys.encrypt("../audit/entries", b"x")
    with Rampart(server.base_url, "rk_not_a_real_key") as stranger:
        with pytest.raises(AuthenticationError):
            stranger.audit.checkpoint()


def test_the_token_never_prints(server: Server) -> None:
    rampart = Rampart(server.base_url, server.admin_key)
    try:
        for text in (repr(rampart), str(rampart), repr(rampart._token), str(rampart._token)):
            assert server.admin_key not in text
        with pytest.raises(PermissionDenied) as refused:
            rampart.request("POST", "/v1/api-keys", json={"name": "x", "scopes": ["*"]})
        assert server.admin_key not in str(refused.value)
        assert server.admin_key not in repr(refused.value)
    finally:
        rampart.close()


def test_the_async_client_does_the_same(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            appended = await rampart.audit.append_batch([_event(i, "py.async") for i in range(120)])
            seqs = [e.seq async for e in rampart.audit.entries(action="py.async", page_size=50)]
            assert seqs == [e.seq for e in appended.entries]
            assert await rampart.audit.verify_inclusion(appended.entries[0].seq)
            with pytest.raises(NotFound):
                await rampart.keys.encrypt("no-such-key", b"x")
            assert server.admin_key not in repr(rampart)

    asyncio.run(run())


def test_idempotent_calls_are_retried_on_503_and_appends_never() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) < 3:
            return httpx.Response(503, headers={"retry-after": "0"}, json={"status": 503})
        return httpx.Response(
            200,
            json={
                "origin": "o",
                "tree_size": 1,
                "root_hash": "00",
                "timestamp": "t",
                "key_id": "k",
                "signature_b64": "s",
                "note": "n",
            },
        )

    transport = httpx.MockTransport(handler)
    with Rampart("http://rampart.test", "rk_x", transport=transport, backoff=0) as rampart:
        assert rampart.audit.checkpoint().tree_size == 1
        assert calls == ["GET", "GET", "GET"]
        calls.clear()
        with pytest.raises(ServerError) as failed:
            rampart.audit.append(_event(0))
        assert calls == ["POST"], "an append is not repeated: it may have been written"
        assert failed.value.retry_after == 0


def test_every_problem_status_has_its_exception() -> None:
    from rampart import Conflict, Gone, Locked, RampartError, RateLimited
    from rampart.errors import from_response

    expected: dict[int, type[RampartError]] = {
        400: ValidationError,
        401: AuthenticationError,
        403: PermissionDenied,
        404: NotFound,
        409: Conflict,
        410: Gone,
        413: ValidationError,
        422: ValidationError,
        423: Locked,
        429: RateLimited,
        503: ServerError,
    }
    for status, kind in expected.items():
        problem = {"type": "about:blank", "title": "t", "status": status, "detail": "d"}
        response = httpx.Response(status, json=problem, headers={"retry-after": "2"})
        error = from_response(response)
        assert type(error) is kind, status
        assert (error.status, error.detail) == (status, "d")
    assert from_response(httpx.Response(429, headers={"retry-after": "2"})).retry_after == 2


def test_an_unknown_audit_filter_is_refused_before_sending() -> None:
    with Rampart("http://127.0.0.1:9", "rk_x") as rampart:
        with pytest.raises(ValueError, match="actoor_id"):
            rampart.audit.entries(actoor_id="u1")
        with pytest.raises(ValueError, match="page_size"):
            rampart.audit.entries(page_size=0)
