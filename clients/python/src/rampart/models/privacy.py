"""The privacy API's models: redaction and detection of personal data and secrets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from ._base import Model, Request

#: The PII types a policy may name.
PiiType = Literal[
    "email",
    "credit_card",
    "us_ssn",
    "phone",
    "ip_address",
    "iban",
    "secret",
    "sensitive_key",
]
#: The actions that need no key.
PlainAction = Literal["redact", "hash", "mask", "keep", "tokenize"]


class EncryptAction(BaseModel):
    """``{"action": "encrypt", "key": NAME}``: encrypt findings of a type with a named key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["encrypt"] = "encrypt"
    key: str


#: A policy: the action for each type named (types not named keep the deployment's action).
Policy = dict[PiiType, PlainAction | EncryptAction]


class ScanRequest(Request):
    """The body of ``POST /v1/redact`` and ``POST /v1/detect``: a document or a text."""

    document: Any = None
    text: str | None = None
    policy: Policy | None = None
    #: Whether ``document`` was given (a document may be JSON ``null``).
    has_document: bool = False

    @model_validator(mode="after")
    def _one_of(self) -> ScanRequest:
        if self.has_document == (self.text is not None):
            raise ValueError("give exactly one of document= or text=")
        return self

    def body(self) -> dict[str, object]:
        """The JSON body (``document`` sent even when it is ``None``: JSON ``null``)."""
        out: dict[str, object] = {}
        if self.has_document:
            out["document"] = self.document
        else:
            out["text"] = self.text
        if self.policy is not None:
            out["policy"] = {
                k: (v.model_dump() if isinstance(v, EncryptAction) else v)
                for k, v in self.policy.items()
            }
        return out


class Finding(Model):
    """One finding: where (``path`` in document mode), its type, the action taken, and the
    UTF-8 byte offsets ``start``/``end`` in that string (or the text). Never the value."""

    type: str
    action: str
    start: int
    end: int
    path: str | None = None


class RedactResult(Model):
    """The answer to a redaction: ``document`` or ``text`` (as sent), and the findings."""

    findings: list[Finding]
    document: Any = None
    text: str | None = None


class DetectResult(Model):
    """The answer to a detection: findings only (each ``action`` is what redact would do)."""

    findings: list[Finding]
