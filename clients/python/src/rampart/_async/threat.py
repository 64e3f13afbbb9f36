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
from ._core import AsyncCore


class AsyncThreat:
    """Rate limits, address rules and fail2ban-like blocks, enforced before authentication."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def rate_limits(self) -> RateLimits:
        """The rate-limit rules in force (``security:read``)."""
        return RateLimits.model_validate(await self._core.request("GET", "/v1/rate-limits"))

    async def set_rate_limits(
        self, rules: Sequence[RateLimitRule | Mapping[str, Any]]
    ) -> RateLimits:
        """Replaces the rate-limit rules, in order (``security:manage``; ``Conflict`` when
        they come from the ``rate_limits_file`` setting). Each rule is a ``RateLimitRule`` or a
        mapping of its fields, validated before sending."""
        body = RateLimitRules(rules=[RateLimitRule.model_validate(r) for r in rules])
        return RateLimits.model_validate(
            await self._core.request("PUT", "/v1/rate-limits", json=body.body())
        )

    async def ip_rules(self) -> IpRules:
        """The address allow/deny rules (``security:read``)."""
        return IpRules.model_validate(await self._core.request("GET", "/v1/ip-rules"))

    async def set_ip_rules(self, *, allow: Sequence[str] = (), deny: Sequence[str] = ()) -> IpRules:
        """Replaces the address rules (addresses or CIDRs). With a non-empty ``allow`` every
        other address is refused before authentication: include your own."""
        body = IpRulesUpdate(allow=list(allow), deny=list(deny))
        return IpRules.model_validate(
            await self._core.request("PUT", "/v1/ip-rules", json=body.body())
        )

    async def blocks(self) -> list[Block]:
        """The blocks in force, soonest to end first (``security:read``)."""
        answer = await self._core.request("GET", "/v1/blocks")
        return [Block.model_validate(b) for b in answer["items"]]

    async def block(self, address: str, *, seconds: int, reason: str | None = None) -> Block:
        """Blocks an address or network (CIDR) for ``seconds`` (``security:manage``)."""
        body = BlockRequest(address=address, seconds=seconds, reason=reason)
        return Block.model_validate(
            await self._core.request("POST", "/v1/blocks", json=body.body())
        )

    async def unblock(self, address: str) -> None:
        """Lifts the block of ``address`` (a CIDR's ``/`` is escaped); ``NotFound`` if none."""
        await self._core.request("DELETE", _paths.path("/v1/blocks/{}", address))
