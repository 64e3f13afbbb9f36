# Generated from _async/detection_rules.py by scripts/unasync.py: edit that file, not this one.
"""Detection rules: what over the audit log raises alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models.monitoring import DetectionRule, DetectionRuleSet, DetectionRulesUpdate
from ._core import Core


class DetectionRules:
    """The detection rules the evaluator applies to every committed audit entry."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def get(self) -> DetectionRuleSet:
        """The rules in force, their source and version (``security:manage``)."""
        return DetectionRuleSet.model_validate(self._core.request("GET", "/v1/detection-rules"))

    def put(
        self,
        rules: Sequence[DetectionRule | Mapping[str, Any]],
        *,
        version: int | None = None,
    ) -> DetectionRuleSet:
        """Replaces the rules (each a ``DetectionRule`` or a mapping of its fields). With the
        ``version`` read, a concurrent change since makes it ``Conflict`` instead."""
        body = DetectionRulesUpdate(
            rules=[DetectionRule.model_validate(r) for r in rules], version=version
        )
        return DetectionRuleSet.model_validate(
            self._core.request("PUT", "/v1/detection-rules", json=body.body())
        )
