"""Seed 002 (a market-data pipeline under MiFID II) on Rampart: the validation, triage and
remediation events of its IFR process go to Rampart's tamper-evident audit log through the
buffered appender (batched in the background, spooled to disk while Rampart is unreachable),
credentials are scrubbed out of the configuration states they carry, MiFID II retention is set
as a compliance (WORM) policy, and the quarter's regulatory package is an export any auditor
verifies offline against the log's public key, plus a signed MiFID II report.

The seed hand-writes ``ImmutableAuditLog``: a SHA-256 hash chain in a local file, which anyone
able to edit the file can recompute end to end (nothing outside it anchors the chain), and
verification that answers only ``True``/``False``. Here the tree is RFC 6962, its checkpoints
are signed with a key the application never holds, and verification names each bad entry.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key). Exits non-zero when any check
fails.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from rampart import AuditAppender, Rampart

RUN = uuid.uuid4().hex[:8]  # names unique per run: the example can run twice on one server
work = Path(tempfile.mkdtemp())

# glue:begin client
rampart = Rampart(os.environ["RAMPART_ADDR"], token=os.environ["RAMPART_TOKEN"])
appender = AuditAppender(rampart, spool_path=work / "ifr-audit.spool")
verifier_key = rampart.audit.public_key().verifier_key  # pinned by the compliance team
# glue:end


# glue:begin log_event
def log_ifr_event(action: str, resource_id: str, details: dict[str, Any], **states: Any) -> None:
    clean = {k: rampart.privacy.redact(document=v).document for k, v in states.items()}
    appender.append(
        {
            "actor": {"type": "service", "id": "ifr-pipeline"},
            "action": action,
            "resource": {"type": "validation_run", "id": resource_id},
            "details": details,
            "status": "success",
            "data_classification": "confidential",
            "compliance_tags": ["mifid2"],
            **clean,
        }
    )


# glue:end

# A validation run, its triage (one entry per root-cause step) and a remediation whose
# configuration states carry a credential that must never reach the log.
run_id = f"ifr-{RUN}"
log_ifr_event("ifr.validation_failed", run_id, {"metric": "spread_bps", "deviation": 0.41})
for step, question in enumerate(["feed gap?", "clock skew?", "parser change?"], start=1):
    log_ifr_event("ifr.triage_step", run_id, {"rca_step": step, "question": question})
before = {"window_ms": 250, "feed": {"url": "wss://feed", "password": "hunter2-feed"}}
after = {"window_ms": 500, "feed": {"url": "wss://feed", "password": "hunter2-feed"}}
log_ifr_event(
    "ifr.remediation",
    run_id,
    {"justification": "widen window after feed gap", "automated": False},
    previous_state=before,
    new_state=after,
)
# glue:begin flush
appender.flush()
# glue:end

# MiFID II: seven years, as a compliance policy (never shortened, by anyone).
# glue:begin retention
rampart.retention.put_policy("audit_entries:mifid2", retain_days=2555, mode="compliance")
# glue:end

# The quarter's regulatory package: the trail exported and verified offline, and a signed report.
entries = list(rampart.audit.entries(resource_id=run_id))
assert [e.action for e in entries] == ["ifr.validation_failed"] + ["ifr.triage_step"] * 3 + [
    "ifr.remediation"
]
assert "hunter2-feed" not in json.dumps([e.model_dump() for e in entries]), "credential scrubbed"
# glue:begin package
export = rampart.audit.export(work / "q4.ndjson", from_seq=entries[0].seq, to_seq=entries[-1].seq)
verified = rampart.audit.verify_export(export, verifier_key)
report = rampart.compliance.create_report("mifid2")
# glue:end
assert verified.ok, verified.problems
assert report.framework == "mifid2" and report.verify(verifier_key), "signed by the log's key"

# Tampering is caught, and named: edit one entry of the export and verify again.
lines = export.read_text().splitlines()
forged = json.loads(lines[1])
forged["status"] = "failure"
lines[1] = json.dumps(forged)
tampered = work / "q4-tampered.ndjson"
tampered.write_text("\n".join(lines) + "\n")
caught = rampart.audit.verify_export(tampered, verifier_key)
assert not caught.ok and any(p.seq == forged["seq"] for p in caught.problems), caught.problems
appender.close()
rampart.close()
print(f"seed 002: {len(entries)} IFR events appended, exported, verified offline; tamper caught")
