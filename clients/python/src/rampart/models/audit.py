"""The audit log's models: appends, entries, checkpoints, proofs."""

from __future__ import annotations

from typing import Any

from ._base import Model


class AppendedEntry(Model):
    """An entry just appended: its position, id and leaf hash (hex)."""

    seq: int
    id: str
    leaf_hash: str


class AppendResult(Model):
    """The answer to an append: the entries, durable, and the tree size after them."""

    entries: list[AppendedEntry]
    tree_size: int


class AuditEntry(Model):
    """One audit log entry as the API returns it (every other field is kept as extra)."""

    seq: int
    id: str
    timestamp: str
    action: str
    status: str
    leaf_hash: str
    actor: dict[str, Any]
    resource: dict[str, Any]


class Checkpoint(Model):
    """The latest signed tree head: size, root hash (hex) and the signed note."""

    origin: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature_b64: str
    note: str


class InclusionProof(Model):
    """The audit path of entry ``seq`` in the tree of ``tree_size`` entries (hashes in hex)."""

    seq: int
    tree_size: int
    leaf_hash: str
    hashes: list[str]
