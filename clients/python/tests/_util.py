"""Helpers of the keys, cards, audit, Fernet and migration tests: unique names and a
non-admin principal's API key."""

from __future__ import annotations

import uuid

import httpx

from .conftest import Server


def unique(prefix: str) -> str:
    """A key or principal name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def principal_key(server: Server, roles: list[str]) -> str:
    """An API key (scopes ``*``) of a new service principal holding ``roles``."""
    headers = {"authorization": f"Bearer {server.admin_key}"}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        made = http.post(
            "/v1/principals", json={"type": "service", "name": unique("svc"), "roles": roles}
        )
        made.raise_for_status()
        key = http.post(
            "/v1/api-keys",
            json={"principal_id": made.json()["id"], "name": "tests", "scopes": ["*"]},
        )
        key.raise_for_status()
        return str(key.json()["key"])
