# Generated from _async/keys.py by scripts/unasync.py: edit that file, not this one.
"""Named keys and encryption as a service: applications never hold key material."""

from __future__ import annotations

import base64
from typing import Any

from .. import _shared
from ..models import Encrypted, Key
from ._core import Core


class Keys:
    """Named keys: applications never hold key material."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def create(self, name: str, key_type: str = "aes256-gcm", **options: Any) -> Key:
        """Creates a key (``options``: ``rotation_period_days``, ``team_id``, ...)."""
        body = {"name": name, "type": key_type, **options}
        return Key.model_validate(self._core.request("POST", "/v1/keys", json=body))

    def encrypt(
        self, name: str, plaintext: bytes, associated_data: bytes | None = None
    ) -> Encrypted:
        """Encrypts ``plaintext`` with the key's latest version."""
        body = _shared.encrypt_body(plaintext, associated_data)
        return Encrypted.model_validate(
            self._core.request("POST", _shared.key_path(name, "encrypt"), json=body)
        )

    def decrypt(self, name: str, ciphertext: str, associated_data: bytes | None = None) -> bytes:
        """Decrypts a ciphertext with the key version it names."""
        body = _shared.decrypt_body(ciphertext, associated_data)
        answer = self._core.request("POST", _shared.key_path(name, "decrypt"), json=body)
        return base64.b64decode(answer["plaintext"])
