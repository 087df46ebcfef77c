"""The store as a dataset: read-only SQL, full-text search, export, and Datasette metadata.

``triage query`` runs on a ``mode=ro`` connection (its URI quoted: a path may hold ``#``, ``?``, ``%``) with
``query_only`` on, and an authorizer that refuses every write action (INSERT / UPDATE / DELETE, CREATE / DROP /
ALTER, ATTACH / DETACH, and PRAGMAs other than a few readers): ATTACH of another file could otherwise write
through the read-only connection. A progress handler stops a statement at its time limit or on Ctrl-C.
"""

from __future__ import annotations

import csv
import json
import re
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import sqlite_utils

from triage.store import open_db

_DENIED: dict[int, str] = {
    getattr(sqlite3, name): label
    for name, label in (
        ("SQLITE_INSERT", "INSERT"), ("SQLITE_UPDATE", "UPDATE"), ("SQLITE_DELETE", "DELETE"),
        ("SQLITE_ATTACH", "ATTACH"), ("SQLITE_DETACH", "DETACH"), ("SQLITE_ALTER_TABLE", "ALTER TABLE"),
        ("SQLITE_CREATE_INDEX", "CREATE INDEX"), ("SQLITE_CREATE_TABLE", "CREATE TABLE"),
        ("SQLITE_CREATE_TEMP_INDEX", "CREATE INDEX"), ("SQLITE_CREATE_TEMP_TABLE", "CREATE TABLE"),
        ("SQLITE_CREATE_TEMP_TRIGGER", "CREATE TRIGGER"), ("SQLITE_CREATE_TEMP_VIEW", "CREATE VIEW"),
        ("SQLITE_CREATE_TRIGGER", "CREATE TRIGGER"), ("SQLITE_CREATE_VIEW", "CREATE VIEW"),
        ("SQLITE_CREATE_VTABLE", "CREATE VIRTUAL TABLE"), ("SQLITE_DROP_INDEX", "DROP INDEX"),
        ("SQLITE_DROP_TABLE", "DROP TABLE"), ("SQLITE_DROP_TEMP_INDEX", "DROP INDEX"),
        ("SQLITE_DROP_TEMP_TABLE", "DROP TABLE"), ("SQLITE_DROP_TEMP_TRIGGER", "DROP TRIGGER"),
        ("SQLITE_DROP_TEMP_VIEW", "DROP VIEW"), ("SQLITE_DROP_TRIGGER", "DROP TRIGGER"),
        ("SQLITE_DROP_VIEW", "DROP VIEW"), ("SQLITE_DROP_VTABLE", "DROP VIRTUAL TABLE"),
        ("SQLITE_REINDEX", "REINDEX"), ("SQLITE_ANALYZE", "ANALYZE"), ("SQLITE_SAVEPOINT", "SAVEPOINT"),
    )
    if hasattr(sqlite3, name)
}
# A write to the schema table is the bookkeeping of a CREATE / DROP / ALTER statement.
_SCHEMA_WRITE = {sqlite3.SQLITE_INSERT: "CREATE", sqlite3.SQLITE_DELETE: "DROP", sqlite3.SQLITE_UPDATE: "ALTER"}
# PRAGMAs that only read: without a value, or (the second set) with a table / index name.
READ_PRAGMAS = frozenset({
    "table_list", "user_version", "schema_version", "compile_options", "database_list", "function_list",
    "pragma_list", "page_count", "page_size", "freelist_count", "journal_mode", "encoding", "collation_list",
    "module_list", "data_version",
})
READ_PRAGMAS_WITH_ARG = frozenset({"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
                                   "foreign_key_list"})


class QueryError(Exception):
    """The SQL was refused or failed; the message is one line."""


class _Guard:
    """An sqlite3 authorizer that refuses writes and remembers what it refused."""

    def __init__(self) -> None:
        self.refused: str | None = None
        self.refused_schema = False

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _db: str | None, _trigger: str | None) -> int:
        if action in _DENIED:
            if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
                return sqlite3.SQLITE_OK    # FTS5's vtable constructor; the mode=ro connection still refuses it
            # CREATE / DROP also touch sqlite_master: name the statement, not its bookkeeping
            schema = arg1 in ("sqlite_master", "sqlite_temp_master")
            what = _SCHEMA_WRITE.get(action, _DENIED[action]) if schema else _DENIED[action]
            if not self.refused or self.refused_schema:
                self.refused, self.refused_schema = what, schema
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            name = (arg1 or "").lower()
            if not (name in READ_PRAGMAS and arg2 is None or name in READ_PRAGMAS_WITH_ARG):
                self.refused = self.refused or f"PRAGMA {arg1}" + (f" = {arg2}" if arg2 is not None else "")
                return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK


