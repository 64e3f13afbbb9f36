"""Pydantic v2 models of the API's requests and answers, one module per domain, shared by the
sync and async clients."""

from ._base import Model, Request
from .audit import (
    AppendedEntry,
    AppendResult,
    AuditEntry,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    Problem,
    PublicKey,
    VerifyResult,
)
from .cards import CardToken, Pan
from .documents import DecryptDocument, DecryptedDocument, EncryptDocument, EncryptedDocument
from .keys import (
    CreateKey,
    Encrypted,
    Key,
    KeyType,
    KeyVersion,
    Outcome,
    Signature,
    UpdateKey,
)

__all__ = [
    "AppendResult",
    "AppendedEntry",
    "AuditEntry",
    "CardToken",
    "Checkpoint",
    "ConsistencyProof",
    "CreateKey",
    "DecryptDocument",
    "DecryptedDocument",
    "EncryptDocument",
    "Encrypted",
    "EncryptedDocument",
    "InclusionProof",
    "Key",
    "KeyType",
    "KeyVersion",
    "Model",
    "Outcome",
    "Pan",
    "Problem",
    "PublicKey",
    "Request",
    "Signature",
    "UpdateKey",
    "VerifyResult",
]
