"""Payment cards: tokens and the PAN behind them, which never prints."""

from __future__ import annotations

from ._base import Model


class CardToken(Model):
    """A tokenized card: the token, last four digits, brand and fingerprint (never the PAN)."""

    token: str
    last_four: str
    brand: str
    fingerprint: str


class Pan:
    """A card number that never prints: ``repr``/``str`` show the last four digits only.
    ``reveal()`` returns it."""

    __slots__ = ("_expiry", "_value")

    def __init__(self, value: str, expiry: str | None = None) -> None:
        self._value = value
        self._expiry = expiry

    def reveal(self) -> str:
        """The card number itself."""
        return self._value

    @property
    def expiry(self) -> str | None:
        """The expiry (``MM/YY``) when one was stored."""
        return self._expiry

    @property
    def last_four(self) -> str:
        """The last four digits."""
        return self._value[-4:]

    def __repr__(self) -> str:
        return f"Pan([REDACTED] …{self.last_four})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pan) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Pan", self._value))
