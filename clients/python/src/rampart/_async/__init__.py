# unasync: skip
"""The asynchronous client, the source of truth: ``_sync`` is generated from it by
``scripts/unasync.py`` (``--check`` in CI fails when the two differ)."""
