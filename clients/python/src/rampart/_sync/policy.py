# Generated from _async/policy.py by scripts/unasync.py: edit that file, not this one.
"""The role policy: roles, their permissions, inheritance and flags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.identity import Policy, PolicyRequest, Role
from ._core import Core


class RolePolicy:
    """The role policy (``roles:manage``)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def get(self) -> Policy:
        """The policy in force, with its ``source`` and ``version``."""
        return Policy.model_validate(self._core.request("GET", "/v1/policy"))

    def put(self, roles: Mapping[str, Role | Mapping[str, Any]]) -> Policy:
        """Replaces the policy; ``ValidationError`` when it does not compile (a cycle, an
        unknown parent), ``Conflict`` when it comes from a policy file."""
        body = PolicyRequest.model_validate(
            {"roles": {k: v if isinstance(v, Role) else dict(v) for k, v in roles.items()}}
        )
        answer = self._core.request("PUT", "/v1/policy", json=body.body())
        return Policy.model_validate(answer)
