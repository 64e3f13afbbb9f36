"""Seed 001 (an AI scanning system) on Rampart: a FastAPI scan service whose callers are
authenticated by Rampart (API keys and sessions), authorized by its role policy with team
isolation, whose scan records are stored with their sensitive fields encrypted, whose every
request is audited through the buffered appender, and whose intrusions raise alerts that
become incidents.

The seed hand-writes an API-key manager (random keys, SHA-256 hashes, expiry), JWT + bcrypt login
with its own lockout counter, a role table, PBKDF2-derived Fernet encryption of an SQLite store
with checksums, an in-memory rate limiter, an audit log in its own table, a threshold alerter and
an incident workflow. Here each is a call or a dependency.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key, to set the deployment up).
Exits non-zero when any check fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from fastapi import Depends, FastAPI, HTTPException
from pydantic import BaseModel
from starlette.requests import HTTPConnection

from rampart import AsyncAuditAppender, AsyncRampart, AuthenticationError, Locked, Rampart
from rampart.fastapi import CurrentPrincipal, RampartMiddleware, require

ADDR = os.environ["RAMPART_ADDR"]
RUN = uuid.uuid4().hex[:8]  # names unique per run: the example can run twice on one server
PASSWORD = "correct horse battery staple"  # noqa: S105 (the demo principals')

admin = Rampart(ADDR, token=os.environ["RAMPART_TOKEN"])

# Set-up, once per deployment: the application's permissions join Rampart's role policy, its
# service principal and key, a named key for scan records, two people of team "red".
# glue:begin setup
roles = dict(admin.policy.get().roles)
roles["scan_analyst"] = {"inherits": ["developer"], "permissions": ["scans:read", "scans:write"]}
roles["scan_viewer"] = {"inherits": ["viewer"], "permissions": ["scans:read"]}
roles["scan_service"] = {
    "permissions": ["authz:check", "audit:write", "keys:encrypt", "sensitive_data:decrypt"]
}
admin.policy.put(roles)
admin.keys.create(f"scans-{RUN}")
service = admin.principals.create(f"scan-api-{RUN}", type="service", roles=["scan_service"])
service_key = admin.api_keys.create("app", principal_id=service.id, scopes=["*"])
for person, role in ((f"ana-{RUN}", "scan_analyst"), (f"vic-{RUN}", "scan_viewer")):
    admin.principals.create(person, password=PASSWORD, roles=[role], teams=["red"])
# glue:end


class ScanIn(BaseModel):
    """A scan as the scanner posts it: its target and findings, evidence included."""

    target: str
    findings: list[dict[str, Any]]


db = sqlite3.connect(":memory:", check_same_thread=False)
db.execute("CREATE TABLE scans (id TEXT PRIMARY KEY, team TEXT NOT NULL, body TEXT NOT NULL)")
spool = Path(tempfile.mkdtemp()) / "audit.spool"

# The service: every route needs a credential; writes need scans:write; a scan is readable only
# by its team (Rampart's team isolation); records are encrypted field by field.
# glue:begin app
rampart = AsyncRampart(ADDR, token=service_key.key.get_secret_value())
appender = AsyncAuditAppender(rampart, spool_path=spool)
app = FastAPI()
app.add_middleware(RampartMiddleware, client=rampart, audit=appender)


def scan_of(connection: HTTPConnection) -> dict[str, Any]:
    row = db.execute("SELECT team FROM scans WHERE id = ?", (connection.path_params["id"],))
    found = row.fetchone()
    if found is None:
        raise HTTPException(404, "no such scan")
    return {"type": "scan", "id": connection.path_params["id"], "team_id": found[0]}


@app.post("/scans", status_code=201, dependencies=[Depends(require("scans:write"))])
async def create_scan(scan: ScanIn, who: CurrentPrincipal) -> dict[str, str]:
    fields = ["target", "findings[*].evidence"]
    sealed = await rampart.documents.encrypt(f"scans-{RUN}", fields, scan.model_dump())
    scan_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO scans VALUES (?, ?, ?)", (scan_id, who.teams[0], json.dumps(sealed.document))
    )
    return {"id": scan_id}


@app.get("/scans/{id}", dependencies=[Depends(require("scans:read", resource=scan_of))])
async def read_scan(id: str) -> dict[str, Any]:
    (body,) = db.execute("SELECT body FROM scans WHERE id = ?", (id,)).fetchone()
    return (await rampart.documents.decrypt(json.loads(body))).document


# glue:end


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def main() -> None:
    scan = {"target": "10.0.0.7", "findings": [{"id": "CVE-1", "evidence": "root:x:0:0"}]}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://scans") as http:
        # People log in to Rampart (argon2id, lockout, TOTP when their role needs it) and call
        # the service with their session token.
        # glue:begin login
        ana_token = (await rampart.auth.login(f"ana-{RUN}", PASSWORD)).token.get_secret_value()
        vic_token = (await rampart.auth.login(f"vic-{RUN}", PASSWORD)).token.get_secret_value()
        # glue:end
        assert (await http.post("/scans", json=scan)).status_code == 401
        made = await http.post("/scans", json=scan, headers=bearer(ana_token))
        assert made.status_code == 201, made.text
        scan_id = made.json()["id"]
        (stored,) = db.execute("SELECT body FROM scans").fetchone()
        assert "10.0.0.7" not in stored and "root:x" not in stored, "encrypted at rest"
        read = await http.get(f"/scans/{scan_id}", headers=bearer(vic_token))
        assert read.status_code == 200 and read.json()["findings"][0]["evidence"] == "root:x:0:0"
        for _ in range(3):  # a viewer trying to write: refused, audited as denied
            refused = await http.post("/scans", json=scan, headers=bearer(vic_token))
            assert refused.status_code == 403, refused.text
        # glue:begin flush
        await appender.flush()
        # glue:end
    await appender.aclose()
    await rampart.aclose()


asyncio.run(main())
vic_id = next(p.id for p in admin.principals.list() if p.name == f"vic-{RUN}")
trail = list(admin.audit.entries(actor_id=vic_id, action="http.post"))
assert [e.status for e in trail] == ["denied"] * 3, [e.status for e in trail]

# Intrusion detection: the default rule raises an alert for the actor's denied requests; the
# on-call engineer opens an incident from it (GDPR Art. 33 clock if personal data is involved).
deadline = time.monotonic() + 30
alert = None
while alert is None and time.monotonic() < deadline:
    alert = next(
        (
            a
            for a in admin.alerts.list(rule="unauthorized_access")
            if a.group.get("actor.id") == vic_id
        ),
        None,
    )
    time.sleep(0.2)
assert alert is not None, "no alert for the denied requests"
# glue:begin incident
incident = admin.incidents.create(
    title=f"Denied writes by vic-{RUN}", severity="medium", alert_ids=[alert.id]
)
# glue:end
assert admin.alerts.get(alert.id).incident_id == incident.id

# Lockout: five wrong passwords lock the account (423), then even the right one is refused.
for _ in range(5):
    try:
        admin.auth.login(f"ana-{RUN}", "wrong")
    except (AuthenticationError, Locked):
        continue
try:
    admin.auth.login(f"ana-{RUN}", PASSWORD)
except Locked:
    pass
else:
    raise AssertionError("no lockout after five failures")

# GDPR: consent recorded, the subject's data exported (signed), then erased; the scan store is
# named, so the erasure stays pending until the application confirms its part.
subject = f"user-{RUN}"
# glue:begin gdpr
admin.subjects.give_consent(subject, "analytics", source="signup-form")
exported = admin.subjects.export(subject)
erasure = admin.subjects.erase(subject, reason="Art. 17 request", stores=["scans-db"])
admin.subjects.confirm_erasure(erasure.id, store="scans-db", records_deleted=1)
# glue:end
assert exported.subject_id == subject
assert exported.verify(admin.audit.public_key().verifier_key), "a signed export"
assert admin.subjects.erasure(erasure.id).status == "completed"

# SOC 2: controls evaluated from the deployment's real state, signed (never ``return True``).
# glue:begin soc2
report = admin.compliance.create_report("soc2")
# glue:end
assert report.controls and report.verify(admin.audit.public_key().verifier_key)
admin.close()
print(f"seed 001: scan stored encrypted, team-read, 3 denials audited, alert -> {incident.id}")
