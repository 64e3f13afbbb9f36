"""AI-agent governance's models: guardrails, actions and decisions, approvals, tokens."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from ._base import Model, Request


class Guardrails(Request):
    """An agent's guardrails to set; fields left out take the server's defaults."""

    max_actions_per_hour: int | None = Field(default=None, ge=0)
    forbidden_actions: list[str] | None = None
    require_approval: list[str] | None = None
    auto_approve: list[str] | None = None
    max_blast_radius: dict[str, float] | None = None
    approvals_required: int | None = Field(default=None, ge=1, le=10)
    approval_timeout_seconds: int | None = Field(default=None, ge=1)
    otherwise: Literal["deny", "require_approval"] | None = None


class AgentGuardrails(Model):
    """An agent's guardrails with every default written out."""

    max_actions_per_hour: int | None = None
    forbidden_actions: list[str]
    require_approval: list[str]
    auto_approve: list[str]
    max_blast_radius: dict[str, float]
    approvals_required: int
    approval_timeout_seconds: int
    otherwise: str


class Target(Request):
    """What an action acts on; ``team_id`` puts it under team isolation."""

    type: str = Field(min_length=1)
    id: str = Field(min_length=1)
    team_id: str | None = None


class ActionRequest(Request):
    """``POST /v1/agents/{id}/actions``'s body."""

    action: str = Field(min_length=1)
    target: Target
    parameters: dict[str, Any] | None = None
    blast_radius: dict[str, float] | None = None
    reasoning: str | None = None
    tool_calls: list[Any] | None = None


class ActionDecision(Model):
    """Rampart's decision on a proposed action; ``execution_token`` (one use, five minutes)
    when allowed, never printed: read it with ``get_secret_value()``."""

    id: str
    decision: Literal["allowed", "pending_approval", "denied"]
    reason: str
    status: str | None = None
    rule: str | None = None
    execution_token: SecretStr | None = None
    expires_at: str | None = None
    approvals_required: int = 0
    parameters_sha256: str | None = None


class AgentAction(Model):
    """An action as recorded: its status, approvals and result."""

    id: str
    action: str
    status: str
    agent_id: str | None = None
    target: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, Any] | None = None
    approvals_required: int = 0
    approvals: list[dict[str, Any]] = Field(default_factory=list)
    result: dict[str, Any] | None = None


class Verdict(Request):
    """An approval's or a rejection's body."""

    comment: str | None = None


class ExecutionToken(Model):
    """A fresh execution token for an allowed or approved action (never printed)."""

    action_id: str
    execution_token: SecretStr
    expires_at: str


class VerifyTokenRequest(Request):
    """``POST /v1/actions/verify-token``'s body (the token never in its ``repr``)."""

    token: SecretStr = Field(min_length=1)
    parameters: dict[str, Any] | None = None
    action: str | None = None
    target: Target | None = None

    def body(self) -> dict[str, object]:
        """The JSON body, with the token itself."""
        return {**super().body(), "token": self.token.get_secret_value()}


class TokenCheck(Model):
    """Whether an execution token is valid for these parameters (once only) and why."""

    valid: bool
    reason: str
    action_id: str | None = None
    action: str | None = None
    agent_id: str | None = None


class ActionResult(Request):
    """``POST /v1/actions/{id}/result``'s body."""

    status: Literal["succeeded", "failed"]
    details: dict[str, Any] | None = None


class TokenKey(Model):
    """The public key execution tokens are signed with (PASETO v4.public, Ed25519)."""

    version: str
    algorithm: str
    public_key_b64: str
    paserk: str
