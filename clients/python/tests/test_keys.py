"""The keys namespace against a real server: every key type and operation, batches with a bad
item, local Ed25519 verification, imported Fernet keys never printed, and bad input refused."""

from __future__ import annotations

import asyncio
import base64
import logging

import pydantic
import pytest

from rampart import AsyncRampart, Conflict, NotFound, Rampart, ValidationError
from rampart.models import CreateKey, Signature

from ._util import unique
from .conftest import Server

FERNET_KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="


def test_lifecycle_create_list_get_rotate_update(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-life")
        key = rampart.keys.create(name, rotation_period_days=90)
        assert (key.type, key.latest_version, key.rotation_period_days) == ("aes256-gcm", 1, 90)
        with pytest.raises(Conflict):
            rampart.keys.create(name)
        assert name in {k.name for k in rampart.keys.list(page_size=2)}, "across pages"
        old = rampart.keys.encrypt(name, b"v1 data")
        rotated = rampart.keys.rotate(name)
        assert rotated.latest_version == 2 and len(rotated.versions) == 2
        assert rampart.keys.decrypt(name, old.ciphertext) == b"v1 data", "old versions decrypt"
        rewrapped = rampart.keys.rewrap(name, old.ciphertext)
        assert rewrapped.key_version == 2
        updated = rampart.keys.update(name, min_decryption_version=2, rotation_period_days=None)
        assert updated.min_decryption_version == 2
        assert updated.rotation_period_days is None
        assert rampart.keys.get(name).min_decryption_version == 2
        with pytest.raises(ValidationError):
            rampart.keys.decrypt(name, old.ciphertext)
        assert rampart.keys.decrypt(name, rewrapped.ciphertext) == b"v1 data"
        with pytest.raises(NotFound):
            rampart.keys.get(unique("missing"))


def test_batches_report_each_item(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-batch")
        rampart.keys.create(name)
        sealed = rampart.keys.encrypt_many(name, [b"a", b"b", b"c"], [b"1", None, b"3"])
        assert all(o.ok for o in sealed)
        texts = [o.unwrap().ciphertext for o in sealed]
        texts[1] = texts[1][:-4] + "AAAA"  # tampered
        opened = rampart.keys.decrypt_many(name, texts, [b"1", None, b"3"])
        assert opened[0].unwrap() == b"a" and opened[2].unwrap() == b"c"
        assert not opened[1].ok and opened[1].error
        with pytest.raises(ValueError, match="batch"):
            opened[1].unwrap()
        rewrapped = rampart.keys.rewrap_many(name, [texts[0], "rampart:v1:xx"], [b"1", None])
        assert rewrapped[0].ok and not rewrapped[1].ok
        with pytest.raises(ValueError, match="1 to 10000"):
            rampart.keys.encrypt_many(name, [])
        with pytest.raises(ValueError, match="one item"):
            rampart.keys.decrypt_many(name, texts, [b"1"])


def test_hmac_and_signatures_verified_here_too(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        mac_key, sign_key = unique("py-hmac"), unique("py-sign")
        rampart.keys.create(mac_key, "hmac-sha256")
        mac = rampart.keys.hmac(mac_key, b"user-42")
        assert mac.startswith("rampart:v1:")
        assert rampart.keys.verify_hmac(mac_key, b"user-42", mac)
        assert not rampart.keys.verify_hmac(mac_key, b"user-43", mac)
        rampart.keys.create(sign_key, "ed25519")
        signature = rampart.keys.sign(sign_key, b"release 1.2.3")
        assert len(signature.raw) == 64 and signature.version == 1
        assert rampart.keys.verify(sign_key, b"release 1.2.3", signature)
        assert rampart.keys.verify_locally(sign_key, b"release 1.2.3", signature)
        assert not rampart.keys.verify_locally(sign_key, b"release 1.2.4", signature)
        forged = base64.b64encode(bytes(64)).decode()
        assert not rampart.keys.verify_locally(sign_key, b"release 1.2.3", f"rampart:v1:{forged}")
        assert not rampart.keys.verify_locally(sign_key, b"x", "not a signature")
        assert not rampart.keys.verify_locally(sign_key, b"x", "rampart:v9:" + forged)
        # A later version signs; the earlier signature still checks against its own version.
        key = rampart.keys.rotate(sign_key)
        newer = rampart.keys.sign(sign_key, b"release 2")
        assert newer.version == 2
        assert rampart.keys.verify_locally(sign_key, b"release 2", newer, key=key)
        assert rampart.keys.verify_locally(sign_key, b"release 1.2.3", signature, key=key)
        # An HMAC key does not sign: the server says so.
        with pytest.raises(ValidationError):
            rampart.keys.sign(mac_key, b"x")


def test_fernet_key_import_never_prints(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    request = CreateKey(name="k", type="fernet", import_key=FERNET_KEY)
    for text in (repr(request), str(request)):
        assert FERNET_KEY not in text
    assert request.body()["import_key"] == FERNET_KEY
    caplog.set_level(logging.DEBUG)
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-fernet")
        key = rampart.keys.create(name, "fernet", import_key=FERNET_KEY.encode())
        assert FERNET_KEY not in repr(key)
        with pytest.raises(ValidationError) as refused:
            rampart.keys.create(unique("py-fernet"), "fernet", import_key="x" + FERNET_KEY[1:-2])
        assert FERNET_KEY[1:-2] not in str(refused.value)
    assert FERNET_KEY not in caplog.text


def test_bad_input_is_refused_before_sending(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        with pytest.raises(pydantic.ValidationError):
            rampart.keys.create("../etc")
        with pytest.raises(pydantic.ValidationError):
            rampart.keys.create(unique("k"), "rsa")  # type: ignore[arg-type]
        with pytest.raises(pydantic.ValidationError):
            rampart.keys.create(unique("k"), rotation_period_days=0)
        with pytest.raises(ValueError, match="only for fernet"):
            rampart.keys.create(unique("k"), import_key=FERNET_KEY)
        with pytest.raises(ValueError, match="update"):
            rampart.keys.update("anything")
        with pytest.raises(TypeError):
            rampart.keys.encrypt("anything", "text")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="ttl_seconds"):
            rampart.keys.decrypt("anything", "x", ttl_seconds=-1)
    assert Signature(signature="rampart:v3:" + base64.b64encode(b"s" * 64).decode()).version == 3


def test_async_keys(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            name = unique("py-async-keys")
            await rampart.keys.create(name, "ed25519")
            assert name in {k.name async for k in rampart.keys.list()}
            signature = await rampart.keys.sign(name, b"data")
            assert await rampart.keys.verify_locally(name, b"data", signature)
            aes = unique("py-async-aes")
            await rampart.keys.create(aes)
            sealed = await rampart.keys.encrypt_many(aes, [b"x", b"y"])
            opened = await rampart.keys.decrypt_many(aes, [o.unwrap().ciphertext for o in sealed])
            assert [o.unwrap() for o in opened] == [b"x", b"y"]
            assert (await rampart.keys.rotate(aes)).latest_version == 2

    asyncio.run(run())
