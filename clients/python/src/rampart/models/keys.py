"""Named keys' models: metadata (never material) and ciphertexts."""

from __future__ import annotations

from ._base import Model


class Key(Model):
    """A named key's metadata (never its material)."""

    name: str
    type: str
    latest_version: int


class Encrypted(Model):
    """A ciphertext and the key version that made it."""

    ciphertext: str
    key_version: int
