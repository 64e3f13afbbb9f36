"""The audit log's models: appends, entries, checkpoints, proofs."""

from __future__ import annotations

from typing import Any

from pydantic import Field

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
    """One audit log entry as the API returns it. ``submitted_by`` is who really wrote it (from
    the credential), ``actor`` whom the writer names; ``personal`` (sealed) and
    ``personal_plain`` (for ``gdpr:read`` callers) are kept as extras when present."""

    seq: int
    id: str
    timestamp: str
    action: str
    status: str
    leaf_hash: str
    actor: dict[str, Any]
    resource: dict[str, Any]
    context: dict[str, Any] | None = None
    details: dict[str, Any] | None = None
    previous_state: Any = None
    new_state: Any = None
    error_message: str | None = None
    data_classification: str | None = None
    compliance_tags: list[str] = Field(default_factory=list)
    subject_id: str | None = None
    submitted_by: dict[str, Any] | None = None


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


class PublicKey(Model):
    """The log's Ed25519 key (``GET /v1/audit/public-key``): raw key in base64, its C2SP key id
    and the C2SP verifier key string."""

    key_id: str
    algorithm: str
    public_key_b64: str
    origin: str
    verifier_key: str


class ConsistencyProof(Model):
    """The RFC 9162 §2.1.4 proof that the tree of ``second`` entries extends that of ``first``."""

    first: int = Field(alias="from")
    second: int = Field(alias="to")
    hashes: list[str]


class Problem(Model):
    """One thing wrong with the log or an export, at entry ``seq`` when there is one."""

    seq: int | None = None
    problem: str
    line: int | None = None


class VerifyResult(Model):
    """A verdict on the log (``POST /v1/audit/verify``) or on an export file (offline)."""

    ok: bool
    tree_size: int
    root_hash: str
    checked_entries: int
    problems: list[Problem] = Field(default_factory=list)
    pruned_entries: int = 0
    withheld_entries: int = 0
