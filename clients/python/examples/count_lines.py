"""Line counts for issue 22: the seeds' hand-written security code against the glue an
application needs on Rampart (and on a generated client, raw ``requests`` and hvac).

Run from anywhere::

    python clients/python/examples/count_lines.py            # every table
    python clients/python/examples/count_lines.py seeds      # the seeds' code, per capability
    python clients/python/examples/count_lines.py compare    # glue per flow, four ways
    python clients/python/examples/count_lines.py glue FILE...  # glue blocks of any example

The seeds (``../shared/seeds/`` beside the repository, or ``--seeds DIR`` / ``RAMPART_SEEDS``) are
never copied here: ``SEED_RANGES`` names line ranges in them (1-based, inclusive).

What counts as a line (the same rule for the seeds and for the glue):
- not blank, not a comment (``#``; ``--`` in SQL ranges), not a docstring (a string literal that
  starts right after a line ending in ``:``, up to its closing quotes);
- glue only: lines inside ``# glue:begin NAME`` ... ``# glue:end`` markers, minus ``assert``
  lines and ``print(`` lines (demo output, not glue). Blocks with the same NAME add up, also
  across the files of one approach. ``# glue:none NAME: reason`` says a flow has no equivalent.
The glue files are kept formatted by ``ruff format`` (line length 100), so the counts
do not depend on anyone's line breaks.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]

# (seed, first line, last line, capability). Seeds are named by their number (the file is
# NNN_*.txt). Several ranges of one capability add up. Only code the capability replaces: prose
# between code lines is left out by splitting the range.
SEED_RANGES: list[tuple[str, int, int, str]] = [
    # 000: payment workflows on edge devices (PCI-DSS)
    ("000", 9, 37, "encrypted fields (Fernet payment state)"),
    ("000", 40, 40, "key loading (env, KMS)"),
    ("000", 55, 58, "key loading (env, KMS)"),
    ("000", 60, 68, "key loading (env, KMS)"),
    ("000", 78, 93, "card validation (Luhn)"),
    ("000", 365, 372, "card tokenization (a stub calling a service)"),
    ("000", 113, 146, "API-key hashing (device keys)"),
    ("000", 385, 389, "API-key hashing (device keys)"),
    ("000", 148, 192, "role checks (RBAC)"),
    ("000", 200, 215, "security-event logging"),
    ("000", 375, 382, "transaction signing (HMAC)"),
    # 001: AI scanning system
    ("001", 41, 84, "API-key manager"),
    ("001", 120, 160, "RBAC"),
    ("001", 163, 203, "encrypted scan store (encryption, checksum)"),
    ("001", 244, 249, "encrypted scan store (encryption, checksum)"),
    ("001", 266, 272, "encrypted scan store (encryption, checksum)"),
    ("001", 86, 118, "login (JWT, bcrypt)"),
    ("001", 354, 396, "rate limiting, IP blocking"),
    ("001", 444, 484, "audit log"),
    ("001", 487, 530, "GDPR (consent, erasure, export, retention)"),
    ("001", 399, 442, "intrusion alerts"),
    ("001", 532, 568, "SOC 2 checks"),
    ("001", 571, 641, "incident response"),
    # 002: market-data pipeline (MiFID II)
    ("002", 276, 330, "immutable audit log (hash chain, verify)"),
    ("002", 336, 381, "IFR event logging (triage, remediation)"),
    ("002", 387, 416, "IFR event logging (triage, remediation)"),
    ("002", 511, 542, "component audit logger"),
    ("002", 179, 209, "secrets validation at start"),
    ("002", 74, 98, "file encryption (AES-GCM)"),
    # 003: AI observability platform
    ("003", 115, 142, "team isolation"),
    ("003", 317, 358, "field-level encryption"),
    ("003", 188, 244, "PII pipeline (detect, redact, hash, mask)"),
    ("003", 364, 399, "audit schema (SQL)"),
    ("003", 403, 462, "audit logger"),
    ("003", 481, 537, "GDPR erasure"),
    # 004: healthcare eligibility (HIPAA)
    ("004", 11, 28, "Fernet at rest"),
    ("004", 113, 139, "key rotation (re-encrypt all data)"),
    ("004", 64, 76, "key loading (env, secrets manager, Vault)"),
    ("004", 82, 87, "key loading (env, secrets manager, Vault)"),
    ("004", 91, 97, "key loading (env, secrets manager, Vault)"),
    ("004", 106, 109, "key loading (env, secrets manager, Vault)"),
    ("004", 263, 287, "audit logs"),
    ("004", 294, 307, "audit logs"),
    ("004", 154, 162, "API-key IP allowlist"),
    ("004", 219, 227, "API-key IP allowlist"),
    ("004", 166, 192, "rate limiting"),
    ("004", 233, 257, "RBAC"),
    ("004", 331, 351, "retention deletion"),
]

# Capabilities the seeds describe only in prose, YAML or diagrams: nothing to count.
SEED_NO_CODE = {
    "002": "credential scrubbing (YAML only, 002:167-169)",
    "003": "scoped API keys (a diagram, 003:63-65; RBAC roles as YAML, 003:71-111)",
}

# The approaches compared and the files whose glue blocks make each one.
APPROACHES: dict[str, list[str]] = {
    "rampart": ["comparison/ours.py"],
    "generated": ["comparison/generated_client.py", "comparison/_merkle.py"],
    "requests": ["comparison/raw_requests.py", "comparison/_merkle.py"],
    "hvac": ["comparison/hvac_vault.py"],
}
FLOWS = ["imports", "client", "setup", "encrypt_fields", "tokenize_card", "api_key", "audit"]

_BEGIN = re.compile(r"^\s*#\s*glue:begin\s+(\S+)")
_END = re.compile(r"^\s*#\s*glue:end\b")
_NONE = re.compile(r"^\s*#\s*glue:none\s+(\S+?):\s*(.*)$")
_DOC = re.compile(r'^[rRbBuU]?("""|\'\'\')')


