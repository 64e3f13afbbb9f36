"""Field-level encryption of JSON documents."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import Model, Request


class EncryptDocument(Request):
    """``POST /v1/documents/encrypt``."""

    key: str = Field(min_length=1, max_length=128)
    fields: list[str] = Field(min_length=1, max_length=1000)
    document: dict[str, Any]
    document_id: str | None = None


class DecryptDocument(Request):
    """``POST /v1/documents/decrypt``."""

    document: dict[str, Any]
    document_id: str | None = None


class EncryptedDocument(Model):
    """A document with its selected fields encrypted, and how many were."""

    document: dict[str, Any]
    encrypted_fields: int


class DecryptedDocument(Model):
    """A document with its fields decrypted (``"[ENCRYPTED]"`` without the permission)."""

    document: dict[str, Any]
    decrypted_fields: int
