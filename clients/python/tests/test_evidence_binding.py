"""Incident evidence binds what the user reads: a real incident's evidence verifies (with the
log's key, against the incident's ``entry_seqs``), and evidence whose ``entry`` differs from its
canonical text, whose seq is another's, that drops, adds or repeats entries, that is empty when
entries were expected, or whose checkpoint is signed by another key, does not."""

from __future__ import annotations

import asyncio
from typing import Any

from rampart import AsyncRampart, Incident, IncidentEvidence, Rampart

from .conftest import Server
from .wave2_support import denied_entry, eventually, unique

OTHER_KEY = "rampart.dev/other+00000000+" + "A" * 44


def _incident(rampart: Rampart) -> tuple[Incident, int]:
    actor = unique("py-evidence")
    seq = denied_entry(rampart, actor)

    def probe() -> str | None:
        for alert in rampart.alerts.list(rule="unauthorized_access", limit=1000):
            if alert.group.get("actor.id") == actor:
                return alert.id
        return None

    incident = rampart.incidents.create(
        title="py evidence", severity="low", alert_ids=[eventually(probe)]
    )
    return incident, seq


def _with(evidence: IncidentEvidence, **update: Any) -> IncidentEvidence:
    return IncidentEvidence.model_validate({**evidence.model_dump(), **update})


def test_evidence_binds_entries_and_seqs(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        incident, seq = _incident(rampart)
        key = rampart.audit.public_key().verifier_key
        evidence = rampart.incidents.evidence(incident.id)
        expected = incident.entry_seqs
        assert seq in expected and {e.seq for e in evidence.entries} == set(expected)
        assert evidence.verify()
        assert evidence.verify(expected, key)
        assert not evidence.verify(expected, OTHER_KEY), "a checkpoint signed by another key"

        entries = evidence.model_dump()["entries"]
        # What the user reads (entry) changed, the canonical text and proof left as they were.
        forged = [dict(e) for e in entries]
        forged[0]["entry"] = {**forged[0]["entry"], "action": "py.forged"}
        assert not _with(evidence, entries=forged).verify()
        assert not _with(evidence, entries=forged).entries[0].verifies(evidence.checkpoint)
        # The entry of another seq presented under this seq.
        moved = [dict(e) for e in entries]
        moved[0]["entry"] = {**moved[0]["entry"], "seq": moved[0]["seq"] + 1}
        assert not _with(evidence, entries=moved).verify()
        # A proof for another tree size.
        resized = [dict(e) for e in entries]
        resized[0]["proof"] = {**resized[0]["proof"], "tree_size": 1}
        assert not _with(evidence, entries=resized).verify()
        # Entries left out, repeated, added; none at all.
        assert not _with(evidence, entries=[]).verify(expected)
        assert not _with(evidence, entries=[]).verify(), "proves nothing"
        assert not _with(evidence, entries=entries * 2).verify(expected)
        assert not evidence.verify([*expected, max(expected) + 1]), "an expected seq missing"
        assert not evidence.verify([]), "an entry not expected"
        # A seq listed only as pruned counts only when allowed (its content is gone).
        pruned = [{"seq": e["seq"], "leaf_hash": e["leaf_hash"]} for e in entries]
        gone = _with(evidence, entries=[], pruned_entries=pruned)
        assert not gone.verify(expected)
        assert gone.verify(expected, key, allow_pruned=True)


def test_an_incident_without_entries(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        incident = rampart.incidents.create(title="py no entries", severity="low")
        evidence = rampart.incidents.evidence(incident.id)
        assert incident.entry_seqs == [] and evidence.entries == []
        assert evidence.verify(incident.entry_seqs), "nothing expected, nothing missing"
        assert not evidence.verify(), "without expected seqs, no entry proves nothing"


def test_async_evidence(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        incident, _ = _incident(rampart)

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            key = (await rampart.audit.public_key()).public_key_b64
            evidence = await rampart.incidents.evidence(incident.id)
            assert evidence.verify(incident.entry_seqs, key)
            assert not evidence.verify([*incident.entry_seqs, 10**9], key)

    asyncio.run(run())
