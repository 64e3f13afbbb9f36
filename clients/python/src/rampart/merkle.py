"""RFC 6962 / RFC 9162 Merkle tree hashing and proof checks, in pure Python (hashlib).

Rampart's audit log is such a tree: a proof from the server is checked here against a root
hash, so a client trusts the log's signed checkpoint and arithmetic, not the server's word.
"""

from __future__ import annotations

import hashlib
import hmac


def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_of(leaves: list[bytes]) -> bytes:
    """The root hash of a tree over the given leaf hashes (RFC 9162 §2.1.1)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
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
