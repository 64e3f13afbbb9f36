"""What several namespaces share: pages followed to the end, and bodies streamed to a file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import httpx

from ..errors import ConnectionFailed, from_response
from ..models import Model
from ._core import AsyncCore

M = TypeVar("M", bound=Model)

#: Bytes read from the network at a time when streaming a download to a file.
CHUNK_BYTES = 64 * 1024


def pages(
    core: AsyncCore,
    path: str,
    model: type[M],
    params: Mapping[str, Any],
    page_size: int,
) -> AsyncIterator[M]:
    """Every item of a cursor-paginated list (``items``, ``next_cursor``), page after page.
    A bad ``page_size`` raises ``ValueError`` at the call, before any request."""
    if not 1 <= page_size <= 1000:
        raise ValueError("page_size: between 1 and 1000")
    query = {k: v for k, v in params.items() if v is not None}
    query["limit"] = page_size
    return _follow(core, path, model, query)


async def _follow(
    core: AsyncCore, path: str, model: type[M], query: dict[str, Any]
) -> AsyncIterator[M]:
    while True:
        page = await core.request("GET", path, params=query)
        for item in page["items"]:
            yield model.model_validate(item)
        cursor = page.get("next_cursor")
        if not cursor:
            return
        query["cursor"] = cursor


async def download(
    core: AsyncCore, path: str, dest: str | os.PathLike[str], params: Mapping[str, Any] | None
) -> int:
    """Streams a GET's body into ``dest`` (written whole or not at all); returns its size.

    The body goes to ``dest``'s temporary sibling first and is renamed once complete, so a
    failure midway leaves no truncated file behind. A problem answer raises its exception.
    """
    target = Path(dest)
    try:
        async with core._http.stream(
            "GET", path, params=params, headers=core._token.header()
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise from_response(response)
            return await _save(response, target)
    except httpx.TransportError as e:
        raise ConnectionFailed(0, "cannot reach the server", type(e).__name__) from None


async def _save(response: httpx.Response, target: Path) -> int:
    partial = target.with_name(target.name + ".part")
    size = 0
    try:
        with open(partial, "wb") as out:
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return size