def open_read_only(path: str | Path) -> tuple[sqlite_utils.Database, _Guard]:
    """A read-only database (``open_db(read_only=True)``) with the write-refusing authorizer installed."""
    db = open_db(path, read_only=True)
    guard = _Guard()
    db.conn.set_authorizer(guard)
    return db, guard


class _Limit:
    """A progress handler that stops a statement past its deadline or on Ctrl-C (SIGINT sets a flag the
    handler reads: SQLite runs C code, so Python's KeyboardInterrupt would wait for the statement to end)."""

    def __init__(self, conn: sqlite3.Connection, timeout: float | None):
        self.conn, self.timeout = conn, timeout
        self.deadline = time.monotonic() + timeout if timeout else None
        self.why: str | None = None
        self._previous = None

    def __enter__(self) -> _Limit:
        self.conn.set_progress_handler(self._check, PROGRESS_STEPS)
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._interrupt)
        return self

    def __exit__(self, *exc) -> None:
        self.conn.set_progress_handler(None, 0)
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def _interrupt(self, _signum, _frame) -> None:
        self.why = "interrupted (Ctrl-C)"

    def _check(self) -> int:
        if self.why is None and self.deadline is not None and time.monotonic() > self.deadline:
            self.why = f"stopped after {self.timeout:g} s (--timeout; 0 for no limit)"
        return 1 if self.why else 0


PROGRESS_STEPS = 10_000          # SQLite VM steps between two looks at the clock
DEFAULT_TIMEOUT = 5.0


def _error(exc: Exception, guard: _Guard, limit: _Limit) -> QueryError:
    if limit.why:
        return QueryError(limit.why)
    if guard.refused:
        return QueryError(f"refused: {guard.refused} is not allowed (the query connection is read-only)")
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "readonly" in msg or "read-only" in msg:
        return QueryError(f"refused: {msg} (the query connection is read-only)")
    return QueryError(msg)


def run_query(db: sqlite_utils.Database, guard: _Guard, sql: str, params: dict | list | None = None,
              timeout: float | None = None) -> tuple[list[str], Iterator[tuple]]:
    """Run one read-only statement; returns the column names and the rows (lazily). The statement, fetching
    included, stops with ``QueryError`` after ``timeout`` seconds (None: no limit) or on Ctrl-C."""
    guard.refused, guard.refused_schema = None, False
    limit = _Limit(db.conn, timeout)
    with limit:
        try:
            cur = db.conn.execute(sql, params or [])
            first = cur.fetchone()
        except (sqlite3.DatabaseError, sqlite3.Warning, sqlite3.ProgrammingError) as exc:
            raise _error(exc, guard, limit) from None
    cols = [c[0] for c in cur.description or []]

    def rows() -> Iterator[tuple]:
        if first is None:
            return
        yield first
        with limit:
            try:
                yield from cur
            except (sqlite3.DatabaseError, sqlite3.Warning) as exc:
                raise _error(exc, guard, limit) from None

    return cols, rows()


def json_values(row: dict) -> dict:
    """JSON text in a row's values (a list or object, as the store keeps ``subsystems``, ``evidence``, ...)
    decoded, so ``--json`` gives JSON, not strings of JSON. Other values are left alone."""
    out = {}
    for key, value in row.items():
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = value
            value = decoded if isinstance(decoded, list | dict) else value
        out[key] = value
    return out


# -- search ----------------------------------------------------------------------------------------------

_WORD = re.compile(r"[\w.]+", re.UNICODE)


def fts_phrase(text: str) -> str:
    """Free text as a safe FTS5 query: every word a quoted term (all must match)."""
    words = [w for w in _WORD.findall(text) if w not in ("AND", "OR", "NOT", "NEAR")]
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def search(db: sqlite_utils.Database, text: str, limit: int = 20) -> list[dict]:
    """Reports (title, text) matching ``text``, best first, then messages (subject, body), best first: at most
    ``limit`` of each.

    ``text`` is tried as an FTS5 query first (``ext4 AND NOT xfs``, ``"lost async"``); if that is not
    valid FTS5 syntax, its words are searched as plain terms.
    """
    if not fts_phrase(text):
        return []
    try:
        hits = _search(db, text, limit)
    except sqlite3.OperationalError:        # not valid FTS5 syntax: search the words
        hits = _search(db, fts_phrase(text), limit)
    return hits


