"""Principals (users, services, devices, AI agents): create, list, change, disable, unlock,
and their second factor (TOTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from types import EllipsisType
from urllib.parse import quote

from ..models.identity import (
    CreatePrincipalRequest,
    Principal,
    PrincipalType,
    TotpConfirmRequest,
    TotpEnrollment,
    UpdatePrincipalRequest,
)
from ._core import AsyncCore
from ._transfer import pages


def _path(principal_id: str, action: str = "") -> str:
    if not principal_id:
        raise ValueError("principal_id: required")
    base = f"/v1/principals/{quote(principal_id, safe='')}"
    return f"{base}/{action}" if action else base


class AsyncPrincipals:
    """Principals and their second factor."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def create(
        self,
        name: str,
        *,
        type: PrincipalType = "user",
        password: str | None = None,
        email: str | None = None,
        roles: Sequence[str] | None = None,
        teams: Sequence[str] | None = None,
        subject_id: str | None = None,
        owner_id: str | None = None,
    ) -> Principal:
        """Creates a principal (``users:manage``). ``password`` is sent once and kept nowhere
        here; a weak one is ``ValidationError`` (422), a taken name ``Conflict``."""
        body = CreatePrincipalRequest.model_validate(
            {
                "type": type,
                "name": name,
                "password": password,
                "email": email,
                "roles": list(roles) if roles is not None else None,
                "teams": list(teams) if teams is not None else None,
                "subject_id": subject_id,
                "owner_id": owner_id,
            }
        )
        answer = await self._core.request("POST", "/v1/principals", json=body.body())
        return Principal.model_validate(answer)

    def list(self, *, page_size: int = 100) -> AsyncIterator[Principal]:
        """Every principal, page after page."""
        return pages(self._core, "/v1/principals", Principal, {}, page_size)

    async def get(self, principal_id: str) -> Principal:
        """One principal (``locked_until`` set while a login lock is in force)."""
        return Principal.model_validate(await self._core.request("GET", _path(principal_id)))

    async def update(
        self,
        principal_id: str,
        *,
        roles: Sequence[str] | None = None,
        teams: Sequence[str] | None = None,
        disabled: bool | None = None,
        email: str | EllipsisType | None = ...,
        subject_id: str | EllipsisType | None = ...,
        owner_id: str | EllipsisType | None = ...,
    ) -> Principal:
        """Changes what is given: ``roles``, ``teams``, ``disabled``; ``email``,
        ``subject_id`` and ``owner_id`` are cleared by ``None`` and left alone when omitted."""
        fields: dict[str, object] = {}
        if roles is not None:
            fields["roles"] = list(roles)
        if teams is not None:
            fields["teams"] = list(teams)
        if disabled is not None:
            fields["disabled"] = disabled
        for name, value in (("email", email), ("subject_id", subject_id), ("owner_id", owner_id)):
            if value is not ...:
                fields[name] = value
        if not fields:
            raise ValueError("update: nothing to change")
        body = UpdatePrincipalRequest.model_validate(fields)
        answer = await self._core.request("PATCH", _path(principal_id), json=body.body())
        return Principal.model_validate(answer)

    async def disable(self, principal_id: str) -> Principal:
        """Disables a principal (history stays); its sessions and keys stop working at once."""
        return Principal.model_validate(await self._core.request("DELETE", _path(principal_id)))

    async def unlock(self, principal_id: str) -> Principal:
        """Lifts a login lockout (``users:manage``)."""
        answer = await self._core.request("POST", _path(principal_id, "unlock"))
        return Principal.model_validate(answer)

    async def enroll_totp(self, principal_id: str) -> TotpEnrollment:
        """Starts TOTP enrollment (the principal itself, in a session, or with the
        ``enrollment_token`` of its login); the secret is shown once."""
        answer = await self._core.request("POST", _path(principal_id, "totp"))
        return TotpEnrollment.model_validate(answer)

    async def confirm_totp(self, principal_id: str, code: str) -> bool:
        """Confirms enrollment with a current code; a wrong one is ``ValidationError``."""
        body = TotpConfirmRequest.model_validate({"code": code})
        answer = await self._core.request(
            "POST", _path(principal_id, "totp/confirm"), json=body.body()
        )
        return bool(answer["totp_enabled"])

    async def remove_totp(self, principal_id: str) -> bool:
        """Removes a principal's TOTP (``users:manage``); returns ``totp_enabled`` (False)."""
        answer = await self._core.request("DELETE", _path(principal_id, "totp"))
        return bool(answer["totp_enabled"])
