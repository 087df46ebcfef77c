"""The store: one SQLite file through sqlite-utils. Every statement the pipeline writes with lives here.

- ``schema``: tables and views, forward migrations, ``open_db`` (also read-only), ``open_reader`` (a read-only
  connection without sqlite-utils, for the commands that only read), ``transaction`` (``BEGIN
  IMMEDIATE``, waiting for another writer up to the busy timeout, then ``StoreBusy``), ``now``;
- ``reports``: a parsed report's rows (report, frames, sources, review), found again by content hash;
- ``messages``: a ``Mail`` -> its ``messages`` row (``#syz`` commands, trailers, bug), stored once per message-id;
- ``threads``: thread resolution over stored messages, the ``threads`` table, bugs inherited by threads;
- ``bugs``: syzbot bugs and their crashes;
- ``cursors``: where each resumable source stopped (``sync_state``).
"""

from triage.store.schema import (
    MIGRATIONS,
    SCHEMA_VERSION,
    StoreBusy,
    StoreError,
    db_file,
    migrate,
    now,
    open_db,
    open_reader,
    read_only_uri,
    schema_version,
    transaction,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "StoreBusy", "StoreError", "db_file", "migrate", "now", "open_db",
           "open_reader", "read_only_uri", "schema_version", "transaction"]
