"""The line counter of the comparison (examples/count_lines.py): its rules, and the committed
flows' glue as it stands."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("count_lines", EXAMPLES / "count_lines.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["count_lines"] = module
    spec.loader.exec_module(module)
    return module


count_lines = _load()


def test_code_lines_skip_blanks_comments_and_docstrings() -> None:
    source = [
        "import os",
        "",
        "# a comment",
        "def f(x):",
        '    """One line."""',
        "    return x",
        "class C:",
        '    """',
        "    Several lines:",
        "    still the docstring.",
        '    """',
        "    query = '''",
        "    SELECT 1",
        "    '''",
    ]
    # import, def, return, class, and the three lines of a string that is not a docstring
    assert count_lines.code_lines(source) == 7


def test_sql_comments_only_in_sql() -> None:
    assert count_lines.code_lines(["-- who", "actor_id TEXT,"], sql=True) == 1
    assert count_lines.code_lines(["-- who", "actor_id TEXT,"]) == 2


def test_glue_blocks_add_up_and_leave_out_checks(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    example.write_text(
        "setup = 1\n"
        "# glue:begin encrypt\n"
        "a = client.encrypt(b'x')\n"
        "assert a\n"
        "print(a)\n"
        "# glue:end\n"
        "outside = 2\n"
        "# glue:begin encrypt\n"
        "b = client.decrypt(a)\n"
        "# glue:end\n"
        "# glue:none audit: nothing like it\n"
    )
    counts, none = count_lines.glue_blocks(example)
    assert counts == {"encrypt": 2}
    assert none == {"audit": "nothing like it"}


def test_an_unclosed_block_is_an_error(tmp_path: Path) -> None:
    example = tmp_path / "example.py"
    example.write_text("# glue:begin audit\nx = 1\n")
    with pytest.raises(SystemExit):
        count_lines.glue_blocks(example)


def test_every_approach_counts_every_flow_and_ours_is_the_shortest() -> None:
    totals = {}
    for approach, files in count_lines.APPROACHES.items():
        counts: dict[str, int] = {}
        missing: dict[str, str] = {}
        for name in files:
            c, n = count_lines.glue_blocks(EXAMPLES / name)
            for flow, lines in c.items():
                counts[flow] = counts.get(flow, 0) + lines
            missing.update(n)
        assert set(counts) | set(missing) == set(count_lines.FLOWS), approach
        totals[approach] = sum(counts.values())
    assert totals["rampart"] < min(v for k, v in totals.items() if k != "rampart")


def test_seed_ranges_are_code() -> None:
    seeds = count_lines.seeds_dir(None)
    if not seeds.is_dir():
        pytest.skip(f"no seeds at {seeds}")
    for seed, capabilities in count_lines.seed_counts(seeds).items():
        for capability, (lines, _ranges) in capabilities.items():
            assert lines > 0, (seed, capability)
    for seed, first, last, _capability in count_lines.SEED_RANGES:
        (path,) = seeds.glob(f"{seed}_*.txt")
        assert 1 <= first <= last <= len(path.read_text().splitlines())
