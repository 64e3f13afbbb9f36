"""Rampart's Python client: sync (``Rampart``) and async (``AsyncRampart``), typed errors from
problem+json, retries for idempotent calls, and local verification of audit-log proofs."""

from ._async.client import AsyncRampart
from ._sync.client import Rampart
from .appender import AsyncAuditAppender, AuditAppender, DeadLetter, InvalidEvent, SpoolFull
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
from .models import (
    AppendResult,
    AuditEntry,
    Checkpoint,
    DetectResult,
    Encrypted,
    Finding,
    InclusionProof,
    Key,
    RedactResult,
)

__all__ = [
    "AppendResult",
    "AsyncAuditAppender",
    "AsyncRampart",
    "AuditAppender",
    "AuditEntry",
    "AuthenticationError",
    "Checkpoint",
    "Conflict",
    "ConnectionFailed",
    "DeadLetter",
    "DetectResult",
    "Encrypted",
    "FieldError",
    "Finding",
    "InclusionProof",
    "InvalidEvent",
    "Key",
    "Locked",
    "NotFound",
    "PermissionDenied",
    "Rampart",
    "RampartError",
    "RateLimited",
    "RedactResult",
    "ServerError",
    "SpoolFull",
    "ValidationError",
]
