"""C2SP signed notes and tlog checkpoints: parse a checkpoint's note, check its key hash and
Ed25519 signature with ``cryptography``. Keys are given as the C2SP verifier key string
(``<name>+<hex key hash>+<base64(0x01 || key)>``) or the raw key in base64, as
``GET /v1/audit/public-key`` answers both."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

#: The C2SP signature type byte of Ed25519.
ED25519 = b"\x01"
_DASH = "\u2014 "
# DER SubjectPublicKeyInfo of an Ed25519 key, before the 32 key bytes.
_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


class NoteError(ValueError):
    """A note or key that does not parse, or a signature that does not verify."""


@dataclass(frozen=True)
class SignedCheckpoint:
    """What a verified checkpoint note says: origin, tree size and root hash."""

    origin: str
    tree_size: int
    root_hash: bytes
    body: str


def key_hash(name: str, raw_key: bytes) -> bytes:
    """The 4-byte C2SP key hash: SHA-256(name || "\\n" || 0x01 || key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw_key).digest()[:4]


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError("not valid base64") from None


def parse_key(text: str) -> tuple[str | None, bytes]:
    """``(name, raw 32-byte key)`` from a verifier key string, or ``(None, key)`` from the raw
    key in base64 (32 bytes, or the 44-byte DER SubjectPublicKeyInfo)."""
    parts = text.split("+", 2)
    is_verifier = (
        len(parts) == 3
        and parts[0] != ""
        and len(parts[1]) == 8
        and all(c in "0123456789abcdefABCDEF" for c in parts[1])
    )
    if not is_verifier:
        raw = _b64(text)
        if len(raw) == 44 and raw.startswith(_SPKI_PREFIX):
            raw = raw[len(_SPKI_PREFIX) :]
        if len(raw) != 32:
            raise NoteError("the public key is neither a verifier key string nor 32 bytes")
        return None, raw
    name, hex_hash, encoded = parts
    blob = _b64(encoded)
    if len(blob) != 33 or blob[:1] != ED25519:
        raise NoteError("the verifier key is not an Ed25519 key")
    raw = blob[1:]
    if key_hash(name, raw).hex() != hex_hash.lower():
        raise NoteError("the verifier key's hash does not match its name and key")
    return name, raw


def verify_note(note: str, public_key: str) -> SignedCheckpoint:
    """Checks the note's signature by ``public_key`` (verifier key string or raw base64) and
    returns the checkpoint it signs; raises ``NoteError`` otherwise."""
    name, raw = parse_key(public_key)
    body, sep, signatures = note.partition("\n\n")
    if not sep:
        raise NoteError("the note has no signature block")
    body += "\n"
    lines = body.rstrip("\n").split("\n")
    if len(lines) < 3:
        raise NoteError("the note is not a checkpoint (origin, size, root)")
    origin, size_text, root_text = lines[0], lines[1], lines[2]
    if not size_text.isdigit() or (len(size_text) > 1 and size_text[0] == "0"):
        raise NoteError("the checkpoint's size is not a decimal number")
    root = _b64(root_text)
    if len(root) != 32:
        raise NoteError("the checkpoint's root is not 32 bytes")
    signer = name if name is not None else origin
    wanted = key_hash(signer, raw)
    verifier = Ed25519PublicKey.from_public_bytes(raw)
    for line in signatures.split("\n"):
        if not line.startswith(_DASH):
            continue
        parts = line[len(_DASH) :].split(" ")
        if len(parts) != 2 or parts[0] != signer:
            continue
        blob = _b64(parts[1])
        if len(blob) != 68 or not hmac.compare_digest(blob[:4], wanted):
            continue
        try:
            verifier.verify(blob[4:], body.encode())
        except InvalidSignature:
            raise NoteError("the checkpoint's signature does not verify") from None
        return SignedCheckpoint(origin, int(size_text), root, body)
    raise NoteError("the checkpoint carries no signature by this public key")


def verify_signature(body: str, signature_b64: str, public_key: str) -> bool:
    """Whether ``signature_b64`` is the key's Ed25519 signature of ``body``."""
    _, raw = parse_key(public_key)
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(_b64(signature_b64), body.encode())
    except (InvalidSignature, NoteError):
        return False
    return True
