"""Monitoring against a real server: detection rules, alerts raised from audit entries,
silences, webhooks (the secret never prints) and incidents with evidence checked locally."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from pathlib import Path

import pydantic
import pytest

from rampart import (
    Alert,
    AsyncRampart,
    Conflict,
    DetectionRule,
    NotFound,
    Rampart,
    ValidationError,
)

from .conftest import Server
from .wave2_support import ahead, denied_entry, eventually, unique

# A public address the webhook URL check accepts without DNS (the tests never reach it).
PUBLIC_HOOK = "https://93.184.215.14/rampart-hook"


def _alert_of(rampart: Rampart, actor_id: str) -> Alert:
    def probe() -> Alert | None:
        for alert in rampart.alerts.list(rule="unauthorized_access", limit=1000):
            if alert.group.get("actor.id") == actor_id:
                return alert
        return None

    return eventually(probe)


def test_an_alert_is_raised_acknowledged_and_resolved(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        actor = unique("py-alert")
        seq = denied_entry(rampart, actor)
        alert = _alert_of(rampart, actor)
        assert alert.status == "open"
        assert seq in alert.entry_seqs
        assert rampart.alerts.get(alert.id) == alert
        assert alert.id in {a.id for a in rampart.alerts.list(status="open", severity="low")}
        assert rampart.alerts.acknowledge(alert.id).status == "acknowledged"
        with pytest.raises(Conflict):
            rampart.alerts.acknowledge(alert.id)
        assert rampart.alerts.resolve(alert.id, note="a test").status == "resolved"
        with pytest.raises(Conflict):
            rampart.alerts.resolve(alert.id)
        with pytest.raises(NotFound):
            rampart.alerts.get("0193b100-0000-7000-8000-000000000000")
        with pytest.raises(ValidationError) as invalid:
            rampart.alerts.list(severity="extreme")
        assert [e.field for e in invalid.value.errors] == ["severity"]
        with pytest.raises(ValueError, match="limit"):
            rampart.alerts.list(limit=0)
        with pytest.raises(pydantic.ValidationError):
            rampart.alerts.resolve(alert.id, note="x" * 2001)


def test_detection_rules_are_replaced_with_their_version(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        before = rampart.detection_rules.get()
        kept = [DetectionRule.model_validate(r) for r in before.rules]
        extra = DetectionRule(
            name="py_rule", match={"action": "py.never.*"}, group_by=["actor.id"], threshold=3
        )
        after = rampart.detection_rules.put([*kept, extra], version=before.version)
        try:
            assert after.source == "api"
            assert after.rules[-1]["name"] == "py_rule"
            assert after.rules[-1]["threshold"] == 3
            with pytest.raises(Conflict):
                rampart.detection_rules.put(kept, version=before.version)
        finally:
            rampart.detection_rules.put(kept, version=after.version)
        assert [r["name"] for r in rampart.detection_rules.get().rules] == [r.name for r in kept]
        with pytest.raises(pydantic.ValidationError):
            DetectionRule(name="x", match={}, severity="extreme")


def test_silences_are_created_listed_and_removed(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        silence = rampart.silences.create(
            rule="failed_logins", group={"actor.id": "load-test"}, until=ahead(3600), reason="py"
        )
        assert silence.group == {"actor.id": "load-test"}
        assert silence.id in {s.id for s in rampart.silences.list()}
        rampart.silences.delete(silence.id)
        assert silence.id not in {s.id for s in rampart.silences.list()}
        with pytest.raises(NotFound):
            rampart.silences.delete(silence.id)
        with pytest.raises(ValidationError) as invalid:
            rampart.silences.create(rule="failed_logins", until=ahead(200 * 86400), reason="far")
        assert [e.field for e in invalid.value.errors] == ["until"]


def test_a_webhook_secret_never_prints(server: Server, caplog: pytest.LogCaptureFixture) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        hook = rampart.webhooks.create(url=PUBLIC_HOOK, events=["alert.opened"], description="py")
        try:
            secret = hook.secret.get_secret_value()
            assert secret.startswith("whsec_")
            with caplog.at_level(logging.INFO):
                logging.getLogger("py-test").info("created %s / %r", hook, hook)
            for text in (repr(hook), str(hook), hook.model_dump_json(), caplog.text):
                assert secret not in text
                assert secret[6:] not in text
            assert rampart.webhooks.get(hook.id).url == PUBLIC_HOOK
            assert hook.id in {w.id for w in rampart.webhooks.list()}
            # An alert opened now is a delivery of this webhook, stored before it is sent.
            denied_entry(rampart, unique("py-hook"))
            delivery = eventually(lambda: next(iter(rampart.webhooks.deliveries(hook.id)), None))
            assert delivery.event == "alert.opened"
            retried = rampart.webhooks.retry(hook.id, delivery.id)
            assert retried.id == delivery.id
            assert retried.status == "pending"
            with pytest.raises(NotFound):
                rampart.webhooks.retry(hook.id, "0193b301-0000-7000-8000-000000000000")
        finally:
            rampart.webhooks.delete(hook.id)
        with pytest.raises(NotFound):
            rampart.webhooks.get(hook.id)
        with pytest.raises(ValidationError) as invalid:
            rampart.webhooks.create(url="http://127.0.0.1:9/hook", events=["alert.opened"])
        assert [e.field for e in invalid.value.errors] == ["url"]
        with pytest.raises(pydantic.ValidationError):
            rampart.webhooks.create(url=PUBLIC_HOOK, events=["alert.closed"])  # type: ignore[list-item]


def test_an_incident_runs_its_course_with_evidence(server: Server, tmp_path: Path) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        actor = unique("py-incident")
        seq = denied_entry(rampart, actor)
        alert = _alert_of(rampart, actor)
        incident = rampart.incidents.create(
            title="py test", severity="high", description="d", alert_ids=[alert.id]
        )
        assert re.fullmatch(r"INC-\d{8}-\d{4}", incident.id)
        assert incident.alert_ids == [alert.id]
        assert seq in incident.entry_seqs
        assert incident.timeline[0].kind == "opened"
        assert incident.id in {i.id for i in rampart.incidents.list(status="open")}
        noted = rampart.incidents.add_timeline(incident.id, kind="note", text="looking")
        assert (noted.timeline[-1].kind, noted.timeline[-1].text) == ("note", "looking")
        assert rampart.incidents.acknowledge(incident.id).status == "acknowledged"
        evidence = rampart.incidents.evidence(incident.id)
        assert seq in {e.seq for e in evidence.entries}
        assert evidence.verify(), "every entry proved in the checkpoint's tree, locally"
        forged = evidence.entries[0].model_copy(update={"canonical": "{}"})
        assert not forged.verifies(evidence.checkpoint)
        size = rampart.incidents.download_evidence(incident.id, tmp_path / "evidence.json")
        saved = (tmp_path / "evidence.json").read_bytes()
        assert len(saved) == size
        assert json.loads(saved)["incident_id"] == incident.id
        resolved = rampart.incidents.resolve(incident.id, resolution="done")
        assert resolved.status == "resolved"
        with pytest.raises(NotFound):
            rampart.incidents.get("INC-20000101-9999")
        with pytest.raises(NotFound):
            rampart.incidents.download_evidence("INC-20000101-9999", tmp_path / "none.json")
        assert not (tmp_path / "none.json").exists()
        with pytest.raises(ValidationError) as invalid:
            rampart.incidents.create(title="x", severity="low", alert_ids=["no-such-alert"])
        assert [e.field for e in invalid.value.errors] == ["alert_ids[0]"]
        with pytest.raises(pydantic.ValidationError):
            rampart.incidents.create(title="", severity="low")


def test_a_resolved_incident_takes_notes_but_no_actions(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        incident = rampart.incidents.create(title="py closed", severity="low")
        rampart.incidents.resolve(incident.id, resolution="done")
        noted = rampart.incidents.add_timeline(incident.id, kind="note", text="post-mortem")
        assert noted.timeline[-1].text == "post-mortem"
        with pytest.raises(Conflict):
            rampart.incidents.add_timeline(incident.id, kind="action", text="late block")


def test_monitoring_async(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            incident = await rampart.incidents.create(title="async", severity="low")
            assert (await rampart.incidents.get(incident.id)).title == "async"
            assert (await rampart.incidents.acknowledge(incident.id)).status == "acknowledged"
            assert (await rampart.detection_rules.get()).rules
            assert isinstance(await rampart.alerts.list(limit=5), list)
            silence = await rampart.silences.create(rule="x", until=ahead(60), reason="async")
            await rampart.silences.delete(silence.id)
            with pytest.raises(NotFound):
                await rampart.alerts.acknowledge("0193b100-0000-7000-8000-000000000000")
            with pytest.raises(NotFound):
                await rampart.webhooks.deliveries("0193b300-0000-7000-8000-000000000000")

    asyncio.run(run())
