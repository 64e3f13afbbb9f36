"""Pydantic v2 models of the API's requests and answers, one module per domain, shared by the
sync and async clients."""

from ._base import Model, Request
from .audit import AppendedEntry, AppendResult, AuditEntry, Checkpoint, InclusionProof
from .identity import (
    ApiKey,
    CreatedApiKey,
    Decision,
    Introspection,
    Policy,
    Principal,
    RevokedApiKey,
    Role,
    Session,
    TotpEnrollment,
    WhoAmI,
)
from .keys import Encrypted, Key

__all__ = [
    "ApiKey",
    "AppendResult",
    "AppendedEntry",
    "AuditEntry",
    "Checkpoint",
    "CreatedApiKey",
    "Decision",
    "Encrypted",
    "InclusionProof",
    "Introspection",
    "Key",
    "Model",
    "Policy",
    "Principal",
    "Request",
    "RevokedApiKey",
    "Role",
    "Session",
    "TotpEnrollment",
    "WhoAmI",
]
