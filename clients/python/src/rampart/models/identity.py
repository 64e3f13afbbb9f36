"""Identity and access models: principals, sessions, API keys, introspection, decisions, the
role policy. Secrets (passwords, session tokens, API keys, TOTP secrets) are ``SecretStr``:
they print as ``**********`` and are read with ``.get_secret_value()``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, SecretStr, field_validator

from ._base import Model, Request

PrincipalType = Literal["user", "service", "device", "ai_agent"]
#: A principal's name: 1 to 128 of ``A-Za-z0-9._-@``.
NAME_PATTERN = r"^[A-Za-z0-9._@-]{1,128}$"


class Principal(Model):
    """A user, service, device or AI agent, with its roles and teams (never its password)."""

    id: str
    type: str
    name: str
    email: str | None = None
    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    disabled: bool = False
    has_password: bool | None = None
    totp_enabled: bool = False
    locked_until: str | None = None
    created_at: str | None = None
    subject_id: str | None = None
    owner_id: str | None = None


class Session(Model):
    """A logged-in session: its token (a ``SecretStr``, never printed) and when it expires."""

    token: SecretStr
    expires_at: str


class WhoAmI(Model):
    """The principal and credential behind the client's own credential."""

    principal_id: str
    principal_type: str
    name: str
    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    credential_id: str | None = None
    scopes: list[str] | None = None


class Introspection(Model):
    """What a caller's credential is: ``active`` with the principal, its roles, teams and the
    credential's ``scopes`` (``None``: all of the principal's permissions), or only
    ``active=False`` (unknown, expired, revoked, disabled, or outside its networks)."""

    active: bool
    principal_id: str | None = None
    principal_type: str | None = None
    name: str | None = None
    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    scopes: list[str] | None = None
    credential_type: str | None = None
    expires_at: str | None = None


class AccessDecision(Model):
    """An authorization decision and why."""

    allowed: bool
    reason: str = ""
    matched_role: str | None = None


class ApiKey(Model):
    """An API key's metadata (never the key nor its hash)."""

    id: str
    name: str | None = None
    principal_id: str | None = None
    scopes: list[str] | None = None
    allowed_ips: list[str] | None = None
    created_at: str | None = None
    expires_at: str | None = None
    last_used_at: str | None = None
    usage_count: int = 0
    revoked: bool = False
    rotated_from: str | None = None


class CreatedApiKey(ApiKey):
    """A key just made (or rotated): ``key`` is shown this once, a ``SecretStr``."""

    key: SecretStr
    old_key_expires_at: str | None = None


class RevokedApiKey(Model):
    """The answer to a revocation."""

    id: str
    revoked: bool
    was_active: bool | None = None


class TotpEnrollment(Model):
    """A new TOTP secret (RFC 6238, SHA-1, 6 digits, 30 s), in effect once confirmed. Both
    fields hold the secret, so both are ``SecretStr``."""

    secret_b32: SecretStr
    otpauth_uri: SecretStr


class Role(Model):
    """One role of the policy."""

    permissions: list[str] = Field(default_factory=list)
    inherits: list[str] = Field(default_factory=list)
    bypass_team_isolation: bool = False
    mfa_required: bool = False


class Policy(Model):
    """The role policy in force, its ``source`` (default, file or api) and ``version``."""

    roles: dict[str, Role]
    source: str | None = None
    version: int | None = None


class _SecretRequest(Request):
    """A request holding a secret: pydantic errors never quote the input."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    def body(self) -> dict[str, object]:
        """The JSON body, with every ``SecretStr`` field revealed (only here, to be sent)."""
        out = super().body()
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                out[name] = value.get_secret_value()
        return out


class LoginRequest(_SecretRequest):
    """``POST /v1/auth/login``."""

    name: str = Field(min_length=1)
    password: SecretStr
    totp: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class CreatePrincipalRequest(_SecretRequest):
    """``POST /v1/principals``."""

    type: PrincipalType = "user"
    name: str = Field(pattern=NAME_PATTERN)
    email: str | None = None
    password: SecretStr | None = None
    roles: list[str] | None = None
    teams: list[str] | None = None
    subject_id: str | None = None
    owner_id: str | None = None


class UpdatePrincipalRequest(Request):
    """``PATCH /v1/principals/{id}``: only the fields given are sent (``None`` clears)."""

    roles: list[str] | None = None
    teams: list[str] | None = None
    email: str | None = None
    disabled: bool | None = None
    subject_id: str | None = None
    owner_id: str | None = None

    def body(self) -> dict[str, object]:
        """The fields set, ``None`` kept (it clears ``email``, ``subject_id``, ``owner_id``)."""
        return self.model_dump(mode="json", exclude_unset=True)


class IntrospectRequest(_SecretRequest):
    """``POST /v1/auth/introspect``."""

    credential: SecretStr
    client_ip: str | None = None

    @field_validator("credential")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("an API key or session token is required")
        return value


class AuthorizeRequest(Request):
    """``POST /v1/authorize``."""

    principal_id: str = Field(min_length=1)
    action: str = Field(min_length=1)
    resource: dict[str, Any] | None = None


class CreateApiKeyRequest(Request):
    """``POST /v1/api-keys``: ``scopes`` is required (``["*"]`` alone, on purpose, for all)."""

    name: str = Field(min_length=1)
    scopes: list[str] = Field(min_length=1)
    principal_id: str | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    allowed_ips: list[str] | None = Field(default=None, min_length=1, max_length=100)


class RotateApiKeyRequest(Request):
    """``POST /v1/api-keys/{id}/rotate``."""

    grace_seconds: int = Field(default=0, ge=0, le=30 * 86400)


class TotpConfirmRequest(_SecretRequest):
    """``POST /v1/principals/{id}/totp/confirm``."""

    code: str = Field(pattern=r"^[0-9]{6}$")


class PolicyRequest(Request):
    """``PUT /v1/policy``."""

    roles: dict[str, Role]

    def body(self) -> dict[str, object]:
        """The policy as the server takes it."""
        return {"roles": {k: v.model_dump(mode="json") for k, v in self.roles.items()}}
