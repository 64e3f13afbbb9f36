"""Moving an application off ``cryptography.fernet``: import its Fernet key(s) into Rampart,
then re-encrypt a table's column in batches through the batch API, resumably.

    from rampart.migrate import import_fernet_key, reencrypt_column
    import_fernet_key(rampart, "legacy", os.environ["FERNET_KEY"])   # old tokens now decrypt
    rampart.keys.rotate("legacy")                                    # a key Rampart made
    reencrypt_column(conn, "users", "id", "ssn_token", key="legacy", state_path="users.state")
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from ._sync.client import Rampart
from .models import Key, Outcome

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_PARAMSTYLES = ("qmark", "format", "numeric", "named", "pyformat")


def _fernet_key(value: bytes | str) -> str:
    text = value.decode("ascii") if isinstance(value, bytes) else value
    try:
        Fernet(text)
    except (ValueError, TypeError):
        # Fernet's message names no key; ours neither.
        raise ValueError(
            "not a Fernet key: expected the url-safe base64 of 32 bytes (Fernet.generate_key())"
        ) from None
    return text


def import_fernet_key(
    rampart: Rampart,
    name: str,
    keys: bytes | str | Sequence[bytes | str],
    *,
    rotation_period_days: int | None = None,
) -> Key:
    """Creates the ``fernet`` key ``name`` from an existing Fernet key, or a ``MultiFernet``'s
    keys newest first (the order ``MultiFernet`` takes them): tokens they made decrypt with
    it, and its tokens decrypt with them. The keys are checked here and never printed."""
    if isinstance(keys, bytes | str):
        return rampart.keys.create(
            name, "fernet", import_key=_fernet_key(keys), rotation_period_days=rotation_period_days
        )
    checked = [_fernet_key(k) for k in keys]
    if not checked:
        raise ValueError("keys: at least one Fernet key")
    return rampart.keys.create(
        name, "fernet", import_keys=checked, rotation_period_days=rotation_period_days
    )


def identifier(name: str) -> str:
    """``name`` when it is a plain SQL identifier (``schema.table`` allowed); ``ValueError``
    otherwise, so no table or column name can carry SQL."""
    parts = name.split(".") if isinstance(name, str) else [""]
    if not 1 <= len(parts) <= 2 or not all(_IDENTIFIER.match(p) for p in parts):
        raise ValueError("identifier: letters, digits and _ only (schema.table allowed)")
    return name


@dataclass
class Progress:
    """How far a re-encryption got: rows re-encrypted, rows that failed (their keys and why,
    their values left untouched) and the last key done (resume after it)."""

    done: int = 0
    failed: list[tuple[Any, str]] = field(default_factory=list)
    last_key: Any = None


def _placeholders(paramstyle: str, count: int) -> list[str]:
    if paramstyle == "qmark":
        return ["?"] * count
    if paramstyle == "format":
        return ["%s"] * count
    if paramstyle == "numeric":
        return [f":{i + 1}" for i in range(count)]
    if paramstyle == "named":
        return [f":p{i}" for i in range(count)]
    return [f"%(p{i})s" for i in range(count)]


def _params(paramstyle: str, values: Sequence[Any]) -> Any:
    if paramstyle in ("named", "pyformat"):
        return {f"p{i}": v for i, v in enumerate(values)}
    return tuple(values)


def _load_state(state_path: Path | None, where: str) -> Any:
    if state_path is None or not state_path.exists():
        return None
    state = json.loads(state_path.read_text())
    if state.get("target") != where:
        raise ValueError("state_path: holds the progress of another table or column")
    return state.get("last_key")


def _save_state(state_path: Path | None, where: str, last_key: Any) -> None:
    if state_path is None:
        return
    temporary = state_path.with_suffix(state_path.suffix + ".tmp")
    temporary.write_text(json.dumps({"target": where, "last_key": last_key}))
    os.replace(temporary, state_path)


def _reencrypt(
    rampart: Rampart, key: str, from_key: str | None, tokens: list[str]
) -> list[Outcome[str]]:
    if from_key is None or from_key == key:
        return [
            Outcome(value=o.value.ciphertext) if o.value is not None else Outcome(error=o.error)
            for o in rampart.keys.rewrap_many(key, tokens)
        ]
    opened = rampart.keys.decrypt_many(from_key, tokens)
    good = [o.value for o in opened if o.value is not None]
    sealed = iter(rampart.keys.encrypt_many(key, good) if good else [])
    out: list[Outcome[str]] = []
    for o in opened:
        if o.value is None:
            out.append(Outcome(error=o.error))
        else:
            s = next(sealed)
            out.append(Outcome(value=s.value.ciphertext) if s.value else Outcome(error=s.error))
    return out


def reencrypt_column(
    connection: Any,
    table: str,
    key_column: str,
    column: str,
    *,
    rampart: Rampart,
    key: str,
    from_key: str | None = None,
    batch_size: int = 500,
    start_after: Any = None,
    state_path: str | os.PathLike[str] | None = None,
    progress: Callable[[Progress], None] | None = None,
    paramstyle: str = "qmark",
) -> Progress:
    """Re-encrypts every non-NULL value of ``table.column`` under the latest version of
    ``key``, ``batch_size`` rows at a time in ``key_column`` order, committing each batch.
    ``key_column`` must be unique (the primary key): batches resume after the last key done,
    so rows sharing a key value across a batch boundary would be skipped.

    Values are ciphertexts of ``from_key`` (default ``key``: a rewrap, the plaintext never
    leaves Rampart; another key: decrypted and encrypted again). A value that does not decrypt
    is left as it is and listed in ``Progress.failed``. ``state_path`` (or ``start_after``)
    makes it resumable: the last key done is saved after each committed batch, and a new run
    starts after it. ``progress`` is called after each batch. ``paramstyle`` is your DB-API
    driver's (``sqlite3``: ``qmark``; psycopg: ``format``).
    """
    table, key_column, column = identifier(table), identifier(key_column), identifier(column)
    if paramstyle not in _PARAMSTYLES:
        raise ValueError(f"paramstyle: one of {', '.join(_PARAMSTYLES)}")
    if not 1 <= batch_size <= 10_000:
        raise ValueError("batch_size: 1 to 10000")
    state = Path(state_path) if state_path is not None else None
    where = f"{table}.{column}"
    saved = _load_state(state, where)
    report = Progress(last_key=saved if saved is not None else start_after)
    one, two = _placeholders(paramstyle, 2), _placeholders(paramstyle, 1)
    select = f"SELECT {key_column}, {column} FROM {table} WHERE {column} IS NOT NULL"  # noqa: S608
    update = f"UPDATE {table} SET {column} = {one[0]} WHERE {key_column} = {one[1]}"  # noqa: S608
    order = f" ORDER BY {key_column} LIMIT {int(batch_size)}"
    after = f" AND {key_column} > {two[0]}"
    while True:
        cursor = connection.cursor()
        if report.last_key is None:
            cursor.execute(select + order)
        else:
            cursor.execute(select + after + order, _params(paramstyle, [report.last_key]))
        rows = cursor.fetchall()
        if not rows:
            return report
        tokens = [v.decode("ascii") if isinstance(v, bytes) else str(v) for _, v in rows]
        results = _reencrypt(rampart, key, from_key, tokens)
        for (row_key, old), result in zip(rows, results, strict=True):
            if result.value is None:
                report.failed.append((row_key, result.error or "failed"))
                continue
            new: Any = result.value.encode("ascii") if isinstance(old, bytes) else result.value
            cursor.execute(update, _params(paramstyle, [new, row_key]))
            report.done += 1
        connection.commit()
        report.last_key = rows[-1][0]
        _save_state(state, where, report.last_key)
        if progress is not None:
            progress(report)
