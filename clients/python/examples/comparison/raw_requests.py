"""Seeds 000 and 001's security flow on raw ``requests``: the same operations as ``ours.py``,
with the error handling, retries, base64 and pagination an application writes by hand.

Needs ``RAMPART_ADDR`` and ``RAMPART_TOKEN`` (an admin API key); ``run.py`` starts a server and
sets both. ``count_lines.py compare`` counts the lines between the ``glue`` markers (with
``_merkle.py``'s); the ``assert`` and ``print`` lines are the demo's checks.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# glue:begin imports
import base64
import os
import time
from typing import Any
from urllib.parse import quote

import requests
from _merkle import verify_inclusion

# glue:end

RUN = uuid.uuid4().hex[:8]  # names unique per run, so the demo can run twice on one server


# glue:begin client
class RampartError(Exception):
    """A problem+json answer: its status, type slug, detail and field errors."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('type', '')}: {problem.get('detail', '')}")
        self.status, self.problem = status, problem


BASE = os.environ["RAMPART_ADDR"].rstrip("/")
session = requests.Session()
session.headers["Authorization"] = f"Bearer {os.environ['RAMPART_TOKEN']}"


def call(method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
    """One request; GETs retried on 429/503 (Retry-After) and on connection errors."""
    for attempt in range(4):
        try:
            r = session.request(method, BASE + path, json=json, params=params, timeout=10)
        except requests.ConnectionError:
            if method != "GET" or attempt == 3:
                raise
            time.sleep(0.2 * 2**attempt)
            continue
        if r.status_code in (429, 503) and method == "GET" and attempt < 3:
            time.sleep(float(r.headers.get("Retry-After", 0.2 * 2**attempt)))
            continue
        if r.status_code >= 400:
            problem = r.json() if "json" in r.headers.get("Content-Type", "") else {}
            raise RampartError(r.status_code, problem)
        return r.json()
    raise AssertionError("unreachable")


# glue:end

# glue:begin setup
call("POST", "/v1/keys", json={"name": f"payments-{RUN}", "type": "aes256-gcm"})
device = call(
    "POST",
    "/v1/principals",
    json={
        "type": "service",
        "name": f"edge-device-{RUN}",
        "roles": ["operator"],
        "teams": ["payments"],
    },
)
# glue:end


# Seed 000: the payment state's sensitive fields, encrypted with a named key.
# glue:begin encrypt_fields
def encrypt(key: str, plaintext: bytes) -> str:
    """The ciphertext of ``plaintext`` under the named key's latest version."""
    body = {"plaintext": base64.b64encode(plaintext).decode()}
    return str(call("POST", f"/v1/keys/{quote(key, safe='')}/encrypt", json=body)["ciphertext"])


def decrypt(key: str, ciphertext: str) -> bytes:
    """The plaintext of a ciphertext of the named key."""
    answer = call(
        "POST", f"/v1/keys/{quote(key, safe='')}/decrypt", json={"ciphertext": ciphertext}
    )
    return base64.b64decode(answer["plaintext"])


holder = encrypt(f"payments-{RUN}", b"Jane Q. Cardholder")
address = encrypt(f"payments-{RUN}", b"1 Main St, Springfield")
holder_plain = decrypt(f"payments-{RUN}", holder)
address_plain = decrypt(f"payments-{RUN}", address)
# glue:end
assert (holder_plain, address_plain) == (b"Jane Q. Cardholder", b"1 Main St, Springfield")

# Seed 000: the card is tokenized at once; the state keeps the token, last four and brand.
# glue:begin tokenize_card
card = call("POST", "/v1/cards/tokenize", json={"pan": "4111111111111111", "expiry": "12/29"})
state = {
    "card_token": card["token"],
    "card_last_four": card["last_four"],
    "card_brand": card["brand"],
}
# glue:end
assert state["card_last_four"] == "1111"

# Seeds 000 and 001: an API key for a device (service principal), scoped; the application checks
# a presented key by introspection and asks for a decision.
# glue:begin api_key
issued = call(
    "POST",
    "/v1/api-keys",
    json={
        "principal_id": device["id"],
        "name": "sync",
        "scopes": ["audit:write", "cards:tokenize"],
    },
)
caller = call("POST", "/v1/auth/introspect", json={"credential": issued["key"]})
decision = call(
    "POST",
    "/v1/authorize",
    json={
        "principal_id": caller["principal_id"],
        "action": "cards:tokenize",
        "resource": {"type": "card", "team_id": "payments"},
    },
)
# glue:end
assert caller["active"] and decision["allowed"]

# Seeds 000 and 001: a security event appended, the trail queried page by page, and the
# entry's inclusion in the signed tree checked here.
# Demo data: earlier events of this device, so that the query below spans pages.
EARLIER = {
    "actor": {"type": "device", "id": f"edge-device-{RUN}"},
    "action": "payment.capture",
    "resource": {"type": "payment"},
    "status": "success",
}
call("POST", "/v1/audit/entries", json={"events": [EARLIER] * 3})
# glue:begin audit
appended = call(
    "POST",
    "/v1/audit/entries",
    json={
        "actor": {"type": "device", "id": f"edge-device-{RUN}"},
        "action": "payment.authorize",
        "resource": {"type": "payment", "id": f"TXN-{RUN}"},
        "context": {"team_id": "payments"},
        "status": "success",
        "compliance_tags": ["pci-dss"],
    },
)
trail: list[int] = []
params: dict[str, Any] = {"actor_id": f"edge-device-{RUN}", "action": "payment.*", "limit": 2}
while True:
    page = call("GET", "/v1/audit/entries", params=params)
    trail += [entry["seq"] for entry in page["items"]]
    if not page.get("next_cursor"):
        break
    params["cursor"] = page["next_cursor"]
seq = appended["entries"][0]["seq"]
checkpoint = call("GET", "/v1/audit/checkpoint")
size = checkpoint["tree_size"]
proof = call("GET", "/v1/audit/proofs/inclusion", params={"seq": seq, "tree_size": size})
included = proof["tree_size"] == size and verify_inclusion(
    seq, size, proof["leaf_hash"], proof["hashes"], checkpoint["root_hash"]
)
# glue:end
assert seq in trail and included
print(f"requests: {len(trail)} payment entries listed, inclusion verified")
