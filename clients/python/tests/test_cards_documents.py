"""Cards and documents against a real server: the PAN never in a repr, an error or a log line;
obviously bad input refused here without echoing it; field-level encryption round trips, and
callers without ``sensitive_data:decrypt`` read ``[ENCRYPTED]``."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rampart import AsyncRampart, NotFound, Rampart, ValidationError

from ._util import principal_key, unique
from .conftest import Server

PAN = "4111111111111111"
ANOTHER = "5555555555554444"


def test_tokenize_and_detokenize_never_print_the_pan(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with Rampart(server.base_url, server.admin_key) as rampart:
        card = rampart.cards.tokenize(PAN, expiry="12/29")
        assert (card.last_four, card.brand) == ("1111", "visa")
        assert card.token.startswith("tok_")
        assert rampart.cards.tokenize("4111 1111 1111 1111").fingerprint == card.fingerprint
        assert rampart.cards.tokenize(ANOTHER).brand == "mastercard"
        pan = rampart.cards.detokenize(card.token)
        assert pan.reveal() == PAN and pan.expiry == "12/29" and pan.last_four == "1111"
        for text in (repr(card), str(card), repr(pan), str(pan), f"{pan}", repr([pan])):
            assert PAN not in text
        logging.getLogger("test").info("card %s %r", pan, pan)
        with pytest.raises(ValidationError) as luhn:
            rampart.cards.tokenize("4111111111111112")
        assert "4111111111111112" not in str(luhn.value) and luhn.value.status == 422
        with pytest.raises(NotFound):
            rampart.cards.detokenize("tok_doesnotexist")
    assert PAN not in caplog.text


@pytest.mark.parametrize(
    ("pan", "message"),
    [
        ("4111-1111-1111-111x", "digits only"),
        ("٤١١١١١١١١١١١١١١١", "digits only"),
        ("4111", "12 to 19"),
        ("41111111111111111111111", "12 to 19"),
        ("", "digits only"),
    ],
)
def test_bad_pans_are_refused_locally_without_echo(server: Server, pan: str, message: str) -> None:
    with Rampart(server.base_url, server.admin_key) as rampart:
        with pytest.raises(ValueError, match=message) as refused:
            rampart.cards.tokenize(pan)
        if pan:
            assert pan not in str(refused.value)
        with pytest.raises(TypeError):
            rampart.cards.tokenize(4111111111111111)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="expiry"):
            rampart.cards.tokenize(PAN, expiry="13/29")
        with pytest.raises(ValueError, match="tok_"):
            rampart.cards.detokenize(PAN)


def test_documents_round_trip_and_stay_encrypted_for_others(server: Server) -> None:
    document = {"card": {"number": PAN, "holder": "Ann"}, "items": [{"note": "a"}, {"note": "b"}]}
    with Rampart(server.base_url, server.admin_key) as rampart:
        key = unique("py-docs")
        rampart.keys.create(key)
        sealed = rampart.documents.encrypt(
            key, ["card.number", "items[*].note"], document, document_id="order-7"
        )
        assert sealed.encrypted_fields == 3
        assert sealed.document["card"]["holder"] == "Ann"
        assert sealed.document["card"]["number"]["__encrypted__"] is True
        assert PAN not in repr(sealed)
        opened = rampart.documents.decrypt(sealed.document, document_id="order-7")
        assert opened.document == document and opened.decrypted_fields == 3
        with pytest.raises(ValidationError):
            rampart.documents.decrypt(sealed.document, document_id="order-8")
        with pytest.raises(ValueError, match="list of selectors"):
            rampart.documents.encrypt(key, "card.number", document)
        with pytest.raises(ValueError):
            rampart.documents.encrypt(key, [], document)
    with Rampart(server.base_url, principal_key(server, ["viewer"])) as viewer:
        hidden = viewer.documents.decrypt(sealed.document, document_id="order-7")
        assert hidden.decrypted_fields == 0
        assert hidden.document["card"]["number"] == "[ENCRYPTED]"


def test_async_cards_and_documents(server: Server) -> None:
    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as rampart:
            card = await rampart.cards.tokenize(ANOTHER)
            assert (await rampart.cards.detokenize(card.token)).reveal() == ANOTHER
            key = unique("py-async-docs")
            await rampart.keys.create(key)
            sealed = await rampart.documents.encrypt(key, ["a"], {"a": {"b": [1, 2]}})
            assert (await rampart.documents.decrypt(sealed.document)).document == {
                "a": {"b": [1, 2]}
            }

    asyncio.run(run())
