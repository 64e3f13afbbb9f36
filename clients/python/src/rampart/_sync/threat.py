# Generated from _async/threat.py by scripts/unasync.py: edit that file, not this one.
"""Threat protection: rate limits, address allow/deny rules and blocks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import _paths
from ..models.threat import (
    Block,
    BlockRequest,
    IpRules,
    IpRulesUpdate,
    RateLimitRule,
    RateLimitRules,
    RateLimits,
)
from ._core import Core


class Threat:
    """Rate limits, address rules and fail2ban-like blocks, enforced before authentication."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def rate_limits(self) -> RateLimits:
        """The rate-limit rules in force (``security:read``)."""
        return RateLimits.model_validate(self._core.request("GET", "/v1/rate-limits"))

    def set_rate_limits(self, rules: Sequence[RateLimitRule | Mapping[str, Any]]) -> RateLimits:
        """Replaces the rate-limit rules, in order (``security:manage``; ``Conflict`` when
        they come from the ``rate_limits_file`` setting). Each rule is a ``RateLimitRule`` or a
        mapping of its fields, validated before sending."""
        body = RateLimitRules(rules=[RateLimitRule.model_validate(r) for r in rules])
        return RateLimits.model_validate(
            self._core.request("PUT", "/v1/rate-limits", json=body.body())
        )

    def ip_rules(self) -> IpRules:
        """The address allow/deny rules (``security:read``)."""
        return IpRules.model_validate(self._core.request("GET", "/v1/ip-rules"))

    def set_ip_rules(self, *, allow: Sequence[str] = (), deny: Sequence[str] = ()) -> IpRules:
        """Replaces the address rules (addresses or CIDRs). With a non-empty ``allow`` every
        other address is refused before authentication: include your own."""
        body = IpRulesUpdate(allow=list(allow), deny=list(deny))
        return IpRules.model_validate(self._core.request("PUT", "/v1/ip-rules", json=body.body()))

    def blocks(self) -> list[Block]:
        """The blocks in force, soonest to end first (``security:read``)."""
        answer = self._core.request("GET", "/v1/blocks")
        return [Block.model_validate(b) for b in answer["items"]]

    def block(self, address: str, *, seconds: int, reason: str | None = None) -> Block:
        """Blocks an address or network (CIDR) for ``seconds`` (``security:manage``)."""
        body = BlockRequest(address=address, seconds=seconds, reason=reason)
        return Block.model_validate(self._core.request("POST", "/v1/blocks", json=body.body()))

    def unblock(self, address: str) -> None:
        """Lifts the block of ``address`` (a CIDR's ``/`` is escaped); ``NotFound`` if none."""
        self._core.request("DELETE", _paths.path("/v1/blocks/{}", address))
