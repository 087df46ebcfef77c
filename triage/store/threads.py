"""Threads in the store: resolution over stored messages (``thread_id`` / ``parent_id``), the ``threads`` table,
bug links.

The rules follow public-inbox (what lore shows):

1. the parent is the nearest stored message named by ``In-Reply-To`` then ``References`` (last first);
   if none is stored, the named message-id is kept as a "ghost" parent and the thread is rooted at the
   first reference;
2. a reply that lost its headers (``Re:`` subject, no ``In-Reply-To``/``References``) is attached by
   subject: to the latest earlier message with the same subject from someone else (else the latest);
3. a new root whose subject equals an earlier root's joins that thread (public-inbox's loose matching:
   ``[PATCH] foo`` re-sent), without a parent.

Messages are resolved in date order, so it works incrementally: every batch resolves only what it added
(``thread_id IS NULL``), and a message arriving after its replies re-roots them. It runs inside the caller's
transaction (the pipeline's batch), so messages are never stored unthreaded. Threads take the bug of
their messages (a syzbot report, ``Reported-by``, ``Closes:``, a Cc to ``syzbot+EXTID``), and messages
without their own bug inherit the thread's; a report in the thread joins the bug only when it is that bug's
crash (``link_reports``).
"""

from __future__ import annotations

import json
from collections import Counter

import sqlite_utils

from triage.store.messages import base_subject, is_reply_subject, is_syzbot, syzbot_subject_title
from triage.store.schema import transaction

REPLY_FORMS = ("{}", "Re: {}", "RE: {}", "re: {}", "Re: Re: {}", "Aw: {}", "AW: {}")


def _subject_matches(db: sqlite_utils.Database, subject: str, mid: str, date: str | None) -> list[tuple]:
    base = base_subject(subject)
    if not base:
        return []
    forms = [f.format(base) for f in REPLY_FORMS]
    sql = (f"SELECT message_id, thread_id, author_email, date, subject FROM messages "
           f"WHERE subject IN ({','.join('?' * len(forms))}) AND message_id != ? AND thread_id IS NOT NULL")
    args: list = [*forms, mid]
    if date:
        sql += " AND (date IS NULL OR date <= ?)"
        args.append(date)
    return db.conn.execute(sql + " ORDER BY date DESC", args).fetchall()


def _named(mid: str, irt: str | None, refs: list[str]) -> list[str]:
    """The message-ids a message names as its parent, nearest first (In-Reply-To, then References last first)."""
    return list(dict.fromkeys(m for m in ([irt] if irt else []) + refs[::-1] if m and m != mid))


def _pending(row: tuple) -> tuple:
    """A message to resolve (``resolve``'s query) with its references read (JSON) and the ids it names."""
    refs = json.loads(row[2] or "[]")
    return (*row, refs, _named(row[0], row[1], refs))


class _Threads:
    """The ``thread_id`` of every message the pending ones name (None: stored but not resolved yet), read in one
    query per 500 ids and kept equal to the store's as resolution writes it (a resolved message, a re-rooted
    thread); and which pending messages are a thread id of stored messages (``roots``: those a reply that came
    first was rooted at), so that only they are re-rooted with an UPDATE."""

    def __init__(self, db: sqlite_utils.Database, names: set[str], pending: list[str]):
        self.thread: dict[str, str | None] = {}
        self.members: dict[str | None, set[str]] = {}
        self.roots: set[str] = set()
        ids = list(names)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            for mid, tid in db.execute(
                    f"SELECT message_id, thread_id FROM messages WHERE message_id IN ({','.join('?' * len(part))})",
                    part):
                self.thread[mid] = tid
                self.members.setdefault(tid, set()).add(mid)
        for i in range(0, len(pending), 500):
            part = pending[i:i + 500]
            self.roots.update(t for (t,) in db.execute(
                f"SELECT DISTINCT thread_id FROM messages WHERE thread_id IN ({','.join('?' * len(part))})", part))

    def resolved(self, mid: str, thread: str) -> None:
        if mid in self.thread:
            self.members.get(self.thread[mid], set()).discard(mid)
            self.thread[mid] = thread
            self.members.setdefault(thread, set()).add(mid)

    def rerooted(self, old: str, new: str) -> None:
        for mid in self.members.pop(old, set()):
            self.thread[mid] = new
            self.members.setdefault(new, set()).add(mid)


