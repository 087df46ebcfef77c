"""Stored reports read again by today's parser: what an upgrade of syz-triage brings to a store made before it.

An import parses each text once and skips a mail it has stored already, so a report keeps the parse of the
version that imported it (``reports.parser_version``). ``reparse`` parses the stored text of every report an
older parser read (or of all with ``everything``) and writes what the parse decides in place, in batches (each
parsed outside the write lock, then written in one short transaction):

- the parse's columns (title, crash type, corrupted flag, kernel, guilty frame and file, signature and its hash,
  subsystems, the parsed JSON) and the report's frames; the content hash too, unless another stored report has
  that crash text already (the two stay as they are: nothing is merged or deleted);
- the title as the import gives it: the parser's, or the one its origin gave (syzbot's, on its own mail);
- what follows from the parse: the duplicate groups of the reports and their threads, and the combined verdicts
  (a human label stays, as every review state does: the report keeps its id);
- a report that is a whole syzbot ci mail (imported before each finding of one became its own report,
  ``mail_reports.report_texts``) becomes its first finding, and its other findings are stored as new reports of
  that mail, as an import gives them now. Such reports count as stale whatever parser read them.

A report in whose text the parser finds no crash any more is left as it was and counted (``no_crash``): it may be
a crash its origin titled (a syzbot crash log) or a false report of an older parser; ``triage mute`` hides one. So
is a report of a log too large to keep whole, whose stored text is its crash alone (``partial``): parsed again,
it would lose what the log printed around the crash.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from records.mail import Mail
from triage.mail_reports import MailText, ci_finding_title, report_texts
from triage.report import PARSER_VERSION, parse
from triage.store import transaction
from triage.store.bug_mail import apply_reports as apply_bug_mail
from triage.store.fts import index_new
from triage.store.groups import refresh, settle
from triage.store.messages import CI_INTRO, CI_SUBJECTS, is_ci_mail, syzbot_title
from triage.store.reports import CHUNK, FRAMES_INSERT, PreparedReport, prepare, store_reports
from triage.workers import Job, prepare_job

if TYPE_CHECKING:
    import sqlite_utils

BATCH = 200            # reports parsed, then written in one transaction
Progress = Callable[[str, int | None], None]     # as ``commands.progress.Bar``
# the ``reports`` columns a parse decides (``store.reports.prepare``), but the title and the content hash
PARSE_COLUMNS = ("crash_type", "corrupted", "kernel", "guilty_frame", "guilty_file", "signature", "signature_hash",
                 "subsystems", "parser_version", "parsed")
# the columns a user reads (a report whose parse moves one of these is ``changed``)
SHOWN = ("title", "crash_type", "corrupted", "kernel", "guilty_frame", "guilty_file", "signature", "subsystems")


# A report another parser read: as ranges of the ``parser_version`` index (``IS NOT ?`` would read all of it), so
# that a store of a million current reports answers from a few index pages (``triage import`` asks at each run).
_STALE = "parser_version < ? OR parser_version > ? OR parser_version IS NULL"
# A report that is a whole syzbot ci mail: its mail found by a range of the subject index, the report by its mail
_WHOLE_CI = ("SELECT r.id FROM messages m JOIN reports r ON r.message_id = m.message_id "
             "WHERE m.subject >= ? AND m.subject < ? AND instr(r.text, ?) > 0")
_CI_RANGE = [*CI_SUBJECTS, CI_INTRO]


def stale_ids(db: sqlite_utils.Database, everything: bool = False) -> list[int]:
    """The reports an older parser read and those that are a whole syzbot ci mail (all of them with
    ``everything``), in id order."""
    if everything:
        return [r for (r,) in db.execute("SELECT id FROM reports ORDER BY id")]
    return sorted({r for (r,) in db.execute(f"SELECT id FROM reports WHERE {_STALE} UNION {_WHOLE_CI}",
                                             [PARSER_VERSION] * 2 + _CI_RANGE)})


def stale_count(db: sqlite_utils.Database) -> int:
    """How many reports ``stale_ids`` gives."""
    return db.execute(f"SELECT COUNT(*) FROM (SELECT id FROM reports WHERE {_STALE} UNION {_WHOLE_CI})",
                      [PARSER_VERSION] * 2 + _CI_RANGE).fetchone()[0]


class _Row(NamedTuple):
    """A stored report to parse again, with what its origin says."""

    rid: int
    text: str
    origin: str | None              # the title its origin gave it (syzbot's, syzbot ci's)
    kind: str
    location: str
    mid: str | None
    when: str | None
    bug: str | None
    past: bool                      # its parse read past its stored text (``_read_past``)
    cut: bool = False               # the row is the first finding cut from a whole syzbot ci mail
    repro: str | None = None        # that finding's reproducer
    more: tuple[MailText, ...] = ()     # the other findings of that mail, to store as new reports


def _read(db: sqlite_utils.Database, ids: Sequence[int]) -> list[_Row]:
    """The reports' rows, each with the title its origin gave it (syzbot's, on its own mail), as the import did;
    a whole syzbot ci mail cut into its findings as the import does now (``report_texts``)."""
    rows: list[_Row] = []
    for i in range(0, len(ids), CHUNK):
        part = list(ids[i:i + CHUNK])
        for rid, text, parsed, kind, location, mid, when, bug, subject, author in db.execute(
                "SELECT r.id, r.text, r.parsed, r.source_kind, r.source, r.message_id, r.reported_at, r.bug_extid, "
                "m.subject, m.author_email FROM reports r LEFT JOIN messages m ON m.message_id = r.message_id "
                f"WHERE r.id IN ({','.join('?' * len(part))}) ORDER BY r.id", part):
            text = text or ""
            if mid and is_ci_mail(subject, author) and CI_INTRO in text:
                found = report_texts(Mail(mid, subject or "", author_email=author or "", body=text))
                if found:
                    first, *more = found
                    rows.append(_Row(rid, first.text, first.title, kind, location, mid, when, bug, False, True,
                                     first.repro, tuple(more)))
                    continue
            # (a mail's report text is its body, as the import parsed it: what syzbot_title reads of a reply)
            origin = (syzbot_title(Mail(mid, subject or "", author_email=author or "", body=text))
                      or ci_finding_title(subject, author, text)) if mid else None
            rows.append(_Row(rid, text, origin, kind, location, mid, when, bug, _read_past(parsed, text)))
    return rows


def _read_past(parsed: str | None, text: str) -> bool:
    """Whether the stored parse read lines past the end of the stored text: the input was a log too large to keep
    (``store.reports.MAX_STORED_TEXT``) and the text is its crash alone; parsed again, the lines around the crash
    (a fault injection before it, the I/O errors after it) would be lost."""
    try:
        data = json.loads(parsed or "")
    except ValueError:
        return False
    if not isinstance(data, dict):
        return False
    last = text.count("\n") + 1
    items = [data.get("crash"), *(item for key in ("events", "markers", "trace") for item in data.get(key) or [])]
    return any(isinstance(d, dict) and isinstance(d.get("lineno"), int) and d["lineno"] > last for d in items)


class _Parse(NamedTuple):
    """A stored report parsed again, as what to write."""

    rid: int
    content_hash: str
    columns: dict            # ``PARSE_COLUMNS`` and the title
    frames: list[tuple]      # its ``frames`` rows
    text: str


@dataclass
class _Left:
    """The reports of a batch left as they were, by why."""

    no_crash: list[int] = field(default_factory=list)    # the parser finds no crash in the text now
    partial: list[int] = field(default_factory=list)     # the text is a part of what was parsed (``_read_past``)
    errors: list[str] = field(default_factory=list)      # the parser failed: one line each, naming the report


def _parsed(rows: list[_Row], progress: Progress | None = None) -> tuple[list[_Parse], _Left, list[PreparedReport]]:
    """Each row parsed again, those left as they are, and the new reports of the other findings of the whole
    syzbot ci mails among them."""
    out, left, added = [], _Left(), []
    for row in rows:
        rid, text = row.rid, row.text
        if progress is not None:
            progress("", None)
        if row.past:
            left.partial.append(rid)
            continue
        try:
            rep = parse(text)
        except Exception as exc:  # a parser bug must not stop the others: named, and the report left as it was
            left.errors.append(f"report {rid}: could not parse ({type(exc).__name__}: {exc})")
            continue
        if rep.display_title is None:
            left.no_crash.append(rid)
            continue
        where = {"kind": row.kind, "location": row.location, "message_id": row.mid, "reported_at": row.when,
                 "bug_extid": row.bug}
        new = prepare(rep, **where, full_text=text, title=row.origin, repro=row.repro)
        cols = {c: new.row[c] for c in PARSE_COLUMNS}
        cols["title"] = new.row["title"]
        if row.cut:         # from a whole ci mail: the finding's text and reproducer replace the mail's
            cols["text"], cols["repro"] = new.row["text"], row.repro
        out.append(_Parse(rid, new.content_hash, cols, [(rid, *f) for f in new.frames], text))
        for finding in row.more:        # (as the import prepares a finding)
            got = prepare_job(Job(finding.text, row.kind, row.location, row.mid, row.when, row.bug,
                                  stored_title=finding.title, repro=finding.repro))
            if isinstance(got, str):
                left.errors.append(f"report {rid}, a finding of its ci mail: {got}")
            elif got is not None:
                added.append(got)
    return out, left, added


def _write(db: sqlite_utils.Database, parsed: list[_Parse]) -> int:
    """Write a batch's parses (inside the caller's transaction); how many content hashes were kept because another
    report holds the new one."""
    kept = 0
    for rid, chash, cols, frames, _ in parsed:
        other = db.execute("SELECT id FROM reports WHERE content_hash = ? AND id != ?", [chash, rid]).fetchone()
        if other is not None:
            chash = db.execute("SELECT content_hash FROM reports WHERE id = ?", [rid]).fetchone()[0]
            kept += 1
        values = {"content_hash": chash, **cols}
        db.execute(f"UPDATE reports SET {', '.join(f'{c} = ?' for c in values)} WHERE id = ?",
                   [*values.values(), rid])
        db.execute("DELETE FROM frames WHERE report_id = ?", [rid])
        db.conn.executemany(FRAMES_INSERT, frames)
    return kept


def _shown(db: sqlite_utils.Database, ids: list[int]) -> dict[int, tuple]:
    """The columns a user reads (``SHOWN``) of the reports ``ids``."""
    out: dict[int, tuple] = {}
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        for rid, *values in db.execute(f"SELECT id, {', '.join(SHOWN)} FROM reports "
                                       f"WHERE id IN ({','.join('?' * len(part))})", part):
            out[rid] = tuple(values)
    return out


def reparse(db: sqlite_utils.Database, everything: bool = False, classify: bool = True,
            classifier: Any = None, progress: Progress | None = None) -> dict[str, Any]:
    """Parse again the reports an older parser read (all with ``everything``) and write the results in place
    (module doc). Returns the counts: ``reparsed``, ``changed`` (a column moved), ``no_crash`` and ``partial``
    (left as they were), ``hash_kept``, ``reclassified``; the ``errors`` (a line per report the parser failed on,
    left as it was) and the ``parser_version``. ``progress``: told the number
    of reports first (``progress("re-parsing", n)``), then each one (``progress("", None)``)."""
    from triage.classify_store import load_classifier, verdicts_for, write_verdicts
    from triage.store import now
    from triage.store.verdicts import verdict_row

    ids = stale_ids(db, everything)
    clf = load_classifier(classifier) if classify and ids else None
    if progress is not None and ids:
        progress("re-parsing", len(ids))
    counts = {"reparsed": 0, "changed": 0, "no_crash": 0, "partial": 0, "hash_kept": 0, "reclassified": 0,
              "findings_added": 0}
    errors: list[str] = []
    for start in range(0, len(ids), BATCH):
        parsed, left, added = _parsed(_read(db, ids[start:start + BATCH]), progress)
        done = [p.rid for p in parsed]
        verdicts, found_new = [], []
        if clf is not None and done:     # the combined verdicts of the new parses (a human label is another row)
            stamp = now()
            found = verdicts_for([(p.text, p.columns["parsed"]) for p in parsed], clf)
            verdicts = [verdict_row(p.rid, v, stamp) for p, v in zip(parsed, found, strict=True)]
            found_new = verdicts_for([(a.row["text"], a.row["parsed"]) for a in added], clf) if added else []
        with transaction(db):
            mark = ("INSERT OR IGNORE INTO dirty_groups SELECT COALESCE(dup_key, 'report:' || id) FROM reports "
                    f"WHERE id IN ({','.join('?' * len(done))})")
            if done:        # their groups' rows (subsystems, labels) computed again; a key refresh moves is marked
                db.execute(mark, done)      # by its trigger (old and new)
            before = _shown(db, done)
            kept = _write(db, parsed)
            stored = store_reports(db, added)
            new_ids = [rid for rid, new in stored if new]
            if found_new:       # (the new findings' verdicts: not counted as re-classified)
                stamp = now()
                write_verdicts(db, [verdict_row(rid, v, stamp) for (rid, new), v in zip(stored, found_new, strict=True)
                                    if new])
            index_new(db)
            refresh(db, done + new_ids)
            apply_bug_mail(db, done + new_ids)   # a syzbot bug's reports: the subsystems its mails say, not the parse's
            settle(db)
            counts["reclassified"] += write_verdicts(db, verdicts)
            # (read after the bug mails had their say: subsystems a bug's mails set are not a change of the parse)
            changed = sum(before[rid] != after for rid, after in _shown(db, done).items())
        counts["findings_added"] += len(new_ids)
        counts["reparsed"] += len(done)
        counts["changed"] += changed
        counts["hash_kept"] += kept
        counts["no_crash"] += len(left.no_crash)
        counts["partial"] += len(left.partial)
        errors += left.errors
    return {**counts, "errors": errors, "parser_version": PARSER_VERSION}
