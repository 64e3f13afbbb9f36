"""Named keys and encryption as a service: applications never hold key material."""

from __future__ import annotations

import base64
import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import SecretStr

from .. import _shared
from ..models import CreateKey, Encrypted, Key, KeyType, Outcome, Signature, UpdateKey
from ._core import AsyncCore
from ._transfer import pages

_UNSET: Any = object()


def _secret(value: bytes | str) -> SecretStr:
    return SecretStr(value.decode("ascii") if isinstance(value, bytes) else value)


def _associated(
    count: int, associated_data: Sequence[bytes | None] | None
) -> Sequence[bytes | None]:
    if associated_data is None:
        return [None] * count
    if len(associated_data) != count:
        raise ValueError("associated_data: needs one item (or None) per input")
    return associated_data


def _encrypted(item: dict[str, Any]) -> Encrypted:
    return Encrypted.model_validate(item)


def _plaintext(item: dict[str, Any]) -> bytes:
    return base64.b64decode(item["plaintext"])


class AsyncKeys:
    """Named keys: applications never hold key material. Binary inputs and outputs are
    ``bytes``; ciphertexts, HMACs and signatures are the API's strings."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def create(
        self,
        name: str,
        key_type: KeyType = "aes256-gcm",
        *,
        rotation_period_days: int | None = None,
        team_id: str | None = None,
        import_key: bytes | str | None = None,
        import_keys: Sequence[bytes | str] | None = None,
    ) -> Key:
        """Creates a key. ``fernet`` keys may import an existing Fernet key (``import_key``)
        or a ``MultiFernet``'s keys newest first (``import_keys``); neither is ever printed."""
        request = CreateKey(
            name=name,
            type=key_type,
            rotation_period_days=rotation_period_days,
            team_id=team_id,
            import_key=_secret(import_key) if import_key is not None else None,
            import_keys=[_secret(k) for k in import_keys] if import_keys is not None else None,
        )
        if (import_key is not None or import_keys is not None) and key_type != "fernet":
            raise ValueError("import_key, import_keys: only for fernet keys")
        return Key.model_validate(await self._core.request("POST", "/v1/keys", json=request.body()))

    def list(self, *, page_size: int = 100) -> AsyncIterator[Key]:
        """Every key's metadata, page after page."""
        return pages(self._core, "/v1/keys", Key, {}, page_size)

    async def get(self, name: str) -> Key:
        """One key's metadata (``ed25519`` versions carry ``public_key_b64``)."""
        return Key.model_validate(await self._core.request("GET", _shared.key_path(name)))

    async def rotate(self, name: str) -> Key:
        """Adds a version and makes it the latest; older versions still decrypt."""
        return Key.model_validate(
            await self._core.request("POST", _shared.key_path(name, "rotate"))
        )

    async def update(
        self,
        name: str,
        *,
        min_decryption_version: int | None = None,
        rotation_period_days: int | None = _UNSET,
        allow_lowering: bool | None = None,
    ) -> Key:
        """Retires versions below ``min_decryption_version`` and/or sets
        ``rotation_period_days`` (``None`` turns automatic rotation off)."""
        fields: dict[str, Any] = {}
        if min_decryption_version is not None:
            fields["min_decryption_version"] = min_decryption_version
        if rotation_period_days is not _UNSET:
            fields["rotation_period_days"] = rotation_period_days
        if allow_lowering is not None:
            fields["allow_lowering"] = allow_lowering
        if not fields:
            raise ValueError("update: give min_decryption_version and/or rotation_period_days")
        body = UpdateKey(**fields).model_dump(mode="json", exclude_unset=True)
        return Key.model_validate(
            await self._core.request("PATCH", _shared.key_path(name), json=body)
        )

    async def encrypt(
        self,
        name: str,
        plaintext: bytes,
        associated_data: bytes | None = None,
        *,
        at_time: int | None = None,
    ) -> Encrypted:
        """Encrypts ``plaintext`` with the key's latest version (``at_time``: the Unix time a
        Fernet token is stamped with, as ``Fernet.encrypt_at_time``)."""
        body = _shared.crypt_item(
            "plaintext", _shared.b64(plaintext), associated_data, None, at_time
        )
        return Encrypted.model_validate(
            await self._core.request("POST", _shared.key_path(name, "encrypt"), json=body)
        )

    async def decrypt(
        self,
        name: str,
        ciphertext: str,
        associated_data: bytes | None = None,
        *,
        ttl_seconds: int | None = None,
        at_time: int | None = None,
    ) -> bytes:
        """Decrypts a ciphertext with the version it names (Fernet: ``ttl_seconds`` refuses
        older tokens, ``at_time`` is the "now" of that check)."""
        body = _shared.crypt_item("ciphertext", ciphertext, associated_data, ttl_seconds, at_time)
        answer = await self._core.request("POST", _shared.key_path(name, "decrypt"), json=body)
        return base64.b64decode(answer["plaintext"])

    async def encrypt_many(
        self,
        name: str,
        plaintexts: Sequence[bytes],
        associated_data: Sequence[bytes | None] | None = None,
        *,
        at_time: int | None = None,
    ) -> builtins.list[Outcome[Encrypted]]:
        """Encrypts 1 to 10,000 plaintexts in one request; one ``Outcome`` per item, in order
        (a bad item fails alone)."""
        ads = _associated(len(plaintexts), associated_data)
        items = [
            _shared.crypt_item("plaintext", _shared.b64(p), a, None, at_time)
            for p, a in zip(plaintexts, ads, strict=True)
        ]
        answer = await self._core.request(
            "POST", _shared.key_path(name, "encrypt"), json=_shared.batch_body(items)
        )
        return _shared.outcomes(answer, _encrypted)

    async def decrypt_many(
        self,
        name: str,
        ciphertexts: Sequence[str],
        associated_data: Sequence[bytes | None] | None = None,
        *,
        ttl_seconds: int | None = None,
        at_time: int | None = None,
    ) -> builtins.list[Outcome[bytes]]:
        """Decrypts 1 to 10,000 ciphertexts in one request; one ``Outcome`` per item."""
        ads = _associated(len(ciphertexts), associated_data)
        items = [
            _shared.crypt_item("ciphertext", c, a, ttl_seconds, at_time)
            for c, a in zip(ciphertexts, ads, strict=True)
        ]
        answer = await self._core.request(
            "POST", _shared.key_path(name, "decrypt"), json=_shared.batch_body(items)
        )
        return _shared.outcomes(answer, _plaintext)

    async def rewrap(
        self, name: str, ciphertext: str, associated_data: bytes | None = None
    ) -> Encrypted:
        """The same plaintext under the latest version, never revealed to the caller."""
        body = _shared.crypt_item("ciphertext", ciphertext, associated_data)
        return Encrypted.model_validate(
            await self._core.request("POST", _shared.key_path(name, "rewrap"), json=body)
        )

    async def rewrap_many(
        self,
        name: str,
        ciphertexts: Sequence[str],
        associated_data: Sequence[bytes | None] | None = None,
    ) -> builtins.list[Outcome[Encrypted]]:
        """Rewraps 1 to 10,000 ciphertexts in one request; one ``Outcome`` per item."""
        ads = _associated(len(ciphertexts), associated_data)
        items = [
            _shared.crypt_item("ciphertext", c, a) for c, a in zip(ciphertexts, ads, strict=True)
        ]
        answer = await self._core.request(
            "POST", _shared.key_path(name, "rewrap"), json=_shared.batch_body(items)
        )
        return _shared.outcomes(answer, _encrypted)

    async def hmac(self, name: str, data: bytes) -> str:
        """HMAC-SHA256 of ``data`` with the latest version, ``rampart:v<n>:<base64>``."""
        body = {"input": _shared.b64(data)}
        answer = await self._core.request("POST", _shared.key_path(name, "hmac"), json=body)
        return str(answer["hmac"])

    async def verify_hmac(self, name: str, data: bytes, mac: str) -> bool:
        """Whether ``mac`` is this key's HMAC of ``data`` (checked in constant time)."""
        body = {"input": _shared.b64(data), "hmac": mac}
        answer = await self._core.request("POST", _shared.key_path(name, "verify-hmac"), json=body)
        return bool(answer["valid"])

    async def sign(self, name: str, data: bytes) -> Signature:
        """The Ed25519 signature of ``data`` with the latest version."""
        body = {"input": _shared.b64(data)}
        return Signature.model_validate(
            await self._core.request("POST", _shared.key_path(name, "sign"), json=body)
        )

    async def verify(self, name: str, data: bytes, signature: Signature | str) -> bool:
        """Whether the server finds ``signature`` to be this key's over ``data``."""
        text = signature.signature if isinstance(signature, Signature) else signature
        body = {"input": _shared.b64(data), "signature": text}
        answer = await self._core.request("POST", _shared.key_path(name, "verify"), json=body)
        return bool(answer["valid"])

    async def verify_locally(
        self, name: str, data: bytes, signature: Signature | str, key: Key | None = None
    ) -> bool:
        """Checks ``signature`` here, with ``cryptography``, against the public key of the
        version that made it (from ``key``, else fetched): no trust in the server's verdict."""
        text = signature.signature if isinstance(signature, Signature) else signature
        return _shared.verify_ed25519(key or await self.get(name), data, text)
