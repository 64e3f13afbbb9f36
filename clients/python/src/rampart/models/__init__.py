"""Pydantic v2 models of the API's requests and answers, one module per domain, shared by the
sync and async clients."""

from ._base import Model, Request
from .audit import AppendedEntry, AppendResult, AuditEntry, Checkpoint, InclusionProof
from .keys import Encrypted, Key

__all__ = [
    "AppendResult",
    "AppendedEntry",
    "AuditEntry",
    "Checkpoint",
    "Encrypted",
    "InclusionProof",
    "Key",
    "Model",
    "Request",
]
