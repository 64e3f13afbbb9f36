"""Threat protection against a real server: rate-limit rules, address rules, blocks."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from rampart import AsyncRampart, NotFound, Rampart, RateLimitRule, ValidationError

from .conftest import Server


def test_rate_limit_rules_are_replaced_and_restored(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        before = rampart.threat.rate_limits()
        assert before.rules, "a default rule protects unauthenticated traffic"
        kept = [r.model_dump(include=set(RateLimitRule.model_fields)) for r in before.rules]
        try:
            brake = RateLimitRule(
                name="py-redact-brake",
                key="principal",
                match=["POST /v1/redact"],
                limit=100000,
                window_seconds=60,
            )
            after = rampart.threat.set_rate_limits([*kept, brake])
            assert after.source == "api"
            assert [r.name for r in after.rules][-1] == "py-redact-brake"
            assert after.rules[-1].burst == 100000, "burst defaults to the limit"
            assert rampart.threat.rate_limits().version == after.version
        finally:
            rampart.threat.set_rate_limits(kept)
        assert [r.name for r in rampart.threat.rate_limits().rules] == [
            r.name for r in before.rules
        ]
        # A rule with an unknown key is refused here, before anything is sent.
        with pytest.raises(pydantic.ValidationError):
            rampart.threat.set_rate_limits([{**kept[0], "key": "country"}])
        with pytest.raises(pydantic.ValidationError):
            rampart.threat.set_rate_limits([{**kept[0], "limit": 0}])


def test_address_rules_round_trip(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        try:
            rules = rampart.threat.set_ip_rules(deny=["198.51.100.0/24"])
            assert rules.deny == ["198.51.100.0/24"]
            assert rules.allow == []
            assert rampart.threat.ip_rules().deny == ["198.51.100.0/24"]
            with pytest.raises(ValidationError) as invalid:
                rampart.threat.set_ip_rules(deny=["not-a-network"])
            assert invalid.value.status == 422
        finally:
            rampart.threat.set_ip_rules()
        assert rampart.threat.ip_rules().deny == []


def test_a_network_is_blocked_and_lifted_with_its_slash_escaped(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        block = rampart.threat.block("203.0.113.0/24", seconds=120, reason="py test")
        assert block.manual
        assert block.address == "203.0.113.0/24"
        assert "203.0.113.0/24" in {b.address for b in rampart.threat.blocks()}
        rampart.threat.unblock("203.0.113.0/24")
        assert "203.0.113.0/24" not in {b.address for b in rampart.threat.blocks()}
        with pytest.raises(NotFound):
            rampart.threat.unblock("203.0.113.0/24")
        with pytest.raises(ValidationError) as invalid:
            rampart.threat.block("not-an-ip", seconds=5)
        assert [e.field for e in invalid.value.errors] == ["address"]
        with pytest.raises(pydantic.ValidationError):
            rampart.threat.block("203.0.113.7", seconds=0)
        for bad in ("", ".", ".."):
            with pytest.raises(ValueError, match="non-empty"):
                rampart.threat.unblock(bad)


def test_threat_async(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            assert (await rampart.threat.rate_limits()).rules
            await rampart.threat.block("192.0.2.77", seconds=60, reason="async")
            assert "192.0.2.77" in {b.address for b in await rampart.threat.blocks()}
            await rampart.threat.unblock("192.0.2.77")
            with pytest.raises(NotFound):
                await rampart.threat.unblock("192.0.2.77")

    asyncio.run(run())
