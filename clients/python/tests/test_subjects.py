"""Data subjects against a real server: the consent ledger, paged consent queries, the signed
export and an erasure confirmed store by store; subject ids with a slash stay one segment."""

from __future__ import annotations

import asyncio

import pydantic
import pytest

from rampart import AsyncRampart, Conflict, NotFound, Rampart, ValidationError

from .conftest import Server
from .wave2_support import unique


def test_consents_are_recorded_and_queried_across_pages(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        purpose = unique("py.purpose").replace("-", "_")
        subjects = sorted(unique("py/cust") for _ in range(3))
        for subject in subjects:
            rampart.subjects.give_consent(subject, purpose, source="signup-form")
        withdrawn = rampart.subjects.withdraw_consent(subjects[1], purpose)
        assert not withdrawn.given
        state = rampart.subjects.consents(subjects[1])
        assert not state.current[purpose].given
        assert [c.given for c in state.history] == [True, False]
        listed = [s.subject_id for s in rampart.subjects.consenting(purpose, page_size=1)]
        assert listed == subjects, "every subject once, in id order, over three pages"
        given = [s.subject_id for s in rampart.subjects.consenting(purpose, given=True)]
        assert given == [subjects[0], subjects[2]]
        assert rampart.subjects.consents(unique("py-nobody")).history == []
        with pytest.raises(pydantic.ValidationError):
            rampart.subjects.give_consent(subjects[0], "Not A Purpose")
        with pytest.raises(ValueError, match="page_size"):
            rampart.subjects.consenting(purpose, page_size=0)
        with pytest.raises(ValueError, match="non-empty"):
            rampart.subjects.consents("")


def test_a_subject_is_exported_then_erased(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        subject = unique("py/erase")
        rampart.subjects.give_consent(subject, "analytics")
        exported = rampart.subjects.export(subject)
        assert exported.subject_id == subject
        assert exported.signature_b64
        assert exported.consents.current["analytics"].given
        erasure = rampart.subjects.erase(subject, reason="py test", stores=["crm", "scans-db"])
        assert erasure.id.startswith("era_")
        assert erasure.status == "pending"
        certificate = rampart.subjects.erasure(erasure.id)
        assert sorted(certificate.pending_stores) == ["crm", "scans-db"]
        assert certificate.signature_b64
        with pytest.raises(ValidationError) as invalid:
            rampart.subjects.confirm_erasure(erasure.id, store="not-named", records_deleted=1)
        assert invalid.value.errors, "the field at fault is named"
        after_one = rampart.subjects.confirm_erasure(erasure.id, store="crm", records_deleted=12)
        assert after_one.pending_stores == ["scans-db"]
        with pytest.raises(Conflict):
            rampart.subjects.confirm_erasure(erasure.id, store="crm", records_deleted=12)
        done = rampart.subjects.confirm_erasure(erasure.id, store="scans-db", records_deleted=0)
        assert done.status == "completed"
        assert erasure.id in {e.id for e in rampart.subjects.erasures(page_size=1)}
        with pytest.raises(NotFound):
            rampart.subjects.erasure("era_00000000000000000000000000000000")
        with pytest.raises(pydantic.ValidationError):
            rampart.subjects.confirm_erasure(erasure.id, store="crm", records_deleted=-1)


def test_subjects_async(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            subject = unique("py-async")
            await rampart.subjects.give_consent(subject, "newsletter")
            listed = [s.subject_id async for s in rampart.subjects.consenting("newsletter")]
            assert subject in listed
            erasure = await rampart.subjects.erase(subject, reason="async")
            assert erasure.status == "completed", "no store named: Rampart's part is all"
            assert (await rampart.subjects.erasure(erasure.id)).status == "completed"
            with pytest.raises(NotFound):
                await rampart.subjects.erasure("era_00000000000000000000000000000000")

    asyncio.run(run())