def _search(db: sqlite_utils.Database, query: str, limit: int) -> list[dict]:
    reports = db.execute(
        """SELECT 'report' AS kind, r.id, r.title, l.label, r.reported_at AS date, r.bug_extid,
                  snippet(reports_fts, -1, '[', ']', '…', 12) AS snippet, reports_fts.rank AS rank
           FROM reports_fts JOIN reports r ON r.rowid = reports_fts.rowid
           LEFT JOIN report_labels l ON l.report_id = r.id
           WHERE reports_fts MATCH ? ORDER BY reports_fts.rank LIMIT ?""", [query, limit]).fetchall()
    messages = db.execute(
        """SELECT 'message' AS kind, m.message_id, m.subject, m.author_name, m.date, m.bug_extid,
                  snippet(messages_fts, -1, '[', ']', '…', 12) AS snippet, messages_fts.rank AS rank
           FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid
           WHERE messages_fts MATCH ? ORDER BY messages_fts.rank LIMIT ?""", [query, limit]).fetchall()
    out = [{"kind": k, "id": i, "title": t, "label": lab, "date": d, "bug_extid": b, "snippet": s, "rank": rk}
           for k, i, t, lab, d, b, s, rk in reports]
    out += [{"kind": k, "id": i, "title": t, "author": a, "date": d, "bug_extid": b, "snippet": s, "rank": rk}
            for k, i, t, a, d, b, s, rk in messages]
    return out


# -- export ----------------------------------------------------------------------------------------------

DEFAULT_EXPORT = "labelled_reports"
FORMATS = ("csv", "json", "jsonl")


