"""Incidents: opened by hand or by rules, escalated on timeouts, with verifiable evidence."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

from .. import _paths
from ..models.monitoring import (
    Incident,
    IncidentEvidence,
    IncidentRequest,
    ResolveIncident,
    Severity,
    TimelineRequest,
)
from . import _transfer
from ._core import AsyncCore


class AsyncIncidents:
    """Incidents (``incidents:read`` to read, ``incidents:manage`` to change)."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def create(
        self,
        *,
        title: str,
        severity: Severity,
        description: str | None = None,
        alert_ids: Sequence[str] | None = None,
        personal_data_breach: bool | None = None,
    ) -> Incident:
        """Opens an incident (id ``INC-YYYYMMDD-NNNN``); ``personal_data_breach`` sets a 72 h
        notification deadline (GDPR Art. 33)."""
        body = IncidentRequest(
            title=title,
            severity=severity,
            description=description,
            alert_ids=list(alert_ids) if alert_ids is not None else None,
            personal_data_breach=personal_data_breach,
        )
        return Incident.model_validate(
            await self._core.request("POST", "/v1/incidents", json=body.body())
        )

    async def list(
        self,
        *,
        status: Literal["open", "acknowledged", "resolved"] | None = None,
        severity: Severity | None = None,
        limit: int = 100,
    ) -> list[Incident]:
        """The newest ``limit`` (1 to 1000) incidents matching the filters (no cursor)."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit: between 1 and 1000")
        params = {"status": status, "severity": severity, "limit": limit}
        answer = await self._core.request(
            "GET", "/v1/incidents", params={k: v for k, v in params.items() if v is not None}
        )
        return [Incident.model_validate(i) for i in answer["items"]]

    async def get(self, incident_id: str) -> Incident:
        """One incident with its timeline; ``NotFound`` if there is none."""
        return Incident.model_validate(
            await self._core.request("GET", _paths.path("/v1/incidents/{}", incident_id))
        )

    async def add_timeline(
        self, incident_id: str, *, kind: Literal["note", "action"], text: str
    ) -> Incident:
        """Adds a note or an action to the timeline (``Conflict`` once resolved)."""
        body = TimelineRequest(kind=kind, text=text)
        path = _paths.path("/v1/incidents/{}/timeline", incident_id)
        return Incident.model_validate(await self._core.request("POST", path, json=body.body()))

    async def acknowledge(self, incident_id: str) -> Incident:
        """Acknowledges an open incident: its escalation stops."""
        path = _paths.path("/v1/incidents/{}/acknowledge", incident_id)
        return Incident.model_validate(await self._core.request("POST", path))

    async def resolve(self, incident_id: str, *, resolution: str) -> Incident:
        """Resolves an incident with a ``resolution``."""
        body = ResolveIncident(resolution=resolution)
        path = _paths.path("/v1/incidents/{}/resolve", incident_id)
        return Incident.model_validate(await self._core.request("POST", path, json=body.body()))

    async def evidence(self, incident_id: str) -> IncidentEvidence:
        """The incident's audit entries with inclusion proofs against one signed checkpoint;
        ``.verify(incident.entry_seqs, public_key)`` checks them locally."""
        path = _paths.path("/v1/incidents/{}/evidence", incident_id)
        return IncidentEvidence.model_validate(await self._core.request("GET", path))

    async def download_evidence(self, incident_id: str, dest: str | os.PathLike[str]) -> int:
        """Writes the evidence document (JSON, byte for byte as sent) to ``dest``, for
        verification offline; returns its size in bytes."""
        path = _paths.path("/v1/incidents/{}/evidence", incident_id)
        return await _transfer.download(self._core, path, dest, None)
