"""Payment cards: tokenize a card number, detokenize a token. The PAN never appears in a repr,
an error or a log line."""

from __future__ import annotations

import re

from ..models import CardToken, Pan
from ._core import AsyncCore

_EXPIRY = re.compile(r"^(0[1-9]|1[0-2])/(\d{2}|\d{4})$")


def _check_pan(pan: str) -> str:
    if not isinstance(pan, str):
        raise TypeError("pan: must be a str of digits")
    compact = pan.replace(" ", "").replace("-", "")
    if not compact.isascii() or not compact.isdigit():
        raise ValueError("pan: must hold digits only (spaces and dashes allowed)")
    if not 12 <= len(compact) <= 19:
        raise ValueError("pan: must be 12 to 19 digits long")
    return compact


class AsyncCards:
    """The card vault: PANs stored encrypted, applications hold tokens."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def tokenize(self, pan: str, expiry: str | None = None) -> CardToken:
        """Stores a card and returns its token, last four digits, brand and fingerprint.
        Obviously bad input is refused here (``ValueError``, never quoting it); the Luhn and
        per-brand length checks are the server's (``ValidationError``)."""
        body: dict[str, str] = {"pan": _check_pan(pan)}
        if expiry is not None:
            if not _EXPIRY.match(expiry):
                raise ValueError("expiry: must be MM/YY or MM/YYYY")
            body["expiry"] = expiry
        return CardToken.model_validate(
            await self._core.request("POST", "/v1/cards/tokenize", json=body)
        )

    async def detokenize(self, token: str) -> Pan:
        """The card behind ``token``, as a ``Pan`` whose repr is redacted (``.reveal()``)."""
        if not token.startswith("tok_"):
            raise ValueError("token: a card token starts with tok_")
        answer = await self._core.request("POST", "/v1/cards/detokenize", json={"token": token})
        return Pan(str(answer["pan"]), answer.get("expiry"))
