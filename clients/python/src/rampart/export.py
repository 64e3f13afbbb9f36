"""Offline verification of an audit export (NDJSON), in pure Python: every leaf hash recomputed
from its entry (RFC 8785 canonical JSON without ``leaf_hash``), the root rebuilt from the
leaves, compared with the trailing checkpoint, and the checkpoint's signature checked. Lines are
parsed strictly: a key given twice, NaN or Infinity is a problem at that line (two readers could
see different entries), as is an entry with no RFC 8785 form (an integer above 2**53). Reads the
file a line at a time; only 32 bytes a leaf are held, and only when the export does not start at
entry 0."""

from __future__ import annotations

import os
from typing import Any

from . import merkle, note, signed
from .models import Problem, VerifyResult

#: Problems beyond this many are not listed (the verdict stays ``ok=False``).
MAX_PROBLEMS = 1000


class _State:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.pending: list[bytes] = []
        self.range: merkle.CompactRange | None = None
        self.first: int | None = None
        self.next_seq = 0
        self.checked = self.withheld = self.pruned = 0
        self.trailer: dict[str, Any] | None = None

    def problem(self, seq: int | None, line: int | None, text: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(seq=seq, line=line, problem=text))

    def push(self, seq: int, leaf: bytes, line: int) -> None:
        if self.first is None:
            self.first = self.next_seq = seq
            if seq == 0:
                self.range = merkle.CompactRange()
        if seq > self.next_seq:
            self.problem(seq, line, f"entries {self.next_seq}..{seq - 1} are missing")
        elif seq < self.next_seq:
            self.problem(seq, line, f"entry {seq} is out of order (expected {self.next_seq})")
        if self.range is not None:
            self.range.push(leaf)
        else:
            self.pending.append(leaf)
        self.next_seq = seq + 1


def _leaf_of(obj: dict[str, Any]) -> bytes | None:
    value = obj.get("leaf_hash")
    if isinstance(value, str) and len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    return None


def _line(state: _State, number: int, text: str) -> None:
    if not text.strip():
        return
    if state.trailer is not None:
        state.problem(None, number, "content after the checkpoint line")
        return
    try:
        obj = signed.loads(text)
    except signed.JSONError as e:
        # A duplicate key would let this reader and another see different entries.
        problem = "not JSON" if str(e).startswith("not JSON") else f"refused JSON: {e}"
        state.problem(state.next_seq, number, problem)
        return
    if not isinstance(obj, dict):
        state.problem(state.next_seq, number, "not a JSON object")
        return
    if "checkpoint" in obj:
        state.trailer = obj
        return
    seq, leaf = obj.get("seq"), _leaf_of(obj)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0 or leaf is None:
        state.problem(state.next_seq, number, "an entry without a valid seq and leaf_hash")
        return
    if obj.get("withheld") is True or obj.get("pruned") is True:
        if set(obj) - {"seq", "leaf_hash", "withheld", "pruned"}:
            state.problem(seq, number, "a withheld or pruned line holds more than its leaf hash")
        state.withheld += obj.get("withheld") is True
        state.pruned += obj.get("pruned") is True
        state.push(seq, leaf, number)
        return
    body = {k: v for k, v in obj.items() if k != "leaf_hash"}
    try:
        computed = merkle.leaf_hash(signed.canonical(body))
    except signed.JSONError as e:
        state.problem(seq, number, f"the entry cannot be checked: {e}")
        state.push(seq, leaf, number)
        return
    if computed != leaf:
        state.problem(seq, number, "the entry's content does not match its leaf_hash (edited)")
    # The tree is built from the content, so an edit with a forged leaf_hash changes the root.
    state.push(seq, computed, number)
    state.checked += 1


def _finish(state: _State, public_key: str | None) -> VerifyResult:
    trailer = state.trailer
    if trailer is None or not isinstance(trailer.get("checkpoint"), dict):
        state.problem(None, None, "no checkpoint line at the end (truncated file?)")
        return _result(state)
    checkpoint: dict[str, Any] = trailer["checkpoint"]
    if state.range is None:
        first = state.first if state.first is not None else int(checkpoint.get("tree_size", 0))
        try:
            left = [bytes.fromhex(h) for h in trailer.get("left_hashes", [])]
            state.range = merkle.CompactRange(first, left)
        except (ValueError, TypeError):
            state.problem(None, None, f"left_hashes do not describe a tree of {first} entries")
            return _result(state)
        for leaf in state.pending:
            state.range.push(leaf)
        state.pending.clear()
    size, root = state.range.size, state.range.root().hex()
    if checkpoint.get("tree_size") != size:
        state.problem(None, None, "the checkpoint's size differs from the entries in the file")
    elif checkpoint.get("root_hash") != root:
        state.problem(
            None, None, "the root recomputed from the entries differs from the checkpoint"
        )
    if public_key is None:
        state.problem(None, None, "signature not checked: no public key given")
        return _result(state)
    try:
        signed_note = note.verify_note(str(checkpoint.get("note", "")), public_key)
    except note.NoteError as e:
        state.problem(None, None, f"checkpoint: {e}")
        return _result(state)
    if signed_note.tree_size != checkpoint.get("tree_size") or (
        signed_note.root_hash.hex() != checkpoint.get("root_hash")
    ):
        state.problem(None, None, "the checkpoint's fields differ from its signed note")
    return _result(state)


def _result(state: _State) -> VerifyResult:
    size, root = (
        (state.range.size, state.range.root().hex()) if state.range is not None else (0, "")
    )
    return VerifyResult(
        ok=not state.problems,
        tree_size=size,
        root_hash=root,
        checked_entries=state.checked,
        withheld_entries=state.withheld,
        pruned_entries=state.pruned,
        problems=state.problems,
    )


def verify_export(path: str | os.PathLike[str], public_key: str | None) -> VerifyResult:
    """Verifies an export file offline. ``public_key``: the log's ``verifier_key`` string or
    ``public_key_b64`` (pin it; ``None`` leaves the signature unchecked, and says so). The
    result lists each problem with its ``seq`` and line; ``ok`` only when all checks out."""
    state = _State()
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                state.problem(state.next_seq, number, "line is not UTF-8")
                continue
            _line(state, number, text)
    return _finish(state, public_key)
