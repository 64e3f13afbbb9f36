"""Pydantic v2 models of the API's requests and answers, one module per domain, shared by the
sync and async clients."""

from ._base import Model, Request
from .audit import AppendedEntry, AppendResult, AuditEntry, Checkpoint, InclusionProof
from .keys import Encrypted, Key
from .privacy import DetectResult, EncryptAction, Finding, RedactResult

__all__ = [
    "AppendResult",
    "AppendedEntry",
    "AuditEntry",
    "Checkpoint",
    "DetectResult",
    "EncryptAction",
    "Encrypted",
    "Finding",
    "InclusionProof",
    "Key",
    "Model",
    "RedactResult",
    "Request",
]
