"""Compliance against a real server: frameworks, signed reports in JSON, HTML and OSCAL, the
evidence package streamed to a file, waivers, a control's history over pages."""

from __future__ import annotations

import asyncio
import json
import zipfile
from pathlib import Path

import pydantic
import pytest

from rampart import AsyncRampart, NotFound, Rampart, ValidationError

from .conftest import Server
from .wave2_support import ahead


def test_a_report_is_made_kept_and_rendered(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        frameworks = {f.id: f for f in rampart.compliance.frameworks()}
        assert {"soc2", "pci-dss", "hipaa", "gdpr", "mifid2"} <= set(frameworks)
        report = rampart.compliance.create_report("soc2")
        assert report.signature_b64
        summary = report.summary
        counted = summary.pass_ + summary.fail + summary.manual + summary.waived
        assert counted + summary.not_applicable == len(report.controls)
        assert {c.id for c in report.controls} <= {c.id for c in frameworks["soc2"].controls}
        assert rampart.compliance.report(report.id).id == report.id
        assert report.id in {r.id for r in rampart.compliance.reports(framework="soc2")}
        html = rampart.compliance.report_html(report.id)
        assert "<html" in html.lower()
        oscal = json.loads(rampart.compliance.report_oscal(report.id))
        assert "assessment-results" in oscal
        with pytest.raises(NotFound):
            rampart.compliance.report("rpt_00000000000000000000000000000000")
        with pytest.raises(NotFound):
            rampart.compliance.report_html("rpt_00000000000000000000000000000000")
        with pytest.raises(ValidationError) as invalid:
            rampart.compliance.create_report("iso-27001")
        assert [e.field for e in invalid.value.errors] == ["framework"]
        with pytest.raises(pydantic.ValidationError):
            rampart.compliance.create_report("")


def test_the_evidence_package_is_streamed_to_a_file(server: Server, tmp_path: Path) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        report = rampart.compliance.create_report("pci-dss")
        target = tmp_path / "evidence.zip"
        size = rampart.compliance.download_evidence(report.id, target)
        assert size == target.stat().st_size > 0
        with zipfile.ZipFile(target) as package:
            names = set(package.namelist())
            assert {"manifest.json", "report.json"} <= names
            assert json.loads(package.read("report.json"))["id"] == report.id
        assert not list(tmp_path.glob("*.part")), "no partial file left behind"
        missing = tmp_path / "missing.zip"
        with pytest.raises(NotFound):
            rampart.compliance.download_evidence("rpt_00000000000000000000000000000000", missing)
        assert not missing.exists()
        assert not list(tmp_path.glob("*.part"))


def test_waivers_and_a_controls_history(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        control = "soc2-cc6.1-mfa"
        waiver = rampart.compliance.create_waiver(
            framework="soc2", control=control, reason="py test", expires_at=ahead(86400)
        )
        assert not waiver.expired
        assert waiver.id in {w.id for w in rampart.compliance.waivers()}
        rampart.compliance.revoke_waiver(waiver.id)
        assert waiver.id not in {w.id for w in rampart.compliance.waivers()}
        with pytest.raises(NotFound):
            rampart.compliance.revoke_waiver(waiver.id)
        with pytest.raises(ValidationError) as invalid:
            rampart.compliance.create_waiver(
                framework="soc2", control="no-such", reason="r", expires_at=ahead(60)
            )
        assert [e.field for e in invalid.value.errors] == ["control"]
        reports = [rampart.compliance.create_report("soc2").id for _ in range(3)]
        history = list(rampart.compliance.control_history("soc2", control, page_size=2))
        assert set(reports) <= {h.report_id for h in history}, "followed across pages"
        times = [h.evaluated_at for h in history]
        assert times == sorted(times, reverse=True), "newest first"
        with pytest.raises(ValueError, match="page_size"):
            list(rampart.compliance.control_history("soc2", control, page_size=0))


def test_compliance_async(server: Server, tmp_path: Path) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            assert await rampart.compliance.frameworks()
            report = await rampart.compliance.create_report("gdpr")
            size = await rampart.compliance.download_evidence(report.id, tmp_path / "e.zip")
            assert zipfile.is_zipfile(tmp_path / "e.zip")
            assert size > 0
            assert "<html" in (await rampart.compliance.report_html(report.id)).lower()
            control = report.controls[0].id
            history = [h async for h in rampart.compliance.control_history("gdpr", control)]
            assert report.id in {h.report_id for h in history}
            with pytest.raises(NotFound):
                _ = [h async for h in rampart.compliance.control_history("gdpr", "no-such")]
            with pytest.raises(NotFound):
                await rampart.compliance.revoke_waiver("wvr_00000000000000000000000000000000")

    asyncio.run(run())
