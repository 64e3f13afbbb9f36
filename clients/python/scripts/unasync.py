"""Generates the synchronous client (``src/rampart/_sync``) from the asynchronous one
(``src/rampart/_async``), so every call is written once.

    python scripts/unasync.py          # writes _sync
    python scripts/unasync.py --check  # fails when _sync is not what _async generates

Files whose first line is ``# unasync: skip`` are hand-written in both (they differ in more than
``await``: the buffered appender runs a thread in one and a task in the other).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "rampart" / "_async"
TARGET = ROOT / "src" / "rampart" / "_sync"
HEADER = "# Generated from _async/{name} by scripts/unasync.py: edit that file, not this one.\n"

# Applied in order, each a whole-word regex and its replacement.
RULES: list[tuple[str, str]] = [
    (r"\basync def\b", "def"),
    (r"\basync with\b", "with"),
    (r"\basync for\b", "for"),
    (r"\bawait ", ""),
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\b__aenter__\b", "__enter__"),
    (r"\b__aexit__\b", "__exit__"),
    (r"\b__aiter__\b", "__iter__"),
    (r"\b__anext__\b", "__next__"),
    (r"\bStopAsyncIteration\b", "StopIteration"),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"\baiter_bytes\b", "iter_bytes"),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\b_async\b", "_sync"),
    (r"``async with``", "``with``"),
    (r", every call awaited", ""),
    (r"\basynchronous\b", "synchronous"),
]


def unasync(text: str) -> str:
    """The synchronous twin of one asynchronous module."""
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return text


def generated() -> dict[str, str]:
    """Every file of ``_sync`` as the generator makes it (formatted by ruff)."""
    out: dict[str, str] = {}
    for path in sorted(SOURCE.glob("*.py")):
        text = path.read_text()
        if text.startswith("# unasync: skip"):
            continue
        body = unasync(text)
        formatted = subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(path), "-"],
            input=body,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        out[path.name] = HEADER.format(name=path.name) + formatted
    return out


def main() -> int:
    """Writes ``_sync`` (or, with ``--check``, compares it); returns the exit status."""
    check = "--check" in sys.argv[1:]
    wanted = generated()
    stale = [
        name
        for name, text in wanted.items()
        if not (TARGET / name).is_file() or (TARGET / name).read_text() != text
    ]
    extra = [
        p.name
        for p in TARGET.glob("*.py")
        if p.name not in wanted
        and not p.read_text().startswith("# unasync: skip")
        and (SOURCE / p.name).exists()
    ]
    if check:
        for name in stale + extra:
            print(f"_sync/{name} is stale: run python scripts/unasync.py", file=sys.stderr)
        return 1 if stale or extra else 0
    TARGET.mkdir(exist_ok=True)
    for name in stale:
        (TARGET / name).write_text(wanted[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
