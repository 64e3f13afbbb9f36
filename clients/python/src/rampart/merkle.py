"""RFC 6962 / RFC 9162 Merkle tree hashing and proof checks, in pure Python (hashlib).

Rampart's audit log is such a tree: a proof from the server is checked here against a root
hash, so a client trusts the log's signed checkpoint and arithmetic, not the server's word.
"""

from __future__ import annotations

import hashlib
import hmac

#: The root hash of the empty tree: SHA-256 of nothing (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaves: list[bytes]) -> bytes:
    """The root hash of a tree over the given leaf hashes (RFC 9162 §2.1.1)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return node_hash(root_of(leaves[:split]), root_of(leaves[split:]))


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes
) -> bool:
    """Whether ``path`` proves the leaf hash ``leaf`` is entry ``index`` of the tree of
    ``tree_size`` entries whose root is ``root`` (RFC 9162 §2.1.3.2)."""
    if index < 0 or index >= tree_size:
        return False
    fn, sn = index, tree_size - 1
    r = leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(r, root)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """Whether ``path`` proves the tree of ``second`` entries with root ``second_root`` extends
    the tree of ``first`` entries with root ``first_root`` (RFC 9162 §2.1.4.2).

    Equal sizes: the proof is empty and the roots are equal. From size 0: RFC 9162 defines
    proofs only for ``0 < first`` (the server answers ``422`` for ``from=0``); every tree
    extends the empty one, so the proof must be empty and ``first_root`` must be the empty
    tree's root, SHA-256("") (any other root is no tree of size 0); ``second_root`` is then
    not constrained here: check its checkpoint's signature."""
    if first < 0 or second < first:
        return False
    if first == 0 and not hmac.compare_digest(first_root, EMPTY_ROOT):
        return False
    if first == second:
        return not path and hmac.compare_digest(first_root, second_root)
    if first == 0:
        return not path
    if not path:
        return False
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and hmac.compare_digest(fr, first_root) and hmac.compare_digest(sr, second_root)


class CompactRange:
    """The hashes of the complete subtrees covering leaves ``[0, size)``, largest first: leaves
    are pushed one at a time and the root comes out without holding every leaf."""

    def __init__(self, size: int = 0, hashes: list[bytes] | None = None) -> None:
        hashes = list(hashes or [])
        if size < 0 or bin(size).count("1") != len(hashes):
            raise ValueError(f"{len(hashes)} hashes do not describe a tree of {size} entries")
        self._size = size
        # (subtree size, hash), sizes strictly decreasing powers of two.
        self._nodes: list[tuple[int, bytes]] = []
        bit = 1 << size.bit_length()
        for h in hashes:
            while not size & bit:
                bit >>= 1
            self._nodes.append((bit, h))
            bit >>= 1

    @property
    def size(self) -> int:
        """How many leaves the range covers."""
        return self._size

    def push(self, leaf: bytes) -> None:
        """Appends a leaf hash."""
        node = (1, leaf)
        while self._nodes and self._nodes[-1][0] == node[0]:
            left = self._nodes.pop()
            node = (left[0] * 2, node_hash(left[1], node[1]))
        self._nodes.append(node)
        self._size += 1

    def root(self) -> bytes:
        """The root hash of the tree of ``size`` leaves (RFC 9162 §2.1.1)."""
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            r = node_hash(h, r)
        return r
