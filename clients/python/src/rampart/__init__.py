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
from .models import AppendResult, AuditEntry, Checkpoint, Encrypted, InclusionProof, Key

__all__ = [
    "AppendResult",
    "AsyncRampart",
    "AuditEntry",
    "AuthenticationError",
    "Checkpoint",
    "Conflict",
    "ConnectionFailed",
    "Encrypted",
    "FieldError",
    "InclusionProof",
    "Key",
    "Locked",
    "NotFound",
    "PermissionDenied",
    "Rampart",
    "RampartError",
    "RateLimited",
    "ServerError",
    "ValidationError",
]
