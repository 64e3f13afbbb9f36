"""Threat protection's models: rate-limit rules, address rules, blocks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import Model, Request


class RateLimitRule(Request):
    """One rate-limit rule to set: ``limit`` requests per ``window_seconds`` per ``key``."""

    name: str = Field(min_length=1)
    key: Literal["ip", "principal", "credential", "global"]
    match: list[str] = Field(min_length=1)
    limit: int = Field(ge=1)
    window_seconds: int = Field(ge=1)
    burst: int | None = Field(default=None, ge=1)
    shared: bool = False
    applies_to: Literal["all", "authenticated", "unauthenticated"] = "all"


class RateLimitRules(Request):
    """``PUT /v1/rate-limits``'s body."""

    rules: list[RateLimitRule]


class RateLimit(Model):
    """A rate-limit rule in force."""

    name: str
    key: str
    match: list[str]
    limit: int
    window_seconds: int
    burst: int
    shared: bool
    applies_to: str


class RateLimits(Model):
    """The rate-limit rules in force, where they come from (``default``, ``api``, ``file``)
    and their stored version."""

    rules: list[RateLimit]
    source: str
    version: int | None = None


class IpRulesUpdate(Request):
    """``PUT /v1/ip-rules``'s body: addresses or CIDRs."""

    allow: list[str]
    deny: list[str]


class IpRules(Model):
    """The address rules: with a non-empty ``allow`` other addresses are refused; ``deny`` wins."""

    allow: list[str]
    deny: list[str]
    version: int | None = None


class BlockRequest(Request):
    """``POST /v1/blocks``'s body."""

    address: str = Field(min_length=1)
    seconds: int = Field(ge=1)
    reason: str | None = None


class Block(Model):
    """A block in force: automatic (``manual`` false) or set by an operator."""

    address: str
    reason: str
    blocked_at: str
    expires_at: str
    failures: int
    manual: bool