def code_lines(lines: Iterable[str], sql: bool = False) -> int:
    """Lines that are code: not blank, not a comment, not inside a docstring."""
    count = 0
    previous = ""
    closing: str | None = None
    for raw in lines:
        line = raw.strip()
        if closing is not None:
            if closing in line:
                closing = None
            continue
        if not line or line.startswith("#") or (sql and line.startswith("--")):
            continue
        opener = _DOC.match(line)
        if opener and previous.endswith(":"):
            quote = opener.group(1)
            rest = line[opener.end() :]
            if quote not in rest:
                closing = quote
            previous = line
            continue
        count += 1
        previous = line
    return count


def glue_blocks(path: Path) -> tuple[dict[str, int], dict[str, str]]:
    """The glue lines per block name in one file, and the flows it says have no equivalent."""
    counts: dict[str, int] = {}
    none: dict[str, str] = {}
    name: str | None = None
    body: list[str] = []
    for raw in path.read_text().splitlines():
        if name is None:
            begin = _BEGIN.match(raw)
            missing = _NONE.match(raw)
            if begin:
                name, body = begin.group(1), []
            elif missing:
                none[missing.group(1)] = missing.group(2)
            continue
        if _END.match(raw):
            kept = [x for x in body if not x.strip().startswith(("assert ", "assert(", "print("))]
            counts[name] = counts.get(name, 0) + code_lines(kept)
            name = None
        else:
            body.append(raw)
    if name is not None:
        sys.exit(f"{path}: glue:begin {name} without glue:end")
    return counts, none


def seeds_dir(given: str | None) -> Path:
    """Where the seeds are: --seeds, RAMPART_SEEDS, or ../shared/seeds beside the repository."""
    return Path(given or os.environ.get("RAMPART_SEEDS") or REPO.parent / "shared" / "seeds")


def seed_counts(directory: Path) -> dict[str, dict[str, tuple[int, list[str]]]]:
    """Per seed, per capability: the code lines and the ranges counted."""
    result: dict[str, dict[str, tuple[int, list[str]]]] = {}
    for seed, first, last, capability in SEED_RANGES:
        files = sorted(directory.glob(f"{seed}_*.txt"))
        if len(files) != 1:
            sys.exit(f"no single seed {seed}_*.txt in {directory}")
        text = files[0].read_text().splitlines()
        n = code_lines(text[first - 1 : last], sql="SQL" in capability)
        per_seed = result.setdefault(seed, {})
        total, ranges = per_seed.get(capability, (0, []))
        per_seed[capability] = (total + n, [*ranges, f"{first}-{last}"])
    return result


def print_seeds(directory: Path) -> None:
    """The seeds' hand-written security code, per capability, as a markdown table."""
    print("| seed | capability | lines (ranges) | code lines |")
    print("|---|---|---|---:|")
    for seed, caps in seed_counts(directory).items():
        for capability, (n, ranges) in caps.items():
            print(f"| {seed} | {capability} | {', '.join(ranges)} | {n} |")
        print(f"| {seed} | **total** | | **{sum(n for n, _ in caps.values())}** |")
    for seed, what in SEED_NO_CODE.items():
        print(f"\nNo code to count in {seed}: {what}.")


def print_compare() -> None:
    """Glue per flow for each approach, as a markdown table."""
    table: dict[str, tuple[dict[str, int], dict[str, str]]] = {}
    for approach, files in APPROACHES.items():
        counts: dict[str, int] = {}
        none: dict[str, str] = {}
        for name in files:
            c, n = glue_blocks(HERE / name)
            for flow, lines in c.items():
                counts[flow] = counts.get(flow, 0) + lines
            none.update(n)
        table[approach] = (counts, none)
    print("| flow | " + " | ".join(APPROACHES) + " |")
    print("|---|" + "---:|" * len(APPROACHES))
    notes: list[str] = []
    for flow in [*FLOWS, "total"]:
        cells = []
        for approach, (counts, none) in table.items():
            if flow == "total":
                missing = " + n/a" if none else ""
                cells.append(f"**{sum(counts.values())}**{missing}")
            elif flow in none:
                notes.append(f"{approach}, {flow}: {none[flow]}")
                cells.append(f"{counts[flow]}*" if flow in counts else "n/a*")
            else:
                cells.append(str(counts.get(flow, 0)))
        print(f"| {flow} | " + " | ".join(cells) + " |")
    for note in notes:
        print(f"\n\\* {note}")


def main() -> None:
    """Prints the tables asked for on the command line (all of them by default)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", nargs="?", choices=["seeds", "compare", "glue"], default=None)
    parser.add_argument("files", nargs="*", help="glue: the files to count")
    parser.add_argument("--seeds", help="the seeds' directory")
    args = parser.parse_args()
    if args.what == "glue":
        for name in args.files:
            counts, none = glue_blocks(Path(name))
            blocks = ", ".join(f"{k} {v}" for k, v in counts.items())
            print(f"{name}: {sum(counts.values())} lines of glue ({blocks})")
            for flow, why in none.items():
                print(f"  {flow}: no equivalent: {why}")
        return
    if args.what in (None, "seeds"):
        print_seeds(seeds_dir(args.seeds))
    if args.what in (None, "compare"):
        if args.what is None:
            print()
        print_compare()


if __name__ == "__main__":
    main()
