"""The Fernet migration against a real server and sqlite3: import the app's key, rotate,
re-encrypt a column in batches (rewrap, or into another key), resumable from a state file,
with progress; a value that does not decrypt is reported and left as it was; identifiers that
could carry SQL are refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from rampart import Rampart
from rampart.migrate import Progress, identifier, import_fernet_key, reencrypt_column

from ._util import unique
from .conftest import Server


def _table(secret: bytes, rows: int, *, as_bytes: bool = False) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, ssn BLOB, name TEXT)")
    local = Fernet(secret)
    for i in range(1, rows + 1):
        token = local.encrypt(f"ssn-{i}".encode())
        value: bytes | str = token if as_bytes else token.decode()
        connection.execute("INSERT INTO users VALUES (?, ?, ?)", (i, value, f"user {i}"))
    connection.execute("INSERT INTO users VALUES (?, NULL, 'no ssn')", (rows + 1,))
    connection.commit()
    return connection


def _column(connection: sqlite3.Connection) -> list[bytes | str | None]:
    return [r[0] for r in connection.execute("SELECT ssn FROM users ORDER BY id")]


def test_rewrap_a_column_in_batches_with_a_bad_value_reported(server: Server) -> None:
    secret = Fernet.generate_key()
    connection = _table(secret, 23)
    connection.execute("UPDATE users SET ssn = 'not-a-token' WHERE id = 7")
    connection.commit()
    seen: list[tuple[int, object]] = []
    with Rampart(server.base_url, server.admin_key) as rampart:
        name = unique("py-migrate")
        import_fernet_key(rampart, name, secret)
        rampart.keys.rotate(name)
        report = reencrypt_column(
            connection,
            "users",
            "id",
            "ssn",
            rampart=rampart,
            key=name,
            batch_size=5,
            progress=lambda p: seen.append((p.done, p.last_key)),
        )
        assert report.done == 22 and report.last_key == 23
        assert [k for k, _ in report.failed] == [7] and report.failed[0][1]
        assert [k for _, k in seen] == [5, 10, 15, 20, 23], "one callback per batch"
        values = _column(connection)
        assert values[6] == "not-a-token", "a value that does not decrypt is kept"
        assert values[-1] is None
        # Now under version 2, which cryptography's old key does not know; Rampart reads it.
        for i, value in enumerate(values[:23], start=1):
            if i == 7:
                continue
            assert isinstance(value, str)
            assert rampart.keys.decrypt(name, value) == f"ssn-{i}".encode()
        old_key_opens = [v for v in values[:6] if _opens(secret, str(v))]
        assert not old_key_opens, "re-encrypted under the new version"
        rampart.keys.update(name, min_decryption_version=2)
        assert rampart.keys.decrypt(name, str(values[0])) == b"ssn-1"


def _opens(secret: bytes, token: str) -> bool:
    try:
        Fernet(secret).decrypt(token)
    except Exception:
        return False
    return True


def test_resumes_from_the_state_file_and_moves_to_another_key(
    server: Server, tmp_path: Path
) -> None:
    secret = Fernet.generate_key()
    connection = _table(secret, 12, as_bytes=True)
    state = tmp_path / "users.state"
    with Rampart(server.base_url, server.admin_key) as rampart:
        legacy, target = unique("py-legacy"), unique("py-target")
        import_fernet_key(rampart, legacy, secret)
        rampart.keys.create(target)

        class Stop(Exception):
            pass

        def crash_after_first(progress: Progress) -> None:
            raise Stop

        with pytest.raises(Stop):
            reencrypt_column(
                connection, "users", "id", "ssn", rampart=rampart, key=target,
                from_key=legacy, batch_size=4, state_path=state, progress=crash_after_first,
            )  # fmt: skip
        assert json.loads(state.read_text())["last_key"] == 4
        values = _column(connection)
        assert all(isinstance(v, bytes) and v.startswith(b"rampart:v1:") for v in values[:4])
        assert all(isinstance(v, bytes) and v.startswith(b"gAAAAA") for v in values[4:12])
        report = reencrypt_column(
            connection, "users", "id", "ssn", rampart=rampart, key=target,
            from_key=legacy, batch_size=4, state_path=state,
        )  # fmt: skip
        assert report.done == 8 and not report.failed, "resumed after key 4"
        for i, value in enumerate(_column(connection)[:12], start=1):
            assert isinstance(value, bytes), "BLOB stays BLOB"
            assert rampart.keys.decrypt(target, value.decode()) == f"ssn-{i}".encode()
        with pytest.raises(ValueError, match="another table"):
            reencrypt_column(
                connection, "users", "id", "name", rampart=rampart, key=target, state_path=state
            )


@pytest.mark.parametrize(
    "name",
    ["users; DROP TABLE users", "users--", 'us"ers', "1users", "", "a.b.c", "users ", "ssn)"],
)
def test_identifiers_that_could_carry_sql_are_refused(server: Server, name: str) -> None:
    connection = _table(Fernet.generate_key(), 1)
    with Rampart(server.base_url, server.admin_key) as rampart:
        for args in ((name, "id", "ssn"), ("users", name, "ssn"), ("users", "id", name)):
            with pytest.raises(ValueError, match="identifier"):
                reencrypt_column(connection, *args, rampart=rampart, key="k")
        with pytest.raises(ValueError, match="paramstyle"):
            reencrypt_column(connection, "users", "id", "ssn", rampart=rampart, key="k",
                             paramstyle="sql")  # fmt: skip
        with pytest.raises(ValueError, match="batch_size"):
            reencrypt_column(connection, "users", "id", "ssn", rampart=rampart, key="k",
                             batch_size=0)  # fmt: skip
    assert connection.execute("SELECT count(*) FROM users").fetchone()[0] == 2
    assert identifier("public.users") == "public.users"
