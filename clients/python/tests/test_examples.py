"""Every example under ``examples/`` (the seeds' security code redone on Rampart, and the
comparison's flows) runs against the real server and exits 0: each checks its own outcome and
exits non-zero when one fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Server

HERE = Path(__file__).resolve().parents[1] / "examples"
# The seed examples, and the comparison's flows that run here (ours and raw ``requests``; the
# generated client needs its generator, hvac needs a Vault).
EXAMPLES = [
    *sorted(HERE.glob("seed*.py")),
    HERE / "comparison" / "ours.py",
    HERE / "comparison" / "raw_requests.py",
]


def _run(script: Path, server: Server, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Runs ``script`` with this interpreter against ``server`` (``RAMPART_ADDR`` and the admin
    key in ``RAMPART_TOKEN``; no other ``RAMPART_*`` variable of the test runner's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAMPART_")}
    env |= {"RAMPART_ADDR": server.base_url, "RAMPART_TOKEN": server.admin_key}
    return subprocess.run(  # noqa: S603 (a file of this repository, or the README's own block)
        [sys.executable, str(script)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_the_example_runs_against_a_real_server(server: Server, example: Path) -> None:
    done = _run(example, server)
    assert done.returncode == 0, f"{example.name}:\n{done.stdout}\n{done.stderr}"
    assert server.admin_key not in done.stdout + done.stderr, "the token was printed"


def test_the_readme_quick_start_runs(server: Server, tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    section = readme.split("## Python client", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```python\n(.*?)^```$", section, re.M | re.S)
    assert len(blocks) == 1, "the README's Python quick start: one python block"
    script = tmp_path / "quick_start.py"
    script.write_text(blocks[0])
    done = _run(script, server, cwd=tmp_path)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
