"""Compliance: frameworks, signed reports (JSON, HTML, OSCAL), evidence packages, waivers and
each control's history."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

from .. import _paths
from ..errors import from_response
from ..models.compliance import (
    ControlEvaluation,
    Framework,
    Report,
    ReportInfo,
    ReportRequest,
    Waiver,
    WaiverRequest,
)
from . import _transfer
from ._core import AsyncCore


class AsyncCompliance:
    """Compliance reports evaluated from live facts (``compliance:read`` / ``:manage``)."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def frameworks(self) -> list[Framework]:
        """The frameworks with their controls and what Rampart checks for each."""
        answer = await self._core.request("GET", "/v1/compliance/frameworks")
        return [Framework.model_validate(f) for f in answer["items"]]

    async def create_report(self, framework: str) -> Report:
        """Evaluates ``framework`` now; returns the signed report, which is kept."""
        body = ReportRequest(framework=framework)
        return Report.model_validate(
            await self._core.request("POST", "/v1/compliance/reports", json=body.body())
        )

    async def reports(self, *, framework: str | None = None, limit: int = 100) -> list[ReportInfo]:
        """The newest ``limit`` reports kept (of ``framework`` when given)."""
        if not 1 <= limit <= 1000:
            raise ValueError("limit: between 1 and 1000")
        params: dict[str, Any] = {"limit": limit}
        if framework is not None:
            params["framework"] = framework
        answer = await self._core.request("GET", "/v1/compliance/reports", params=params)
        return [ReportInfo.model_validate(r) for r in answer["items"]]

    async def report(self, report_id: str) -> Report:
        """A kept report as the signed JSON document."""
        path = _paths.path("/v1/compliance/reports/{}", report_id)
        return Report.model_validate(await self._core.request("GET", path))

    async def report_html(self, report_id: str) -> str:
        """A kept report as one self-contained HTML page."""
        return await self._text(report_id, "html")

    async def report_oscal(self, report_id: str) -> str:
        """A kept report as OSCAL 1.1.2 assessment results (JSON text)."""
        return await self._text(report_id, "oscal")

    async def _text(self, report_id: str, fmt: str) -> str:
        path = _paths.path("/v1/compliance/reports/{}", report_id)
        response = await self._core.send("GET", path, params={"format": fmt})
        if response.status_code >= 400:
            raise from_response(response)
        return response.text

    async def download_evidence(self, report_id: str, dest: str | os.PathLike[str]) -> int:
        """Streams the report's evidence package (a zip: report, audit export, checkpoint,
        redacted configuration, public keys, signed manifest) to ``dest``; returns its size.
        ``rampart compliance verify`` checks it offline."""
        path = _paths.path("/v1/compliance/reports/{}/evidence", report_id)
        return await _transfer.download(self._core, path, dest, None)

    async def create_waiver(
        self, *, framework: str, control: str, reason: str, expires_at: str
    ) -> Waiver:
        """Waives a control until ``expires_at`` (RFC 3339, within 366 days)."""
        body = WaiverRequest(
            framework=framework, control=control, reason=reason, expires_at=expires_at
        )
        return Waiver.model_validate(
            await self._core.request("POST", "/v1/compliance/waivers", json=body.body())
        )

    async def waivers(self) -> list[Waiver]:
        """The waivers not revoked (expired ones too), oldest first."""
        answer = await self._core.request("GET", "/v1/compliance/waivers")
        return [Waiver.model_validate(w) for w in answer["items"]]

    async def revoke_waiver(self, waiver_id: str) -> None:
        """Revokes a waiver (it stays on record); ``NotFound`` if there is none."""
        await self._core.request("DELETE", _paths.path("/v1/compliance/waivers/{}", waiver_id))

    async def control_history(
        self, framework: str, control: str, *, page_size: int = 1000
    ) -> AsyncIterator[ControlEvaluation]:
        """Every past result of a control, newest first, page after page (``before``)."""
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size: between 1 and 1000")
        path = _paths.path("/v1/compliance/controls/{}/{}/history", framework, control)
        params: dict[str, Any] = {"limit": page_size}
        while True:
            items = (await self._core.request("GET", path, params=params))["items"]
            for item in items:
                yield ControlEvaluation.model_validate(item)
            if len(items) < page_size:
                return
            params["before"] = items[-1]["evaluated_at"]
