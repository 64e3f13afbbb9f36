"""Named keys' models: metadata (never material), requests, ciphertexts, batch outcomes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from pydantic import Field, SecretStr, field_validator

from ._base import Model, Request

KeyType = Literal["aes256-gcm", "fernet", "hmac-sha256", "ed25519"]
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class KeyVersion(Model):
    """One version of a key: its number, when it was made and (``ed25519``) its public key."""

    version: int
    created_at: str
    public_key_b64: str | None = None


class Key(Model):
    """A named key's metadata (never its material)."""

    name: str
    type: str
    latest_version: int
    min_decryption_version: int = 1
    versions: list[KeyVersion] = Field(default_factory=list)
    rotation_period_days: int | None = None
    next_rotation_at: str | None = None
    created_at: str | None = None
    team_id: str | None = None


class CreateKey(Request):
    """``POST /v1/keys``. ``import_key``/``import_keys`` (Fernet keys) are secrets: they never
    appear in ``repr``."""

    name: str
    type: KeyType = "aes256-gcm"
    rotation_period_days: int | None = Field(default=None, ge=1)
    team_id: str | None = None
    import_key: SecretStr | None = None
    import_keys: list[SecretStr] | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("must be 1 to 128 of A-Za-z0-9_-")
        return value

    def body(self) -> dict[str, object]:
        """The JSON body, the imported keys revealed only here."""
        out = self.model_dump(mode="json", exclude_none=True, exclude={"import_key", "import_keys"})
        if self.import_key is not None:
            out["import_key"] = self.import_key.get_secret_value()
        if self.import_keys is not None:
            out["import_keys"] = [k.get_secret_value() for k in self.import_keys]
        return out


class UpdateKey(Request):
    """``PATCH /v1/keys/{name}``: retire old versions and/or change automatic rotation."""

    min_decryption_version: int | None = Field(default=None, ge=1)
    rotation_period_days: int | None = Field(default=None, ge=1)
    allow_lowering: bool | None = None


class Encrypted(Model):
    """A ciphertext and the key version that made it."""

    ciphertext: str
    key_version: int


class Signature(Model):
    """An Ed25519 signature, ``rampart:v<version>:<base64 of 64 bytes>``."""

    signature: str

    @property
    def version(self) -> int:
        """The key version that signed."""
        return int(self.signature.split(":")[1][1:])

    @property
    def raw(self) -> bytes:
        """The 64 raw signature bytes."""
        import base64

        return base64.b64decode(self.signature.split(":", 2)[2])


T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """One item of a batch: a ``value`` or the ``error`` the server gave for that item alone."""

    value: T | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the item succeeded."""
        return self.error is None

    def unwrap(self) -> T:
        """The value; raises ``ValueError`` with the item's error when it failed."""
        if self.error is not None or self.value is None:
            raise ValueError(self.error or "no value")
        return self.value
