"""Field-level encryption of JSON documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..models import DecryptDocument, DecryptedDocument, EncryptDocument, EncryptedDocument
from ._core import AsyncCore


class AsyncDocuments:
    """Encrypts selected fields of JSON documents (``card.number``, ``items[*].note``)."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def encrypt(
        self,
        key: str,
        fields: Sequence[str],
        document: Mapping[str, Any],
        *,
        document_id: str | None = None,
    ) -> EncryptedDocument:
        """Replaces each selected field with its ciphertext under the ``aes256-gcm`` key, bound
        to its path (and ``document_id``, when given)."""
        if isinstance(fields, str):
            raise ValueError("fields: a list of selectors, not one string")
        request = EncryptDocument(
            key=key, fields=list(fields), document=dict(document), document_id=document_id
        )
        return EncryptedDocument.model_validate(
            await self._core.request("POST", "/v1/documents/encrypt", json=request.body())
        )

    async def decrypt(
        self, document: Mapping[str, Any], *, document_id: str | None = None
    ) -> DecryptedDocument:
        """The document with its fields decrypted (read ``"[ENCRYPTED]"`` without
        ``sensitive_data:decrypt``)."""
        request = DecryptDocument(document=dict(document), document_id=document_id)
        return DecryptedDocument.model_validate(
            await self._core.request("POST", "/v1/documents/decrypt", json=request.body())
        )
