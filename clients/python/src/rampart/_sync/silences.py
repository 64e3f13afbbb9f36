# Generated from _async/silences.py by scripts/unasync.py: edit that file, not this one.
"""Silences: alerts of a rule (or one group) still recorded, but not notified."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _paths
from ..models.monitoring import Silence, SilenceRequest
from ._core import Core


class Silences:
    """Silences of alert notifications (``security:manage``)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def create(
        self,
        *,
        rule: str,
        until: str,
        reason: str,
        group: Mapping[str, Any] | None = None,
    ) -> Silence:
        """Silences ``rule`` (only ``group`` when given) until ``until`` (RFC 3339, at most 90
        days ahead)."""
        body = SilenceRequest(
            rule=rule, until=until, reason=reason, group=dict(group) if group else None
        )
        return Silence.model_validate(self._core.request("POST", "/v1/silences", json=body.body()))

    def list(self) -> list[Silence]:
        """Every silence, ending soonest first (``security:read``)."""
        answer = self._core.request("GET", "/v1/silences")
        return [Silence.model_validate(s) for s in answer["items"]]

    def delete(self, silence_id: str) -> None:
        """Removes a silence; ``NotFound`` if there is none."""
        self._core.request("DELETE", _paths.path("/v1/silences/{}", silence_id))
