"""Offline export verification parses strictly: a forged key placed before the real one (Python
would keep the real, last one and verify), NaN, Infinity and integers above 2**53 (no RFC 8785
form) are problems at their seq and line, never a crash nor ``ok``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rampart import Rampart, signed, verify_export

from .conftest import Server


def _export(server: Server, tmp_path: Path) -> tuple[list[str], str, int]:
    with Rampart(server.base_url, server.admin_key) as rampart:
        events = [
            {
                "actor": {"type": "user", "id": f"strict{i}"},
                "action": "py.strict",
                "resource": {"type": "doc", "id": f"d{i}"},
                "status": "success",
            }
            for i in range(4)
        ]
        first = rampart.audit.append_batch(events).entries[0].seq
        path = rampart.audit.export(tmp_path / "x.ndjson", from_seq=first, to_seq=first + 3)
        key = rampart.audit.public_key().verifier_key
    lines = path.read_text().splitlines()
    assert verify_export(path, key).ok
    return lines, key, first


@pytest.mark.parametrize(
    ("name", "edit", "problem"),
    [
        ("duplicate", lambda line: '{"action":"py.forged",' + line[1:], "duplicate key 'action'"),
        ("nan", lambda line: '{"nan":NaN,' + line[1:], "NaN is not JSON"),
        ("infinity", lambda line: '{"inf":-Infinity,' + line[1:], "-Infinity is not JSON"),
        ("huge float", lambda line: '{"huge":1e400,' + line[1:], "no RFC 8785 form"),
        ("big integer", lambda line: '{"big":9007199254740993,' + line[1:], "no RFC 8785 form"),
    ],
)
def test_refused_json_is_a_problem_at_its_line(
    server: Server, tmp_path: Path, name: str, edit: Callable[[str], str], problem: str
) -> None:
    lines, key, first = _export(server, tmp_path)
    lines[2] = edit(lines[2])
    path = tmp_path / "edited.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = verify_export(path, key)
    assert not report.ok
    assert any(
        p.seq == first + 2 and p.line == 3 and problem in p.problem for p in report.problems
    ), report.problems


def test_a_duplicate_key_in_the_trailer_is_refused(server: Server, tmp_path: Path) -> None:
    lines, key, _ = _export(server, tmp_path)
    lines[-1] = '{"checkpoint":{},' + lines[-1][1:]
    path = tmp_path / "trailer.ndjson"
    path.write_text("\n".join(lines) + "\n")
    report = verify_export(path, key)
    assert not report.ok
    assert any("duplicate key 'checkpoint'" in p.problem for p in report.problems)


def test_strict_loads_and_canonical() -> None:
    assert signed.loads('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    cases: list[tuple[str | bytes, str]] = [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"x": {"a": 1, "a": 1}}', "duplicate key 'a'"),
        ("[NaN]", "NaN"),
        ("{", "not JSON"),
        (b"\xff", "not JSON"),
    ]
    for text, message in cases:
        with pytest.raises(signed.JSONError, match=message):
            signed.loads(text)
    with pytest.raises(signed.JSONError):
        signed.canonical({"big": 2**60})
    with pytest.raises(signed.JSONError):
        signed.canonical({"nan": float("nan")})
    with pytest.raises(signed.JSONError):
        signed.canonical({1: "non-string key"})
    assert signed.canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
