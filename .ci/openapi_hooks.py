"""Schemathesis hooks for `.ci/openapi-check`: keep the fuzzer's own credential alive.

The run is authenticated as the bootstrap admin. A few generated cases could lock that admin
out mid-run, after which every later call answers 401 and the run tests nothing:

- a state change aimed at the caller's own principal or API key (disable itself, change its own
  roles, revoke or rotate its own key, enrol a second factor for itself): such cases are dropped
  (`filter_case`), or, when a link filled in the id after generation, sent to an id nobody has
  (`before_call`); the same operations on any other id are still generated and sent;
- `PUT /v1/policy` with a policy that keeps `roles:manage` for the admin's role (the server
  refuses anything less) but drops the rest: every accepted policy is put back right after
  (`after_call`), so the next case runs under the policy the run started with;
- threat protection: an accepted `PUT /v1/ip-rules` (an allow list without the run's own
  loopback address, a deny of it), `PUT /v1/rate-limits` (a rule of 1 a day) or `POST
  /v1/blocks` (of loopback) could refuse every later call: each is undone right after
  (`after_call`: no address rules, no rules, the block lifted).

The ids and the key come from the environment `.ci/openapi-check` sets; nothing here prints the
key (schemathesis masks the Authorization header in its own output).
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

import schemathesis

BASE = os.environ["RAMPART_CHECK_BASE"]
KEY = os.environ["RAMPART_CHECK_KEY"]
OWN_IDS = {
    os.environ["RAMPART_CHECK_PRINCIPAL_ID"].lower(),
    os.environ["RAMPART_CHECK_CREDENTIAL_ID"].lower(),
}
with open(os.environ["RAMPART_CHECK_POLICY_FILE"], encoding="utf-8") as policy_file:
    POLICY = json.load(policy_file)
for field in ("source", "version"):
    POLICY.pop(field, None)

READ_ONLY = {"GET", "HEAD", "OPTIONS"}


def _targets_itself(case) -> bool:
    if case.method.upper() in READ_ONLY:
        return False
    for value in (case.path_parameters or {}).values():
        if str(value).strip().lower() in OWN_IDS:
            return True
    return False


@schemathesis.hook
def filter_case(context, case) -> bool:
    """Drops only the state changes aimed at the run's own principal or API key."""
    return not _targets_itself(case)


# An id no resource has: what a state change aimed at the run's own ids is sent to instead.
NOBODY = "00000000-0000-0000-0000-000000000000"


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """The last guard: the stateful phase fills path parameters from earlier responses (links)
    after `filter_case` saw the case, so an own id can still arrive here; it becomes `NOBODY`."""
    if _targets_itself(case):
        case.path_parameters = {
            name: NOBODY if str(value).strip().lower() in OWN_IDS else value
            for name, value in case.path_parameters.items()
        }


def _send(method, path, body=None):
    request = urllib.request.Request(
        f"{BASE}{path}",
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _undo_threat_change(case, response) -> None:
    """Undoes an accepted change of threat protection that could lock the run out."""
    method, path = case.method.upper(), case.path
    if response.status_code not in (200, 201):
        return
    if method == "PUT" and path == "/v1/ip-rules":
        status = _send("PUT", "/v1/ip-rules", {"allow": [], "deny": []})
    elif method == "PUT" and path == "/v1/rate-limits":
        status = _send("PUT", "/v1/rate-limits", {"rules": []})
    elif method == "POST" and path == "/v1/blocks":
        address = urllib.parse.quote(str(response.json().get("address", "")), safe="")
        status = 204 if _send("DELETE", f"/v1/blocks/{address}") in (204, 404) else 500
    else:
        return
    if status not in (200, 204):
        raise RuntimeError(f"could not undo {method} {path}: HTTP {status}")


@schemathesis.hook
def after_call(context, case, response) -> None:
    """Puts the starting policy back after every accepted `PUT /v1/policy`, and undoes
    accepted changes of threat protection."""
    _undo_threat_change(case, response)
    if case.method.upper() != "PUT" or case.path != "/v1/policy":
        return
    if response.status_code != 200:
        return
    request = urllib.request.Request(
        f"{BASE}/v1/policy",
        data=json.dumps(POLICY).encode(),
        method="PUT",
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as restored:
        if restored.status != 200:
            raise RuntimeError(f"could not restore the policy: HTTP {restored.status}")
