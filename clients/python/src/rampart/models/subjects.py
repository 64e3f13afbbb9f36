"""Data subjects' models: consents, exports, erasures and their certificates."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Model, Request, Signed
from .audit import Checkpoint


class ConsentRequest(Request):
    """``POST /v1/subjects/{id}/consents``'s body."""

    purpose: str = Field(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$")
    given: bool
    source: str | None = None
    policy_version: str | None = None


class Consent(Model):
    """One record of a subject's append-only consent ledger."""

    id: int
    purpose: str
    given: bool
    at: str
    source: str | None = None
    policy_version: str | None = None
    erased: bool = False


class ConsentState(Model):
    """Where a purpose stands now."""

    given: bool
    at: str


class SubjectConsents(Model):
    """A subject's consents: the current state per purpose and the whole ledger."""

    current: dict[str, ConsentState]
    history: list[Consent]


class ConsentingSubject(Model):
    """A subject's current consent to the purpose asked about."""

    subject_id: str
    given: bool
    at: str


class SubjectExport(Signed):
    """Everything Rampart holds about a subject (GDPR Art. 20), signed (``signature_b64``)."""

    subject_id: str
    generated_at: str
    consents: SubjectConsents
    audit_entries: list[dict[str, Any]]
    principals: list[dict[str, Any]] = Field(default_factory=list)
    card_tokens: list[dict[str, Any]] = Field(default_factory=list)
    checkpoint: Checkpoint | None = None
    signature_b64: str


class ErasureRequest(Request):
    """``POST /v1/subjects/{id}/erasure``'s body: the application's stores to clear too."""

    reason: str | None = None
    stores: list[str] | None = None


class ErasureConfirmation(Request):
    """``POST /v1/erasures/{id}/confirmations``'s body."""

    store: str = Field(min_length=1)
    records_deleted: int = Field(ge=0)


class Erasure(Signed):
    """An erasure: ``pending`` until every named store confirmed, then ``completed``. Read with
    ``get`` it carries the signed certificate (``actions``, ``checkpoint``, ``signature_b64``)."""

    id: str
    status: str
    subject_id_sha256: str | None = None
    requested_at: str | None = None
    completed_at: str | None = None
    pending_stores: list[str] = Field(default_factory=list)
    actions: list[dict[str, Any]] = Field(default_factory=list)
    checkpoint: Checkpoint | None = None
    signature_b64: str | None = None
