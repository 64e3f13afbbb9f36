# Generated from _async/agents.py by scripts/unasync.py: edit that file, not this one.
"""AI-agent governance: guardrails, decisions on proposed actions, approvals, tokens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal

from pydantic import SecretStr

from .. import _paths
from ..models.agents import (
    ActionDecision,
    ActionRequest,
    ActionResult,
    AgentAction,
    AgentGuardrails,
    ExecutionToken,
    Guardrails,
    Target,
    TokenCheck,
    TokenKey,
    Verdict,
    VerifyTokenRequest,
)
from . import _transfer
from ._core import Core


class Agents:
    """What AI agents may do: each action is proposed, decided, approved, carried out once."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def guardrails(self, agent_id: str) -> AgentGuardrails:
        """An agent's guardrails (``agents:manage``); ``NotFound`` when none are set."""
        path = _paths.path("/v1/agents/{}/guardrails", agent_id)
        return AgentGuardrails.model_validate(self._core.request("GET", path))

    def put_guardrails(self, agent_id: str, **fields: Any) -> AgentGuardrails:
        """Sets an agent's guardrails from the fields of ``Guardrails`` (``max_actions_per_hour``,
        ``forbidden_actions``, ``require_approval``, ``auto_approve``, ``max_blast_radius``,
        ``approvals_required``, ``approval_timeout_seconds``, ``otherwise``)."""
        body = Guardrails(**fields)
        path = _paths.path("/v1/agents/{}/guardrails", agent_id)
        return AgentGuardrails.model_validate(self._core.request("PUT", path, json=body.body()))

    def submit(
        self,
        agent_id: str,
        *,
        action: str,
        target: Target | Mapping[str, Any],
        parameters: Mapping[str, Any] | None = None,
        blast_radius: Mapping[str, float] | None = None,
        reasoning: str | None = None,
        tool_calls: Sequence[Any] | None = None,
    ) -> ActionDecision:
        """Proposes an action for the agent and returns Rampart's decision (a denial too is a
        recorded decision, not an exception)."""
        body = ActionRequest(
            action=action,
            target=Target.model_validate(target),
            parameters=dict(parameters) if parameters is not None else None,
            blast_radius=dict(blast_radius) if blast_radius is not None else None,
            reasoning=reasoning,
            tool_calls=list(tool_calls) if tool_calls is not None else None,
        )
        path = _paths.path("/v1/agents/{}/actions", agent_id)
        return ActionDecision.model_validate(self._core.request("POST", path, json=body.body()))

    def actions(
        self,
        *,
        agent_id: str | None = None,
        status: str | None = None,
        page_size: int = 100,
    ) -> Iterator[AgentAction]:
        """Every action matching the filters, newest first, page after page."""
        params = {"agent_id": agent_id, "status": status}
        return _transfer.pages(self._core, "/v1/actions", AgentAction, params, page_size)

    def action(self, action_id: str) -> AgentAction:
        """One action with its approvals and result."""
        path = _paths.path("/v1/actions/{}", action_id)
        return AgentAction.model_validate(self._core.request("GET", path))

    def approvals(
        self,
        *,
        status: str = "pending",
        agent_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[AgentAction]:
        """Actions waiting for approval (``actions:approve``), newest first, page after page."""
        params = {"status": status, "agent_id": agent_id}
        return _transfer.pages(self._core, "/v1/approvals", AgentAction, params, page_size)

    def approve(self, action_id: str, *, comment: str | None = None) -> AgentAction:
        """Approves a pending action (never by the agent, its submitter or its owner:
        ``PermissionDenied``); ``Conflict`` if it is no longer pending."""
        path = _paths.path("/v1/actions/{}/approve", action_id)
        body = Verdict(comment=comment)
        return AgentAction.model_validate(self._core.request("POST", path, json=body.body()))

    def reject(self, action_id: str, *, comment: str | None = None) -> AgentAction:
        """Rejects a pending action: it is denied."""
        path = _paths.path("/v1/actions/{}/reject", action_id)
        body = Verdict(comment=comment)
        return AgentAction.model_validate(self._core.request("POST", path, json=body.body()))

    def new_token(self, action_id: str) -> ExecutionToken:
        """A new execution token (five minutes) for an allowed or approved action."""
        path = _paths.path("/v1/actions/{}/token", action_id)
        return ExecutionToken.model_validate(self._core.request("POST", path))

    def verify_token(
        self,
        token: str | SecretStr,
        *,
        parameters: Mapping[str, Any] | None = None,
        action: str | None = None,
        target: Target | Mapping[str, Any] | None = None,
    ) -> TokenCheck:
        """Checks an execution token against the exact ``parameters`` about to be used
        (``agents:submit``): valid once only."""
        raw = token.get_secret_value() if isinstance(token, SecretStr) else token
        body = VerifyTokenRequest(
            token=raw,
            parameters=dict(parameters) if parameters is not None else None,
            action=action,
            target=Target.model_validate(target) if target is not None else None,
        )
        return TokenCheck.model_validate(
            self._core.request("POST", "/v1/actions/verify-token", json=body.body())
        )

    def report_result(
        self,
        action_id: str,
        *,
        status: Literal["succeeded", "failed"],
        details: Mapping[str, Any] | None = None,
    ) -> AgentAction:
        """Reports what happened when the action was carried out (once; ``Conflict`` after)."""
        body = ActionResult(status=status, details=dict(details) if details is not None else None)
        path = _paths.path("/v1/actions/{}/result", action_id)
        return AgentAction.model_validate(self._core.request("POST", path, json=body.body()))

    def token_key(self) -> TokenKey:
        """The public key execution tokens are signed with."""
        return TokenKey.model_validate(self._core.request("GET", "/v1/agents/token-key"))
