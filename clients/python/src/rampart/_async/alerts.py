"""Alerts raised by the detection rules: list, read, acknowledge, resolve."""

from __future__ import annotations

from typing import Literal

from .. import _paths
from ..models.monitoring import Alert, ResolveAlert
from ._core import AsyncCore


class AsyncAlerts:
    """Alerts, newest first; one per rule and group while open."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def list(
        self,
        *,
        status: Literal["open", "acknowledged", "resolved"] | None = None,
        severity: str | None = None,
        rule: str | None = None,
        limit: int = 100,
    ) -> list[Alert]:
        """The newest ``limit`` (1 to 1000) alerts matching the filters (``security:read``).
        The API has no cursor for alerts: narrow the filters to see older ones."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit: between 1 and 1000")
        params = {"status": status, "severity": severity, "rule": rule, "limit": limit}
        answer = await self._core.request(
            "GET", "/v1/alerts", params={k: v for k, v in params.items() if v is not None}
        )
        return [Alert.model_validate(a) for a in answer["items"]]

    async def get(self, alert_id: str) -> Alert:
        """One alert; ``NotFound`` if there is none."""
        return Alert.model_validate(
            await self._core.request("GET", _paths.path("/v1/alerts/{}", alert_id))
        )

    async def acknowledge(self, alert_id: str) -> Alert:
        """Acknowledges an open alert (``alerts:acknowledge``; ``Conflict`` if not open)."""
        return Alert.model_validate(
            await self._core.request("POST", _paths.path("/v1/alerts/{}/acknowledge", alert_id))
        )

    async def resolve(self, alert_id: str, *, note: str | None = None) -> Alert:
        """Resolves an alert with an optional ``note`` (``Conflict`` if already resolved); a
        later match opens a new alert."""
        body = ResolveAlert(note=note)
        return Alert.model_validate(
            await self._core.request(
                "POST", _paths.path("/v1/alerts/{}/resolve", alert_id), json=body.body()
            )
        )
