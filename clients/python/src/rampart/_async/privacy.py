"""Privacy: redaction and detection of personal data and secrets in documents and texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _shared
from ..models import DetectResult, RedactResult
from ..models.privacy import Policy, ScanRequest
from ._core import AsyncCore

_UNSET: Any = object()


def _scan(document: Any, text: str | None, policy: Policy | None) -> ScanRequest:
    if document is not _UNSET:
        return ScanRequest(document=document, has_document=True, text=text, policy=policy)
    return ScanRequest(text=text, policy=policy)


class AsyncPrivacy:
    """Finds personal data and secrets and redacts them (``POST /v1/redact``, ``/v1/detect``)."""

    def __init__(self, core: AsyncCore) -> None:
        self._core = core

    async def redact(
        self,
        *,
        document: Any = _UNSET,
        text: str | None = None,
        policy: Policy | None = None,
    ) -> RedactResult:
        """Redacts a ``document`` (any JSON value) or a ``text`` (exactly one of them) by the
        deployment's policy, overridden per type by ``policy``."""
        body = _scan(document, text, policy).body()
        return RedactResult.model_validate(
            await self._core.request("POST", "/v1/redact", json=body)
        )

    async def detect(
        self,
        *,
        document: Any = _UNSET,
        text: str | None = None,
        policy: Policy | None = None,
    ) -> DetectResult:
        """The findings ``redact`` would act on, changing nothing."""
        body = _scan(document, text, policy).body()
        return DetectResult.model_validate(
            await self._core.request("POST", "/v1/detect", json=body)
        )

    async def redact_many(
        self,
        documents: Sequence[Any],
        *,
        policy: Policy | None = None,
        max_per_call: int = 500,
    ) -> list[RedactResult]:
        """Redacts a batch of records (JSON values), ``max_per_call`` per request.

        The API has no batch form: the records travel as one JSON array ``document`` and the
        answer is split back, so each result carries its own record and its findings, their
        paths relative to the record (``email``, not ``[3].email``; a record that is itself a
        string has findings with ``path`` ``None``). Stay under the server's body limit (1 MiB
        by default): lower ``max_per_call`` for big records.
        """
        if max_per_call < 1:
            raise ValueError("max_per_call must be at least 1")
        results: list[RedactResult] = []
        for start in range(0, len(documents), max_per_call):
            chunk = list(documents[start : start + max_per_call])
            body = ScanRequest(document=chunk, has_document=True, policy=policy).body()
            answer = await self._core.request("POST", "/v1/redact", json=body)
            results.extend(_shared.split_redaction(answer, len(chunk)))
        return results
