"""RFC 9162 inclusion-proof checking, written by hand: what an application needs when its client
(generated, or raw HTTP) does not verify the audit log's proofs itself. Shared by
``generated_client.py`` and ``raw_requests.py`` and counted in the glue of both."""

from __future__ import annotations

# glue:begin imports
import hashlib
import hmac

# glue:end


# glue:begin audit
def verify_inclusion(seq: int, tree_size: int, leaf: str, path: list[str], root: str) -> bool:
    """Whether the audit path ``path`` (hex) puts leaf hash ``leaf`` at ``seq`` in the tree of
    ``tree_size`` entries whose root hash is ``root`` (RFC 9162 section 2.1.3.2)."""
    if not 0 <= seq < tree_size:
        return False
    fn, sn, r = seq, tree_size - 1, bytes.fromhex(leaf)
    for p in map(bytes.fromhex, path):
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and hmac.compare_digest(r, bytes.fromhex(root))


# glue:end
