# Generated from _async/audit.py by scripts/unasync.py: edit that file, not this one.
"""The tamper-evident audit log: append, query, proofs checked locally."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .. import _shared
from ..models import AppendResult, AuditEntry, Checkpoint, InclusionProof
from ._core import Core


class Audit:
    """The tamper-evident audit log."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def append(self, event: Mapping[str, Any]) -> AppendResult:
        """Appends one event; returns once it is durable."""
        return AppendResult.model_validate(
            self._core.request("POST", "/v1/audit/entries", json=dict(event))
        )

    def append_batch(self, events: Sequence[Mapping[str, Any]]) -> AppendResult:
        """Appends 1 to 10,000 events as one all-or-nothing batch."""
        body = {"events": [dict(e) for e in events]}
        return AppendResult.model_validate(
            self._core.request("POST", "/v1/audit/entries", json=body)
        )

    def entries(self, *, page_size: int = 100, **filters: Any) -> Iterator[AuditEntry]:
        """Every entry matching ``filters`` (the API's query parameters), page after page."""
        cursor: str | None = None
        while True:
            params = _shared.entries_params(page_size, cursor, filters)
            page = self._core.request("GET", "/v1/audit/entries", params=params)
            for item in page["items"]:
                yield AuditEntry.model_validate(item)
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def checkpoint(self) -> Checkpoint:
        """The latest signed tree head."""
        return Checkpoint.model_validate(self._core.request("GET", "/v1/audit/checkpoint"))

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """The audit path of entry ``seq`` (in the current tree unless ``tree_size``)."""
        params: dict[str, int] = {"seq": seq}
        if tree_size is not None:
            params["tree_size"] = tree_size
        return InclusionProof.model_validate(
            self._core.request("GET", "/v1/audit/proofs/inclusion", params=params)
        )

    def verify_inclusion(self, seq: int) -> bool:
        """Whether entry ``seq`` is in the latest checkpoint's tree, checked locally (RFC 9162).
        The checkpoint's signature is not checked here yet."""
        checkpoint = self.checkpoint()
        proof = self.inclusion_proof(seq, checkpoint.tree_size)
        return _shared.proves_inclusion(checkpoint, proof)