def exportable(db: sqlite_utils.Database) -> list[str]:
    """Tables and views a user may export (FTS shadow tables and SQLite internals excluded)."""
    names = [n for (n,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    return [n for n in names if not re.search(r"_fts(_\w+)?$", n)]


def export(db: sqlite_utils.Database, table: str, fmt: str, out: IO[str]) -> int:
    """Write ``table`` as CSV, a JSON array or JSON Lines; returns the number of rows."""
    if fmt not in FORMATS:
        raise QueryError(f"--format {fmt!r}: one of {', '.join(FORMATS)}")
    names = exportable(db)
    if table not in names:
        raise QueryError(f"--table {table!r}: no such table or view (one of {', '.join(names)})")
    cur = db.conn.execute(f'SELECT * FROM "{table}"')
    cols = [c[0] for c in cur.description]
    n = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(cols)
        for row in cur:
            writer.writerow(row)
            n += 1
        return n
    if fmt == "json":
        out.write("[")
    for row in cur:
        obj = json.dumps(dict(zip(cols, row, strict=True)), ensure_ascii=False, default=str)
        if fmt == "json":
            out.write(("," if n else "") + "\n" + obj)
        else:
            out.write(obj + "\n")
        n += 1
    if fmt == "json":
        out.write("\n]\n")
    return n


# -- Datasette -------------------------------------------------------------------------------------------

def is_loopback(host: str) -> bool:
    """True if every address ``host`` names is a loopback one (127.0.0.0/8, ::1, localhost)."""
    import ipaddress
    import socket

    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "reports_through_function": {
        "title": "Reports through a function",
        "description": "Every report whose stack passes through a (normalized) kernel function, newest first, once, "
                       "with the stacks it is in.",
        "sql": "SELECT r.id, r.title, l.label, l.confidence, r.reported_at, r.bug_extid,\n"
               "       GROUP_CONCAT(DISTINCT f.stack) AS stacks, COUNT(*) AS frames\n"
               "FROM frames f JOIN reports r ON r.id = f.report_id\n"
               "LEFT JOIN report_labels l ON l.report_id = r.id\n"
               "WHERE f.norm_function = :function\nGROUP BY r.id ORDER BY r.reported_at DESC",
    },
    "open_data_loss_by_subsystem": {
        "title": "Open data-loss bugs by subsystem",
        "description": "Reports labelled data-loss whose syzbot bug is open (or unknown), counted per subsystem.",
        "sql": "SELECT COALESCE(s.value, '(none)') AS subsystem, COUNT(DISTINCT ir.dup_key) AS bugs,\n"
               "       COUNT(*) AS reports, GROUP_CONCAT(DISTINCT ir.title) AS titles\n"
               "FROM inbox_reports ir LEFT JOIN json_each(ir.subsystems) s\n"
               "WHERE ir.label = 'data-loss' AND COALESCE(ir.bug_status, 'open') = 'open'\n"
               "GROUP BY subsystem ORDER BY bugs DESC",
    },
    "inbox": {
        "title": "The inbox",
        "description": "One line per duplicate group not acked, muted or snoozed, worst label first; within a "
                       "label the confident verdicts before those flagged for review, then the newest.",
        "sql": "SELECT * FROM inbox_groups WHERE visible\n"
               "ORDER BY label_rank, needs_review, last_reported DESC, crashes DESC, dup_key",
    },
    "needs_review": {
        "title": "Verdicts that need a human",
        "description": "The classifier was unsure or its parts disagreed; label them with `triage label`.",
        "sql": "SELECT r.id, r.title, l.label, l.confidence, r.reported_at FROM report_labels l\n"
               "JOIN reports r ON r.id = l.report_id WHERE l.needs_review ORDER BY l.confidence",
    },
    "weekly_trend": {
        "title": "Reports per week and label",
        "description": "The digest's trend: reports and distinct bugs per ISO week.",
        "sql": "SELECT * FROM digest_weekly ORDER BY week DESC, label",
    },
    "syz_commands": {
        "title": "#syz commands on the lists",
        "description": "Who told syzbot what (fix, dup, invalid, test, set), newest first.",
        "sql": "SELECT m.date, m.author_name, m.bug_extid, c.value ->> 'command' AS command,\n"
               "       c.value ->> 'args' AS args, m.subject\n"
               "FROM messages m, json_each(m.syz_commands) c ORDER BY m.date DESC",
    },
}

TABLE_DOCS: dict[str, str] = {
    "reports": "One crash report: its text, where it came from, the parsed result and the normalized signature, "
               "and the parser_version that read it (triage reparse updates an older one's). subsystems: its "
               "syzbot bug's as the bug's mails say (#syz set subsystems, the subject's tags), else its own. "
               "repro: its syzbot bug's reproducer as syzbot's mails link it (C, syz, empty: none yet).",
    "sources": "Every place a report was seen (file, e-mail, syzbot crash, lore message).",
    "frames": "One row per stack frame of every parsed report; norm_function is indexed.",
    "bugs": "syzbot bugs: extid, status, subsystems, crash counts, fix and cause commits.",
    "bug_counts": "A syzbot bug's crash count in the latest of syzbot's monthly reports that lists it (from mail).",
    "message_links": "The messages a mail's Closes: / Link: trailers name by their lore link (a fix naming its "
                     "report).",
    "threads": "Mailing-list threads (root message-id) and the bug they discuss.",
    "messages": "Mailing-list messages: author, date, #syz commands, trailer tags, patches.",
    "verdicts": "Classifier output (source = combined) and human labels (source = human) with evidence: the rule "
                "hits and their lines, the model's probabilities, its suggestion, a label a rule ruled out "
                "(evidence.excluded).",
    "repro_runs": "Companion-simulator runs reproducing a report's mechanism, with outcome and console log.",
    "reviews": "The maintainer's review state per report (new / seen / acked / muted, snoozes). Never touched by sync.",
    "label_ranks": "The labels, worst first, with their inbox severity.",
    "report_labels": "The effective label of every report: the human label if any, else the combined verdict.",
    "report_groups": "The duplicate group of every report (same syzbot bug, same crash in a mail thread, or same "
                     "normalized signature; a reply quoting a crash's header without its trace joins its thread's "
                     "report of that kind; any other report without a readable trace is a group of its own).",
    "inbox_reports": "One row per report with its effective label, review state and syzbot bug.",
    "inbox_groups": "One row per duplicate group: what `triage inbox` lists (visible = not acked/muted/snoozed).",
    "report_frames": "Frames with their report's title and label; guilty = the frame blamed for the crash.",
    "digest_weekly": "Reports and distinct bugs per ISO week and label.",
    "labelled_reports": "Reports with their effective label: the default export.",
    "sync_state": "Resumable cursors per source.",
}


def datasette_metadata(db_name: str = "triage") -> dict:
    """Datasette ``metadata.json`` for the store: titles, descriptions and canned queries."""
    return {
        "title": "syz-triage",
        "description": "Kernel crash reports from syzbot and the mailing lists, labelled by consequence "
                       "(data-loss, reclaim-deadlock, fault-injection, nofail-warning, other).",
        "source": "syzbot, lore.kernel.org and local reports",
        "source_url": "https://syzkaller.appspot.com/upstream",
        "databases": {
            db_name: {
                "title": "syz-triage store",
                "tables": {name: {"description": doc} for name, doc in TABLE_DOCS.items()},
                "queries": CANNED_QUERIES,
            }
        },
    }
