"""Retention's models: policies, disposal runs and certificates, legal holds."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ._base import Model, Request, Signed
from .audit import Checkpoint


class PolicyRequest(Request):
    """``PUT /v1/retention/policies/{data_type}``'s body: exactly one of ``retain_days`` and
    ``retain_seconds``."""

    retain_days: int | None = Field(default=None, ge=0)
    retain_seconds: int | None = Field(default=None, ge=0)
    mode: Literal["governance", "compliance"] = "governance"

    @model_validator(mode="after")
    def _one_period(self) -> PolicyRequest:
        if (self.retain_days is None) == (self.retain_seconds is None):
            raise ValueError("give exactly one of retain_days and retain_seconds")
        return self


class RetentionPolicy(Model):
    """How long a data type is kept, and whether it may be shortened (``governance``) or
    never (``compliance``)."""

    data_type: str
    retain_seconds: int
    retain_days: int
    mode: str
    updated_at: str
    updated_by: str


class RunStep(Model):
    """One data type's part of a disposal run."""

    data_type: str
    cutoff: str
    state: str
    due: int = 0
    disposed: int = 0
    held_back: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    certificate_id: str | None = None


class RetentionRun(Model):
    """A disposal run: its steps and the ``app:`` data types not confirmed yet."""

    id: str
    dry_run: bool
    state: str
    started_at: str | None = None
    finished_at: str | None = None
    steps: list[RunStep] = Field(default_factory=list)
    unconfirmed: list[str] = Field(default_factory=list)
    confirmations: list[dict[str, Any]] = Field(default_factory=list)


class DisposalConfirmation(Request):
    """``POST /v1/retention/runs/{id}/confirmations``'s body."""

    data_type: str = Field(min_length=1)
    records_deleted: int = Field(ge=0)
    deleted_before: str = Field(min_length=1)


class DisposalCertificate(Signed):
    """A signed disposal certificate (Ed25519 by the audit log's key, ``signature_b64``)."""

    id: str
    data_type: str
    cutoff: str
    count: int
    held_back: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    method: str | None = None
    checkpoint: Checkpoint | None = None
    signature_b64: str


class HoldScope(Request):
    """What a legal hold covers: each member given must match; none, everything."""

    subject_id: str | None = None
    tag: str | None = None
    team_id: str | None = None
    data_type: str | None = None
    from_: str | None = Field(default=None, alias="from")
    until: str | None = None

    def body(self) -> dict[str, object]:
        """The JSON scope (``from`` under its own name)."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class HoldRequest(Request):
    """``POST /v1/legal-holds``'s body."""

    name: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    scope: HoldScope

    def body(self) -> dict[str, object]:
        """The JSON body."""
        return self.model_dump(mode="json", exclude_none=True, by_alias=True)


class LegalHold(Model):
    """A legal hold: what it covers is never disposed of or erased while it lasts."""

    id: str
    name: str
    reason: str | None = None
    scope: dict[str, Any]
    created_at: str
