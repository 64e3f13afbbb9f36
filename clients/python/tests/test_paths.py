"""Ids in paths are escaped: a caller's id never reaches another route (checked offline)."""

from __future__ import annotations

import httpx
import pytest

from rampart import NotFound, Rampart, _paths


def test_segments_are_escaped_and_dot_segments_refused() -> None:
    assert _paths.path("/v1/blocks/{}", "203.0.113.0/24") == "/v1/blocks/203.0.113.0%2F24"
    assert _paths.path("/v1/x/{}/{}", "a b", "?#") == "/v1/x/a%20b/%3F%23"
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            _paths.segment(bad)


def test_ids_reach_the_server_as_one_segment() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"status": 404, "title": "Not found"})

    with Rampart("http://rampart.test", "rk_x", transport=httpx.MockTransport(handler)) as r:
        for call in (
            lambda: r.alerts.get("../audit/entries"),
            lambda: r.incidents.get("INC-1?status=open"),
            lambda: r.subjects.consents("cust/4711"),
            lambda: r.retention.get_run("run#1"),
        ):
            with pytest.raises(NotFound):
                call()
    assert seen == [
        "/v1/alerts/..%2Faudit%2Fentries",
        "/v1/incidents/INC-1%3Fstatus%3Dopen",
        "/v1/subjects/cust%2F4711/consents",
        "/v1/retention/runs/run%231",
    ]
