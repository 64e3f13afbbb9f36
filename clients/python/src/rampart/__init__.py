"""Rampart's Python client: sync (``Rampart``) and async (``AsyncRampart``), typed errors from
problem+json, retries for idempotent calls, and local verification of audit-log proofs."""

from ._async.client import AsyncRampart
from ._sync.client import Rampart
from .errors import (
    AuthenticationError,
    Conflict,
    ConnectionFailed,
    FieldError,
    Locked,
    NotFound,
    PermissionDenied,
    RampartError,
    RateLimited,
    ServerError,
    ValidationError,
)
from .export import verify_export
from .models import (
    AppendResult,
    AuditEntry,
    CardToken,
    Checkpoint,
    ConsistencyProof,
    DecryptedDocument,
    Encrypted,
    EncryptedDocument,
    InclusionProof,
    Key,
    Outcome,
    Pan,
    PublicKey,
    Signature,
    VerifyResult,
)

__all__ = [
    "AppendResult",
    "AsyncRampart",
    "AuditEntry",
    "AuthenticationError",
    "CardToken",
    "Checkpoint",
    "Conflict",
    "ConnectionFailed",
    "ConsistencyProof",
    "DecryptedDocument",
    "Encrypted",
    "EncryptedDocument",
    "FieldError",
    "InclusionProof",
    "Key",
    "Locked",
    "NotFound",
    "Outcome",
    "Pan",
    "PermissionDenied",
    "PublicKey",
    "Rampart",
    "RampartError",
    "RateLimited",
    "ServerError",
    "Signature",
    "ValidationError",
    "VerifyResult",
    "verify_export",
]
