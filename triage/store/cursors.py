"""Where each resumable source stopped (``sync_state``): one JSON cursor per source key."""

from __future__ import annotations

import json

import sqlite_utils

from triage.store.schema import now


def load_cursor(db: sqlite_utils.Database, source: str) -> dict | None:
    row = db.execute("SELECT cursor FROM sync_state WHERE source = ?", [source]).fetchone()
    if not row or not row[0]:
        return None
    try:
        cursor = json.loads(row[0])
    except ValueError:
        return None      # an unreadable cursor only costs a full re-read (message-ids keep it idempotent)
    return cursor if isinstance(cursor, dict) else None


def save_cursor(db: sqlite_utils.Database, source: str, cursor: dict) -> None:
    db.execute("INSERT INTO sync_state (source, cursor, updated_at) VALUES (?, ?, ?) ON CONFLICT (source) "
               "DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
               [source, json.dumps(cursor), now()])
