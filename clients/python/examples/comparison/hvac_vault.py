"""Seeds 000 and 001's security flow on HashiCorp Vault through hvac, for the line counts only:
there is no Vault here, so this file is counted (``count_lines.py compare``), never run.

What maps and what does not:
- encrypt/decrypt: the transit engine (``secrets.transit``), base64 by the caller.
- card tokenization: the Transform engine's ``tokenization`` transformation is Vault Enterprise
  (Advanced Data Protection); it answers an opaque token only, so the Luhn check, last four and
  brand are the application's code again.
- API keys for a service principal: Vault tokens carrying policies (HCL, path-based); "scopes"
  are policies written beforehand. Introspection is ``auth.token.lookup``, which raises for an
  unknown or expired token instead of answering inactive.
- authorize: ``sys/capabilities`` answers a token's capabilities on Vault paths, so an
  application action and its team become a path convention; nothing decides for a principal id,
  and nothing isolates teams except the paths chosen.
- audit: no equivalent. Vault's audit devices log Vault's own requests (to a file, syslog or a
  socket); no API appends an application's events, queries them or proves their inclusion, so
  the application keeps its own log (seed 002's hash chain is 34 lines, seed 001's file log 34).
"""

from __future__ import annotations

# glue:begin imports
import base64
import os

import hvac
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# glue:end

RUN = "demo"

# glue:begin client
session = requests.Session()
retry = Retry(total=3, status_forcelist=[429, 503], allowed_methods=["GET"], backoff_factor=0.2)
session.mount(os.environ["VAULT_ADDR"], HTTPAdapter(max_retries=retry))
vault = hvac.Client(url=os.environ["VAULT_ADDR"], token=os.environ["VAULT_TOKEN"], session=session)
# glue:end

# glue:begin setup
vault.sys.enable_secrets_engine("transit")
vault.secrets.transit.create_key(name=f"payments-{RUN}")
vault.sys.enable_secrets_engine("transform")
vault.adapter.post(
    "/v1/transform/transformation/card-tokens",
    json={"type": "tokenization", "allowed_roles": ["payments"]},
)
vault.secrets.transform.create_or_update_role(name="payments", transformations=["card-tokens"])
vault.sys.create_or_update_policy(
    name=f"edge-device-{RUN}",
    policy="""
path "transit/encrypt/payments-*" { capabilities = ["update"] }
path "transform/encode/payments" { capabilities = ["update"] }
path "app/payments/cards/tokenize" { capabilities = ["update"] }
""",
)
# glue:end


# Seed 000: the payment state's sensitive fields, encrypted with a named key.
# glue:begin encrypt_fields
def encrypt(key: str, plaintext: bytes) -> str:
    """The transit ciphertext of ``plaintext`` under the named key."""
    b64 = base64.b64encode(plaintext).decode()
    return str(vault.secrets.transit.encrypt_data(name=key, plaintext=b64)["data"]["ciphertext"])


def decrypt(key: str, ciphertext: str) -> bytes:
    """The plaintext of a transit ciphertext of the named key."""
    answer = vault.secrets.transit.decrypt_data(name=key, ciphertext=ciphertext)
    return base64.b64decode(answer["data"]["plaintext"])


holder = encrypt(f"payments-{RUN}", b"Jane Q. Cardholder")
address = encrypt(f"payments-{RUN}", b"1 Main St, Springfield")
holder_plain = decrypt(f"payments-{RUN}", holder)
address_plain = decrypt(f"payments-{RUN}", address)
# glue:end

# Seed 000: the card is tokenized at once; the state keeps the token, last four and brand.
# glue:begin tokenize_card
BRANDS = {"4": "visa", "5": "mastercard", "34": "amex", "37": "amex", "6": "discover"}


def tokenize(pan: str) -> dict[str, str]:
    """Luhn-checks the PAN, tokenizes it (Transform, Enterprise) and derives last four and brand."""
    digits = [int(d) for d in reversed(pan)]
    if not pan.isdigit() or sum(digits[0::2] + [sum(divmod(2 * d, 10)) for d in digits[1::2]]) % 10:
        raise ValueError("not a card number")
    encoded = vault.secrets.transform.encode(
        role_name="payments", value=pan, transformation="card-tokens"
    )
    brand = next((b for p, b in BRANDS.items() if pan.startswith(p)), "unknown")
    return {"token": encoded["data"]["encoded_value"], "last_four": pan[-4:], "brand": brand}


card = tokenize("4111111111111111")
state = {
    "card_token": card["token"],
    "card_last_four": card["last_four"],
    "card_brand": card["brand"],
}
# glue:end

# Seeds 000 and 001: an API key for a device, scoped by policy; the application checks a presented
# token by lookup and asks for its capabilities on a path standing for the action and the team.
# glue:begin api_key
issued = vault.auth.token.create(
    policies=[f"edge-device-{RUN}"], ttl="2160h", display_name="sync", meta={"device": RUN}
)
key = issued["auth"]["client_token"]
try:
    caller = vault.auth.token.lookup(key)["data"]
except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest):
    caller = None
capabilities = vault.sys.get_capabilities(paths=["app/payments/cards/tokenize"], token=key)
allowed = caller is not None and "update" in capabilities["app/payments/cards/tokenize"]
# glue:end

# glue:none audit: no Vault API appends, queries or proves an application's events (see above)
