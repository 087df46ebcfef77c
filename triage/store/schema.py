"""The store's schema: one SQLite file, opened through sqlite-utils, versioned with forward migrations.

The schema is the dataset users query, so names are meant to be read:

``reports``      one crash report (its text, where it came from, the parsed result, the signature)
``sources``      every place a report was seen (file, e-mail, syzbot crash, lore message), for idempotency
``frames``       one row per stack frame of every parsed report (``norm_function`` is indexed)
``bugs``         syzbot bugs (extid, status, subsystems, counts, fix/cause commits, discussions)
``crashes``      syzbot crashes per bug (time, kernel, manager, links), each linked to its stored report
``threads`` / ``messages``  lore / mailing-list threads and their messages
``verdicts``     classifier output per report (``source`` = combined | human), with evidence
``repro_runs``   simulator runs linked to a report
``reviews``      the maintainer's review state per report: never touched by sync or classification
``sync_state``   resumable cursors per source (public-inbox last commit, syzbot list positions, ...)

Migrations are append-only: ``MIGRATIONS[i]`` brings a database from version ``i`` to ``i + 1``
(``PRAGMA user_version``). Never edit a released migration; add a new one.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote
from weakref import WeakKeyDictionary

if TYPE_CHECKING:       # imported where a store is opened: ``open_reader`` does without it
    import sqlite_utils


Migration = Callable[["sqlite_utils.Database"], None]


def _script(db: sqlite_utils.Database, sql: str) -> None:
    """Run several statements inside the caller's transaction (``executescript`` would commit first).

    Statements are cut where SQLite says one is complete, so trigger bodies with their own ``;`` stay whole.
    """
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip().rstrip(";").strip():
                db.execute(buf)
            buf = ""
    if buf.strip():
        db.execute(buf)


def _v1_base(db: sqlite_utils.Database) -> None:
    _script(
        db,
        """
        CREATE TABLE reports (
            id INTEGER PRIMARY KEY,
            content_hash TEXT NOT NULL UNIQUE,      -- sha256 of the normalized report text
            title TEXT,                             -- syzbot-compatible title, NULL if no crash found
            crash_type TEXT,
            corrupted INTEGER NOT NULL DEFAULT 0,
            kernel TEXT,
            guilty_frame TEXT,
            guilty_file TEXT,
            signature TEXT,                         -- normalized frames joined by ' <- '
            signature_hash TEXT,
            bug_extid TEXT,                         -- syzbot bug, when known
            source_kind TEXT NOT NULL,              -- first source: file | eml | mbox | maildir | syzbot | lore | sim
            source TEXT NOT NULL,                   -- first source location (path, URL, message-id)
            message_id TEXT,
            reported_at TEXT,                       -- when the crash was reported (mail Date, crash time)
            imported_at TEXT NOT NULL,
            parser_version TEXT,
            parsed TEXT,                            -- JSON of the parsed report
            text TEXT NOT NULL                      -- the report text
        );
        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            report_id INTEGER NOT NULL REFERENCES reports(id),
            kind TEXT NOT NULL,
            location TEXT NOT NULL,
            message_id TEXT,
            seen_at TEXT NOT NULL,
            UNIQUE (report_id, kind, location)
        );
        CREATE UNIQUE INDEX sources_message_id ON sources(message_id) WHERE message_id IS NOT NULL;
        CREATE TABLE frames (
            report_id INTEGER NOT NULL REFERENCES reports(id),
            stack TEXT NOT NULL,                    -- crash | lockdep-chain-N | unsafe-scenario | task:<comm>/<pid> ...
            pos INTEGER NOT NULL,
            function TEXT NOT NULL,
            norm_function TEXT NOT NULL,
            offset TEXT,
            size TEXT,
            file TEXT,
            line INTEGER,
            inline INTEGER NOT NULL DEFAULT 0,
            module TEXT,
            PRIMARY KEY (report_id, stack, pos)
        );
        CREATE INDEX frames_norm_function ON frames(norm_function);
        CREATE TABLE bugs (
            extid TEXT PRIMARY KEY,
            bug_id TEXT,
            namespace TEXT,
            title TEXT,
            status TEXT,                            -- open | fixed | invalid | dup | ...
            subsystems TEXT,                        -- JSON list
            labels TEXT,                            -- JSON list
            first_crash TEXT,
            last_crash TEXT,
            num_crashes INTEGER,
            repro TEXT,                             -- '' | syz | C
            fix_commits TEXT,                       -- JSON list of {title, hash, repo}
            cause_commit TEXT,                      -- JSON
            discussions TEXT,                       -- JSON list of links
            link TEXT,
            updated_at TEXT,
            raw TEXT                                -- JSON as fetched
        );
        CREATE TABLE threads (
            thread_id TEXT PRIMARY KEY,             -- message-id of the root
            subject TEXT,
            list TEXT,
            bug_extid TEXT,
            first_date TEXT,
            last_date TEXT,
            n_messages INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE messages (
            message_id TEXT PRIMARY KEY,
            thread_id TEXT,
            parent_id TEXT,                         -- resolved parent (In-Reply-To, References, subject fallback)
            in_reply_to TEXT,
            refs TEXT,                              -- JSON list
            subject TEXT,
            author_name TEXT,
            author_email TEXT,
            date TEXT,                              -- ISO 8601 UTC
            list TEXT,
            body TEXT,
            syz_commands TEXT,                      -- JSON list of {command, args}
            tags TEXT,                              -- JSON: Reported-by / Closes / Link / Fixes ...
            patch_subject TEXT,
            bug_extid TEXT,
            source TEXT,
            imported_at TEXT
        );
        CREATE INDEX messages_thread ON messages(thread_id);
        CREATE INDEX messages_bug ON messages(bug_extid);
        CREATE TABLE verdicts (
            report_id INTEGER NOT NULL REFERENCES reports(id),
            source TEXT NOT NULL,                   -- combined | human
            label TEXT NOT NULL,
            confidence REAL,
            needs_review INTEGER NOT NULL DEFAULT 0,
            evidence TEXT,                          -- JSON
            classifier_version TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (report_id, source)
        );
        CREATE INDEX verdicts_label ON verdicts(label);
        CREATE TABLE repro_runs (
            id INTEGER PRIMARY KEY,
            report_id INTEGER REFERENCES reports(id),
            scenario TEXT NOT NULL,
            variant TEXT,
            params TEXT,                            -- JSON
            seed INTEGER,
            outcome TEXT NOT NULL,
            evidence TEXT,                          -- JSON
            console TEXT,
            trace TEXT,                             -- JSON
            sim_version TEXT,
            created_at TEXT NOT NULL
        );
        CREATE INDEX repro_runs_report ON repro_runs(report_id);
        CREATE TABLE reviews (
            report_id INTEGER PRIMARY KEY REFERENCES reports(id),
            state TEXT NOT NULL DEFAULT 'new',      -- new | seen | acked | muted
            snooze_until TEXT,
            seen_at TEXT,
            note TEXT,
            who TEXT,
            updated_at TEXT
        );
        CREATE TABLE sync_state (
            source TEXT PRIMARY KEY,
            cursor TEXT,                            -- JSON
            updated_at TEXT
        );
        CREATE INDEX reports_reported_at ON reports(reported_at);
        CREATE INDEX reports_bug ON reports(bug_extid);
        CREATE INDEX reports_signature ON reports(signature_hash);
        """
    )


def _v2_search(db: sqlite_utils.Database) -> None:
    """Full-text search over report titles and text, and over message subjects and bodies."""
    db["reports"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")
    db["messages"].enable_fts(["subject", "body"], create_triggers=True, tokenize="porter")


def _v3_crashes_threading(db: sqlite_utils.Database) -> None:
    """syzbot crashes per bug (the crash table of a bug page joined with its JSON), and indexes the
    mail threading needs (subject fallback, bug links)."""
    _script(
        db,
        """
        CREATE TABLE crashes (
            bug_extid TEXT NOT NULL,
            crash_key TEXT NOT NULL,                -- the report blob id (x=...), else a hash of the links
            time TEXT,                              -- ISO 8601 UTC
            title TEXT,
            kernel TEXT,                            -- kernel alias (upstream, linux-next, ...)
            kernel_commit TEXT,
            kernel_repo TEXT,
            syzkaller_commit TEXT,
            manager TEXT,
            config_link TEXT,
            log_link TEXT,
            report_link TEXT,
            syz_repro_link TEXT,
            c_repro_link TEXT,
            repro_opts TEXT,
            report_id INTEGER REFERENCES reports(id),
            PRIMARY KEY (bug_extid, crash_key)
        );
        CREATE INDEX crashes_report ON crashes(report_id);
        CREATE INDEX messages_subject ON messages(subject);
        CREATE INDEX threads_bug ON threads(bug_extid);
        """
    )
    # threading updates thread_id / parent_id / bug_extid of stored messages: re-index the text only
    # when the text changes (the v2 trigger re-indexed the whole body on every update)
    if db["messages"].detect_fts():
        _script(
        db,
            """
            DROP TRIGGER IF EXISTS messages_au;
            CREATE TRIGGER messages_au AFTER UPDATE OF subject, body ON messages BEGIN
              INSERT INTO messages_fts (messages_fts, rowid, subject, body)
                VALUES('delete', old.rowid, old.subject, old.body);
              INSERT INTO messages_fts (rowid, subject, body) VALUES (new.rowid, new.subject, new.body);
            END;
            """
        )


def _v4_workflow(db: sqlite_utils.Database) -> None:
    """The maintainer's workflow: label ranks, effective labels, duplicate groups, inbox / digest / frame views.

    ``report_labels`` is the one place that says what a report *is*: the human label when there is one,
    else the classifier's combined verdict (NULL label: not classified yet).
    """
    _script(
        db,
        """
        CREATE TABLE label_ranks (
            label TEXT PRIMARY KEY,
            rank INTEGER NOT NULL,                  -- 0 = worst; the inbox sorts on it
            severity TEXT NOT NULL,
            description TEXT
        );
        INSERT INTO label_ranks VALUES
            ('data-loss', 0, 'critical', 'the kernel may silently drop data a program already wrote'),
            ('reclaim-deadlock', 1, 'high', 'memory reclaim recursing into a filesystem or IO path can hang'),
            ('fault-injection', 2, 'medium', 'a crash on an error path opened by an injected failure'),
            ('other', 3, 'normal', 'anything else: memory safety, unrelated warnings and deadlocks, ...'),
            ('unclassified', 4, 'unknown', 'no verdict yet'),
            ('nofail-warning', 5, 'low', 'the page allocator complaining about a __GFP_NOFAIL request');

        CREATE VIEW report_labels AS
        SELECT r.id AS report_id,
               COALESCE(h.label, c.label) AS label,
               COALESCE(h.confidence, c.confidence) AS confidence,
               CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END AS needs_review,
               CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END AS source
        FROM reports r
        LEFT JOIN verdicts h ON h.report_id = r.id AND h.source = 'human'
        LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined';

        -- duplicates fold on the syzbot bug, else on a bug known for the same signature, else on the signature
        CREATE INDEX reports_signature_bug ON reports(signature_hash, bug_extid) WHERE bug_extid IS NOT NULL;
        CREATE VIEW report_groups AS
        SELECT r.id AS report_id,
               COALESCE(r.bug_extid,
                        (SELECT MIN(s.bug_extid) FROM reports s
                         WHERE s.signature_hash = r.signature_hash AND s.bug_extid IS NOT NULL),
                        r.signature_hash, 'report:' || r.id) AS dup_key
        FROM reports r;

        CREATE VIEW inbox_reports AS
        SELECT r.id AS report_id, g.dup_key, r.title, COALESCE(l.label, 'unclassified') AS label, l.confidence,
               l.needs_review, l.source AS label_source, COALESCE(lr.rank, 3) AS label_rank,
               COALESCE(v.state, 'new') AS state, v.snooze_until, v.seen_at,
               r.reported_at, r.bug_extid, r.message_id, r.signature_hash, r.guilty_frame, r.guilty_file,
               b.status AS bug_status, b.subsystems, b.num_crashes, b.repro, b.link AS bug_link
        FROM reports r
        JOIN report_groups g ON g.report_id = r.id
        LEFT JOIN report_labels l ON l.report_id = r.id
        LEFT JOIN label_ranks lr ON lr.label = COALESCE(l.label, 'unclassified')
        LEFT JOIN reviews v ON v.report_id = r.id
        LEFT JOIN bugs b ON b.extid = r.bug_extid;

        CREATE VIEW report_frames AS
        SELECT f.report_id, r.title, l.label, f.stack, f.pos, f.function, f.norm_function, f.file, f.line,
               f.inline, f.module, (f.function = r.guilty_frame OR f.norm_function = r.guilty_frame) AS guilty
        FROM frames f
        JOIN reports r ON r.id = f.report_id
        LEFT JOIN report_labels l ON l.report_id = f.report_id;

        -- reports per ISO week and effective label: the digest's counts and trend
        CREATE VIEW digest_weekly AS
        SELECT strftime('%Y-W%W', r.reported_at) AS week, COALESCE(l.label, 'unclassified') AS label,
               COUNT(*) AS reports, COUNT(DISTINCT g.dup_key) AS groups
        FROM reports r
        JOIN report_groups g ON g.report_id = r.id
        LEFT JOIN report_labels l ON l.report_id = r.id
        GROUP BY week, label;

        CREATE INDEX IF NOT EXISTS threads_bug ON threads(bug_extid);
        CREATE INDEX messages_bug_date ON messages(bug_extid, date);
        CREATE INDEX messages_thread_date ON messages(thread_id, date);
        CREATE INDEX repro_runs_report_created ON repro_runs(report_id, created_at);
        """
    )


def _v5_dataset(db: sqlite_utils.Database) -> None:
    """Dataset views: one row per inbox line (``inbox_groups``) and the labelled reports (the default export)."""
    _script(
        db,
        """
        CREATE VIEW inbox_groups AS
        SELECT g.*, lr.label, (SELECT title FROM reports WHERE id = g.first_report) AS title
        FROM (
            SELECT dup_key, MIN(report_id) AS first_report, COUNT(*) AS reports,
                   COALESCE(MIN(CASE WHEN label_source = 'human' THEN label_rank END), MIN(label_rank)) AS label_rank,
                   MAX(reported_at) AS last_reported, MAX(COALESCE(MAX(num_crashes), 0), COUNT(*)) AS crashes,
                   MAX(bug_extid) AS bug_extid, MAX(needs_review) AS needs_review,
                   SUM(state = 'muted') = 0 AND SUM(state <> 'acked' AND (snooze_until IS NULL
                       OR snooze_until <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))) > 0 AS visible
            FROM inbox_reports GROUP BY dup_key
        ) g LEFT JOIN label_ranks lr ON lr.rank = g.label_rank;

        CREATE VIEW labelled_reports AS
        SELECT r.id, r.title, r.crash_type, r.corrupted, r.kernel, r.guilty_frame, r.guilty_file, r.signature,
               r.signature_hash, r.bug_extid, r.reported_at, l.label, l.confidence, l.needs_review,
               l.source AS label_source, r.source_kind, r.source, r.message_id
        FROM reports r LEFT JOIN report_labels l ON l.report_id = r.id;
        """
    )


def _v6_inbox_speed(db: sqlite_utils.Database) -> None:
    """A faster inbox on large stores: ``inbox_reports`` joins verdicts directly (the planner materialized
    ``report_labels`` there), and covering indexes for the per-report columns the inbox reads."""
    _script(
        db,
        """
        DROP VIEW inbox_groups;
        DROP VIEW inbox_reports;
        CREATE VIEW inbox_reports AS
        SELECT r.id AS report_id, g.dup_key, r.title, COALESCE(h.label, c.label, 'unclassified') AS label,
               COALESCE(h.confidence, c.confidence) AS confidence,
               CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END AS needs_review,
               CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END AS label_source,
               COALESCE(lr.rank, 3) AS label_rank,
               COALESCE(v.state, 'new') AS state, v.snooze_until, v.seen_at,
               r.reported_at, r.bug_extid, r.message_id, r.signature_hash, r.guilty_frame, r.guilty_file,
               b.status AS bug_status, b.subsystems, b.num_crashes, b.repro, b.link AS bug_link
        FROM reports r
        JOIN report_groups g ON g.report_id = r.id
        LEFT JOIN verdicts h ON h.report_id = r.id AND h.source = 'human'
        LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined'
        LEFT JOIN label_ranks lr ON lr.label = COALESCE(h.label, c.label, 'unclassified')
        LEFT JOIN reviews v ON v.report_id = r.id
        LEFT JOIN bugs b ON b.extid = r.bug_extid;

        CREATE VIEW inbox_groups AS
        SELECT g.*, lr.label, (SELECT title FROM reports WHERE id = g.first_report) AS title
        FROM (
            SELECT dup_key, MIN(report_id) AS first_report, COUNT(*) AS reports,
                   COALESCE(MIN(CASE WHEN label_source = 'human' THEN label_rank END), MIN(label_rank)) AS label_rank,
                   MAX(reported_at) AS last_reported, MAX(COALESCE(MAX(num_crashes), 0), COUNT(*)) AS crashes,
                   MAX(bug_extid) AS bug_extid, MAX(needs_review) AS needs_review,
                   SUM(state = 'muted') = 0 AND SUM(state <> 'acked' AND (snooze_until IS NULL
                       OR snooze_until <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))) > 0 AS visible
            FROM inbox_reports GROUP BY dup_key
        ) g LEFT JOIN label_ranks lr ON lr.rank = g.label_rank;

        -- the inbox reads these columns only, so it never touches the (large) report rows
        CREATE INDEX reports_inbox ON reports(id, bug_extid, signature_hash, reported_at);
        CREATE INDEX reports_bug_signature ON reports(bug_extid, signature_hash, reported_at);
        CREATE INDEX verdicts_label_source ON verdicts(label, source, report_id);
        CREATE INDEX verdicts_report_label ON verdicts(report_id, source, label, needs_review, confidence);
        CREATE INDEX bugs_inbox ON bugs(extid, num_crashes, status, subsystems);
        """
    )


# a report's effective subsystems (migration 7): its syzbot bug's when it names any, else its own (``b``: the bug,
# ``r``: the report); ``inbox_reports`` and the inbox's ranking read it
SUBSYSTEMS = ("CASE WHEN b.subsystems IS NOT NULL AND b.subsystems NOT IN ('', '[]') THEN b.subsystems "
              "ELSE COALESCE(r.subsystems, '[]') END")


def _inbox_reports(repro: str = "b.repro", crashes: str = "b.num_crashes", join: str = "") -> str:
    """``inbox_reports`` as migration 7 made it (the effective subsystems); 17 gives the ``repro`` its mails say for
    a bug not synced, 19 ``num_crashes`` from ``bug_counts`` too (``crashes``, its ``join``)."""
    return f"""        CREATE VIEW inbox_reports AS
        SELECT r.id AS report_id, g.dup_key, r.title, COALESCE(h.label, c.label, 'unclassified') AS label,
               COALESCE(h.confidence, c.confidence) AS confidence,
               CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END AS needs_review,
               CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END AS label_source,
               COALESCE(lr.rank, 3) AS label_rank,
               COALESCE(v.state, 'new') AS state, v.snooze_until, v.seen_at,
               r.reported_at, r.bug_extid, r.message_id, r.signature_hash, r.guilty_frame, r.guilty_file,
               b.status AS bug_status,
               {SUBSYSTEMS} AS subsystems,
               {crashes} AS num_crashes, {repro} AS repro,
               b.link AS bug_link
        FROM reports r
        JOIN report_groups g ON g.report_id = r.id
        LEFT JOIN verdicts h ON h.report_id = r.id AND h.source = 'human'
        LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined'
        LEFT JOIN label_ranks lr ON lr.label = COALESCE(h.label, c.label, 'unclassified')
        LEFT JOIN reviews v ON v.report_id = r.id
        LEFT JOIN bugs b ON b.extid = r.bug_extid{join};"""


def _v7_report_subsystems(db: sqlite_utils.Database) -> None:
    """Each report's subsystems derived from the report (``triage.subsystems``: guilty file against a
    MAINTAINERS-style table, filesystem messages and frames), stored reports backfilled; ``inbox_reports``
    says the effective ones: the syzbot bug's when it names any, else the report's."""
    from triage.subsystems import backfill

    db.execute("ALTER TABLE reports ADD COLUMN subsystems TEXT")   # a JSON list; [] = nothing says
    backfill(db)
    _script(
        db,
        f"""
        DROP VIEW inbox_groups;
        DROP VIEW inbox_reports;
        {_inbox_reports()}

        CREATE VIEW inbox_groups AS
        SELECT g.*, lr.label, (SELECT title FROM reports WHERE id = g.first_report) AS title
        FROM (
            SELECT dup_key, MIN(report_id) AS first_report, COUNT(*) AS reports,
                   COALESCE(MIN(CASE WHEN label_source = 'human' THEN label_rank END), MIN(label_rank)) AS label_rank,
                   MAX(reported_at) AS last_reported, MAX(COALESCE(MAX(num_crashes), 0), COUNT(*)) AS crashes,
                   MAX(bug_extid) AS bug_extid, MAX(needs_review) AS needs_review,
                   SUM(state = 'muted') = 0 AND SUM(state <> 'acked' AND (snooze_until IS NULL
                       OR snooze_until <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))) > 0 AS visible
            FROM inbox_reports GROUP BY dup_key
        ) g LEFT JOIN label_ranks lr ON lr.rank = g.label_rank;
        """
    )


def _v8_repro_links_and_fixes(db: sqlite_utils.Database) -> None:
    """Why a run was linked to its report (mechanism, parameters, evidence) and the fix variants run with
    it, with whether each flips the outcome (``triage repro`` fills both, ``triage show`` prints them)."""
    _script(
        db,
        """
        ALTER TABLE repro_runs ADD COLUMN link TEXT;       -- JSON: why, evidence, notes
        ALTER TABLE repro_runs ADD COLUMN fixes TEXT;      -- JSON: [{variant, outcome, flips, help}]
        """
    )


def _v9_report_dup_key(db: sqlite_utils.Database) -> None:
    """The duplicate group each report folds into, stored (``reports.dup_key``, ``triage.store.groups``): a reply
    quoting a report folds into it, and a signature that says too little (no trace of its own, a corrupted
    report) no longer folds unrelated reports (its ``signature_hash`` is cleared). ``report_groups`` reads it."""
    from triage.report.normalize import foldable
    from triage.store.groups import refresh_all

    db.execute("ALTER TABLE reports ADD COLUMN dup_key TEXT")
    degenerate = [rid for rid, sig, title in db.execute(
        "SELECT id, signature, title FROM reports WHERE signature_hash IS NOT NULL")
        if not foldable([f for f in (sig or "").split(" <- ") if f], title)]
    for rid in degenerate:
        db.execute("UPDATE reports SET signature_hash = NULL WHERE id = ?", [rid])
    refresh_all(db)
    _script(
        db,
        """
        CREATE INDEX reports_dup_key ON reports(dup_key, reported_at, id);
        CREATE INDEX reports_group_cols ON reports(id, dup_key, bug_extid, reported_at);
        DROP VIEW report_groups;
        CREATE VIEW report_groups AS
        SELECT r.id AS report_id, COALESCE(r.dup_key, 'report:' || r.id) AS dup_key FROM reports r;
        """
    )


def _v10_bulk_search_index(db: sqlite_utils.Database) -> None:
    """New rows are indexed in bulk by their writers (``triage.store.fts.index_new``) instead of one trigger
    run per inserted row; a report is re-indexed only when its title or text changes (the v2 trigger re-indexed
    the whole text when threading set its bug)."""
    if not db["reports"].detect_fts():
        return
    _script(
        db,
        """
        DROP TRIGGER IF EXISTS reports_ai;
        DROP TRIGGER IF EXISTS messages_ai;
        DROP TRIGGER IF EXISTS reports_au;
        CREATE TRIGGER reports_au AFTER UPDATE OF title, text ON reports BEGIN
          INSERT INTO reports_fts (reports_fts, rowid, title, text) VALUES('delete', old.rowid, old.title, old.text);
          INSERT INTO reports_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END;
        """
    )
    from triage.store.fts import index_new

    index_new(db)            # rows an older writer left unindexed, if any



# a report's duplicate group, as ``report_groups`` says (its stored key; its own until the writer keys it)
_KEY_OF = "(SELECT COALESCE(dup_key, 'report:' || id) FROM reports WHERE id = {rid})"


def _mark(key: str) -> str:
    """SQL of a trigger body: mark one group dirty (no OR IGNORE in a trigger: the conflict clause of the
    statement that fires it, an upsert's too, would replace it)."""
    return (f"INSERT INTO dirty_groups SELECT k FROM (SELECT {key} AS k) "
            "WHERE k NOT IN (SELECT dup_key FROM dirty_groups);")


def _label_of(rid: str) -> str:
    """SQL: set the stored effective label of report ``rid`` from its verdicts (as the ``report_labels`` view
    of migration 4 computed it)."""
    return f"""UPDATE report_labels SET (label, confidence, needs_review, source) = (
            SELECT COALESCE(h.label, c.label), COALESCE(h.confidence, c.confidence),
                   CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END,
                   CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END
            FROM (SELECT {rid} AS id) x
            LEFT JOIN verdicts h ON h.report_id = x.id AND h.source = 'human'
            LEFT JOIN verdicts c ON c.report_id = x.id AND c.source = 'combined')
          WHERE report_id = {rid};"""


# a ``dup_groups`` row's class (``group_counts``); the inbox's count uses the same expressions (triage.inbox)
_AWAKE = "({g}.muted = 0 AND {g}.unsnoozed > 0)"
_CLOSED = "(COALESCE({g}.bug_status, '') IN ('fixed', 'dup', 'invalid'))"


# The reports of the groups marked dirty (a key is its reports' dup_key, or a report's own key while no writer keyed
# it yet) with their label, rank, review and bug: what migrations 11 and 12 aggregate per group (``m.dup_key``).
_DIRTY_MEMBERS = """FROM (SELECT k.dup_key, r.id FROM dirty_groups k CROSS JOIN reports r INDEXED BY reports_dup_key
                ON r.dup_key = k.dup_key
              UNION ALL
              SELECT k.dup_key, r.id FROM dirty_groups k CROSS JOIN reports r
                ON r.id = CAST(substr(k.dup_key, 8) AS INTEGER)
              WHERE k.dup_key LIKE 'report:%' AND r.dup_key IS NULL) m
        CROSS JOIN reports r ON r.id = m.id
        LEFT JOIN report_labels l ON l.report_id = r.id
        LEFT JOIN label_ranks lr ON lr.label = COALESCE(l.label, 'unclassified')
        LEFT JOIN reviews v ON v.report_id = r.id
        LEFT JOIN bugs b ON b.extid = r.bug_extid"""
# a group's review and bug state, from those members
_MEMBER_STATES = """SUM(COALESCE(v.state, 'new') = 'muted') AS muted,
               SUM(COALESCE(v.state, 'new') <> 'acked' AND v.snooze_until IS NULL) AS unsnoozed,
               MIN(CASE WHEN COALESCE(v.state, 'new') <> 'acked' THEN v.snooze_until END) AS wake_at,
               SUM(COALESCE(b.status, 'open') NOT IN ('open', '')) AS closed,
               MAX(b.status) AS bug_status"""


# The views over the groups' rows (migration 11; migration 13 recreates them with ``dirty_group_stats``, on which
# they stand): each group's row, stored or computed now for a marked group, and the inbox's lines with their label.
_GROUP_VIEWS = """CREATE VIEW group_stats AS
        SELECT * FROM dup_groups WHERE dup_key NOT IN (SELECT dup_key FROM dirty_groups)
        UNION ALL SELECT * FROM dirty_group_stats;

        CREATE VIEW inbox_groups AS
        SELECT g.dup_key, g.first_report, g.reports, g.label_rank, g.last_reported, g.crashes, g.bug_extid,
               g.needs_review, g.muted = 0 AND (g.unsnoozed > 0
                 OR COALESCE(g.wake_at <= strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 0)) AS visible,
               lr.label, (SELECT title FROM reports WHERE id = g.first_report) AS title
        FROM group_stats g LEFT JOIN label_ranks lr ON lr.rank = g.label_rank;"""


# a member's syzbot crash count: the dashboard's (migration 11); migration 18 adds the latest monthly report's, read
# through ``BUG_COUNTS_JOIN`` (``r`` a report, ``b`` its bug): what the inbox's own query reads too (``inbox.ROWS``)
_BUG_CRASHES = "b.num_crashes"
BUG_CRASHES = "COALESCE(b.num_crashes, bc.crashes)"
BUG_COUNTS_JOIN = "\n        LEFT JOIN bug_counts bc ON bc.extid = r.bug_extid"


def _dirty_group_stats(needs_review: str, crashes: str = _BUG_CRASHES, join: str = "") -> str:
    """The view of each marked group's row computed now (migration 11; 13 recreates it with the review flag
    ``_GROUP_REVIEW`` as ``needs_review``, 18 with a member's ``crashes`` from ``bug_counts`` too, its ``join``)."""
    return f"""CREATE VIEW dirty_group_stats AS
        SELECT m.dup_key, MIN(r.id) AS first_report, COUNT(*) AS reports,
               COALESCE(MIN(CASE WHEN l.source = 'human' THEN COALESCE(lr.rank, 3) END),
                        MIN(COALESCE(lr.rank, 3))) AS label_rank,
               MIN(r.reported_at) AS first_reported, MAX(r.reported_at) AS last_reported,
               MAX(COALESCE(MAX({crashes}), 0), COUNT(*)) AS crashes,
               MAX(r.bug_extid) AS bug_extid, {needs_review} AS needs_review,
               {_MEMBER_STATES}
        {_DIRTY_MEMBERS}{join}
        GROUP BY m.dup_key;"""


def _dirty_group_areas(review_rank: str = "", crashes: str = _BUG_CRASHES, join: str = "") -> str:
    """The view of each marked group's rows by area computed now (migration 12; 13 recreates it with
    ``review_rank``, given as its column's text; 18 as ``_dirty_group_stats``)."""
    extra = f",\n               {review_rank}" if review_rank else ""
    return f"""CREATE VIEW dirty_group_areas AS
        SELECT {SUBSYSTEMS} AS subsystems, m.dup_key, COUNT(*) AS reports,
               MIN(CASE WHEN l.source = 'human' THEN COALESCE(lr.rank, 3) END) AS human_rank,
               MIN(COALESCE(lr.rank, 3)) AS best_rank,
               MIN(r.reported_at) AS first_reported, MAX(r.reported_at) AS last_reported,
               COALESCE(MAX({crashes}), 0) AS max_crashes,
               {_MEMBER_STATES},
               COUNT(*) OVER (PARTITION BY m.dup_key) AS parts{extra}
        {_DIRTY_MEMBERS}{join}
        GROUP BY 1, m.dup_key;"""


def _v11_stored_groups(db: sqlite_utils.Database) -> None:
    """The inbox reads one stored row per duplicate group (``dup_groups``, ``triage.store.groups``) instead of
    aggregating every report: triggers mark the groups a write changes (``dirty_groups``), the writer recomputes
    them before it commits (``groups.settle``). ``report_labels`` becomes a table kept by triggers (same columns
    as the view it replaces), so a GROUP BY label or a search reads it instead of joining every verdict.
    ``group_stats`` gives every group's row, exact even while some are marked; ``inbox_groups`` reads it."""
    _script(
        db,
        f"""
        DROP VIEW inbox_groups;
        DROP VIEW report_labels;

        CREATE TABLE report_labels (
            report_id INTEGER PRIMARY KEY,          -- one row per report
            label TEXT,                             -- the human label, else the combined verdict's; NULL: none yet
            confidence REAL,
            needs_review INTEGER NOT NULL DEFAULT 0,
            source TEXT                             -- human | combined | NULL
        );
        INSERT INTO report_labels
        SELECT r.id, COALESCE(h.label, c.label), COALESCE(h.confidence, c.confidence),
               CASE WHEN h.label IS NOT NULL THEN 0 ELSE COALESCE(c.needs_review, 0) END,
               CASE WHEN h.label IS NOT NULL THEN 'human' WHEN c.label IS NOT NULL THEN 'combined' END
        FROM reports r
        LEFT JOIN verdicts h ON h.report_id = r.id AND h.source = 'human'
        LEFT JOIN verdicts c ON c.report_id = r.id AND c.source = 'combined';
        CREATE INDEX report_labels_label ON report_labels(label, report_id);

        CREATE TABLE dirty_groups (dup_key TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TABLE dup_groups (
            dup_key TEXT PRIMARY KEY,
            first_report INTEGER NOT NULL,          -- lowest report id
            reports INTEGER NOT NULL,
            label_rank INTEGER NOT NULL,            -- the group's label: its best human rank, else its best rank
            first_reported TEXT,
            last_reported TEXT,
            crashes INTEGER NOT NULL,               -- the syzbot bug's count, at least the reports
            bug_extid TEXT,                         -- the greatest of its reports'
            needs_review INTEGER NOT NULL,
            muted INTEGER NOT NULL,                 -- members muted
            unsnoozed INTEGER NOT NULL,             -- members neither acked nor snoozed
            wake_at TEXT,                           -- earliest snooze end of a member not acked
            closed INTEGER NOT NULL,                -- members whose syzbot bug is not open
            bug_status TEXT                         -- the greatest syzbot status of its members' bugs
        );
        CREATE INDEX dup_groups_rank ON dup_groups(label_rank, last_reported DESC, crashes DESC, dup_key);
        -- groups whose snooze may be over: the inbox counts them one by one
        CREATE INDEX dup_groups_wake ON dup_groups(wake_at) WHERE muted = 0 AND unsnoozed = 0;

        -- how many stored groups of each class: label, awake (no member muted, one neither acked nor snoozed),
        -- closed (syzbot's status of a member's bug is fixed, dup or invalid); kept by the triggers below, so the
        -- inbox counts its lines without reading every group (triage.inbox.count)
        CREATE TABLE group_counts (
            label_rank INTEGER NOT NULL,
            awake INTEGER NOT NULL,
            closed INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (label_rank, awake, closed)
        ) WITHOUT ROWID;
        CREATE TRIGGER dup_groups_count_ai AFTER INSERT ON dup_groups BEGIN
          INSERT INTO group_counts SELECT new.label_rank, {_AWAKE.format(g="new")}, {_CLOSED.format(g="new")}, 0
            WHERE NOT EXISTS (SELECT 1 FROM group_counts WHERE label_rank = new.label_rank
                              AND awake = {_AWAKE.format(g="new")} AND closed = {_CLOSED.format(g="new")});
          UPDATE group_counts SET n = n + 1 WHERE label_rank = new.label_rank
            AND awake = {_AWAKE.format(g="new")} AND closed = {_CLOSED.format(g="new")};
        END;
        CREATE TRIGGER dup_groups_count_ad AFTER DELETE ON dup_groups BEGIN
          UPDATE group_counts SET n = n - 1 WHERE label_rank = old.label_rank
            AND awake = {_AWAKE.format(g="old")} AND closed = {_CLOSED.format(g="old")};
        END;

        -- the messages that can change a bug's status (triage.status.STATUS_MESSAGES, read on every inbox)
        CREATE INDEX messages_status ON messages(date)
          WHERE bug_extid IS NOT NULL AND (syz_commands NOT IN ('', '[]') OR patch_subject IS NOT NULL);

        -- the rows of the marked groups, from their reports (a key is its reports' dup_key, or a report's own
        -- key while no writer keyed it yet)
        {_dirty_group_stats('MAX(COALESCE(l.needs_review, 0))')}

        {_GROUP_VIEWS}

        CREATE TRIGGER reports_group_ai AFTER INSERT ON reports BEGIN
          INSERT INTO report_labels (report_id) VALUES (new.id);
          {_mark("COALESCE(new.dup_key, 'report:' || new.id)")}
        END;
        CREATE TRIGGER reports_group_key AFTER UPDATE OF dup_key ON reports
        WHEN old.dup_key IS NOT new.dup_key BEGIN
          {_mark("COALESCE(old.dup_key, 'report:' || old.id)")}
          {_mark("COALESCE(new.dup_key, 'report:' || new.id)")}
        END;
        CREATE TRIGGER reports_group_au AFTER UPDATE OF reported_at, bug_extid ON reports
        WHEN old.reported_at IS NOT new.reported_at OR old.bug_extid IS NOT new.bug_extid BEGIN
          {_mark("COALESCE(new.dup_key, 'report:' || new.id)")}
        END;
        CREATE TRIGGER reports_group_ad AFTER DELETE ON reports BEGIN
          DELETE FROM report_labels WHERE report_id = old.id;
          {_mark("COALESCE(old.dup_key, 'report:' || old.id)")}
        END;

        CREATE TRIGGER verdicts_label_ai AFTER INSERT ON verdicts BEGIN
          {_label_of("new.report_id")}
        END;
        CREATE TRIGGER verdicts_label_au AFTER UPDATE ON verdicts BEGIN
          {_label_of("new.report_id")}
          {_label_of("old.report_id")}
        END;
        CREATE TRIGGER verdicts_label_ad AFTER DELETE ON verdicts BEGIN
          {_label_of("old.report_id")}
        END;
        CREATE TRIGGER report_labels_au AFTER UPDATE ON report_labels
        WHEN old.label IS NOT new.label OR old.needs_review IS NOT new.needs_review OR old.source IS NOT new.source
        BEGIN
          {_mark(_KEY_OF.format(rid="new.report_id"))}
        END;

        CREATE TRIGGER reviews_group_ai AFTER INSERT ON reviews BEGIN
          {_mark(_KEY_OF.format(rid="new.report_id"))}
        END;
        CREATE TRIGGER reviews_group_au AFTER UPDATE OF state, snooze_until, report_id ON reviews
        WHEN old.state IS NOT new.state OR old.snooze_until IS NOT new.snooze_until
          OR old.report_id IS NOT new.report_id BEGIN
          {_mark(_KEY_OF.format(rid="old.report_id"))}
          {_mark(_KEY_OF.format(rid="new.report_id"))}
        END;
        CREATE TRIGGER reviews_group_ad AFTER DELETE ON reviews BEGIN
          {_mark(_KEY_OF.format(rid="old.report_id"))}
        END;

        CREATE TRIGGER bugs_group_ai AFTER INSERT ON bugs BEGIN
          INSERT INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) AS k FROM reports
            WHERE bug_extid = new.extid AND k NOT IN (SELECT dup_key FROM dirty_groups);
        END;
        CREATE TRIGGER bugs_group_au AFTER UPDATE OF status, num_crashes, extid ON bugs
        WHEN old.status IS NOT new.status OR old.num_crashes IS NOT new.num_crashes OR old.extid IS NOT new.extid
        BEGIN
          INSERT INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) AS k FROM reports
            WHERE bug_extid IN (new.extid, old.extid) AND k NOT IN (SELECT dup_key FROM dirty_groups);
        END;
        CREATE TRIGGER bugs_group_ad AFTER DELETE ON bugs BEGIN
          INSERT INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) AS k FROM reports
            WHERE bug_extid = old.extid AND k NOT IN (SELECT dup_key FROM dirty_groups);
        END;
        """
    )
    from triage.store.groups import rebuild

    rebuild(db)






def _v12_narrow_reads(db: sqlite_utils.Database) -> None:
    """Reads that grew faster than the store get stored rows or narrow indexes.

    What the digest reads of the reports of a period (date, bug, subsystems, mail) comes from one covering index,
    and new groups from an index on their first report's date: reading them from the report rows (each a page of
    its own, the text beside them) made the digest's cost grow faster than the store (130x for 100x).

    An inbox filtered by subsystem counts only the reports in the area, so it aggregated them all (~1 s at 1M).
    ``group_areas`` stores each group's row per effective subsystems list of its reports (each report in exactly
    one row: a filter's rows add up without counting a report twice), kept with ``dup_groups`` by
    ``groups.settle`` (``dirty_group_areas`` computes the marked groups' rows); ``area_sets`` lists the stored
    subsystems lists, so a filter finds its rows by index. A change of a report's or a bug's subsystems now marks
    the group too.
    """
    _script(
        db,
        f"""
        CREATE INDEX reports_by_date ON reports(reported_at, bug_extid, subsystems, message_id);
        CREATE INDEX dup_groups_first ON dup_groups(first_reported);

        CREATE TABLE area_sets (subsystems TEXT PRIMARY KEY) WITHOUT ROWID;   -- every list group_areas holds
        CREATE TABLE group_areas (
            subsystems TEXT NOT NULL,               -- the effective subsystems of these reports (JSON; '[]': unknown)
            dup_key TEXT NOT NULL,
            reports INTEGER NOT NULL,
            human_rank INTEGER,                     -- the best rank of a human label among them
            best_rank INTEGER NOT NULL,             -- the best rank among them
            first_reported TEXT,
            last_reported TEXT,
            max_crashes INTEGER NOT NULL,           -- the greatest crash count of their syzbot bugs (0: none)
            muted INTEGER NOT NULL,                 -- as in dup_groups, over these reports
            unsnoozed INTEGER NOT NULL,
            wake_at TEXT,
            closed INTEGER NOT NULL,
            bug_status TEXT,
            parts INTEGER NOT NULL,                 -- the group's rows here: 1 (most) is its whole row in any area
            PRIMARY KEY (subsystems, dup_key)
        ) WITHOUT ROWID;
        CREATE INDEX group_areas_rank ON group_areas(subsystems, best_rank);
        CREATE INDEX group_areas_human ON group_areas(subsystems, human_rank) WHERE human_rank IS NOT NULL;
        CREATE INDEX group_areas_key ON group_areas(dup_key);
        CREATE INDEX group_areas_parts ON group_areas(dup_key) WHERE parts > 1;     -- the few groups to aggregate

        {_dirty_group_areas()}

        CREATE TRIGGER reports_group_subsystems AFTER UPDATE OF subsystems ON reports
        WHEN old.subsystems IS NOT new.subsystems BEGIN
          {_mark("COALESCE(new.dup_key, 'report:' || new.id)")}
        END;
        CREATE TRIGGER bugs_group_subsystems AFTER UPDATE OF subsystems ON bugs
        WHEN old.subsystems IS NOT new.subsystems BEGIN
          INSERT INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) AS k FROM reports
            WHERE bug_extid = new.extid AND k NOT IN (SELECT dup_key FROM dirty_groups);
        END;
        """
    )
    from triage.store.groups import rebuild

    rebuild(db)


# A group's review flag, over its members' ``l`` (report_labels) and ``lr`` (label_ranks): set when no member's label
# is a human's and a member carrying the group's label (its best rank) is flagged, the inbox's ``[needs-review]``.
_AREA_REVIEW = "MIN(CASE WHEN l.needs_review THEN COALESCE(lr.rank, 3) END) AS review_rank"
_GROUP_REVIEW = """(COALESCE(MAX(l.source = 'human'), 0) = 0
               AND COALESCE(MIN(CASE WHEN l.needs_review THEN COALESCE(lr.rank, 3) END)
                            = MIN(COALESCE(lr.rank, 3)), 0))"""


def _v13_confident_first(db: sqlite_utils.Database) -> None:
    """Within one label, the inbox shows the groups whose verdict is confident before those flagged for review.

    ``dup_groups.needs_review`` becomes the line's flag (``_GROUP_REVIEW``: none for a human label, and only a
    flag on the group's own label counts), and the rank index orders by it after the label, so the inbox's first
    lines still come from the index. ``group_areas`` gets ``review_rank`` (the best rank among its flagged
    reports), from which a subsystem filter computes the same flag.
    """
    _script(
        db,
        f"""
        DROP VIEW inbox_groups;
        DROP VIEW group_stats;
        DROP VIEW dirty_group_stats;
        DROP VIEW dirty_group_areas;
        DROP INDEX dup_groups_rank;
        CREATE INDEX dup_groups_rank ON dup_groups(label_rank, needs_review, last_reported DESC, crashes DESC, dup_key);
        ALTER TABLE group_areas ADD COLUMN review_rank INTEGER;      -- the best rank among its flagged reports

        {_dirty_group_stats(_GROUP_REVIEW)}

        {_GROUP_VIEWS}

        {_dirty_group_areas(_AREA_REVIEW)}
        """
    )
    from triage.store.groups import rebuild

    rebuild(db)


def _v14_frameless_replies_fold(db: sqlite_utils.Database) -> None:
    """A report whose frame syzkaller could not read (``WARNING in corrupted``: a reply quoting a header without
    its trace) folds into its thread's first report of the same kind (``triage.store.groups``, rule 3): the
    stored keys of those reports and of their threads' are recomputed, and their groups' rows."""
    from triage.store.groups import refresh, settle

    ids = [rid for (rid,) in db.execute("SELECT id FROM reports WHERE title LIKE '% in corrupted%'")]
    if ids:
        refresh(db, ids)
        settle(db)


def _v15_parser_version_index(db: sqlite_utils.Database) -> None:
    """The reports an older parser read (``triage.reparse``) found from an index: ``triage import`` asks after each
    run whether there are any, and a scan of a million reports would cost it seconds."""
    db.execute("CREATE INDEX reports_parser_version ON reports(parser_version)")


def _v16_bug_subsystems_from_mail(db: sqlite_utils.Database) -> None:
    """A syzbot bug's reports are in the subsystems its mails say (``triage.store.bug_mail``: the last
    ``#syz set subsystems``, else its subjects' tags), not only those their text suggests: written for every
    stored bug a mail tags, and the groups they move computed again."""
    from triage.store.bug_mail import apply
    from triage.store.groups import settle

    if apply(db, _mail_bugs(db), columns=("subsystems",)):
        settle(db)


def _mail_bugs(db: sqlite_utils.Database) -> list[str]:
    """Every syzbot bug a stored mail is about."""
    return [e for (e,) in db.execute("SELECT DISTINCT bug_extid FROM messages WHERE bug_extid IS NOT NULL")]


# a report's reproducer (migration 17): the synced bug's, else what its mails say
_REPRO_17 = "CASE WHEN b.extid IS NOT NULL THEN b.repro ELSE r.repro END"


def _v17_report_repro(db: sqlite_utils.Database) -> None:
    """A syzbot bug's reports carry the reproducer its mails say it has (``reports.repro``: C, syz, '' for none yet;
    ``triage.store.bug_mail``), which ``inbox_reports.repro`` gives for a bug ``triage sync`` did not store: the
    inbox said "-" for every bug of a list archive, 67 of linux-nilfs' 113 having a C reproducer."""
    from triage.store.bug_mail import apply

    _script(
        db,
        f"""
        ALTER TABLE reports ADD COLUMN repro TEXT;          -- its syzbot bug's reproducer, as the bug's mails say
        DROP VIEW inbox_reports;
        {_inbox_reports(_REPRO_17)}
        """
    )
    apply(db, _mail_bugs(db), columns=("repro",))


def _v18_bug_counts(db: sqlite_utils.Database) -> None:
    """A syzbot bug's crash count as syzbot's latest monthly report listing it gives it (``bug_counts``, kept by the
    import: ``triage.store.bug_mail``): the inbox's and digest's count of a bug ``triage sync`` did not store, which
    was only the reports stored (1 for a bug that crashed 2,519 times). Stored monthly reports are read now; the
    groups of the bugs they list are computed again."""
    from triage.store.bug_mail import record_counts
    from triage.store.groups import settle

    mark = """INSERT INTO dirty_groups SELECT DISTINCT COALESCE(dup_key, 'report:' || id) AS k FROM reports
            WHERE bug_extid = new.extid AND k NOT IN (SELECT dup_key FROM dirty_groups);"""
    _script(
        db,
        f"""
        CREATE TABLE bug_counts (
            extid TEXT PRIMARY KEY,                 -- a syzbot bug
            crashes INTEGER NOT NULL,               -- its crash count in the latest monthly report listing it
            date TEXT NOT NULL,                     -- that report's Date
            message_id TEXT                         -- that report
        ) WITHOUT ROWID;
        CREATE TRIGGER bug_counts_group_ai AFTER INSERT ON bug_counts BEGIN
          {mark}
        END;
        CREATE TRIGGER bug_counts_group_au AFTER UPDATE OF crashes ON bug_counts
        WHEN old.crashes IS NOT new.crashes BEGIN
          {mark}
        END;

        DROP VIEW inbox_groups;
        DROP VIEW group_stats;
        DROP VIEW dirty_group_stats;
        DROP VIEW dirty_group_areas;
        {_dirty_group_stats(_GROUP_REVIEW, BUG_CRASHES, BUG_COUNTS_JOIN)}

        {_GROUP_VIEWS}

        {_dirty_group_areas(_AREA_REVIEW, BUG_CRASHES, BUG_COUNTS_JOIN)}
        """
    )
    record_counts(db, (dict(zip(("message_id", "date", "subject", "author_email", "body"), row, strict=True))
                       for row in db.execute("SELECT message_id, date, subject, author_email, body FROM messages "
                                             "WHERE subject LIKE '%[syzbot]%' AND author_email LIKE 'syzbot%'")))
    settle(db)


def _v19_inbox_reports_counts(db: sqlite_utils.Database) -> None:
    """``inbox_reports.num_crashes`` is a bug's count as the inbox says it: the dashboard's, else the latest
    monthly report's (``bug_counts``, migration 18), not NULL for a bug known only from mail."""
    _script(db, f"""
        DROP VIEW inbox_reports;
        {_inbox_reports(_REPRO_17, BUG_CRASHES, BUG_COUNTS_JOIN)}
        """)


def _v20_patch_subject_index(db: sqlite_utils.Database) -> None:
    """The patch mails of a series title, by index: what tells a syzbot ci finding superseded by a newer version of
    the series it tested (``triage.status.superseded``), asked by every inbox."""
    _script(db, "CREATE INDEX messages_patch ON messages(patch_subject) WHERE patch_subject IS NOT NULL;")


def _v21_message_links(db: sqlite_utils.Database) -> None:
    """``message_links``: the messages a mail's ``Closes:`` / ``Link:`` trailers name (a fix patch naming the report
    it fixes, by its lore link), read from the stored mails' trailers."""
    from triage.store.messages import LINKS_INSERT, message_links

    _script(db, """
        CREATE TABLE message_links (
            target TEXT NOT NULL,                   -- the message named (a report's mail, when it is one)
            message_id TEXT NOT NULL,               -- the mail naming it
            tag TEXT NOT NULL,                      -- by its Closes: or Link: trailer
            PRIMARY KEY (target, message_id, tag)
        ) WITHOUT ROWID;
        """)
    rows = db.execute("SELECT message_id, tags FROM messages WHERE instr(tags, 'lore.kernel.org')").fetchall()
    db.conn.executemany(LINKS_INSERT, (link for mid, tags in rows for link in message_links(mid, tags)))


def _v22_sources_of_a_message(db: sqlite_utils.Database) -> None:
    """A mail may be the source of several reports (each finding of a syzbot ci mail): ``sources.message_id`` is
    indexed, no longer unique (a second finding's source was dropped), and the reports left without a source
    row get theirs."""
    _script(db, """
        DROP INDEX sources_message_id;
        CREATE INDEX sources_message_id ON sources(message_id) WHERE message_id IS NOT NULL;
        INSERT OR IGNORE INTO sources (report_id, kind, location, message_id, seen_at)
            SELECT r.id, r.source_kind, r.source, r.message_id, r.imported_at FROM reports r
            WHERE r.message_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM sources s WHERE s.report_id = r.id);
        """)


MIGRATIONS: list[Migration] = [
    _v1_base, _v2_search, _v3_crashes_threading, _v4_workflow, _v5_dataset, _v6_inbox_speed,
    _v7_report_subsystems, _v8_repro_links_and_fixes, _v9_report_dup_key, _v10_bulk_search_index,
    _v11_stored_groups, _v12_narrow_reads, _v13_confident_first, _v14_frameless_replies_fold,
    _v15_parser_version_index, _v16_bug_subsystems_from_mail, _v17_report_repro,
    _v18_bug_counts, _v19_inbox_reports_counts, _v20_patch_subject_index, _v21_message_links,
    _v22_sources_of_a_message,
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be opened or is from a newer syz-triage."""


def now() -> str:
    """The store's timestamps: ISO 8601 UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


BUSY_TIMEOUT = 30.0          # seconds a writer waits for another one before it gives up (TRIAGE_BUSY_TIMEOUT)
NOTICE_AFTER = 1.0           # seconds of waiting after which the wait is announced (``open_db(on_wait=...)``)
_SQLITE_BUSY = 5

# who to tell that a writer is waiting for another process's write lock (set by ``open_db``)
_ON_WAIT: WeakKeyDictionary[sqlite_utils.Database, Callable[[str], None]] = WeakKeyDictionary()


class StoreBusy(StoreError):
    """Another process held the write lock longer than the busy timeout; nothing was written."""


def db_file(db: sqlite_utils.Database) -> str:
    """The path of the database's main file ('' for an in-memory one)."""
    for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or ""
    return ""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF == _SQLITE_BUSY if code is not None else "database is locked" in str(exc)


def _begin_immediate(db: sqlite_utils.Database) -> None:
    """``BEGIN IMMEDIATE`` within the connection's busy timeout. Past ``NOTICE_AFTER`` seconds the wait is
    announced once (``on_wait``); past the timeout ``StoreBusy`` says so in one line."""
    conn = db.conn
    limit = conn.execute("PRAGMA busy_timeout").fetchone()[0]          # milliseconds
    notice = _ON_WAIT.get(db)
    first = min(limit, int(NOTICE_AFTER * 1000)) if notice else limit
    try:
        if _try_begin(conn, first):
            return
        if limit > first:
            notice(db_file(db))
            if _try_begin(conn, limit - first):
                return
    finally:
        conn.execute(f"PRAGMA busy_timeout = {limit}")
    raise _busy(db, limit / 1000)


def _busy(db: sqlite_utils.Database, seconds: float) -> StoreBusy:
    """Why a writer gave up after waiting ``seconds`` for another, in one line."""
    return StoreBusy(f"{db_file(db)}: another triage process kept it locked for more than {seconds:g} s; "
                     "nothing was written (run the command again when it is done)")


def _try_begin(conn: sqlite3.Connection, wait_ms: int) -> bool:
    """``BEGIN IMMEDIATE``, waiting up to ``wait_ms`` for another writer; False if it still holds the lock."""
    conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if _is_busy(exc):
            return False
        raise
    return True


@contextmanager
def transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction that takes the write lock up front (``BEGIN IMMEDIATE``): another writer makes
    this one wait (the connection's busy timeout, announced after ``NOTICE_AFTER`` s) at the start rather than
    fail halfway; past the timeout, ``StoreBusy`` before anything is written. Rolled back on any exception.
    Inside an open transaction it is a savepoint of that one."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    _begin_immediate(db)
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def migrate(db: sqlite_utils.Database, target: int = SCHEMA_VERSION) -> int:
    """Apply the pending migrations up to ``target``, each in its own transaction.

    Each step re-reads the version under the write lock, so two processes opening a new database at once
    apply every migration once.
    """
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {current} is newer than this syz-triage ({SCHEMA_VERSION}); upgrade"
        )
    for version in range(current, target):
        with transaction(db):
            if schema_version(db) > version:      # another process applied it meanwhile
                continue
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
    return target


def read_only_uri(path: str | Path) -> str:
    """A ``mode=ro`` URI for ``path``, quoted (``#``, ``?`` and ``%`` in a file name are not URI syntax)."""
    return "file:" + quote(str(Path(path).resolve()), safe="/") + "?mode=ro"


def busy_timeout() -> float:
    """Seconds a writer waits for another: ``TRIAGE_BUSY_TIMEOUT`` if set, else ``BUSY_TIMEOUT``."""
    try:
        return max(0.0, float(os.environ.get("TRIAGE_BUSY_TIMEOUT", BUSY_TIMEOUT)))
    except ValueError:
        return BUSY_TIMEOUT


# The page cache of a writing connection (SQLite's default is 2 MiB, allocated as pages are used). An import batch
# touches more pages than that (message bodies, their indexes, the search index): with 2 MiB they spill to the WAL
# mid-transaction and are read back, rewritten and spilled again (linux-nilfs: 114k page writes and 65k reads,
# 0.55 s of system time in the importing process); 16 MiB or more: 72k writes, 12k reads, 0.37 s.
WRITER_CACHE_KIB = 32 * 1024


def open_db(path: str | Path, *, read_only: bool = False, migrate_to: int = SCHEMA_VERSION,
            on_wait: Callable[[str], None] | None = None) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) the store at ``path``.

    ``read_only`` opens through a quoted ``mode=ro`` URI with ``query_only`` on, so no statement can write.
    ``on_wait(path)`` is called once when a write transaction has waited ``NOTICE_AFTER`` s for another process.
    """
    import sqlite_utils

    path = Path(path)
    try:
        if read_only:
            if not path.is_file():
                raise StoreError(f"{path}: no such database")
            conn = sqlite3.connect(read_only_uri(path), uri=True, timeout=busy_timeout())
            conn.execute("PRAGMA query_only = ON")
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")      # not a database: say so now
            return sqlite_utils.Database(conn, execute_plugins=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), timeout=busy_timeout())
        # no sqlite-utils plugins: the store uses none, and finding them scans every installed distribution's
        # entry points (20-60 ms of each command)
        db = sqlite_utils.Database(conn, execute_plugins=False)
        if on_wait is not None:
            _ON_WAIT[db] = on_wait
        _journal_wal(db)
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")
        db.execute("PRAGMA foreign_keys = ON")
        migrate(db, migrate_to)
        return db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable database ({exc})") from exc


def _journal_wal(db: sqlite_utils.Database) -> None:
    """WAL mode (kept in the file: a no-op once set). Switching a new store to it needs the file to itself, and
    SQLite fails the switch at once, without its busy handler, while another connection holds the write lock
    (two processes creating one store: the first may be in its first migration); so it is retried for the
    busy timeout, then ``StoreBusy``."""
    deadline = time.monotonic() + busy_timeout()
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise _busy(db, busy_timeout()) from exc
        time.sleep(0.005)


class Reader:
    """The store as the commands that only read it use it (``execute``, ``conn``: what ``sqlite_utils.Database``
    gives them), over a plain sqlite3 connection that refuses writes (``query_only``). Importing sqlite-utils and
    its dependencies is ~30 ms of a command's start-up; the inbox needs none of it."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def execute(self, sql: str, parameters: object = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)


def open_reader(path: str | Path) -> Reader | sqlite_utils.Database:
    """The store at ``path`` for reading: a ``Reader`` when it is at this schema version, else (new, older: it
    must be created or migrated; newer: ``StoreError``) what ``open_db`` gives."""
    path = Path(path)
    if not path.is_file():
        return open_db(path)
    try:
        conn = sqlite3.connect(str(path), timeout=busy_timeout())
        current = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: not a usable database ({exc})") from exc
    if current != SCHEMA_VERSION:
        conn.close()
        return open_db(path)
    conn.execute("PRAGMA query_only = ON")
    return Reader(conn)


def schema_version(db: sqlite_utils.Database) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]
