"""The sync client is what ``scripts/unasync.py`` makes of the async one: never edited apart."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "unasync.py"


def test_the_sync_client_is_generated_from_the_async_one() -> None:
    spec = importlib.util.spec_from_file_location("unasync", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    wanted = module.generated()
    target = SCRIPT.parents[1] / "src" / "rampart" / "_sync"
    for name, text in wanted.items():
        assert (target / name).read_text() == text, f"_sync/{name} is stale"
    assert module.unasync("async def f():\n    await g()\n") == "def f():\n    g()\n"
    assert module.unasync("httpx.AsyncClient") == "httpx.Client"
