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


def test_edges_sizes_zero_one_equal_wrong_length_and_the_last_leaf() -> None:
    empty = merkle.root_of([])
    assert empty == merkle.EMPTY_ROOT
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(9)]
    root9 = merkle.root_of(leaves)
    # From size 0: only the empty tree's root, and no proof (RFC 9162 defines none).
    assert merkle.verify_consistency(0, 9, empty, root9, [])
    assert merkle.verify_consistency(0, 0, empty, empty, [])
    assert not merkle.verify_consistency(0, 9, bytes(32), root9, [])
    assert not merkle.verify_consistency(0, 9, root9, root9, [])
    assert not merkle.verify_consistency(0, 9, empty, root9, [root9])
    assert not merkle.verify_consistency(0, 0, bytes(32), bytes(32), [])
    # Equal sizes: equal roots and an empty proof.
    assert merkle.verify_consistency(9, 9, root9, root9, [])
    assert not merkle.verify_consistency(9, 9, root9, root9, [root9])
    assert not merkle.verify_consistency(9, 9, root9, empty, [])
    # Size 1: the root is the leaf; the proof to a bigger tree has the right length only.
    one = merkle.root_of(leaves[:1])
    assert one == leaves[0]
    assert merkle.verify_inclusion(0, 1, leaves[0], [], one)
    assert not merkle.verify_inclusion(0, 1, leaves[0], [leaves[1]], one)
    assert not merkle.verify_inclusion(1, 1, leaves[0], [], one)
    assert not merkle.verify_inclusion(0, 0, leaves[0], [], empty)
    proof = [leaves[1], merkle.root_of(leaves[2:4]), merkle.root_of(leaves[4:8]), leaves[8]]
    assert merkle.verify_consistency(1, 9, one, root9, proof)
    assert not merkle.verify_consistency(1, 9, one, root9, proof[:-1])
    assert not merkle.verify_consistency(1, 9, one, root9, [*proof, leaves[0]])
    assert not merkle.verify_consistency(1, 9, one, root9, [])
    # The last leaf of every size, and paths one hash too long or too short.
    for size in range(1, 18):
        tree = [merkle.leaf_hash(f"leaf {i}".encode()) for i in range(size)]
        root = merkle.root_of(tree)
        last = size - 1
        path = _path(tree, last)
        assert merkle.verify_inclusion(last, size, tree[last], path, root), size
        assert not merkle.verify_inclusion(last, size, tree[last], [*path, root], root)
        if path:
            assert not merkle.verify_inclusion(last, size, tree[last], path[:-1], root)
        assert not merkle.verify_inclusion(last + 1, size, tree[last], path, root)
