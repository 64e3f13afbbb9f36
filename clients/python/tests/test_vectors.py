"""The pure-Python Merkle code against the published RFC 6962 vectors
(``../shared/vectors/rfc6962/vectors.json`` beside the repository, as the Rust tests find them;
without them the test says "skipped: no vectors", or fails when RAMPART_REQUIRE_VECTORS=1)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rampart import merkle

VECTORS = Path(__file__).resolve().parents[3] / ".." / "shared" / "vectors" / "rfc6962"


def _vectors() -> dict[str, Any]:
    path = VECTORS / "vectors.json"
    if not path.is_file():
        if os.environ.get("RAMPART_REQUIRE_VECTORS") == "1":
            pytest.fail(f"vectors required but {path} is missing")
        pytest.skip("skipped: no vectors")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _h(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_rfc6962_vectors() -> None:
    v = _vectors()
    leaves = [merkle.leaf_hash(bytes.fromhex(x)) for x in v["leaves_hex"]]
    assert leaves == _h(v["leaf_hashes"])
    compact = merkle.CompactRange()
    assert compact.root().hex() == v["roots"][0]
    for n, leaf in enumerate(leaves, start=1):
        compact.push(leaf)
        assert compact.root().hex() == v["roots"][n]
        assert merkle.root_of(leaves[:n]).hex() == v["roots"][n]
    cases = 0
    for case in v["inclusion"]:
        m, n = case["leaf_index"], case["tree_size"]
        args = (bytes.fromhex(case["leaf_hash"]), _h(case["path"]), bytes.fromhex(case["root"]))
        assert merkle.verify_inclusion(m, n, *args), (m, n)
        cases += 1
    for case in v["consistency"]:
        m, n = case["first"], case["second"]
        first, second = bytes.fromhex(case["first_root"]), bytes.fromhex(case["second_root"])
        proof = _h(case["proof"])
        assert merkle.verify_consistency(m, n, first, second, proof), (m, n)
        if m != n:
            assert not merkle.verify_consistency(m, n, second, first, proof)
            if proof:
                bad = [*proof[:-1], bytes(32)]
                assert not merkle.verify_consistency(m, n, first, second, bad)
                assert not merkle.verify_consistency(m, n, first, second, proof[:-1])
        cases += 1
    assert cases > 60


def test_consistency_of_every_pair_against_the_naive_root() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(17)]
    for first in range(1, 18):
        for second in range(first, 18):
            proof = _proof(leaves[:second], first)
            r1, r2 = merkle.root_of(leaves[:first]), merkle.root_of(leaves[:second])
            assert merkle.verify_consistency(first, second, r1, r2, proof), (first, second)
    assert not merkle.verify_consistency(3, 2, bytes(32), bytes(32), [])
    assert merkle.verify_consistency(0, 5, merkle.root_of([]), bytes(32), [])


def _proof(leaves: list[bytes], m: int) -> list[bytes]:
    """SUBPROOF of RFC 6962 §2.1.2, the reference the verifier is checked against."""

    def sub(m: int, d: list[bytes], complete: bool) -> list[bytes]:
        n = len(d)
        if m == n:
            return [] if complete else [merkle.root_of(d)]
        k = 1
        while k * 2 < n:
            k *= 2
        if m <= k:
            return [*sub(m, d[:k], complete), merkle.root_of(d[k:])]
        return [*sub(m - k, d[k:], False), merkle.root_of(d[:k])]

    return sub(m, leaves, True) if m < len(leaves) else []


def test_compact_range_from_left_hashes() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(13)]
    left = [merkle.root_of(leaves[:4]), merkle.root_of(leaves[4:6])]
    compact = merkle.CompactRange(6, left)
    for leaf in leaves[6:]:
        compact.push(leaf)
    assert compact.root() == merkle.root_of(leaves)
    with pytest.raises(ValueError, match="do not describe"):
        merkle.CompactRange(6, left[:1])