def _resolve_one(db: sqlite_utils.Database, row: tuple, known: _Threads) -> str:
    mid, irt, _, subject, author, date, refs, named = row
    parent = thread = None
    for cand in named:
        if cand in known.thread:
            parent = cand
            thread = known.thread[cand]
            break
    if named and parent is None:
        parent = irt or refs[-1]
        hit = db.conn.execute(
            f"SELECT thread_id FROM messages WHERE thread_id IN ({','.join('?' * len(named))}) LIMIT 1", named
        ).fetchone()
        thread = hit[0] if hit else (refs[0] if refs else parent)
    if not named:
        matches = _subject_matches(db, subject, mid, date)
        if is_reply_subject(subject) and matches:
            others = [m for m in matches if m[2] != author] or matches
            parent, thread = others[0][0], others[0][1]
        else:
            roots = [m for m in matches if not is_reply_subject(m[4])]
            thread = roots[-1][1] if roots else mid
    thread = thread or mid
    db.conn.execute("UPDATE messages SET thread_id = ?, parent_id = ? WHERE message_id = ?", [thread, parent, mid])
    known.resolved(mid, thread)
    if thread != mid and mid in known.roots:   # replies that arrived first were rooted at this message: move them
        db.execute("UPDATE messages SET thread_id = ? WHERE thread_id = ?", [thread, mid])
        known.rerooted(mid, thread)
        known.roots.discard(mid)
    known.roots.add(thread)
    return thread


def resolve(db: sqlite_utils.Database, bug_hints: dict[str, str] | None = None,
            linked: list[int] | None = None) -> int:
    """Resolve every message without a thread; refresh the touched threads. Returns new threads.

    ``bug_hints`` maps a message-id to the bug that linked it (a syzbot discussion link), used when the
    thread's own messages name no bug. ``linked`` collects the reports given a bug (their groups change).
    """
    with transaction(db):
        pending = [_pending(row) for row in db.conn.execute(
            "SELECT message_id, in_reply_to, refs, subject, author_email, date FROM messages "
            "WHERE thread_id IS NULL ORDER BY date IS NULL, date, rowid")]
        known = _Threads(db, {m for row in pending for m in row[-1]}, [row[0] for row in pending])
        touched = {_resolve_one(db, row, known) for row in pending}
        touched |= {row[0] for row in pending}     # ids that stopped being thread roots lose their row
        for mid in bug_hints or {}:
            hit = db.execute("SELECT thread_id FROM messages WHERE message_id = ?", [mid]).fetchone()
            if hit and hit[0]:
                touched.add(hit[0])
        return refresh(db, touched, bug_hints or {}, linked)


