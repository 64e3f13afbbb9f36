"""API keys: made for a principal, narrowed to scopes, shown once, revoked or rotated."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from urllib.parse import quote

from ..models.identity import (
    ApiKey,
    CreateApiKeyRequest,
    CreatedApiKey,
    RevokedApiKey,
    RotateApiKeyRequest,
)
from ._core import AsyncCore
from ._transfer import pages


def _path(key_id: str, action: str = "") -> str:
    if not key_id:
        raise ValueError("key_id: required")
    base = f"/v1/api-keys/{quote(key_id, safe='')}"
    return f"{base}/{action}" if action else base


class AsyncApiKeys:
    """API keys: the key itself is returned once, as a ``SecretStr``."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def create(
        self,
        name: str,
        *,
        scopes: Sequence[str],
        principal_id: str | None = None,
        expires_in_days: int | None = None,
        allowed_ips: Sequence[str] | None = None,
    ) -> CreatedApiKey:
        """Makes a key for ``principal_id`` (default: the caller) narrowed to ``scopes``
        (required; ``["*"]`` alone for everything the principal holds). The answer's ``key``
        is shown this once: ``.key.get_secret_value()``."""
        if isinstance(scopes, str):
            raise ValueError("scopes: a list of permissions, not one string")
        body = CreateApiKeyRequest.model_validate(
            {
                "name": name,
                "scopes": list(scopes),
                "principal_id": principal_id,
                "expires_in_days": expires_in_days,
                "allowed_ips": list(allowed_ips) if allowed_ips is not None else None,
            }
        )
        answer = await self._core.request("POST", "/v1/api-keys", json=body.body())
        return CreatedApiKey.model_validate(answer)

    def list(
        self, *, principal_id: str | None = None, page_size: int = 100
    ) -> AsyncIterator[ApiKey]:
        """Keys' metadata (the caller's, or everyone's with ``api_keys:manage``), page after
        page; ``principal_id`` narrows."""
        params = {"principal_id": principal_id}
        return pages(self._core, "/v1/api-keys", ApiKey, params, page_size)

    async def revoke(self, key_id: str) -> RevokedApiKey:
        """Revokes a key at once."""
        return RevokedApiKey.model_validate(await self._core.request("DELETE", _path(key_id)))

    async def rotate(self, key_id: str, grace_seconds: int = 0) -> CreatedApiKey:
        """Replaces a key with a new one (shown once); the old one works ``grace_seconds``
        more (0 to 30 days). ``Conflict`` if it was revoked, expired or rotated meanwhile."""
        body = RotateApiKeyRequest(grace_seconds=grace_seconds)
        answer = await self._core.request("POST", _path(key_id, "rotate"), json=body.body())
        return CreatedApiKey.model_validate(answer)
