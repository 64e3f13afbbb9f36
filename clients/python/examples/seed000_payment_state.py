"""Seed 000 (payment workflows on edge devices, PCI-DSS) on Rampart: the payment state keeps a
card token, last four and brand instead of the PAN, its sensitive fields are encrypted with a
named key bound to the transaction, transactions are signed with a key the application never
holds, each device has a scoped API key rotated on every sync, permissions are decided by
Rampart's role policy, and every security event lands in the tamper-evident audit log.

The seed hand-writes all of it: a Fernet key read from the environment, ``encrypted_cvv`` (which
PCI-DSS forbids storing at all: here no CVV exists anywhere), a Luhn check, a tokenization
service it never defines, SHA-256 API-key hashes in its own table, an ``enum`` role table with a
decorator, an HMAC signing key in an environment variable, and audit rows in a table anyone
with database access can edit.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key, to set the deployment up).
Exits non-zero when any check fails.
"""

from __future__ import annotations

import os
import uuid

from pydantic import BaseModel

from rampart import PermissionDenied, Rampart, ValidationError

RUN = uuid.uuid4().hex[:8]  # names unique per run: the example can run twice on one server


class PaymentState(BaseModel):
    """The workflow state: public fields, a card reference, ciphertexts. Never a PAN or CVV."""

    transaction_id: str
    amount_cents: int
    merchant_id: str
    card_token: str
    card_last_four: str
    card_brand: str
    cardholder_name: str  # a Rampart ciphertext bound to transaction_id
    signature: str = ""


admin = Rampart(os.environ["RAMPART_ADDR"], token=os.environ["RAMPART_TOKEN"])

# Set-up, once per deployment (an operator's job; the seed's equivalent is its env and tables).
# glue:begin setup
admin.keys.create(f"payment-state-{RUN}")
admin.keys.create(f"txn-signing-{RUN}", "hmac-sha256")
device = admin.principals.create(
    f"edge-device-{RUN}", type="device", roles=["operator"], teams=["payments"]
)
issued = admin.api_keys.create(
    "sync",
    principal_id=device.id,
    scopes=["cards:tokenize", "keys:encrypt", "audit:write", "audit:read"],
)
# glue:end

# The device's own client: it holds a scoped key (it may encrypt, not decrypt), never key
# material.
# glue:begin client
rampart = Rampart(os.environ["RAMPART_ADDR"], token=issued.key.get_secret_value())
# glue:end


# glue:begin payment_state
def new_payment(txn: str, pan: str, holder: str, amount_cents: int, merchant: str) -> PaymentState:
    card = rampart.cards.tokenize(pan)
    sealed = rampart.keys.encrypt(f"payment-state-{RUN}", holder.encode(), txn.encode())
    return PaymentState(
        transaction_id=txn,
        amount_cents=amount_cents,
        merchant_id=merchant,
        card_token=card.token,
        card_last_four=card.last_four,
        card_brand=card.brand,
        cardholder_name=sealed.ciphertext,
    )


def cardholder(state: PaymentState) -> str:  # the control plane's, which holds keys:decrypt
    plain = admin.keys.decrypt(
        f"payment-state-{RUN}", state.cardholder_name, state.transaction_id.encode()
    )
    return plain.decode()


# glue:end


# glue:begin sign
def sign(state: PaymentState) -> PaymentState:
    payload = f"{state.card_token}:{state.amount_cents}:{state.merchant_id}".encode()
    return state.model_copy(update={"signature": rampart.keys.hmac(f"txn-signing-{RUN}", payload)})


def signature_holds(state: PaymentState) -> bool:
    payload = f"{state.card_token}:{state.amount_cents}:{state.merchant_id}".encode()
    return rampart.keys.verify_hmac(f"txn-signing-{RUN}", payload, state.signature)


# glue:end

state = sign(new_payment(f"TXN-{RUN}", "4111111111111111", "Jane Q. Cardholder", 9999, "M-123"))
assert "4111111111111111" not in state.model_dump_json(), "no PAN in the state"
assert (state.card_last_four, state.card_brand) == ("1111", "visa")
assert cardholder(state) == "Jane Q. Cardholder"
assert signature_holds(state)
assert not signature_holds(state.model_copy(update={"amount_cents": 999999})), "tamper caught"
# A ciphertext moved to another transaction does not open: it is bound to its transaction id.
other = state.model_copy(update={"transaction_id": "TXN-other"})
try:
    cardholder(other)
except ValidationError:
    pass
else:
    raise AssertionError("a ciphertext opened under another transaction")
# A number that fails the Luhn check is refused before anything is stored.
try:
    rampart.cards.tokenize("4111111111111112")
except (ValidationError, ValueError):
    pass
else:
    raise AssertionError("a bad PAN was tokenized")

# RBAC: the role policy decides; the device's key is also limited to its scopes.
# glue:begin rbac
may_tokenize = admin.auth.authorize(device.id, "cards:tokenize", {"type": "card"})
may_manage = admin.auth.authorize(device.id, "keys:manage", {"type": "key"})
# glue:end
assert may_tokenize.allowed and not may_manage.allowed
try:
    rampart.keys.create(f"not-allowed-{RUN}")
except PermissionDenied:
    pass
else:
    raise AssertionError("a device created a key")

# Security events, appended durably; the device's trail, queried.
# glue:begin audit
rampart.audit.append(
    {
        "actor": {"type": "device", "id": device.id},
        "action": "workflow.created",
        "resource": {"type": "workflow", "id": state.transaction_id, "name": "Payment"},
        "context": {"team_id": "payments"},
        "status": "success",
        "compliance_tags": ["pci-dss"],
    }
)
trail = list(rampart.audit.entries(actor_id=device.id))
# glue:end
assert "workflow.created" in [e.action for e in trail]

# Device keys rotate on every sync: the old key stops at once (grace 0).
# glue:begin rotate_device_key
rotated = admin.api_keys.rotate(issued.id, grace_seconds=0)
old_key_works = admin.auth.introspect(issued.key.get_secret_value()).active
# glue:end
assert not old_key_works and admin.auth.introspect(rotated.key.get_secret_value()).active
# Rampart audited its side too: the refused key creation is a "denied" entry naming the device.
denied = list(admin.audit.entries(status="denied", actor_id=device.id))
assert any(e.action == "api.forbidden" and e.resource.get("id") == "/v1/keys" for e in denied)
rampart.close()
admin.close()
print(f"seed 000: payment {state.transaction_id} tokenized, sealed, signed; device key rotated")
