"""Seed 003 (an AI observability platform) on Rampart: team isolation and scoped keys decided by
Rampart's role policy, telemetry scrubbed of personal data before it is stored, field-level
encryption that shows ``[ENCRYPTED]`` to callers without the permission, audit entries linked to
a data subject and erased by destroying one key (the log still verifies), and AI agents held to
guardrails with human approval and one-time execution tokens.

The seed hand-writes a ``TeamIsolation`` query filter, a regex ``PIIDetector``, a KMS-backed
``FieldLevelEncryption`` class, an ``AuditLogger`` over its own SQL table, a
``GDPRComplianceService`` that deletes store by store, and agent guardrails that exist only as
YAML. Here each is a call.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key, to set the deployment up).
Exits non-zero when any check fails.
"""

from __future__ import annotations

import os
import uuid

from rampart import Rampart

RUN = uuid.uuid4().hex[:8]  # names unique per run: the example can run twice on one server
ADDR = os.environ["RAMPART_ADDR"]
admin = Rampart(ADDR, token=os.environ["RAMPART_TOKEN"])


def client_of(principal_id: str, scopes: list[str]) -> Rampart:
    """A client acting as ``principal_id`` with a key of ``scopes`` (demo set-up)."""
    issued = admin.api_keys.create(f"demo-{RUN}", principal_id=principal_id, scopes=scopes)
    return Rampart(ADDR, token=issued.key.get_secret_value())


# Set-up: a developer of team "checkout", a security auditor, an on-call operator, a remediation
# agent whose role may propose actions, and the key for trace fields.
# glue:begin setup
roles = dict(admin.policy.get().roles)
roles["remediation_agent"] = {"permissions": ["actions:*"]}
admin.policy.put(roles)
admin.keys.create(f"traces-{RUN}")
dev = admin.principals.create(f"dev-{RUN}", roles=["developer"], teams=["checkout"])
auditor = admin.principals.create(f"aud-{RUN}", roles=["security_auditor"])
oncall = admin.principals.create(f"oncall-{RUN}", roles=["operator"], teams=["checkout"])
agent = admin.principals.create(
    f"remediator-{RUN}", type="ai_agent", roles=["remediation_agent"], teams=["checkout"]
)
# glue:end


# 1. Team isolation: a team's services are reachable by its members only; admins and security
#    auditors bypass it (the seed's TeamIsolation.apply_filter).
# glue:begin team_isolation
def may_read(principal_id: str, service: str, team: str) -> bool:
    resource = {"type": "service", "id": service, "team_id": team}
    return admin.auth.authorize(principal_id, "traces:read", resource).allowed


# glue:end
assert may_read(dev.id, "checkout-api", "checkout")
assert not may_read(dev.id, "search-api", "search")
assert may_read(auditor.id, "search-api", "search") is False  # traces:read is not an auditor's
assert admin.auth.authorize(auditor.id, "audit:read", {"type": "log", "team_id": "search"}).allowed

# 2. Scoped API keys: the developer's CI key may only create investigations.
# glue:begin scoped_key
seen = admin.auth.introspect(
    admin.api_keys.create(
        "ci", principal_id=dev.id, scopes=["investigations:create"]
    ).key.get_secret_value()
)
# glue:end
assert seen.active and seen.scopes == ["investigations:create"] and seen.teams == ["checkout"]

# 3. PII pipeline: telemetry is scrubbed before storage; equal emails still correlate (keyed hash).
event = {
    "service": "checkout-api",
    "user": {"email": "jane@example.com", "ip": "203.0.113.7"},
    "message": "payment by 4111 1111 1111 1111 failed for jane@example.com",
    "headers": {"authorization": "Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
}
# glue:begin pii
scrubbed = admin.privacy.redact(document=event)
# glue:end
stored = str(scrubbed.document)
for secret in ("jane@example.com", "4111 1111 1111 1111", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"):
    assert secret not in stored, secret
assert {f.type for f in scrubbed.findings} >= {"email", "credit_card", "ip_address"}

# 4. Field-level encryption: selected trace fields sealed; a developer without
#    sensitive_data:decrypt reads "[ENCRYPTED]", an admin reads the value.
trace = {"trace_id": "t-1", "attributes": {"db.statement": "SELECT * FROM users WHERE ssn=?"}}
dev_reader = client_of(dev.id, ["*"])
# glue:begin field_encryption
sealed = admin.documents.encrypt(f"traces-{RUN}", ['attributes["db.statement"]'], trace)
as_dev = dev_reader.documents.decrypt(sealed.document)
as_admin = admin.documents.decrypt(sealed.document)
# glue:end
assert as_dev.document["attributes"]["db.statement"] == "[ENCRYPTED]"
assert as_admin.document == trace

# 5. Audit entries linked to a data subject; erasure destroys the subject's key (every personal
#    field unreadable, the log still verifies) and each store confirms its part.
subject = f"customer-{RUN}"
# glue:begin gdpr
appended = admin.audit.append(
    {
        "actor": {"type": "service", "id": "checkout-api"},
        "action": "investigation.viewed",
        "resource": {"type": "trace", "id": "t-1"},
        "status": "success",
        "subject_id": subject,
        "personal": {"email": "jane@example.com"},
    }
)
erasure = admin.subjects.erase(subject, reason="Art. 17 request", stores=["clickhouse", "s3"])
for store, deleted in (("clickhouse", 41), ("s3", 3)):
    admin.subjects.confirm_erasure(erasure.id, store=store, records_deleted=deleted)
certificate = admin.subjects.erasure(erasure.id)
# glue:end
seq = appended.entries[0].seq
assert certificate.status == "completed"
assert certificate.verify(admin.audit.public_key().verifier_key), "a signed certificate"
assert admin.audit.get(seq).model_extra["personal_plain"] == "[ERASED]"
assert admin.audit.verify_inclusion(seq), "the erased entry is still proved"

# 6. AI-agent governance: guardrails, a forbidden action denied, a rollback approved by a human
#    (never by the agent or its submitter), a one-time token checked against the exact parameters.
agent_client = client_of(agent.id, ["*"])
oncall_client = client_of(oncall.id, ["actions:approve", "actions:reject"])
target = {"type": "deployment", "id": "checkout-api", "team_id": "checkout"}
# glue:begin agents
admin.agents.put_guardrails(
    agent.id,
    max_actions_per_hour=50,
    forbidden_actions=["drop_database", "delete_namespace", "modify_dns"],
    require_approval=["rollback", "failover", "scale_down"],
    auto_approve=["create_ticket", "send_notification", "scale_up_within_limits"],
    max_blast_radius={"traffic_percent": 10},
)
dropped = agent_client.agents.submit(agent.id, action="drop_database", target=target)
rollback = agent_client.agents.submit(
    agent.id, action="rollback", target=target, parameters={"to": "v41"}, reasoning="5xx spike"
)
oncall_client.agents.approve(rollback.id, comment="v41 is good")
token = agent_client.agents.new_token(rollback.id).execution_token
check = admin.agents.verify_token(token, parameters={"to": "v41"})  # the executor checks it
agent_client.agents.report_result(rollback.id, status="succeeded")
# glue:end
assert dropped.decision == "denied" and rollback.decision == "pending_approval"
assert check.valid, check.reason
assert not admin.agents.verify_token(token, parameters={"to": "v41"}).valid, "once only"
for client in (dev_reader, agent_client, oncall_client, admin):
    client.close()
print(f"seed 003: isolation, scoped keys, PII, fields, erasure {erasure.id}, agent governance")
