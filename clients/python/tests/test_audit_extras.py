"""Audit extras against a real server: entries by seq, the public key, checkpoint signatures
checked locally (pinned or fetched key), consistency proofs, the server's verify, and exports
streamed to a file then verified offline, tampering caught per seq."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from rampart import AsyncRampart, NotFound, Rampart, ValidationError, verify_export
from rampart import note as notes

from .conftest import Server

OTHER_KEY = "rampart.dev/other+00000000+" + "A" * 44


def _event(i: int) -> dict[str, Any]:
    return {
        "actor": {"type": "user", "id": f"u{i}"},
        "action": "py.extras",
        "resource": {"type": "doc", "id": f"d{i}"},
        "status": "success",
        "details": {"amount": i * 1.5, "note": "é ✓", "nested": {"z": 1, "a": [True, None]}},
    }


def test_entry_public_key_and_signed_checkpoints(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        appended = rampart.audit.append(_event(1))
        seq = appended.entries[0].seq
        entry = rampart.audit.get(seq)
        assert entry.seq == seq and entry.leaf_hash == appended.entries[0].leaf_hash
        with pytest.raises(NotFound):
            rampart.audit.get(10**9)
        with pytest.raises(ValueError, match="seq"):
            rampart.audit.get(-1)
        key = rampart.audit.public_key()
        assert key.algorithm == "ed25519" and key.verifier_key.startswith(key.origin + "+")
        checkpoint = rampart.audit.checkpoint()
        for pinned in (key.verifier_key, key.public_key_b64):
            assert rampart.audit.verify_checkpoint(checkpoint, pinned)
            assert rampart.audit.verify_inclusion(seq, public_key=pinned)
        assert rampart.audit.verify_inclusion(seq), "with the server's key, fetched"
        # A checkpoint whose fields differ from its signed note, or a note altered, fails.
        assert not rampart.audit.verify_checkpoint(
            checkpoint.model_copy(update={"tree_size": checkpoint.tree_size + 1}), key.verifier_key
        )
        lines = checkpoint.note.split("\n")
        lines[1] = str(int(lines[1]) + 1)
        altered = checkpoint.model_copy(
            update={"note": "\n".join(lines), "tree_size": checkpoint.tree_size + 1}
        )
        assert not rampart.audit.verify_checkpoint(altered, key.verifier_key)
        with pytest.raises(notes.NoteError, match="does not verify"):
            notes.verify_note(altered.note, key.verifier_key)
        # Another key (pinned) refuses the real checkpoint, so inclusion is not accepted.
        assert not rampart.audit.verify_inclusion(seq, public_key=OTHER_KEY)
        assert not rampart.audit.verify_inclusion(seq, public_key="not a key")
        with pytest.raises(notes.NoteError, match="hash does not match"):
            notes.parse_key(key.verifier_key.replace(key.key_id, "00000000"))
    with Rampart(server.base_url, server.admin_key, audit_public_key=OTHER_KEY) as client:
        assert not client.audit.verify_inclusion(seq), "the client's pinned key is used"


def test_consistency_between_checkpoints(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        rampart.audit.append(_event(2))
        old = rampart.audit.checkpoint()
        rampart.audit.append_batch([_event(i) for i in range(5)])
        assert rampart.audit.verify_consistency(old)
        new = rampart.audit.checkpoint()
        proof = rampart.audit.consistency_proof(old.tree_size, new.tree_size)
        assert (proof.first, proof.second) == (old.tree_size, new.tree_size) and proof.hashes
        forged = old.model_copy(update={"root_hash": "00" * 32})
        assert not rampart.audit.verify_consistency(forged), "unsigned root refused"
        with pytest.raises(ValueError, match="first"):
            rampart.audit.consistency_proof(0)
        with pytest.raises(ValueError, match="first"):
            rampart.audit.consistency_proof(5, 4)
        with pytest.raises(ValidationError):
            rampart.audit.consistency_proof(new.tree_size + 1000)
        verdict = rampart.audit.verify(full=True)
        assert verdict.ok and verdict.checked_entries >= new.tree_size and not verdict.problems


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_export_verifies_offline_and_tampering_is_caught(server: Server, tmp_path: Path) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        batch = rampart.audit.append_batch([_event(i) for i in range(30)])
        key = rampart.audit.public_key()
        whole = rampart.audit.export(tmp_path / "all.ndjson")
        report = verify_export(whole, key.verifier_key)
        assert report.ok, report.problems
        assert report.checked_entries == report.tree_size >= 30
        first, last = batch.entries[3].seq, batch.entries[20].seq
        part = rampart.audit.export(tmp_path / "part.ndjson", from_seq=first, to_seq=last)
        report = rampart.audit.verify_export(part)
        assert report.ok, report.problems
        assert (report.checked_entries, report.tree_size) == (last - first + 1, last + 1)
        assert not verify_export(part, OTHER_KEY).ok
        unsigned = verify_export(part, None)
        assert [p.problem for p in unsigned.problems] == [
            "signature not checked: no public key given"
        ]
        with pytest.raises(ValueError, match="from_seq"):
            rampart.audit.export(tmp_path / "x", from_seq=-1)

    lines = _lines(part)
    # One field of one entry changed (its leaf_hash left as it was): caught at that seq.
    edited = json.loads(lines[5])
    edited["details"]["amount"] = 1000
    _write(tmp_path / "edited.ndjson", [*lines[:5], json.dumps(edited), *lines[6:]])
    report = verify_export(tmp_path / "edited.ndjson", key.verifier_key)
    assert not report.ok
    assert any(p.seq == first + 5 and "leaf_hash" in p.problem for p in report.problems)
    assert any("root" in p.problem for p in report.problems)
    # The same edit with a recomputed leaf_hash still changes the root.
    import rfc8785

    from rampart import merkle

    body = {k: v for k, v in edited.items() if k != "leaf_hash"}
    edited["leaf_hash"] = merkle.leaf_hash(rfc8785.dumps(body)).hex()
    _write(tmp_path / "forged.ndjson", [*lines[:5], json.dumps(edited), *lines[6:]])
    report = verify_export(tmp_path / "forged.ndjson", key.verifier_key)
    assert [p.problem for p in report.problems] == [
        "the root recomputed from the entries differs from the checkpoint"
    ]
    # A line removed, the trailer cut, garbage, a line after the trailer.
    _write(tmp_path / "gap.ndjson", [*lines[:2], *lines[3:]])
    report = verify_export(tmp_path / "gap.ndjson", key.verifier_key)
    assert any(p.seq == first + 3 and "missing" in p.problem for p in report.problems)
    _write(tmp_path / "cut.ndjson", lines[:-1])
    assert (
        "truncated" in verify_export(tmp_path / "cut.ndjson", key.verifier_key).problems[-1].problem
    )
    _write(tmp_path / "junk.ndjson", [lines[0], "{not json", *lines[1:], "[]"])
    problems = verify_export(tmp_path / "junk.ndjson", key.verifier_key).problems
    assert {"not JSON", "content after the checkpoint line"} <= {p.problem for p in problems}


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def test_async_audit_extras(server: Server, tmp_path: Path) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            appended = await rampart.audit.append(_event(9))
            seq = appended.entries[0].seq
            assert (await rampart.audit.get(seq)).seq == seq
            old = await rampart.audit.checkpoint()
            await rampart.audit.append(_event(10))
            assert await rampart.audit.verify_consistency(old)
            assert await rampart.audit.verify_inclusion(seq)
            path = await rampart.audit.export(tmp_path / "a.ndjson", from_seq=seq)
            assert (await rampart.audit.verify_export(path)).ok
            assert (await rampart.audit.verify()).ok

    asyncio.run(run())
