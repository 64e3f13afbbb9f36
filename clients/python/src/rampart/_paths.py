"""Paths with ids in them: every id is URL-escaped, so it never becomes a path of its own."""

from __future__ import annotations

from urllib.parse import quote


def segment(value: str, what: str = "id") -> str:
    """One path segment made of a caller's value, escaped (``/`` becomes ``%2F``).

    Raises ``ValueError`` for an empty value and for ``.`` or ``..``, which URL normalisation
    would turn into another path.
    """
    if not isinstance(value, str) or value in ("", ".", ".."):
        raise ValueError(f"{what}: a non-empty string other than '.' and '..' is required")
    return quote(value, safe="")


def path(template: str, *values: str) -> str:
    """``template`` (``/v1/alerts/{}/resolve``) with each ``{}`` an escaped segment."""
    return template.format(*(segment(v) for v in values))
