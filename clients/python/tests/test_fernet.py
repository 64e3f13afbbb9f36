"""``RampartFernet`` against a real server and ``cryptography.fernet``: tokens interoperate both
ways with an imported key (and a MultiFernet's keys), ``InvalidToken`` where Fernet raises it,
``ttl``, ``*_at_time`` and the Fernet spec vectors."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, MultiFernet

from rampart import AsyncRampart, Rampart
from rampart.fernet import AsyncRampartFernet, InvalidToken, RampartFernet
from rampart.migrate import import_fernet_key

from ._util import unique
from .conftest import Server

VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "vectors" / "fernet"


def test_tokens_interoperate_both_ways(server: Server) -> None:
    secret = Fernet.generate_key()
    local = Fernet(secret)
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-fernet")
        import_fernet_key(rampart, name, secret)
        remote = RampartFernet(rampart, name)
        assert secret.decode() not in repr(remote)
        token = remote.encrypt(b"\x00secret\xff")
        assert isinstance(token, bytes)
        assert local.decrypt(token) == b"\x00secret\xff"
        made_here = local.encrypt(b"from cryptography")
        assert remote.decrypt(made_here) == b"from cryptography"
        assert remote.decrypt(made_here.decode()) == b"from cryptography", "str tokens too"
        assert remote.decrypt(made_here, ttl=3600) == b"from cryptography"
        old = local.encrypt_at_time(b"old", int(time.time()) - 7200)
        assert remote.decrypt(old) == b"old", "no TTL unless asked"
        with pytest.raises(InvalidToken):
            remote.decrypt(old, ttl=60)
        for bad in (b"garbage", "gAAAA", Fernet(Fernet.generate_key()).encrypt(b"x"), b"\xff\xfe"):
            with pytest.raises(InvalidToken):
                remote.decrypt(bad)
        tampered = bytearray(token)
        tampered[-5] = ord("A") if tampered[-5] != ord("A") else ord("B")
        with pytest.raises(InvalidToken):
            remote.decrypt(bytes(tampered))
        with pytest.raises(TypeError):
            remote.encrypt("text")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            remote.decrypt(42)  # type: ignore[arg-type]


def test_a_multifernet_keys_import_newest_first(server: Server) -> None:
    newest, older = Fernet.generate_key(), Fernet.generate_key()
    multi = MultiFernet([Fernet(newest), Fernet(older)])
    legacy = Fernet(older).encrypt(b"made long ago")
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-multi")
        key = import_fernet_key(rampart, name, [newest, older.decode()])
        assert key.latest_version == 2
        remote = RampartFernet(rampart, name)
        assert remote.decrypt(legacy) == b"made long ago"
        assert Fernet(newest).decrypt(remote.encrypt(b"new")) == b"new", "newest encrypts"
        assert multi.decrypt(remote.encrypt(b"both")) == b"both"
        with pytest.raises(ValueError, match="not a Fernet key") as refused:
            import_fernet_key(rampart, unique("py-bad"), "short-key")
        assert "short-key" not in str(refused.value)
        with pytest.raises(ValueError, match="at least one"):
            import_fernet_key(rampart, unique("py-bad"), [])


def test_at_time_stamps_and_checks_like_fernet(server: Server) -> None:
    secret = Fernet.generate_key()
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-at-time")
        import_fernet_key(rampart, name, secret)
        remote = RampartFernet(rampart, name)
        token = remote.encrypt_at_time(b"stamped", 1_000_000_000)
        assert Fernet(secret).extract_timestamp(token) == 1_000_000_000
        assert remote.decrypt_at_time(token, 60, 1_000_000_030) == b"stamped"
        with pytest.raises(InvalidToken):
            remote.decrypt_at_time(token, 60, 1_000_000_100)
        local = Fernet(secret).encrypt_at_time(b"here", 2_000_000_000)
        assert remote.decrypt_at_time(local, 10, 2_000_000_005) == b"here"


def _vectors(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    if not path.is_file():
        pytest.skip("skipped: no vectors")
    data: list[dict[str, Any]] = json.loads(path.read_text())
    return data


def test_fernet_spec_vectors(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        keys: dict[str, RampartFernet] = {}

        def fernet(secret: str) -> RampartFernet:
            if secret not in keys:
                name = unique("py-vec")
                import_fernet_key(rampart, name, secret)
                keys[secret] = RampartFernet(rampart, name)
            return keys[secret]

        for case in _vectors("verify.json"):
            now = int(datetime.fromisoformat(case["now"]).timestamp())
            plain = fernet(case["secret"]).decrypt_at_time(case["token"], case["ttl_sec"], now)
            assert plain == case["src"].encode()
        for case in _vectors("invalid.json"):
            now = int(datetime.fromisoformat(case["now"]).timestamp())
            with pytest.raises(InvalidToken):
                fernet(case["secret"]).decrypt_at_time(case["token"], case["ttl_sec"], now)


def test_async_twin(server: Server) -> None:
    secret = Fernet.generate_key()

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            name = unique("py-async-fernet")
            await rampart.keys.create(name, "fernet", import_key=secret)
            remote = AsyncRampartFernet(rampart, name)
            assert Fernet(secret).decrypt(await remote.encrypt(b"a")) == b"a"
            assert await remote.decrypt(Fernet(secret).encrypt(b"b")) == b"b"
            with pytest.raises(InvalidToken):
                await remote.decrypt(b"nope")

    asyncio.run(run())
