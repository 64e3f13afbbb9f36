"""AI-agent governance against a real server: guardrails, decisions, one-time execution tokens,
approvals with separation of duties, results; the execution token never prints."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pydantic
import pytest

from rampart import (
    AsyncRampart,
    Conflict,
    NotFound,
    PermissionDenied,
    Rampart,
    ValidationError,
)

from .conftest import Server
from .wave2_support import unique

TARGET = {"type": "deployment", "id": "checkout", "team_id": "payments"}


@dataclass(frozen=True)
class Agents:
    """An AI agent with guardrails and an approver's API key (an operator of its team)."""

    agent_id: str
    approver_key: str
    approver_id: str


@pytest.fixture(scope="module")
def agents(server: Server) -> Iterator[Agents]:
    with Rampart(server.base_url, server.admin_key) as rampart:
        policy = rampart.request("GET", "/v1/policy")
        policy["roles"]["py_remediation_agent"] = {"permissions": ["actions:*"]}
        rampart.request("PUT", "/v1/policy", json=policy)
        agent = rampart.request(
            "POST",
            "/v1/principals",
            json={
                "type": "ai_agent",
                "name": unique("py-bot"),
                "roles": ["py_remediation_agent"],
                "teams": ["payments"],
            },
        )
        approver = rampart.request(
            "POST",
            "/v1/principals",
            json={
                "type": "user",
                "name": unique("py-oncall"),
                "roles": ["operator"],
                "teams": ["payments"],
            },
        )
        key = rampart.request(
            "POST",
            "/v1/api-keys",
            json={
                "name": "py-approver",
                "principal_id": approver["id"],
                "scopes": ["actions:approve", "actions:reject"],
            },
        )
        rampart.agents.put_guardrails(
            agent["id"],
            forbidden_actions=["drop_database"],
            require_approval=["rollback"],
            auto_approve=["scale_up_within_limits"],
            max_blast_radius={"traffic_percent": 10},
        )
        yield Agents(agent["id"], key["key"], approver["id"])


def test_an_allowed_action_is_carried_out_once(server: Server, agents: Agents) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        rails = rampart.agents.guardrails(agents.agent_id)
        assert rails.auto_approve == ["scale_up_within_limits"]
        assert rails.otherwise == "deny", "defaults written out"
        decision = rampart.agents.submit(
            agents.agent_id,
            action="scale_up_within_limits",
            target=TARGET,
            parameters={"replicas": 6},
            blast_radius={"traffic_percent": 5},
            reasoning="p95 latency above SLO",
        )
        assert decision.decision == "allowed"
        assert decision.execution_token is not None
        token = decision.execution_token.get_secret_value()
        assert token.startswith("v4.public.")
        for text in (repr(decision), str(decision), decision.model_dump_json()):
            assert token not in text
        wrong = rampart.agents.verify_token(token, parameters={"replicas": 60})
        assert not wrong.valid, "the token is bound to the exact parameters"
        check = rampart.agents.verify_token(decision.execution_token, parameters={"replicas": 6})
        assert check.valid, check.reason
        again = rampart.agents.verify_token(token, parameters={"replicas": 6})
        assert not again.valid
        assert "already used" in again.reason
        done = rampart.agents.report_result(decision.id, status="succeeded", details={"n": 6})
        assert done.status == "executed"
        with pytest.raises(Conflict):
            rampart.agents.report_result(decision.id, status="failed")
        assert rampart.agents.action(decision.id).result is not None


def test_denials_are_decisions_and_bad_input_is_refused(server: Server, agents: Agents) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        forbidden = rampart.agents.submit(agents.agent_id, action="drop_database", target=TARGET)
        assert forbidden.decision == "denied"
        assert forbidden.execution_token is None
        too_wide = rampart.agents.submit(
            agents.agent_id,
            action="scale_up_within_limits",
            target=TARGET,
            blast_radius={"traffic_percent": 50},
        )
        assert too_wide.decision == "denied"
        with pytest.raises(NotFound):
            rampart.agents.action("act_nope")
        with pytest.raises(NotFound):
            rampart.agents.guardrails("0193a800-0000-7000-8000-000000000000")
        with pytest.raises(ValidationError) as invalid:
            rampart.agents.put_guardrails(agents.approver_id, max_actions_per_hour=5)
        assert invalid.value.status == 422
        with pytest.raises(pydantic.ValidationError):
            rampart.agents.put_guardrails(agents.agent_id, approvals_required=0)
        with pytest.raises(pydantic.ValidationError):
            rampart.agents.put_guardrails(agents.agent_id, no_such_field=1)
        with pytest.raises(pydantic.ValidationError):
            rampart.agents.submit(agents.agent_id, action="x", target={"type": "deployment"})
        assert rampart.agents.token_key().paserk.startswith("k4.public.")


def test_approvals_keep_duties_apart(server: Server, agents: Agents) -> None:
    with (
        Rampart(server.base_url, server.admin_key) as rampart,
        Rampart(server.base_url, agents.approver_key) as approver,
    ):
        first = rampart.agents.submit(
            agents.agent_id, action="rollback", target=TARGET, parameters={"to": "v41"}
        )
        second = rampart.agents.submit(
            agents.agent_id, action="rollback", target=TARGET, parameters={"to": "v40"}
        )
        assert first.decision == second.decision == "pending_approval"
        pending = {a.id for a in approver.agents.approvals(agent_id=agents.agent_id, page_size=1)}
        assert {first.id, second.id} <= pending
        with pytest.raises(PermissionDenied):
            rampart.agents.approve(first.id, comment="I submitted it myself")
        approved = approver.agents.approve(first.id, comment="v41 is good")
        assert approved.status == "approved"
        assert approved.approvals[0]["approver_id"] == agents.approver_id
        with pytest.raises(Conflict):
            approver.agents.approve(first.id)
        assert approver.agents.reject(second.id, comment="not now").status == "rejected"
        fresh = rampart.agents.new_token(first.id)
        assert fresh.execution_token.get_secret_value() not in repr(fresh)
        check = rampart.agents.verify_token(
            fresh.execution_token, parameters={"to": "v41"}, action="rollback", target=TARGET
        )
        assert check.valid, check.reason
        listed = [a.id for a in rampart.agents.actions(agent_id=agents.agent_id, page_size=1)]
        assert {first.id, second.id} <= set(listed)
        assert len(listed) == len(set(listed)), "pages neither repeat nor skip"


def test_agents_async(server: Server, agents: Agents) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            decision = await rampart.agents.submit(
                agents.agent_id, action="scale_up_within_limits", target=TARGET
            )
            assert decision.decision == "allowed"
            assert decision.execution_token is not None
            check = await rampart.agents.verify_token(decision.execution_token)
            assert check.valid, check.reason
            ids = [a.id async for a in rampart.agents.actions(agent_id=agents.agent_id)]
            assert decision.id in ids
            with pytest.raises(NotFound):
                await rampart.agents.action("act_nope")

    asyncio.run(run())
