# Generated from _async/audit.py by scripts/unasync.py: edit that file, not this one.
"""The tamper-evident audit log: append, query, proofs and signatures checked locally, export
and offline verification."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .. import _shared, export, merkle, signed
from ..errors import from_response
from ..models import (
    AppendResult,
    AuditEntry,
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    PublicKey,
    VerifyResult,
)
from ._core import Core
from ._transfer import pages


class Audit:
    """The tamper-evident audit log. ``public_key`` pins the log's key (the ``verifier_key`` or
    ``public_key_b64`` of ``GET /v1/audit/public-key``, kept in your configuration).

    WITHOUT A PINNED KEY every signature check here trusts the key the server serves (fetched
    once): it then proves only that the server signed what it serves, not that the log is the
    one you know; a compromised server passes. The first such check logs a warning (logger
    ``rampart.audit``, naming the key_id). Pin the key for checks that mean something."""

    def __init__(self, core: Core, public_key: str | None = None) -> None:
        self._core = core
        self._pinned = public_key
        self._served: str | None = None

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
        """Every entry matching ``filters`` (the API's query parameters: ``action``,
        ``actor_id``, ``status``, ``from_seq``, ``order``, ...), page after page. An unknown
        filter is a ``ValueError`` here, never silently ignored."""
        unknown = sorted(set(filters) - _shared.ENTRY_FILTERS)
        if unknown:
            raise ValueError(
                f"unknown audit filter(s) {', '.join(unknown)}: "
                f"one of {', '.join(sorted(_shared.ENTRY_FILTERS))}"
            )
        return pages(self._core, "/v1/audit/entries", AuditEntry, filters, page_size)

    def get(self, seq: int) -> AuditEntry:
        """Entry ``seq`` with its leaf hash (``NotFound`` when there is none)."""
        if seq < 0:
            raise ValueError("seq: must be 0 or more")
        return AuditEntry.model_validate(self._core.request("GET", f"/v1/audit/entries/{int(seq)}"))

    def checkpoint(self) -> Checkpoint:
        """The latest signed tree head."""
        return Checkpoint.model_validate(self._core.request("GET", "/v1/audit/checkpoint"))

    def public_key(self) -> PublicKey:
        """The log's Ed25519 public key (no credential needed). Pin it in your configuration:
        a key fetched from the server being checked proves less than one you hold."""
        return PublicKey.model_validate(self._core.request("GET", "/v1/audit/public-key"))

    def _key(self, public_key: str | None) -> str:
        if public_key is not None:
            return public_key
        if self._pinned is not None:
            return self._pinned
        if self._served is None:
            served = self.public_key()
            _shared.warn_unpinned(served.key_id)
            self._served = served.verifier_key
        return self._served

    def verify_checkpoint(self, checkpoint: Checkpoint, public_key: str | None = None) -> bool:
        """Whether the checkpoint's signed note verifies with ``public_key`` (default: the pinned
        key, else the server's: see the class's warning) and says the same size and root as its
        fields."""
        return _shared.checkpoint_signed(checkpoint, self._key(public_key))

    def inclusion_proof(self, seq: int, tree_size: int | None = None) -> InclusionProof:
        """The audit path of entry ``seq`` (in the current tree unless ``tree_size``)."""
        params: dict[str, int] = {"seq": seq}
        if tree_size is not None:
            params["tree_size"] = tree_size
        return InclusionProof.model_validate(
            self._core.request("GET", "/v1/audit/proofs/inclusion", params=params)
        )

    def verify_inclusion(self, seq: int, public_key: str | None = None) -> bool:
        """Whether entry ``seq``, as the server returns it, is in the latest checkpoint's tree,
        all checked locally: the checkpoint's Ed25519 signature (``public_key``, else the pinned
        key, else the server's: see the class's warning); the entry is fetched and its leaf
        hash computed here (RFC 8785 form without ``leaf_hash`` and ``personal_plain``, which
        is outside the leaf); the proof must be for ``seq`` and that leaf, and lead to the
        signed root (RFC 9162). ``False`` when any of it fails, or the entry's answer holds a
        duplicate key, or ``seq`` is past the checkpoint's tree; an entry pruned under retention
        raises the server's ``410`` (its content is gone); ``ValueError`` for a negative
        ``seq``."""
        if seq < 0:
            raise ValueError("seq: must be 0 or more")
        checkpoint = self.checkpoint()
        if not _shared.checkpoint_signed(checkpoint, self._key(public_key)):
            return False
        if seq >= checkpoint.tree_size:
            return False
        response = self._core.send("GET", f"/v1/audit/entries/{int(seq)}")
        try:
            entry = _shared.strict_answer(response)
        except signed.JSONError:
            return False
        if not isinstance(entry, dict):
            return False
        proof = self.inclusion_proof(seq, checkpoint.tree_size)
        return _shared.proves_entry(checkpoint, proof, seq, entry)

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """The proof that the tree of ``second`` entries (default: the current one) extends the
        tree of ``first`` entries (RFC 9162 §2.1.4)."""
        if first < 1 or (second is not None and second < first):
            raise ValueError("first: must be 1 or more, and second at least first")
        params: dict[str, int] = {"from": first}
        if second is not None:
            params["to"] = second
        return ConsistencyProof.model_validate(
            self._core.request("GET", "/v1/audit/proofs/consistency", params=params)
        )

    def verify_consistency(self, old: Checkpoint, public_key: str | None = None) -> bool:
        """Whether the latest checkpoint extends ``old`` (one you kept): both signatures
        (``public_key``, else the pinned key, else the server's: see the class's warning) and
        the consistency proof checked locally, so the log was neither rewritten nor forked.
        From an ``old`` of size 0, its root must be the empty tree's (SHA-256 of nothing)."""
        key = self._key(public_key)
        new = self.checkpoint()
        if not (_shared.checkpoint_signed(old, key) and _shared.checkpoint_signed(new, key)):
            return False
        if old.tree_size == 0:
            # Every tree extends the empty one, whose root is SHA-256("") (merkle's rule).
            return merkle.verify_consistency(
                0, new.tree_size, bytes.fromhex(old.root_hash), bytes.fromhex(new.root_hash), []
            )
        if old.tree_size >= new.tree_size:
            return old.tree_size == new.tree_size and old.root_hash == new.root_hash
        proof = self.consistency_proof(old.tree_size, new.tree_size)
        return merkle.verify_consistency(
            old.tree_size,
            new.tree_size,
            bytes.fromhex(old.root_hash),
            bytes.fromhex(new.root_hash),
            [bytes.fromhex(h) for h in proof.hashes],
        )

    def verify(self, *, full: bool = False) -> VerifyResult:
        """The server's verdict on the stored log (incremental unless ``full``)."""
        params = {"full": "true"} if full else None
        return VerifyResult.model_validate(
            self._core.request("POST", "/v1/audit/verify", params=params)
        )

    def export(
        self,
        path: str | os.PathLike[str],
        from_seq: int | None = None,
        to_seq: int | None = None,
    ) -> Path:
        """Streams entries ``from_seq``..``to_seq`` (inclusive) and their checkpoint as NDJSON
        into ``path``, a chunk at a time (never the whole export in memory)."""
        params = {k: v for k, v in (("from_seq", from_seq), ("to_seq", to_seq)) if v is not None}
        if any(v < 0 for v in params.values()):
            raise ValueError("from_seq, to_seq: must be 0 or more")
        target = Path(path)
        with self._core.stream("GET", "/v1/audit/export", params=params) as response:
            if response.status_code >= 400:
                response.read()
                raise from_response(response)
            with open(target, "wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
        return target

    def verify_export(
        self, path: str | os.PathLike[str], public_key: str | None = None
    ) -> VerifyResult:
        """Verifies an export file offline (``rampart.export.verify_export``) with
        ``public_key``, else the pinned key, else the server's (see the class's warning)."""
        return export.verify_export(path, self._key(public_key))

    def verify_document(
        self, document: Mapping[str, Any] | BaseModel, public_key: str | None = None
    ) -> bool:
        """Whether a signed document (a subject's export, an erasure or disposal certificate, a
        compliance report: the answer model or its JSON) carries a valid ``signature_b64`` by
        the log's key: ``public_key``, else the pinned key, else the server's (see the class's
        warning). See ``rampart.signed.verify_document``."""
        return signed.verify_document(document, self._key(public_key))
