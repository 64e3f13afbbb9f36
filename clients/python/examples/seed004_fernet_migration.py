"""Seed 004 (a HIPAA eligibility service) on Rampart: its Fernet-encrypted patient records move
under a named key that never leaves Rampart, with one changed import, a rotation and a
resumable re-encryption of the column, every step in the tamper-evident audit log.

The seed keeps a Fernet key in a file or an environment variable, encrypts records with
``Fernet(key)``, and rotates by generating a key, decrypting and re-encrypting every row in a
loop and logging ``{"event": "key_rotation"}`` to a plain log. Here the key is imported once
(old tokens still read), the application swaps ``Fernet`` for ``RampartFernet``, Rampart makes
the new version (its material is never exported), ``reencrypt_column`` rewraps the column in
committed batches (the plaintext never leaves Rampart; a crash resumes where it stopped), and
the old version is retired. The rotation's audit entry is proved in the signed tree here.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (a key holding ``keys:manage``, ``keys:encrypt``,
``keys:decrypt`` and ``audit:read``). Exits non-zero when any check fails.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import uuid
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from rampart import Rampart
from rampart.fernet import RampartFernet
from rampart.migrate import import_fernet_key, reencrypt_column

RUN = uuid.uuid4().hex[:8]  # names unique per run: the example can run twice on one server
NAME = f"patients-{RUN}"
ROWS = 1200

# Before: the seed's own state, a table of records encrypted with a Fernet key it holds.
legacy_key = Fernet.generate_key()
legacy = Fernet(legacy_key)
db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE patients (id INTEGER PRIMARY KEY, record BLOB NOT NULL)")
db.executemany(
    "INSERT INTO patients VALUES (?, ?)",
    [
        (i, legacy.encrypt(json.dumps({"member_id": f"M{i:06}", "plan": "gold"}).encode()))
        for i in range(1, ROWS + 1)
    ],
)
db.commit()
first_before = db.execute("SELECT record FROM patients WHERE id = 1").fetchone()[0]

# glue:begin client
rampart = Rampart(os.environ["RAMPART_ADDR"], token=os.environ["RAMPART_TOKEN"])
# glue:end

# 1. The key moves into Rampart once (the file and the variable can go); the application changes
#    one line: ``Fernet(encryption_key)`` becomes ``RampartFernet(rampart, NAME)``.
# glue:begin import_key
import_fernet_key(rampart, NAME, legacy_key, rotation_period_days=90)
cipher = RampartFernet(rampart, NAME)
# glue:end
assert json.loads(cipher.decrypt(first_before))["member_id"] == "M000001", "old tokens read"
fresh = cipher.encrypt(b'{"member_id": "M999999"}')
assert legacy.decrypt(fresh) == b'{"member_id": "M999999"}', "and Fernet reads Rampart's"

# 2. Rotation: Rampart makes version 2 and the column is rewrapped under it in committed
#    batches of 500, resumable from the state file; then version 1 is retired.
with tempfile.TemporaryDirectory() as tmp:
    # glue:begin rotate
    rampart.keys.rotate(NAME)
    report = reencrypt_column(
        db,
        "patients",
        "id",
        "record",
        rampart=rampart,
        key=NAME,
        batch_size=500,
        state_path=Path(tmp) / "patients.state",
    )
    rampart.keys.update(NAME, min_decryption_version=2)
    # glue:end
assert report.done == ROWS and not report.failed, report
first_after = db.execute("SELECT record FROM patients WHERE id = 1").fetchone()[0]
assert first_after != first_before
assert json.loads(cipher.decrypt(first_after))["member_id"] == "M000001"
for retired in (lambda: legacy.decrypt(first_after), lambda: cipher.decrypt(first_before)):
    try:
        retired()
    except InvalidToken:
        pass
    else:
        raise AssertionError("the retired key still reads")

# 3. Evidence for the HIPAA audit: the rotation is in Rampart's own log, and its inclusion in
#    the signed tree is checked here, signature included.
# glue:begin audit
rotation = next(rampart.audit.entries(action="keys.rotate", resource_id=NAME))
proved = rampart.audit.verify_inclusion(rotation.seq)
# glue:end
assert proved and rotation.status == "success"

# 4. Access: the eligibility service's key works only from its addresses (the seed's IP
#    whitelist), roles are Rampart's policy (the seed's require_role), and HIPAA retention is
#    a compliance policy nobody can shorten (the seed's delete_old_data loop).
service = rampart.principals.create(f"eligibility-{RUN}", type="service", roles=["developer"])
# glue:begin access
issued = rampart.api_keys.create(
    "eligibility", principal_id=service.id, scopes=["keys:encrypt"], allowed_ips=["203.0.113.0/31"]
)
inside = rampart.auth.introspect(issued.key.get_secret_value(), client_ip="203.0.113.1")
outside = rampart.auth.introspect(issued.key.get_secret_value(), client_ip="198.51.100.9")
may_configure = rampart.auth.authorize(service.id, "keys:manage", {"type": "key", "id": NAME})
rampart.retention.put_policy("audit_entries:hipaa", retain_days=2555, mode="compliance")
# glue:end
assert inside.active and not outside.active and not may_configure.allowed
rampart.close()
print(f"seed 004: {ROWS} records rewrapped under {NAME} v2, v1 retired, rotation entry proved")
