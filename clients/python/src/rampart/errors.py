"""Typed exceptions made from Rampart's problem+json answers (RFC 9457).

Every exception carries the problem's ``status``, ``type``, ``title``, ``detail`` and the
request id; none carries the request's body or credential.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr


@dataclass(frozen=True)
class FieldError:
    """One invalid field of a request: its path in the body and what is wrong with it."""

    field: str
    message: str


class RampartError(Exception):
    """An answer Rampart refused with, or a failure to reach it."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        problem_type: str = "",
        request_id: str | None = None,
        errors: tuple[FieldError, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}" if detail else f"{status} {title}")
        self.status = status
        self.title = title
        self.detail = detail
        self.problem_type = problem_type
        self.request_id = request_id
        self.errors = errors
        self.retry_after = retry_after


class ConnectionFailed(RampartError):
    """The server could not be reached (refused, timed out, TLS)."""


class AuthenticationError(RampartError):
    """401: no valid credential, or a second factor is required (``problem_type`` ends in
    ``mfa-required``). When the principal's role requires TOTP and none is enrolled yet, the
    login's answer carries ``enrollment_token``: a session good only for enrolling TOTP
    (``client.with_token(e.enrollment_token.get_secret_value()).principals.enroll_totp(id)``),
    until ``enrollment_expires_at``. It never prints."""

    enrollment_token: SecretStr | None = None
    enrollment_expires_at: str | None = None


class PermissionDenied(RampartError):
    """403: the credential lacks a permission, or a rule refuses the request."""


class NotFound(RampartError):
    """404: no such resource (or the caller may not know it exists)."""


class Conflict(RampartError):
    """409: something changed meanwhile; read again and decide."""


class Gone(RampartError):
    """410: the resource existed and is gone for good (an audit entry pruned by retention)."""


class ValidationError(RampartError):
    """400, 413, 415 or 422: the request is invalid; ``errors`` names each field."""


class Locked(RampartError):
    """423: the account is locked after failed logins."""


class RateLimited(RampartError):
    """429: over a rate limit; ``retry_after`` is how many seconds to wait."""


class ServerError(RampartError):
    """5xx: the server failed (503: unavailable for now, see ``retry_after``)."""


_BY_STATUS: dict[int, type[RampartError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: ValidationError,
    415: ValidationError,
    422: ValidationError,
    423: Locked,
}


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds, when it is a number."""
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def from_response(response: httpx.Response) -> RampartError:
    """The exception for a 4xx or 5xx answer, from its problem+json body when it has one."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    raw_errors = body.get("errors")
    errors = tuple(
        FieldError(str(e.get("field", "")), str(e.get("message", "")))
        for e in (raw_errors if isinstance(raw_errors, list) else [])
        if isinstance(e, dict)
    )
    if status == 429:
        kind: type[RampartError] = RateLimited
    elif status >= 500:
        kind = ServerError
    else:
        kind = _BY_STATUS.get(status, RampartError)
    error = kind(
        status=status,
        title=str(body.get("title", response.reason_phrase)),
        detail=str(body.get("detail", "")),
        problem_type=str(body.get("type", "")),
        request_id=response.headers.get("x-request-id"),
        errors=errors,
        retry_after=retry_after(response),
    )
    enrollment = body.get("enrollment_token")
    if isinstance(error, AuthenticationError) and isinstance(enrollment, str) and enrollment:
        error.enrollment_token = SecretStr(enrollment)
        expires = body.get("enrollment_expires_at")
        error.enrollment_expires_at = expires if isinstance(expires, str) else None
    return error
