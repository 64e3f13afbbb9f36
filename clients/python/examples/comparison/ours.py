"""Seeds 000 and 001's security flow on the ``rampart`` client (issue 22's comparison).

Encrypts two fields with a named key and decrypts them, tokenizes a card, creates an API key for
a service principal and introspects and authorizes it, appends an audit entry, pages through a
query and verifies the entry's inclusion proof locally. ``count_lines.py compare`` counts the
lines between the ``glue`` markers; the ``assert`` and ``print`` lines are the demo's checks.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key); ``run.py`` starts a server and
sets both. The ``cards``, ``principals``, ``api_keys`` and ``auth`` namespaces used here are the
ones being written for issue 22: until they are merged this file is counted, not run.
"""

from __future__ import annotations

import os
import uuid

# glue:begin imports
from rampart import Rampart

# glue:end

RUN = uuid.uuid4().hex[:8]  # names unique per run, so the demo can run twice on one server

# glue:begin client
rampart = Rampart(os.environ["RAMPART_ADDR"], token=os.environ["RAMPART_TOKEN"])
# glue:end

# glue:begin setup
rampart.keys.create(f"payments-{RUN}")
device = rampart.principals.create(
    type="service", name=f"edge-device-{RUN}", roles=["operator"], teams=["payments"]
)
# glue:end

# Seed 000: the payment state's sensitive fields, encrypted with a named key.
# glue:begin encrypt_fields
holder = rampart.keys.encrypt(f"payments-{RUN}", b"Jane Q. Cardholder").ciphertext
address = rampart.keys.encrypt(f"payments-{RUN}", b"1 Main St, Springfield").ciphertext
holder_plain = rampart.keys.decrypt(f"payments-{RUN}", holder)
address_plain = rampart.keys.decrypt(f"payments-{RUN}", address)
# glue:end
assert (holder_plain, address_plain) == (b"Jane Q. Cardholder", b"1 Main St, Springfield")

# Seed 000: the card is tokenized at once; the state keeps the token, last four and brand.
# glue:begin tokenize_card
card = rampart.cards.tokenize("4111111111111111", expiry="12/29")
state = {"card_token": card.token, "card_last_four": card.last_four, "card_brand": card.brand}
# glue:end
assert state["card_last_four"] == "1111"

# Seeds 000 and 001: an API key for a device (service principal), scoped; the application checks
# a presented key by introspection and asks for a decision (no hashes, no role tables).
# glue:begin api_key
issued = rampart.api_keys.create(
    principal_id=device.id, name="sync", scopes=["audit:write", "cards:tokenize"]
)
caller = rampart.auth.introspect(issued.key)
decision = rampart.auth.authorize(
    caller.principal_id, "cards:tokenize", {"type": "card", "team_id": "payments"}
)
# glue:end
assert caller.active and decision.allowed

# Seeds 000 and 001: a security event appended, the trail queried page by page, and the
# entry's inclusion in the signed tree checked here.
# Demo data: earlier events of this device, so that the query below spans pages.
EARLIER = {
    "actor": {"type": "device", "id": f"edge-device-{RUN}"},
    "action": "payment.capture",
    "resource": {"type": "payment"},
    "status": "success",
}
rampart.audit.append_batch([EARLIER] * 3)
# glue:begin audit
appended = rampart.audit.append(
    {
        "actor": {"type": "device", "id": f"edge-device-{RUN}"},
        "action": "payment.authorize",
        "resource": {"type": "payment", "id": f"TXN-{RUN}"},
        "context": {"team_id": "payments"},
        "status": "success",
        "compliance_tags": ["pci-dss"],
    }
)
trail = [
    e.seq
    for e in rampart.audit.entries(actor_id=f"edge-device-{RUN}", action="payment.*", page_size=2)
]
included = rampart.audit.verify_inclusion(appended.entries[0].seq)
# glue:end
assert appended.entries[0].seq in trail and included
print(f"rampart: {len(trail)} payment entries listed, inclusion verified")
