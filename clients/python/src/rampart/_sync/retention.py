# Generated from _async/retention.py by scripts/unasync.py: edit that file, not this one.
"""Retention: policies per data type, disposal runs with signed certificates, legal holds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from .. import _paths
from ..models.retention import (
    DisposalCertificate,
    DisposalConfirmation,
    HoldRequest,
    HoldScope,
    LegalHold,
    PolicyRequest,
    RetentionPolicy,
    RetentionRun,
)
from ._core import Core


class Retention:
    """Retention policies, disposal runs and legal holds (``retention:configure``)."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def policies(self) -> list[RetentionPolicy]:
        """Every policy, by data type."""
        answer = self._core.request("GET", "/v1/retention/policies")
        return [RetentionPolicy.model_validate(p) for p in answer["items"]]

    def put_policy(
        self,
        data_type: str,
        *,
        retain_days: int | None = None,
        retain_seconds: int | None = None,
        mode: Literal["governance", "compliance"] = "governance",
    ) -> RetentionPolicy:
        """Sets a data type's policy (``audit_entries[:tag]``, ``consents``, ``app:<name>``...):
        exactly one of ``retain_days`` and ``retain_seconds``. A ``compliance`` policy is never
        shortened (``Conflict``); shortening a ``governance`` one needs ``retention:override``."""
        body = PolicyRequest(retain_days=retain_days, retain_seconds=retain_seconds, mode=mode)
        path = _paths.path("/v1/retention/policies/{}", data_type)
        return RetentionPolicy.model_validate(self._core.request("PUT", path, json=body.body()))

    def delete_policy(self, data_type: str) -> None:
        """Removes a policy: the data type is kept from then on (``Conflict`` if compliance)."""
        self._core.request("DELETE", _paths.path("/v1/retention/policies/{}", data_type))

    def run(self, *, dry_run: bool = True) -> RetentionRun:
        """Starts a disposal run (or resumes an interrupted one). A dry run only counts and is
        answered when done; a real one is answered at once: follow it with ``get_run``."""
        params = {"dry_run": "true" if dry_run else "false"}
        return RetentionRun.model_validate(
            self._core.request("POST", "/v1/retention/run", params=params)
        )

    def get_run(self, run_id: str) -> RetentionRun:
        """A run: each data type's cutoff, state and counts, and unconfirmed ``app:`` types."""
        path = _paths.path("/v1/retention/runs/{}", run_id)
        return RetentionRun.model_validate(self._core.request("GET", path))

    def confirm(
        self, run_id: str, *, data_type: str, records_deleted: int, deleted_before: str
    ) -> DisposalCertificate:
        """The application confirms it disposed of an ``app:`` data type the run named; returns
        the signed disposal certificate (``Conflict`` if confirmed already or nothing due)."""
        body = DisposalConfirmation(
            data_type=data_type, records_deleted=records_deleted, deleted_before=deleted_before
        )
        path = _paths.path("/v1/retention/runs/{}/confirmations", run_id)
        return DisposalCertificate.model_validate(
            self._core.request("POST", path, json=body.body())
        )

    def certificates(self, *, page_size: int = 100) -> Iterator[DisposalCertificate]:
        """Every disposal certificate, oldest first, page after page (``after`` the last id)."""
        if not 1 <= page_size <= 1000:
            raise ValueError("page_size: between 1 and 1000")
        params: dict[str, str | int] = {"limit": page_size}
        while True:
            page = self._core.request("GET", "/v1/retention/certificates", params=params)
            items = page["items"]
            for item in items:
                yield DisposalCertificate.model_validate(item)
            if len(items) < page_size:
                return
            params["after"] = items[-1]["id"]

    def create_hold(
        self,
        *,
        name: str,
        reason: str,
        subject_id: str | None = None,
        tag: str | None = None,
        team_id: str | None = None,
        data_type: str | None = None,
        from_: str | None = None,
        until: str | None = None,
    ) -> LegalHold:
        """Places a legal hold over what the scope members given match (none: everything);
        ``from_`` is the API's ``from``."""
        scope = HoldScope.model_validate(
            {
                "subject_id": subject_id,
                "tag": tag,
                "team_id": team_id,
                "data_type": data_type,
                "from": from_,
                "until": until,
            }
        )
        body = HoldRequest(name=name, reason=reason, scope=scope)
        return LegalHold.model_validate(
            self._core.request("POST", "/v1/legal-holds", json=body.body())
        )

    def holds(self) -> list[LegalHold]:
        """The holds in force, oldest first."""
        answer = self._core.request("GET", "/v1/legal-holds")
        return [LegalHold.model_validate(h) for h in answer["items"]]

    def release_hold(self, hold_id: str) -> None:
        """Releases a hold (it stays on record); ``NotFound`` if there is none."""
        self._core.request("DELETE", _paths.path("/v1/legal-holds/{}", hold_id))
