"""The connection under every call: one ``httpx`` client (connections reused), the credential,
timeouts and the retry policy. Namespaces (``audit``, ``keys``, ...) call ``request``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

import httpx

from .. import _shared
from ..errors import ConnectionFailed


class AsyncCore:
    """A connection to one Rampart server. Reuses its connections; close it (or use ``with``).

    Idempotent calls (GET, PUT, DELETE) answered 429 or 503, or whose connection failed, are
    retried up to ``retries`` times, waiting for ``Retry-After`` or backing off exponentially.
    The token never appears in ``repr``, errors or logs.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token = _shared.Token(token)
        self._retries = retries
        self._backoff = backoff
        self._http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"user-agent": _shared.USER_AGENT},
        )

    @property
    def base_url(self) -> str:
        """The server's base URL."""
        return str(self._http.base_url)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r}, token=[REDACTED])"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes the connections."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        anonymous: bool = False,
    ) -> Any:
        """Calls the API; returns the answer's JSON or raises the problem's exception.
        ``token`` replaces the client's credential for this call (e.g. a session's);
        ``anonymous`` sends none (``POST /v1/auth/login``)."""
        response = await self.send(
            method, path, json=json, params=params, token=token, anonymous=anonymous
        )
        return _shared.answer(response)

    async def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        token: str | None = None,
        anonymous: bool = False,
    ) -> httpx.Response:
        """Calls the API with retries and returns the raw answer, whatever its status."""
        if anonymous:
            headers: dict[str, str] = {}
        else:
            headers = _shared.Token(token).header() if token else self._token.header()
        attempt = 0
        while True:
            try:
                response = await self._http.request(
                    method, path, json=json, params=params, headers=headers
                )
            except httpx.TransportError as e:
                if method in _shared.IDEMPOTENT and attempt < self._retries:
                    await asyncio.sleep(_shared.delay(None, attempt, self._backoff))
                    attempt += 1
                    continue
                raise ConnectionFailed(0, "cannot reach the server", type(e).__name__) from None
            if _shared.should_retry(method, response, attempt, self._retries):
                await asyncio.sleep(_shared.delay(response, attempt, self._backoff))
                attempt += 1
                continue
            return response

    def stream(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None
    ) -> AbstractAsyncContextManager[httpx.Response]:
        """A streamed answer (``with`` it; read it in chunks), not retried, status unchecked."""
        return self._http.stream(method, path, params=params, headers=self._token.header())
