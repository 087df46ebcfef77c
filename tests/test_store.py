"""The store: migrations keep data, WAL, read-only connections refuse writes, newer schemas are refused."""

from __future__ import annotations

import sqlite3

import pytest

from triage.store import MIGRATIONS, SCHEMA_VERSION, StoreError, open_db, schema_version


def test_fresh_database_is_current_and_wal(db_path):
    db = open_db(db_path)
    assert schema_version(db) == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for table in ("reports", "frames", "bugs", "messages", "verdicts", "reviews", "repro_runs", "sync_state"):
        assert db[table].exists()


@pytest.mark.parametrize("previous", range(1, SCHEMA_VERSION))
def test_database_from_previous_schema_opens_and_keeps_rows(db_path, previous):
    old = open_db(db_path, migrate_to=previous)
    assert schema_version(old) == previous
    old["reports"].insert({
        "id": 1, "content_hash": "h1", "title": "WARNING in ext4_mb_load_buddy_gfp", "source_kind": "file",
        "source": "a.txt", "imported_at": "2025-09-01T00:00:00Z", "text": "WARNING: ...",
    })
    old["reviews"].insert({"report_id": 1, "state": "acked"})
    old.conn.close()

    db = open_db(db_path)
    assert schema_version(db) == SCHEMA_VERSION
    assert db["reports"].get(1)["title"] == "WARNING in ext4_mb_load_buddy_gfp"
    assert db["reviews"].get(1)["state"] == "acked"


def test_migrations_are_append_only_functions():
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 2


def test_newer_schema_is_refused(db_path):
    db = open_db(db_path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.conn.close()
    with pytest.raises(StoreError, match="newer"):
        open_db(db_path)


def test_read_only_connection_refuses_writes(db_path):
    open_db(db_path).conn.close()
    ro = open_db(db_path, read_only=True)
    assert ro.execute("SELECT count(*) FROM reports").fetchone()[0] == 0
    with pytest.raises(sqlite3.OperationalError):
        ro.execute("DELETE FROM reports")


def test_garbage_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="bad.db"):
        open_db(bad)
