"""``audit.verify_inclusion`` against a lying server: an ``httpx.MockTransport`` in front of the
real one swaps in another entry's proof, alters the entry, or sends a key twice; each is refused,
and the honest server still verifies (an entry with ``personal_plain``, outside the leaf, too).
Also: a check with the server's own key logs one warning per client, naming the key_id."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rampart import AsyncRampart, Rampart

from .conftest import Server
from .wave2_support import unique

Rewrite = Callable[[httpx.Request, httpx.Client], httpx.Response]


def _event(subject: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "actor": {"type": "user", "id": "liar-test"},
        "action": "py.lying",
        "resource": {"type": "doc", "id": "d"},
        "status": "success",
    }
    if subject is not None:
        event["subject_id"] = subject
        event["personal"] = {"email": "someone@example.com"}
    return event


def _forward(
    request: httpx.Request, real: httpx.Client, url: httpx.URL | None = None
) -> httpx.Response:
    response = real.send(
        real.build_request(
            request.method, url or request.url, headers=request.headers, content=request.content
        )
    )
    return _copy(response)


def _copy(response: httpx.Response) -> httpx.Response:
    # The body is decoded already: its encoding and length headers no longer apply.
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }
    return httpx.Response(response.status_code, headers=headers, content=response.content)


def _client(server: Server, rewrite: Rewrite, real: httpx.Client, **options: Any) -> Rampart:
    transport = httpx.MockTransport(lambda request: rewrite(request, real))
    return Rampart(server.base_url, server.admin_key, transport=transport, **options)


def _proof_of(seq: int) -> Rewrite:
    """Answers every inclusion proof request with the proof of ``seq``."""

    def rewrite(request: httpx.Request, real: httpx.Client) -> httpx.Response:
        if request.url.path == "/v1/audit/proofs/inclusion":
            return _forward(request, real, request.url.copy_set_param("seq", str(seq)))
        return _forward(request, real)

    return rewrite


def _entry_edit(edit: Callable[[str, int], str]) -> Rewrite:
    """Rewrites the text of every ``GET /v1/audit/entries/{seq}`` answer."""

    def rewrite(request: httpx.Request, real: httpx.Client) -> httpx.Response:
        response = _forward(request, real)
        if request.url.path.startswith("/v1/audit/entries/") and response.status_code == 200:
            seq = int(request.url.path.rsplit("/", 1)[1])
            text = edit(response.text, seq)
            return httpx.Response(200, headers={"content-type": "application/json"}, text=text)
        return response

    return rewrite


def _changed_action(text: str, seq: int) -> str:
    entry = json.loads(text)
    entry["action"] = "py.forged"
    return json.dumps(entry)


def _changed_and_rehashed(text: str, seq: int) -> str:
    import rfc8785

    from rampart import merkle

    entry = json.loads(text)
    entry["action"] = "py.forged"
    body = {k: v for k, v in entry.items() if k != "leaf_hash"}
    entry["leaf_hash"] = merkle.leaf_hash(rfc8785.dumps(body)).hex()
    return json.dumps(entry)


def _duplicate_action(text: str, seq: int) -> str:
    return '{"action":"py.forged",' + text.lstrip()[1:]


def test_a_lying_server_is_caught(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as honest:
        first = honest.audit.append(_event()).entries[0].seq
        seqs = [e.seq for e in honest.audit.append_batch([_event() for _ in range(5)]).entries]
        key = honest.audit.public_key().verifier_key
    with httpx.Client(base_url=server.base_url) as real:
        with _client(server, _proof_of(first), real, audit_public_key=key) as liar:
            assert liar.audit.verify_inclusion(first), "the swapped proof is seq's own here"
            for seq in seqs:
                assert not liar.audit.verify_inclusion(seq), "another entry's proof"
            assert not liar.audit.verify_inclusion(10**6), "past the tree's end"
            with pytest.raises(ValueError, match="seq"):
                liar.audit.verify_inclusion(-1)
        for edit in (_changed_action, _changed_and_rehashed, _duplicate_action):
            with _client(server, _entry_edit(edit), real, audit_public_key=key) as liar:
                assert not liar.audit.verify_inclusion(seqs[2]), edit.__name__

        def other_entry(text: str, seq: int) -> str:
            return real.get(
                f"/v1/audit/entries/{first}",
                headers={"authorization": f"Bearer {server.admin_key}"},
            ).text

        with _client(server, _entry_edit(other_entry), real, audit_public_key=key) as liar:
            assert not liar.audit.verify_inclusion(seqs[0]), "another entry, its own leaf"
        with _client(
            server, lambda r, c: _forward(r, c), real, audit_public_key=key
        ) as passthrough:
            assert all(passthrough.audit.verify_inclusion(s) for s in [first, *seqs])


def test_both_lies_at_once_are_caught(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as honest:
        a, b = (e.seq for e in honest.audit.append_batch([_event(), _event()]).entries)
        key = honest.audit.public_key().verifier_key

    def rewrite(request: httpx.Request, real: httpx.Client) -> httpx.Response:
        # Asked about b, answer a's entry and a's proof: all consistent, but not entry b.
        url = request.url
        if url.path == f"/v1/audit/entries/{b}":
            url = url.copy_with(path=f"/v1/audit/entries/{a}")
        if url.path == "/v1/audit/proofs/inclusion" and url.params.get("seq") == str(b):
            url = url.copy_set_param("seq", str(a))
        return _forward(request, real, url)

    with httpx.Client(base_url=server.base_url) as real:
        with _client(server, rewrite, real, audit_public_key=key) as liar:
            assert liar.audit.verify_inclusion(a)
            assert not liar.audit.verify_inclusion(b)


def test_personal_plain_is_outside_the_leaf(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        seq = rampart.audit.append(_event(unique("py/liar"))).entries[0].seq
        entry = rampart.audit.get(seq)
        assert entry.model_extra and "personal_plain" in entry.model_extra
        assert rampart.audit.verify_inclusion(
            seq, public_key=rampart.audit.public_key().verifier_key
        )


def test_an_unpinned_key_warns_once_per_client(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        seq = rampart.audit.append(_event()).entries[0].seq
        key = rampart.audit.public_key()
        with caplog.at_level(logging.WARNING, logger="rampart.audit"):
            assert rampart.audit.verify_inclusion(seq)
            assert rampart.audit.verify_checkpoint(rampart.audit.checkpoint())
        warnings = [r for r in caplog.records if r.name == "rampart.audit"]
        assert len(warnings) == 1 and key.key_id in warnings[0].getMessage()
        assert key.public_key_b64 not in warnings[0].getMessage()
    caplog.clear()
    with Rampart(server.base_url, server.admin_key, audit_public_key=key.verifier_key) as pinned:
        with caplog.at_level(logging.WARNING, logger="rampart.audit"):
            assert pinned.audit.verify_inclusion(seq)
        with caplog.at_level(logging.WARNING, logger="rampart.audit"):
            assert pinned.audit.verify_inclusion(seq, public_key=key.public_key_b64)
    assert not [r for r in caplog.records if r.name == "rampart.audit"]


def test_async_lying_server(server: Server) -> None:
    async def run() -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as real:

            async def rewrite(request: httpx.Request) -> httpx.Response:
                url = request.url
                if url.path == "/v1/audit/proofs/inclusion":
                    url = url.copy_set_param("seq", "0")
                response = await real.send(
                    real.build_request(
                        request.method, url, headers=request.headers, content=request.content
                    )
                )
                return _copy(response)

            transport = httpx.MockTransport(rewrite)
            async with AsyncRampart(server.base_url, server.admin_key) as honest:
                seq = (await honest.audit.append(_event())).entries[0].seq
                assert await honest.audit.verify_inclusion(seq)
            async with AsyncRampart(server.base_url, server.admin_key, transport=transport) as liar:
                assert await liar.audit.verify_inclusion(0)
                assert not await liar.audit.verify_inclusion(seq)
                assert not await liar.audit.verify_inclusion(10**6)

    asyncio.run(run())
