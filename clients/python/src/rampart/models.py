"""Pydantic models of the answers this client reads. Unknown fields are kept (``extra``), so a
newer server's additions reach the caller."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class AppendedEntry(_Model):
    """An entry just appended: its position, id and leaf hash (hex)."""

    seq: int
    id: str
    leaf_hash: str


class AppendResult(_Model):
    """The answer to an append: the entries, durable, and the tree size after them."""

    entries: list[AppendedEntry]
    tree_size: int


class AuditEntry(_Model):
    """One audit log entry as the API returns it (every other field is kept as extra)."""

    seq: int
    id: str
    timestamp: str
    action: str
    status: str
    leaf_hash: str
    actor: dict[str, Any]
    resource: dict[str, Any]


class Checkpoint(_Model):
    """The latest signed tree head: size, root hash (hex) and the signed note."""

    origin: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature_b64: str
    note: str


class InclusionProof(_Model):
    """The audit path of entry ``seq`` in the tree of ``tree_size`` entries (hashes in hex)."""

    seq: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]


class Key(_Model):
    """A named key's metadata (never its material)."""

    name: str
    type: str
    latest_version: int


class Encrypted(_Model):
    """A ciphertext and the key version that made it."""

    ciphertext: str
    key_version: int
