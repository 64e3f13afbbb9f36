# Generated from _async/subjects.py by scripts/unasync.py: edit that file, not this one.
"""Data subjects (GDPR): the consent ledger, exports (Art. 20) and erasure (Art. 17)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .. import _paths
from ..models.subjects import (
    Consent,
    ConsentingSubject,
    ConsentRequest,
    Erasure,
    ErasureConfirmation,
    ErasureRequest,
    SubjectConsents,
    SubjectExport,
)
from . import _transfer
from ._core import Core


class Subjects:
    """The people an application holds data about, by the application's own ids."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def record_consent(
        self,
        subject_id: str,
        *,
        purpose: str,
        given: bool,
        source: str | None = None,
        policy_version: str | None = None,
    ) -> Consent:
        """Appends a consent change to the subject's ledger (``gdpr:manage``)."""
        body = ConsentRequest(
            purpose=purpose, given=given, source=source, policy_version=policy_version
        )
        path = _paths.path("/v1/subjects/{}/consents", subject_id)
        return Consent.model_validate(self._core.request("POST", path, json=body.body()))

    def give_consent(
        self,
        subject_id: str,
        purpose: str,
        *,
        source: str | None = None,
        policy_version: str | None = None,
    ) -> Consent:
        """Records that the subject consents to ``purpose``."""
        return self.record_consent(
            subject_id, purpose=purpose, given=True, source=source, policy_version=policy_version
        )

    def withdraw_consent(
        self, subject_id: str, purpose: str, *, source: str | None = None
    ) -> Consent:
        """Records that the subject withdrew consent to ``purpose``."""
        return self.record_consent(subject_id, purpose=purpose, given=False, source=source)

    def consents(self, subject_id: str) -> SubjectConsents:
        """The subject's current consent per purpose and its ledger (``gdpr:read``)."""
        path = _paths.path("/v1/subjects/{}/consents", subject_id)
        return SubjectConsents.model_validate(self._core.request("GET", path))

    def consenting(
        self, purpose: str, *, given: bool | None = None, page_size: int = 100
    ) -> Iterator[ConsentingSubject]:
        """Every subject by its current consent to ``purpose`` (only ``given`` ones when set),
        in subject id order, page after page."""
        if not purpose:
            raise ValueError("purpose: is required")
        params = {"purpose": purpose, "given": None if given is None else str(given).lower()}
        return _transfer.pages(self._core, "/v1/consents", ConsentingSubject, params, page_size)

    def export(self, subject_id: str) -> SubjectExport:
        """Everything Rampart holds about the subject, signed (``gdpr:read`` and bypassing team
        isolation)."""
        path = _paths.path("/v1/subjects/{}/export", subject_id)
        return SubjectExport.model_validate(self._core.request("GET", path))

    def erase(
        self, subject_id: str, *, reason: str | None = None, stores: Sequence[str] | None = None
    ) -> Erasure:
        """Erases the subject (``gdpr:manage``): Rampart's part at once; each of ``stores``
        must confirm (``confirm_erasure``). ``Conflict`` when a legal hold covers the subject."""
        body = ErasureRequest(reason=reason, stores=list(stores) if stores is not None else None)
        path = _paths.path("/v1/subjects/{}/erasure", subject_id)
        return Erasure.model_validate(self._core.request("POST", path, json=body.body()))

    def erasure(self, erasure_id: str) -> Erasure:
        """An erasure's status and signed certificate (``gdpr:read``)."""
        path = _paths.path("/v1/erasures/{}", erasure_id)
        return Erasure.model_validate(self._core.request("GET", path))

    def erasures(self, *, page_size: int = 100) -> Iterator[Erasure]:
        """Every erasure, oldest first, page after page."""
        return _transfer.pages(self._core, "/v1/erasures", Erasure, {}, page_size)

    def confirm_erasure(self, erasure_id: str, *, store: str, records_deleted: int) -> Erasure:
        """One of the named stores confirms it cleared the subject; returns the certificate as
        it now stands (``ValidationError`` for a store not named, ``Conflict`` if twice)."""
        body = ErasureConfirmation(store=store, records_deleted=records_deleted)
        path = _paths.path("/v1/erasures/{}/confirmations", erasure_id)
        return Erasure.model_validate(self._core.request("POST", path, json=body.body()))
