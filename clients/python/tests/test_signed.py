"""Rampart's signed documents verified locally (``rampart.signed.verify_document``): a subject's
export, erasure certificates, a compliance report and a disposal certificate, as the raw JSON
and as the client's answer models; any change, another key, a missing or malformed signature,
or a file with a key given twice fails."""

from __future__ import annotations

import asyncio
import base64
import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from rampart import AsyncRampart, Rampart, note, signed, verify_document

from .conftest import Server
from .wave2_support import eventually, unique

# A real Ed25519 key that signed none of these documents.
OTHER_KEY = base64.b64encode(
    Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
).decode()


def _get(server: Server, path: str) -> Any:
    response = httpx.get(
        server.base_url + path, headers={"authorization": f"Bearer {server.admin_key}"}
    )
    response.raise_for_status()
    return signed.loads(response.content)


def _tampered(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The document changed in ways a signature must catch."""
    for key, value in document.items():
        if key == "signature_b64":
            continue
        changed = copy.deepcopy(document)
        if isinstance(value, str):
            changed[key] = value + "x"
        elif isinstance(value, bool) or value is None:
            changed[key] = "forged"
        elif isinstance(value, int):
            changed[key] = value + 1
        elif isinstance(value, list):
            changed[key] = [*value, "forged"]
        else:
            changed[key] = {**value, "forged": True}
        yield changed
    yield {**document, "added": 1}
    yield {k: v for k, v in document.items() if k not in ("signature_b64", next(iter(document)))}


def _check(document: dict[str, Any], key: str, raw_key: str) -> None:
    assert verify_document(document, key)
    assert verify_document(document, raw_key)
    assert verify_document(dict(reversed(list(document.items()))), key), "order is not signed"
    assert not verify_document(document, OTHER_KEY)
    for changed in _tampered(document):
        assert not verify_document(changed, key), sorted(set(changed) ^ set(document))
    unsigned = {k: v for k, v in document.items() if k != "signature_b64"}
    assert not verify_document(unsigned, key)
    for bad in ("", "not base64!", base64.b64encode(b"short").decode(), 42):
        assert not verify_document({**document, "signature_b64": bad}, key)


def test_real_documents_verify_and_tampered_ones_do_not(server: Server, tmp_path: Path) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        public = rampart.audit.public_key()
        key, raw_key = public.verifier_key, public.public_key_b64
        subject = unique("py/signed")
        rampart.subjects.give_consent(subject, "analytics")
        rampart.audit.append(
            {
                "actor": {"type": "user", "id": "signed-test"},
                "action": "py.signed",
                "resource": {"type": "doc", "id": "d"},
                "status": "success",
                "subject_id": subject,
                "personal": {"email": "someone@example.com", "n": 1.5},
            }
        )
        exported = rampart.subjects.export(subject)
        assert exported.audit_entries and verify_document(exported, key)
        assert exported.verify(key) and not exported.verify(OTHER_KEY)
        assert rampart.audit.verify_document(exported)
        path = f"/v1/subjects/{subject.replace('/', '%2F')}/export"
        _check(_get(server, path), key, raw_key)

        erasure = rampart.subjects.erase(subject, reason="py signed", stores=["crm"])
        assert not verify_document(erasure, key), "the 202 answer is no certificate"
        certificate = rampart.subjects.erasure(erasure.id)
        assert verify_document(certificate, key)
        _check(_get(server, f"/v1/erasures/{erasure.id}"), key, raw_key)
        confirmed = rampart.subjects.confirm_erasure(erasure.id, store="crm", records_deleted=2)
        assert verify_document(confirmed, key) and confirmed.verify(key)
        assert not verify_document(certificate.model_copy(update={"status": "completed"}), key)

        report = rampart.compliance.create_report("soc2")
        assert verify_document(report, key) and report.verify(key)
        assert verify_document(rampart.compliance.report(report.id), key)
        _check(_get(server, f"/v1/compliance/reports/{report.id}"), key, raw_key)

        disposal = _disposal_certificate(rampart)
        assert verify_document(disposal, key) and disposal.verify(key)
        listed = [c for c in rampart.retention.certificates() if c.id == disposal.id]
        assert listed and verify_document(listed[0], key)

        # Files as saved from the API, parsed strictly.
        saved = tmp_path / "export.json"
        text = httpx.get(
            server.base_url + path, headers={"authorization": f"Bearer {server.admin_key}"}
        ).text
        saved.write_text(text)
        assert signed.verify_file(saved, key)
        document = json.loads(text)
        forged = '{"subject_id":"someone-else",' + text.lstrip()[1:]
        saved.write_text(forged)
        assert verify_document(json.loads(forged), key), "Python's json keeps the last value"
        assert not signed.verify_file(saved, key), "but a key given twice is refused"
        saved.write_text("[1, 2]")
        assert not signed.verify_file(saved, key)
        with pytest.raises(note.NoteError):
            verify_document(document, "not a key")
        assert not verify_document({**document, "big": 2**60}, key)


def _disposal_certificate(rampart: Rampart) -> Any:
    data_type = "app:" + unique("py_signed").replace("-", "_")
    rampart.retention.put_policy(data_type, retain_seconds=0)
    try:
        started = rampart.retention.run(dry_run=False)
        run = eventually(
            lambda: r if (r := rampart.retention.get_run(started.id)).state == "finished" else None
        )
        return rampart.retention.confirm(
            run.id, data_type=data_type, records_deleted=1, deleted_before="2026-01-01T00:00:00Z"
        )
    finally:
        rampart.retention.delete_policy(data_type)


def test_async_verify_document(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            report = await rampart.compliance.create_report("gdpr")
            assert await rampart.audit.verify_document(report)
            assert not await rampart.audit.verify_document(report, OTHER_KEY)
            changed = report.model_copy(update={"framework": "pci-dss"})
            assert not await rampart.audit.verify_document(changed)

    asyncio.run(run())
