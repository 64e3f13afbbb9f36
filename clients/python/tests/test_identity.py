"""Identity and access against a real server: principals, sessions (login, logout, TOTP),
API keys (create, rotate, revoke), introspection, authorization, the role policy; bad inputs
and lockouts; sync and async."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import struct
import time
import uuid
from urllib.parse import parse_qs, urlparse

import pydantic
import pytest

from rampart import (
    AsyncRampart,
    AuthenticationError,
    Conflict,
    Locked,
    PermissionDenied,
    Rampart,
    ValidationError,
)

from .conftest import Server

PASSWORD = "correct horse battery staple"  # noqa: S105 (a test principal's)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def totp_code(secret_b32: str, offset: int = 0) -> str:
    """The RFC 6238 code (SHA-1, 6 digits, 30 s) of ``offset`` periods from now."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8), casefold=True)
    counter = int(time.time()) // 30 + offset
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    start = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[start : start + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_principals_sessions_keys_and_decisions(server: Server) -> None:
    name = unique("py-alice")
    with Rampart(server.base_url, server.admin_key) as admin:
        alice = admin.principals.create(
            name, password=PASSWORD, roles=["operator"], teams=["payments"]
        )
        assert alice.name == name and alice.roles == ["operator"] and not alice.disabled
        assert admin.principals.get(alice.id).teams == ["payments"]
        assert alice.id in {p.id for p in admin.principals.list(page_size=2)}
        changed = admin.principals.update(alice.id, teams=["payments", "risk"], email="a@x.test")
        assert changed.teams == ["payments", "risk"] and changed.email == "a@x.test"
        assert admin.principals.update(alice.id, email=None).email is None

        with Rampart.login(server.base_url, name, PASSWORD) as session:
            assert session.auth.whoami().principal_id == alice.id
            made = session.api_keys.create("ci", scopes=["audit:write"], expires_in_days=30)
            key = made.key.get_secret_value()
            assert key.startswith("rk_") and made.scopes == ["audit:write"]
            assert [k.id for k in session.api_keys.list()] == [made.id]

            seen = admin.auth.introspect(key, client_ip="203.0.113.7")
            assert seen.active and seen.principal_id == alice.id
            assert seen.scopes == ["audit:write"] and seen.teams == ["payments", "risk"]

            resource = {"type": "service", "id": "checkout", "team_id": "payments"}
            allowed = admin.auth.authorize(alice.id, "actions:approve", resource)
            assert allowed.allowed and allowed.matched_role == "operator"
            other = dict(resource, team_id="treasury")
            assert not admin.auth.authorize(alice.id, "actions:approve", other).allowed
            assert not admin.auth.authorize(alice.id, "users:manage").allowed

            rotated = admin.api_keys.rotate(made.id, grace_seconds=0)
            assert rotated.rotated_from == made.id
            assert not admin.auth.introspect(key).active, "no grace: the old key stops"
            new_key = rotated.key.get_secret_value()
            assert admin.auth.introspect(new_key).active
            assert admin.api_keys.revoke(rotated.id).revoked
            assert not admin.auth.introspect(new_key).active
            with pytest.raises(Conflict):
                admin.api_keys.rotate(rotated.id)

            token = session._token._value
            assert admin.auth.introspect(token).active
            assert session.auth.logout()
            assert not admin.auth.introspect(token).active
        assert admin.principals.disable(alice.id).disabled
        assert admin.principals.get(alice.id).disabled
        with pytest.raises(AuthenticationError):
            Rampart.login(server.base_url, name, PASSWORD)


def test_bad_inputs_fail_before_sending_or_with_field_errors(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as admin:
        with pytest.raises(ValidationError) as weak:
            admin.principals.create(unique("py-weak"), password="short")  # noqa: S106
        assert weak.value.status == 422
        assert "password" in {e.field for e in weak.value.errors}
        with pytest.raises(pydantic.ValidationError):
            admin.principals.create("no spaces allowed")
        with pytest.raises(pydantic.ValidationError):
            admin.principals.create(unique("py-type"), type="robot")  # type: ignore[arg-type]
        bob = admin.principals.create(unique("py-bob"), type="service", roles=["viewer"])
        with pytest.raises(pydantic.ValidationError):
            admin.api_keys.create("k", scopes=[], principal_id=bob.id)
        with pytest.raises(ValueError, match="scopes"):
            admin.api_keys.create("k", scopes="audit:read", principal_id=bob.id)
        with pytest.raises(pydantic.ValidationError):
            admin.api_keys.create("k", scopes=["audit:read"], expires_in_days=0)
        with pytest.raises(ValidationError) as beyond:
            admin.api_keys.create("k", scopes=["audit:write"], principal_id=bob.id)
        assert beyond.value.status == 422
        with pytest.raises(pydantic.ValidationError):
            admin.auth.introspect("")
        with pytest.raises(pydantic.ValidationError):
            admin.auth.login(bob.name, PASSWORD, totp="12ab56")
        with pytest.raises(ValueError, match="nothing to change"):
            admin.principals.update(bob.id)
        with pytest.raises(ValueError):
            admin.principals.get("")
        with pytest.raises(AuthenticationError) as wrong:
            admin.auth.login(unique("py-nobody"), "not the password at all")
        assert wrong.value.status == 401


def test_repeated_failures_lock_and_unlock_lifts(server: Server) -> None:
    name = unique("py-lock")  # a fresh principal: a lock is per name
    with Rampart(server.base_url, server.admin_key) as admin:
        carol = admin.principals.create(name, password=PASSWORD, roles=["viewer"])
        failures = 0
        with pytest.raises(Locked) as locked:
            for _ in range(10):
                try:
                    admin.auth.login(name, "wrong password, again")
                except AuthenticationError:
                    failures += 1
        assert 1 <= failures <= 9
        assert locked.value.status == 423
        with pytest.raises(Locked):
            admin.auth.login(name, PASSWORD)
        assert admin.principals.get(carol.id).locked_until is not None
        assert admin.principals.unlock(carol.id).locked_until is None
        assert admin.auth.login(name, PASSWORD).expires_at


def test_totp_enrollment_confirmation_and_removal(server: Server) -> None:
    name = unique("py-dave")
    with Rampart(server.base_url, server.admin_key) as admin:
        dave = admin.principals.create(name, password=PASSWORD, roles=["viewer"])
        with Rampart.login(server.base_url, name, PASSWORD) as session:
            enrollment = session.principals.enroll_totp(dave.id)
            secret = enrollment.secret_b32.get_secret_value()
            uri = enrollment.otpauth_uri.get_secret_value()
            assert parse_qs(urlparse(uri).query)["secret"] == [secret]
            assert secret not in repr(enrollment)
            wrong = f"{(int(totp_code(secret)) + 1) % 1_000_000:06d}"
            with pytest.raises(ValidationError):
                session.principals.confirm_totp(dave.id, wrong)
            with pytest.raises(pydantic.ValidationError):
                session.principals.confirm_totp(dave.id, "1234")
            assert session.principals.confirm_totp(dave.id, totp_code(secret))
        with pytest.raises(AuthenticationError) as second:
            admin.auth.login(name, PASSWORD)
        assert second.value.problem_type.endswith("mfa-required")
        assert admin.principals.get(dave.id).totp_enabled
        assert admin.principals.remove_totp(dave.id) is False
        assert admin.auth.login(name, PASSWORD).expires_at


def test_a_role_requiring_mfa_enrolls_with_the_logins_enrollment_token(server: Server) -> None:
    name = unique("py-erin")
    with Rampart(server.base_url, server.admin_key) as admin:
        erin = admin.principals.create(name, password=PASSWORD, roles=["admin"])
        with pytest.raises(AuthenticationError) as refused:
            admin.auth.login(name, PASSWORD)
        error = refused.value
        assert error.problem_type.endswith("mfa-required")
        assert error.enrollment_token is not None and error.enrollment_expires_at
        token = error.enrollment_token.get_secret_value()
        for text in (repr(error), str(error), repr(error.enrollment_token)):
            assert token not in text
        with admin.with_token(token) as enrolling:
            secret = enrolling.principals.enroll_totp(erin.id).secret_b32.get_secret_value()
            assert enrolling.principals.confirm_totp(erin.id, totp_code(secret))
        session = admin.auth.login(name, PASSWORD, totp=totp_code(secret, offset=1))
        assert session.expires_at
        # A wrong password gets no enrollment token.
        with pytest.raises(AuthenticationError) as wrong:
            admin.auth.login(name, "not the password")
        assert wrong.value.enrollment_token is None


def test_the_policy_reads_and_writes_back(server: Server) -> None:
    with Rampart(server.base_url, server.admin_key) as admin:
        policy = admin.policy.get()
        assert "*" in policy.roles["admin"].permissions
        assert policy.roles["admin"].mfa_required
        with pytest.raises(ValidationError):
            admin.policy.put({"loop": {"inherits": ["loop"], "permissions": []}})
        again = admin.policy.put(policy.roles)
        assert again.roles.keys() == policy.roles.keys()
        assert again.source == "api"


def test_the_async_client_logs_in_and_checks_callers(server: Server) -> None:
    name = unique("py-erin")

    async def run() -> None:
        async with AsyncRampart(server.base_url, server.admin_key) as admin:
            erin = await admin.principals.create(name, password=PASSWORD, roles=["developer"])
            with pytest.raises(AuthenticationError):
                await AsyncRampart.login(server.base_url, name, "a wrong password here")
            session = await AsyncRampart.login(server.base_url, name, PASSWORD)
            async with session:
                made = await session.api_keys.create("svc", scopes=["authz:check"])
                keys = [k.id async for k in admin.api_keys.list(principal_id=erin.id)]
                assert keys == [made.id]
                async with session.with_token(made.key.get_secret_value()) as as_key:
                    me = await as_key.auth.whoami()
                    assert me.principal_id == erin.id and me.scopes == ["authz:check"]
                    seen = await as_key.auth.introspect(session._token._value)
                    assert seen.active and seen.credential_type == "session"
                    decision = await as_key.auth.authorize(erin.id, "keys:encrypt")
                    assert decision.allowed
                    with pytest.raises(PermissionDenied):
                        await as_key.policy.get()
                assert (await admin.api_keys.revoke(made.id)).revoked
                assert await session.auth.logout()

    asyncio.run(run())


def test_no_password_key_or_session_token_ever_prints(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    name = unique("py-canary")
    password = f"Canary password {uuid.uuid4().hex}"
    printed: list[str] = []

    def look(*things: object) -> None:
        for thing in things:
            printed.extend([repr(thing), str(thing)])

    with Rampart(server.base_url, server.admin_key) as admin:
        frank = admin.principals.create(name, password=password, roles=["developer"])
        look(frank)
        with pytest.raises(AuthenticationError) as wrong:
            admin.auth.login(name, password + "x")
        with pytest.raises(ValidationError) as weak:
            admin.principals.create(unique("py-weak"), password="Canary" + password[-4:])
        with pytest.raises(pydantic.ValidationError) as code:
            admin.auth.login(name, password, totp="98765x")
        look(wrong.value, weak.value, code.value)
        session = admin.auth.login(name, password)
        token = session.token.get_secret_value()
        look(session, session.model_dump(), session.model_dump_json())
        with Rampart.login(server.base_url, name, password) as client:
            made = client.api_keys.create("canary", scopes=["audit:read"])
            key = made.key.get_secret_value()
            look(client, client._token, made, made.model_dump(), made.model_dump_json())
            seen = admin.auth.introspect(key)
            look(seen)
            with client.with_token(key) as as_key:
                look(as_key)
                with pytest.raises(PermissionDenied) as refused:
                    as_key.policy.get()
                look(refused.value)
            rotated = client.api_keys.rotate(made.id)
            look(rotated)
        admin.auth.logout(session)
    assert "HTTP Request: POST" in caplog.text, "the logging of every call is captured"
    printed.append(caplog.text)
    secrets = {"password": password, "key": key, "token": token, "code": "98765x"}
    secrets["rotated"] = rotated.key.get_secret_value()
    for what, secret in secrets.items():
        leaks = [text for text in printed if secret in text]
        assert not leaks, f"the {what} printed: {leaks[:1]}"
