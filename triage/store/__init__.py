"""The store: one SQLite file through sqlite-utils. Every statement the pipeline writes with lives here.

- ``schema``: tables and views, forward migrations, ``open_db``, ``transaction`` (``BEGIN IMMEDIATE``), ``now``;
- ``reports``: a parsed report's rows (report, frames, sources, review), found again by content hash;
- ``messages``: a ``Mail`` -> its ``messages`` row (``#syz`` commands, trailers, bug), stored once per message-id;
- ``threads``: thread resolution over stored messages, the ``threads`` table, bugs inherited by threads;
- ``bugs``: syzbot bugs and their crashes;
- ``cursors``: where each resumable source stopped (``sync_state``).
"""

from triage.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    StoreError,
    migrate,
    now,
    open_db,
    schema_version,
    transaction,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "StoreError", "migrate", "now", "open_db", "schema_version", "transaction"]
