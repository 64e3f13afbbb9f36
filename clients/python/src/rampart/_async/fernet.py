"""``AsyncRampartFernet``: ``cryptography.fernet.Fernet``'s methods backed by a named Rampart
``fernet`` key, so an application changes one import and stops holding the key."""

from __future__ import annotations

from cryptography.fernet import InvalidToken

from ..errors import ValidationError
from .client import AsyncRampart


def _data(data: bytes) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError("data must be bytes.")
    return data


def _token(token: bytes | str) -> str:
    if isinstance(token, str):
        return token
    if not isinstance(token, bytes):
        raise TypeError("token must be bytes or str")
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidToken from None


class AsyncRampartFernet:
    """A drop-in for ``cryptography.fernet.Fernet`` whose key stays in Rampart: ``key`` names
    a ``fernet`` key (import an existing one with ``rampart.migrate.import_fernet_key`` and
    tokens interoperate both ways). Raises ``InvalidToken`` where Fernet would; the key's
    versions are tried newest first, as ``MultiFernet`` does."""

    def __init__(self, client: AsyncRampart, key: str) -> None:
        self._client = client
        self._key = key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(key={self._key!r})"

    async def encrypt(self, data: bytes) -> bytes:
        """A Fernet token of ``data``, stamped with the current time."""
        sealed = await self._client.keys.encrypt(self._key, _data(data))
        return sealed.ciphertext.encode("ascii")

    async def encrypt_at_time(self, data: bytes, current_time: int) -> bytes:
        """A Fernet token of ``data`` stamped with ``current_time`` (Unix seconds)."""
        sealed = await self._client.keys.encrypt(self._key, _data(data), at_time=current_time)
        return sealed.ciphertext.encode("ascii")

    async def decrypt(self, token: bytes | str, ttl: int | None = None) -> bytes:
        """The plaintext of ``token``; ``InvalidToken`` when it is not valid, not this key's, or
        (with ``ttl``) older than ``ttl`` seconds."""
        try:
            return await self._client.keys.decrypt(self._key, _token(token), ttl_seconds=ttl)
        except ValidationError:
            raise InvalidToken from None

    async def decrypt_at_time(self, token: bytes | str, ttl: int, current_time: int) -> bytes:
        """As ``decrypt``, with ``current_time`` as "now" for the ``ttl`` check."""
        try:
            return await self._client.keys.decrypt(
                self._key, _token(token), ttl_seconds=ttl, at_time=current_time
            )
        except ValidationError:
            raise InvalidToken from None
