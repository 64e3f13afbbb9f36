"""Compliance's models: frameworks and controls, signed reports, waivers, control history."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Model, Request, Signed


class Control(Model):
    """A framework's control and what Rampart checks for it."""

    id: str
    title: str
    requirement: str
    checks: str
    manual: bool = False


class Framework(Model):
    """A framework (``soc2``, ``pci-dss``, ``hipaa``, ``gdpr``, ``mifid2``) and its controls."""

    id: str
    title: str
    version: str | None = None
    controls: list[Control]


class ReportRequest(Request):
    """``POST /v1/compliance/reports``'s body."""

    framework: str = Field(min_length=1)


class Summary(Model):
    """How many controls have each status."""

    pass_: int = Field(alias="pass")
    fail: int
    manual: int
    waived: int
    not_applicable: int


class ControlResult(Model):
    """A control's status in a report, with the live facts behind it."""

    id: str
    status: str
    title: str | None = None
    evidence: list[dict[str, Any]] = Field(default_factory=list)
    remediation: str | None = None


class Report(Signed):
    """A signed report (Ed25519 by the audit log's key, ``signature_b64``)."""

    id: str
    framework: str
    generated_at: str
    summary: Summary
    controls: list[ControlResult]
    signature_b64: str


class ReportInfo(Model):
    """A kept report, as listed."""

    id: str
    framework: str
    generated_at: str
    tree_size: int | None = None


class WaiverRequest(Request):
    """``POST /v1/compliance/waivers``'s body."""

    framework: str = Field(min_length=1)
    control: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires_at: str = Field(min_length=1)


class Waiver(Model):
    """A waiver: the control counts as ``waived`` until ``expires_at``, then as ``fail``."""

    id: str
    framework: str
    control: str
    reason: str
    expires_at: str
    expired: bool


class ControlEvaluation(Model):
    """One past result of a control (a report's, or the daily evaluation's: no report id)."""

    evaluated_at: str
    status: str
    report_id: str | None = None
