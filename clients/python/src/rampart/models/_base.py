"""The base of every model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    """An answer of the API. Unknown fields are kept (``extra``), so a newer server's additions
    reach the caller; instances are frozen."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Request(BaseModel):
    """A request body, validated here before it is sent: unknown fields are refused, and a
    validation error never quotes the input (a body may carry a password, a PAN or a token)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    def body(self) -> dict[str, object]:
        """The JSON body: fields left unset are not sent."""
        return self.model_dump(mode="json", exclude_none=True)


class Signed(Model):
    """An answer Rampart signed (``signature_b64``: Ed25519 by the audit log's key over its
    RFC 8785 form without that member): subject exports, erasure and disposal certificates,
    compliance reports."""

    def verify(self, public_key: str) -> bool:
        """Whether the signature holds under ``public_key`` (the log's ``verifier_key`` or
        ``public_key_b64``; pin it rather than asking the server that signed)."""
        from ..signed import verify_document

        return verify_document(self, public_key)
