"""Retention against a real server: policies, dry and real disposal runs, an application's
confirmation and its signed certificate, legal holds that stop an erasure."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from rampart import AsyncRampart, Conflict, NotFound, Rampart, ValidationError

from .conftest import Server
from .wave2_support import eventually, unique


def test_policies_are_set_and_removed(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        assert "sessions" in {p.data_type for p in rampart.retention.policies()}
        data_type = "app:" + unique("py_prefs").replace("-", "_")
        policy = rampart.retention.put_policy(data_type, retain_days=1825)
        assert (policy.retain_days, policy.mode) == (1825, "governance")
        assert data_type in {p.data_type for p in rampart.retention.policies()}
        rampart.retention.delete_policy(data_type)
        with pytest.raises(NotFound):
            rampart.retention.delete_policy(data_type)
        with pytest.raises(ValidationError) as invalid:
            rampart.retention.put_policy("not_a_type", retain_days=1)
        assert [e.field for e in invalid.value.errors] == ["data_type"]
        with pytest.raises(pydantic.ValidationError, match="exactly one"):
            rampart.retention.put_policy(data_type, retain_days=1, retain_seconds=1)
        with pytest.raises(pydantic.ValidationError, match="exactly one"):
            rampart.retention.put_policy(data_type)


def test_a_run_is_confirmed_by_the_application_and_certified(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        data_type = "app:" + unique("py_scans").replace("-", "_")
        rampart.retention.put_policy(data_type, retain_seconds=0)
        try:
            dry = rampart.retention.run(dry_run=True)
            assert dry.dry_run
            assert dry.state == "finished"
            assert data_type in {s.data_type for s in dry.steps}
            started = rampart.retention.run(dry_run=False)
            run = eventually(
                lambda: (
                    r if (r := rampart.retention.get_run(started.id)).state == "finished" else None
                )
            )
            assert data_type in run.unconfirmed
            certificate = rampart.retention.confirm(
                run.id,
                data_type=data_type,
                records_deleted=3,
                deleted_before="2026-01-01T00:00:00Z",
            )
            assert certificate.count == 3
            assert certificate.signature_b64
            with pytest.raises(Conflict):
                rampart.retention.confirm(
                    run.id,
                    data_type=data_type,
                    records_deleted=3,
                    deleted_before="2026-01-01T00:00:00Z",
                )
            assert data_type not in rampart.retention.get_run(run.id).unconfirmed
            ids = [c.id for c in rampart.retention.certificates(page_size=1)]
            assert certificate.id in ids
            assert len(ids) == len(set(ids)), "pages neither repeat nor skip"
        finally:
            rampart.retention.delete_policy(data_type)
        with pytest.raises(NotFound):
            rampart.retention.get_run("run_00000000000000000000000000000000")


def test_a_legal_hold_stops_an_erasure(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        subject = unique("py-held")
        hold = rampart.retention.create_hold(
            name="Case py", reason="litigation", subject_id=subject
        )
        assert hold.scope["subject_id"] == subject
        assert hold.scope["from"] is None
        assert hold.id in {h.id for h in rampart.retention.holds()}
        with pytest.raises(Conflict) as held:
            rampart.subjects.erase(subject, reason="asked")
        assert held.value.status == 409
        rampart.retention.release_hold(hold.id)
        assert hold.id not in {h.id for h in rampart.retention.holds()}
        with pytest.raises(NotFound):
            rampart.retention.release_hold(hold.id)
        assert rampart.subjects.erase(subject, reason="asked").status == "completed"
        with pytest.raises(pydantic.ValidationError):
            rampart.retention.create_hold(name="", reason="r")


def test_retention_async(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            dry = await rampart.retention.run()
            assert dry.dry_run, "a run is dry unless asked otherwise"
            hold = await rampart.retention.create_hold(
                name="async", reason="r", tag="py", from_="2026-01-01T00:00:00Z"
            )
            assert hold.scope["from"] == "2026-01-01T00:00:00Z"
            await rampart.retention.release_hold(hold.id)
            ids = [c.id async for c in rampart.retention.certificates(page_size=2)]
            assert len(ids) == len(set(ids))
            with pytest.raises(NotFound):
                await rampart.retention.get_run("run_00000000000000000000000000000000")

    asyncio.run(run())
