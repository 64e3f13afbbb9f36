"""The pure-Python RFC 9162 proof check, on trees built here: every leaf of every size up to
17 proves, and a forged leaf, another index or another tree's root does not."""

from __future__ import annotations

from rampart import merkle


def _path(leaves: list[bytes], index: int) -> list[bytes]:
    # The audit path of RFC 9162 §2.1.3.1, computed recursively.
    if len(leaves) <= 1:
        return []
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    if index < split:
        return [*_path(leaves[:split], index), merkle.root_of(leaves[split:])]
    return [*_path(leaves[split:], index - split), merkle.root_of(leaves[:split])]


def test_every_leaf_of_every_small_tree_proves_and_tampering_fails() -> None:
    for size in range(1, 18):
        leaves = [merkle.leaf_hash(f"entry {i}".encode()) for i in range(size)]
        root = merkle.root_of(leaves)
        for index in range(size):
            path = _path(leaves, index)
            assert merkle.verify_inclusion(index, size, leaves[index], path, root)
            other = merkle.leaf_hash(b"forged")
            assert not merkle.verify_inclusion(index, size, other, path, root)
            bigger = merkle.root_of([*leaves, merkle.leaf_hash(b"next")])
            assert not merkle.verify_inclusion(index, size + 1, leaves[index], path, bigger)
            if size > 1:
                wrong = (index + 1) % size
                assert not merkle.verify_inclusion(wrong, size, leaves[index], path, root)
        assert not merkle.verify_inclusion(size, size, leaves[0], [], root)


def test_the_empty_tree_and_rfc_6962_hash_prefixes() -> None:
    assert merkle.root_of([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    # RFC 6962 §2.1: leaves and nodes are hashed with different prefixes.
    assert merkle.leaf_hash(b"") != merkle.node_hash(b"", b"")
