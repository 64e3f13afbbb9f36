"""Privacy against a real server: redact and detect (documents, texts, policies), a batch of
records redacted in one call and split back, bad input refused before sending; sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic
import pytest

from rampart import AsyncRampart, Rampart, ValidationError
from rampart._shared import split_redaction
from rampart.models import EncryptAction

from .conftest import Server

CARD = "4111 1111 1111 1111"


def test_redact_a_document_and_a_text(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        doc = {"user": {"email": "ann@example.com", "password": "hunter2"}, "note": f"card {CARD}"}
        out = rampart.privacy.redact(document=doc, policy={"email": "mask"})
        assert out.document["user"]["password"] == "[REDACTED:SENSITIVE_KEY]"  # noqa: S105
        assert out.document["note"] == "card [REDACTED:CREDIT_CARD]"
        assert out.document["user"]["email"].endswith(".com")
        assert "ann@" not in out.document["user"]["email"]
        assert {(f.path, f.type, f.action) for f in out.findings} == {
            ("user.email", "email", "mask"),
            ("user.password", "sensitive_key", "redact"),
            ("note", "credit_card", "redact"),
        }
        text = rampart.privacy.redact(text="mail ann@example.com")
        assert text.text is not None and text.text.startswith("mail hmac-sha256:")
        assert text.document is None
        # A document may be any JSON, null included.
        assert rampart.privacy.redact(document=None).findings == []


def test_detect_changes_nothing(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        found = rampart.privacy.detect(text="mail ann@example.com from 203.0.113.7")
        assert [(f.type, f.start, f.end) for f in found.findings] == [
            ("email", 5, 20),
            ("ip_address", 26, 37),
        ]
        assert found.findings[0].path is None


def test_redact_many_splits_the_answer_back(server: Server) -> None:
    records: list[Any] = [
        {"email": "a@example.com", "n": f"card {CARD}"},
        "plain text with sk_live_abcdefghijklmnop1234",
        {"nothing": "here"},
        [{"password": "x"}],
    ]
    with Rampart(server.base_url, server.admin_key) as rampart:
        results = rampart.privacy.redact_many(records, max_per_call=3)
    assert len(results) == 4
    assert results[0].document["n"] == "card [REDACTED:CREDIT_CARD]"
    assert [f.path for f in results[0].findings] == ["email", "n"]
    assert results[1].document == "plain text with [REDACTED:SECRET]"
    assert [f.path for f in results[1].findings] == [None]
    assert results[2].findings == [] and results[2].document == {"nothing": "here"}
    assert [f.path for f in results[3].findings] == ["[0].password"]


def test_bad_input_is_refused_before_sending() -> None:
    with Rampart("http://127.0.0.1:9", "rk_x") as rampart:
        with pytest.raises(pydantic.ValidationError, match="exactly one"):
            rampart.privacy.redact(document={"a": 1}, text="b")
        with pytest.raises(pydantic.ValidationError, match="exactly one"):
            rampart.privacy.detect()
        with pytest.raises(pydantic.ValidationError):
            rampart.privacy.redact(text="x", policy={"email": "shred"})  # type: ignore[dict-item]
        with pytest.raises(pydantic.ValidationError):
            rampart.privacy.redact(text="x", policy={"colour": "redact"})  # type: ignore[dict-item]
        with pytest.raises(ValueError, match="max_per_call"):
            rampart.privacy.redact_many([{}], max_per_call=0)
        assert rampart.privacy.redact_many([]) == []
        # A refused request never quotes what it was given: it may be the secret to redact.
        secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"  # noqa: S105 (a canary)
        with pytest.raises(pydantic.ValidationError) as both:
            rampart.privacy.redact(document={"key": secret}, text=secret)
        assert secret not in str(both.value) and "4eC39" not in repr(both.value)


def test_server_refusals_are_typed(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        with pytest.raises(ValidationError) as refused:
            rampart.privacy.redact(text="x", policy={"email": EncryptAction(key="no-such-key")})
        assert refused.value.status == 422
        assert [e.field for e in refused.value.errors] == ["policy.email"]


def test_a_batch_answer_that_does_not_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="not an array"):
        split_redaction({"document": [1], "findings": []}, 2)
    with pytest.raises(ValueError, match="names no record"):
        split_redaction({"document": ["a"], "findings": [{"path": "[3]", "type": "x"}]}, 1)


def test_async_privacy(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            out = await rampart.privacy.redact(text=f"card {CARD}")
            assert out.text == "card [REDACTED:CREDIT_CARD]"
            found = await rampart.privacy.detect(document={"token": "abc"})
            assert [f.type for f in found.findings] == ["sensitive_key"]
            many = await rampart.privacy.redact_many([f"a {CARD}", "b"])
            assert [r.document for r in many] == ["a [REDACTED:CREDIT_CARD]", "b"]

    asyncio.run(run())