def refresh(db: sqlite_utils.Database, thread_ids: set[str], bug_hints: dict[str, str],
            linked: list[int] | None = None) -> int:
    """Rewrite the ``threads`` rows of ``thread_ids`` from their messages (read in one query per 500 threads),
    give their bug to the messages that have none and to the reports that are its crash (``link_reports``;
    their ids are added to ``linked``); returns how many threads are new."""
    tids = sorted(thread_ids)           # one order, whatever the hash seed: links depend on it
    rows_of: dict[str, list[tuple]] = {}
    existing: dict[str, str | None] = {}
    for i in range(0, len(tids), 500):
        part = tids[i:i + 500]
        marks = ",".join("?" * len(part))
        for row in db.execute(f"SELECT thread_id, message_id, subject, list, date, bug_extid FROM messages "
                              f"WHERE thread_id IN ({marks}) ORDER BY date IS NULL, date, rowid", part):
            rows_of.setdefault(row[0], []).append(row[1:])
        existing.update(db.execute(f"SELECT thread_id, bug_extid FROM threads WHERE thread_id IN ({marks})", part))
    new = 0
    gone, rows_out, with_bug = [], [], []
    for tid in tids:
        rows = rows_of.get(tid)
        if not rows:
            if tid in existing:
                gone.append((tid,))
            continue
        root = next((r for r in rows if r[0] == tid), rows[0])
        bugs = Counter(r[4] for r in rows if r[4])
        hinted = next((bug_hints[r[0]] for r in rows if r[0] in bug_hints), None)
        bug = root[4] or (bugs.most_common(1)[0][0] if bugs else None) or hinted or existing.get(tid)
        lists = Counter(r[2] for r in rows if r[2])
        dates = [r[3] for r in rows if r[3]]
        rows_out.append((tid, root[1], lists.most_common(1)[0][0] if lists else None, bug,
                         min(dates) if dates else None, max(dates) if dates else None, len(rows)))
        if bug:
            with_bug.append((bug, tid))
        new += tid not in existing
    db.conn.executemany("DELETE FROM threads WHERE thread_id = ?", gone)
    db.conn.executemany(
        "INSERT INTO threads (thread_id, subject, list, bug_extid, first_date, last_date, n_messages) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT (thread_id) DO UPDATE SET subject = excluded.subject, "
        "list = excluded.list, bug_extid = excluded.bug_extid, first_date = excluded.first_date, "
        "last_date = excluded.last_date, n_messages = excluded.n_messages", rows_out)
    db.conn.executemany("UPDATE messages SET bug_extid = ? WHERE thread_id = ? AND bug_extid IS NULL", with_bug)
    for bug, tid in with_bug:
        got = link_reports(db, tid, bug)
        if linked is not None:
            linked += got
    return new


def link_reports(db: sqlite_utils.Database, thread_id: str, bug: str) -> list[int]:
    """Give the reports of a thread about ``bug`` (or about the bug their own mail names) that bug, when they
    are that bug's crash: syzbot's own mail (its report, its patch-test result), the same title up to syzbot's
    ``(N)`` as the bug or a report already linked to it, or the same foldable signature. Another crash pasted
    in the thread (an e2fsck run, a different splat) stays out of the bug. Returns the reports linked."""
    from vocab.titles import base_title

    rows = db.execute(
        "SELECT r.id, r.title, r.signature_hash, m.author_email, m.bug_extid, m.subject FROM reports r "
        "JOIN messages m ON m.message_id = r.message_id WHERE m.thread_id = ? AND r.bug_extid IS NULL",
        [thread_id]).fetchall()
    linked = []
    crashes: dict[str, tuple[set[str], set[str]]] = {}
    for rid, title, shash, author, own, subject in rows:
        named = base_title(syzbot_subject_title(subject))    # "Re: [syzbot] [fs?] TITLE (2)": syzbot's title
        for cand in dict.fromkeys(c for c in (own, bug) if c):
            if cand not in crashes:
                crashes[cand] = _bug_crash(db, cand)
            titles, hashes = crashes[cand]
            if is_syzbot(author or "") or base_title(title) in titles or base_title(title) == named \
                    or (shash and shash in hashes):
                db.execute("UPDATE reports SET bug_extid = ? WHERE id = ?", [cand, rid])
                linked.append(rid)
                titles.add(base_title(title))
                if shash:
                    hashes.add(shash)
                break
    return linked


def _bug_crash(db: sqlite_utils.Database, bug: str) -> tuple[set[str], set[str]]:
    """What a bug's crash looks like: its titles (syzbot's, and those of the reports linked to it, without
    ``(N)``) and the signatures of those reports."""
    from vocab.titles import base_title

    titles = {base_title(t) for (t,) in db.execute("SELECT title FROM bugs WHERE extid = ?", [bug]) if t}
    hashes = set()
    for title, shash in db.execute("SELECT title, signature_hash FROM reports WHERE bug_extid = ?", [bug]):
        titles.add(base_title(title))
        if shash:
            hashes.add(shash)
    titles.discard("")
    return titles, hashes
