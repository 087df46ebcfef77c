"""``triage show ID``: everything known about one report, as one JSON-able dict and a text view.

The parsed trace with the guilty frame marked, the verdict and its evidence, similar past reports
(same signature, title or guilty frame) with their bug status and fix, the mail thread (who said
what, ``#syz`` commands, patches), the reproducer runs, and links to syzbot and lore.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

import sqlite_utils

from triage.columns import wrap
from triage.inbox import THREAD_LINKS, replies_in, subsystems_of, thread_message_ids_sql
from triage.repro import run_lines, runs_for
from triage.review import ReviewError, group_ids
from triage.status import FIX_SUSPECTED, SOURCES, SUPERSEDED, bug_status
from vocab.lore import message_link
from vocab.titles import UNREAD_FRAME, frameless

SYZBOT = "https://syzkaller.appspot.com"


def _json(value: str | None, default: Any = None) -> Any:
    if not value:
        return default
    try:
        return json.loads(value)
    except ValueError:
        return default


def _rows(db: sqlite_utils.Database, sql: str, params: list | dict) -> list[dict]:
    cur = db.execute(sql, params)
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


MAX_DUPLICATES_LISTED = 10      # duplicates listed a line each (more: their ids on one line)


def lore_link(message_id: str) -> str:
    return message_link(message_id)


def bug_link(extid: str, link: str | None = None) -> str:
    return link or f"{SYZBOT}/bug?extid={extid}"


def _cause(db: sqlite_utils.Database, bugs: list[dict], extid: str | None) -> dict | None:
    """The commit syzbot's cause bisection blames (``hash``, ``title``, ``source``): the synced bug's, else the
    last its own mails give (``messages.syzbot_cause``); None when neither says."""
    from triage.store.messages import is_syzbot, syzbot_cause

    for b in bugs:
        c = b.get("cause_commit")
        if isinstance(c, dict) and (c.get("hash") or c.get("title")):
            return {"hash": c.get("hash") or "", "title": c.get("title") or "", "source": "syzbot"}
    found = None
    if extid and not bugs:
        for author, body in db.execute("SELECT author_email, body FROM messages WHERE bug_extid = ? AND "
                                       "author_email LIKE 'syzbot%' ORDER BY date", [extid]):
            said = syzbot_cause(body) if is_syzbot(author or "") else None
            found = {**said, "source": "its mails"} if said else found
    return found


def details(db: sqlite_utils.Database, report_id: int) -> dict:
    """Everything ``triage show`` prints, as a JSON-able dict."""
    rep = _rows(db, "SELECT r.id, r.title, r.crash_type, r.corrupted, r.kernel, r.guilty_frame, r.guilty_file, "
                    "r.signature, r.signature_hash, r.bug_extid, r.source_kind, r.source, r.message_id, "
                    "r.reported_at, r.parsed, ir.subsystems, ir.repro, bc.crashes AS listed_crashes, "
                    "bc.date AS listed_at FROM reports r JOIN inbox_reports ir ON ir.report_id = r.id "
                    "LEFT JOIN bug_counts bc ON bc.extid = r.bug_extid WHERE r.id = ?", [report_id])
    if not rep:
        raise ReviewError(f"no report with id {report_id}")
    r = rep[0]
    parsed = _json(r.pop("parsed"), {})
    members = group_ids(db, report_id)
    label = _rows(db, "SELECT label, confidence, needs_review, source FROM report_labels WHERE report_id = ?",
                  [report_id])[0]
    verdicts = _rows(db, "SELECT source, label, confidence, needs_review, evidence, classifier_version, created_at "
                         "FROM verdicts WHERE report_id = ? ORDER BY source DESC", [report_id])
    for v in verdicts:
        v["evidence"] = _json(v["evidence"], v["evidence"])
    review = (_rows(db, "SELECT state, snooze_until, seen_at, note, who, updated_at FROM reviews WHERE report_id = ?",
                    [report_id]) or [{"state": "new"}])[0]
    frames = _rows(db, "SELECT stack, pos, function, norm_function, file, line, inline, module FROM frames "
                       "WHERE report_id = ? ORDER BY stack = 'crash' DESC, stack, pos", [report_id])
    for f in frames:
        f["guilty"] = bool(r["guilty_frame"]) and r["guilty_frame"] in (f["function"], f["norm_function"])
    marks = ",".join("?" * len(members))
    bugs_ext = [b for (b,) in db.execute(
        f"SELECT DISTINCT bug_extid FROM reports WHERE id IN ({marks}) AND bug_extid IS NOT NULL", members)]
    mids = [m for (m,) in db.execute(
        f"SELECT DISTINCT message_id FROM reports WHERE id IN ({marks}) AND message_id IS NOT NULL", members)]
    bugs = _rows(db, f"SELECT extid, title, status, subsystems, num_crashes, first_crash, last_crash, repro, "
                     f"fix_commits, cause_commit, discussions, link FROM bugs "
                     f"WHERE extid IN ({','.join('?' * len(bugs_ext))})", bugs_ext) if bugs_ext else []
    for b in bugs:
        for key in ("subsystems", "fix_commits", "cause_commit", "discussions"):
            b[key] = _json(b[key], b[key])
        b["link"] = bug_link(b["extid"], b["link"])
    cond, params = thread_message_ids_sql(bugs_ext, mids)
    thread = _rows(db, f"SELECT message_id, thread_id, parent_id, in_reply_to, refs, date, author_name, "
                       f"author_email, subject, syz_commands, patch_subject, tags, list FROM messages m WHERE {cond} "
                       f"ORDER BY date, message_id", params) if cond != "0" else []
    # (the messages of the report mails' threads are all here: the replies under them are read from these rows)
    replies = replies_in([tuple(m.pop(k) if k in ("in_reply_to", "refs") else m[k] for k in THREAD_LINKS)
                          for m in thread], mids)
    thread, omitted = _about_report(thread, mids, replies)
    for m in thread:
        m["syz_commands"] = _json(m["syz_commands"], [])
        m["tags"] = _json(m["tags"], {})
        m["link"] = lore_link(m["message_id"])
    runs = runs_for(db, members)
    crashes = _rows(db, f"SELECT bug_extid, time, title, kernel, kernel_commit, manager, report_link, log_link, "
                        f"syz_repro_link, c_repro_link, config_link, report_id FROM crashes "
                        f"WHERE bug_extid IN ({','.join('?' * len(bugs_ext))}) ORDER BY time DESC",
                        bugs_ext) if bugs_ext else []
    cause = _cause(db, bugs, r["bug_extid"])
    links = [b["link"] for b in bugs]
    if r["bug_extid"] and not bugs:
        links.append(bug_link(r["bug_extid"]))
    links += [lore_link(m) for m in mids]
    status = bug_status(db, bugs_ext, mids)
    others = [m for m in members if m != report_id]
    dups = _rows(db, f"SELECT r.id, r.title, l.label, l.confidence, l.needs_review, r.reported_at FROM reports r "
                     f"JOIN report_labels l ON l.report_id = r.id WHERE r.id IN ({','.join('?' * len(others))}) "
                     f"ORDER BY r.reported_at, r.id", others) if others else []
    for x in dups:
        x["needs_review"] = bool(x["needs_review"])
    return {
        "report": {**r, "subsystems": subsystems_of(r["subsystems"])},
        "label": label, "verdicts": verdicts, "review": review,
        "status": {"status": status.status, "detail": status.detail, "source": status.source,
                   "date": status.date} if status else None,
        "cause": cause,
        "duplicates": others, "duplicate_reports": dups,
        "frames": frames, "markers": parsed.get("markers", []), "gfp": parsed.get("gfp", []),
        "lockdep": lockdep_summary(parsed.get("report")), "bugs": bugs, "crashes": crashes,
        "similar": similar(db, r, members), "thread": thread, "thread_omitted": omitted, "repro_runs": runs,
        "links": links,
    }


def raw_text(db: sqlite_utils.Database, report_id: int) -> str:
    """The report's stored text (``triage show --raw``)."""
    row = db.execute("SELECT text FROM reports WHERE id = ?", [report_id]).fetchone()
    if row is None:
        raise ReviewError(f"no report with id {report_id}")
    return row[0] or ""


def lockdep_summary(text: str | None) -> str | None:
    """One line for a lockdep report: what was acquired while holding what, and the dependency chain; or the
    inconsistent usage. None when the report names no locks."""
    if not text:
        return None
    from triage.report.stacks import lockdep_locks

    locks = lockdep_locks(text)
    if not locks:
        return None

    def first(role: str) -> dict | None:
        return next((d for d in locks if d.get("role") == role), None)

    def name(d: dict) -> str:
        return str(d.get("lock")) + (f" ({d['at']})" if d.get("at") else "")

    parts = []
    acq, held = first("acquiring"), first("holding")
    if acq and held:
        parts.append(f"acquiring {name(acq)} while holding {name(held)}")
    chain = first("chain-exists")
    links = sorted((d for d in locks if d.get("role") == "chain"), key=lambda d: -int(d.get("link") or 0))
    if chain and chain.get("locks"):
        parts.append("chain " + " --> ".join(map(str, chain["locks"])))
    elif links:
        parts.append("chain " + " --> ".join(str(d.get("lock")) for d in links))
    usage, bad = first("usage"), first("inconsistent")
    if usage:
        parts.append(f"inconsistent {{{usage.get('from')}}} -> {{{usage.get('to')}}} usage"
                     + (f" of {name(bad)}" if bad else ""))
    return "; ".join(parts) or None


def _about_report(thread: list[dict], mids: list[str], replies: list[str]) -> tuple[list[dict], int]:
    """The messages of ``thread`` about the report (its mails ``mids``; ``replies``: those under them): every message
    of a thread a report mail starts; of a thread it was posted inside (a patch series'), the mails it answers (up
    to the thread's start), the report and the replies under it. And how many messages were left out."""
    by_id = {m["message_id"]: m for m in thread}
    inner = [mid for mid in mids if mid in by_id and by_id[mid]["thread_id"] not in (mid, None)]
    whole = {by_id[mid]["thread_id"] for mid in mids if mid in by_id} - {by_id[mid]["thread_id"] for mid in inner}
    keep = {*mids, *replies}
    for mid in inner:
        up = by_id[mid]["parent_id"]
        while up in by_id and up not in keep:
            keep.add(up)
            up = by_id[up]["parent_id"]
    inside = {by_id[mid]["thread_id"] for mid in inner} - whole
    kept = [m for m in thread if m["thread_id"] not in inside or m["message_id"] in keep]
    return kept, len(thread) - len(kept)


def similar(db: sqlite_utils.Database, r: dict, members: list[int], limit: int = 10) -> list[dict]:
    """Past reports outside this group with the same signature, title or guilty frame, one per group. A report whose
    title names no frame (``WARNING in corrupted``: syzkaller read none) is like another only by its signature: its
    title and its frame name no function two reports could share."""
    conds, params = [], []
    named = not frameless(r.get("title")) and r.get("guilty_frame") != UNREAD_FRAME
    for col in ("signature_hash", "title", "guilty_frame") if named else ("signature_hash",):
        if r.get(col):
            conds.append(f"ir.{col} = ?")
            params.append(r[col])
    if not conds:
        return []
    marks = ",".join("?" * len(members))
    rows = _rows(db, f"""
        SELECT ir.report_id AS id, ir.title, ir.label, ir.reported_at, ir.bug_extid, ir.bug_status,
               b.fix_commits, ir.state, ir.dup_key,
               (ir.signature_hash = ?) AS same_signature
        FROM inbox_reports ir LEFT JOIN bugs b ON b.extid = ir.bug_extid
        WHERE ({' OR '.join(conds)}) AND ir.report_id NOT IN ({marks})
        ORDER BY same_signature DESC, ir.reported_at DESC""", [r.get("signature_hash"), *params, *members])
    out, keys = [], set()
    for row in rows:
        if row["dup_key"] in keys:
            continue
        keys.add(row.pop("dup_key"))
        row["fix_commits"] = _json(row["fix_commits"], [])
        row["same_signature"] = bool(row["same_signature"])
        out.append(row)
        if len(out) >= limit:
            break
    return out


def _fix_text(fixes: Any) -> str:
    if not fixes:
        return ""
    if isinstance(fixes, list):
        return "; ".join(str(f.get("title") or f.get("hash") if isinstance(f, dict) else f) for f in fixes)
    return str(fixes)


def render(d: dict, width: int | None = None) -> str:
    """The human view of ``details``: plain text, report-controlled strings printed as data (control
    characters escaped, never markup), lines longer than ``width`` wrapped under their indentation."""
    from triage.termsafe import clean, line

    r, lab, rv = d["report"], d["label"], d["review"]
    conf = f" {lab['confidence']:.2f}" if isinstance(lab.get("confidence"), int | float) else ""
    flags = " needs-review" if lab.get("needs_review") else ""
    out = [
        f"#{r['id']}  {line(r['title'])}",
        f"  label: {lab.get('label') or 'unclassified'}{conf} ({lab.get('source') or 'no verdict'}){flags}",
    ]
    st = d.get("status")
    if st and st["status"] == FIX_SUSPECTED:
        out.append(f"  status: {st['status']}: {line(st['detail'])} (syzbot's fix bisection; if it is right: "
                   f"triage reply {r['id']} --fix {line(shlex.quote(st['detail']))})")
    elif st and st["status"] == SUPERSEDED:
        out.append(f"  status: {st['status']}: {line(st['detail'])} (syzbot ci found this on an older version of "
                   f"the series; it tests each version and mails again what a newer one still shows)")
    elif st:
        when = f", {line(st['date'])[:10]}" if st.get("date") else ""
        out.append(f"  status: {st['status']}" + (f": {line(st['detail'])}" if st.get("detail") else "")
                   + f" (from {SOURCES.get(st['source'], line(st['source']))}{when})")
    if r.get("bug_extid") and not d["bugs"]:          # (a synced bug says so below, from the dashboard)
        said = ([f"reproducer {line(r['repro']) or 'none yet'}"] if r.get("repro") is not None else []) + (
            [f"{r['listed_crashes']} crashes by {line(r['listed_at'])[:10]}"] if r.get("listed_crashes") else [])
        if said:
            out.append(f"  syzbot: {', '.join(said)} (as its mails say)")
    cause = d.get("cause")
    if cause:
        out.append(f"  bisected to: {line(cause['hash'][:12])} (\"{line(cause['title'])}\") (syzbot's cause "
                   f"bisection, as {'the dashboard' if cause['source'] == 'syzbot' else 'its mails'} say)")
    out += [
        f"  type: {r['crash_type'] or '-'}   kernel: {line(r['kernel']) or '-'}   reported: {r['reported_at'] or '-'}",
        f"  subsystems: {', '.join(map(line, r['subsystems'])) or '? (unknown: shown to every subscriber)'}   "
        f"source: {r['source_kind']} {line(r['source'])}",
        f"  review: {rv.get('state')}" + (f", snoozed until {rv['snooze_until']}" if rv.get("snooze_until") else "")
        + (f", last seen {rv['seen_at']}" if rv.get("seen_at") else ""),
    ]
    dups = d.get("duplicate_reports") or []
    if len(dups) > MAX_DUPLICATES_LISTED or not dups:
        if d["duplicates"]:
            out.append(f"  duplicates: {', '.join('#' + str(i) for i in d['duplicates'])}")
    else:       # each with what it is: the line's label may be one member's, its review flag another's
        out.append("  duplicates:")
        for x in dups:
            conf_x = f" {x['confidence']:.2f}" if isinstance(x["confidence"], int | float) else ""
            out.append(f"    #{x['id']}  {x['label'] or 'unclassified'}{conf_x}"
                       f"{' needs-review' if x['needs_review'] else ''}  {(x['reported_at'] or '?')[:10]}  "
                       f"{line(x['title'])}")
    if r["guilty_frame"]:
        out.append(f"  guilty: {line(r['guilty_frame'])} ({line(r['guilty_file']) or '?'})")
    if d.get("lockdep"):
        out.append(f"  lockdep: {line(d['lockdep'])}")
    for v in d["verdicts"]:
        conf_v = f" {v['confidence']:.2f}" if isinstance(v["confidence"], int | float) else ""
        out.append(f"  verdict {v['source']}: {v['label']}{conf_v} [{v['classifier_version'] or '-'}]"
                   f"{' needs-review' if v['needs_review'] else ''}")
        out += [f"      {line(text)}" for text in _verdict_lines(v["evidence"])]
    markers = marker_summary(d["markers"])
    if markers:
        out.append(f"  markers: {line(markers)}")
    gfp = gfp_summary(d["gfp"])
    if gfp:
        out.append(f"  gfp: {line(gfp)}")
    if d["frames"]:
        out.append("")
        out.append("Trace (* = guilty frame):")
        out += _trace_lines(d["frames"])
    for b in d["bugs"]:
        out.append("")
        out.append(f"syzbot bug {b['extid']}: {b['status'] or '?'}, {b['num_crashes'] or '?'} crashes, "
                   f"repro: {b['repro'] or 'none'}  {line(b['link'])}")
        if b["fix_commits"]:
            out.append(f"  fix: {line(_fix_text(b['fix_commits']))}")
        out += _crash_lines([c for c in d.get("crashes", []) if c["bug_extid"] == b["extid"]])
    if d["similar"]:
        out.append("")
        out.append("Similar reports:")
        for s in d["similar"]:
            why = "same signature" if s["same_signature"] else "same title/frame"
            fix = _fix_text(s["fix_commits"])
            out.append(f"  #{s['id']} {s['label']} {line(s['title'])} ({why}; bug {s['bug_status'] or 'none'}"
                       f"{'; fix: ' + line(fix) if fix else ''})")
    if d["thread"]:
        out.append("")
        out.append("Thread:" + (f" (the report's part; {d['thread_omitted']} other messages of it, about the patch "
                                f"series it was posted in: triage mbox {r['id']})" if d.get("thread_omitted") else ""))
        depth: dict[str, int] = {}
        for m in d["thread"]:
            depth[m["message_id"]] = depth.get(m["parent_id"] or "", -1) + 1 if m["parent_id"] in depth else 0
            pad = "  " + "  " * min(depth[m["message_id"]], 6)
            who = m["author_name"] or m["author_email"] or "?"
            out.append(f"{pad}{(m['date'] or '?')[:16]}  {line(who)}: {line(m['subject'])}")
            for c in m["syz_commands"]:
                cmd = c.get("command") if isinstance(c, dict) else c
                args = c.get("args", "") if isinstance(c, dict) else ""
                out.append(f"{pad}    #syz {line(cmd)} {line(args)}".rstrip())
            if m["patch_subject"]:
                out.append(f"{pad}    patch: {line(m['patch_subject'])}")
            for tag, value in (m["tags"] or {}).items() if isinstance(m["tags"], dict) else ():
                text = value if isinstance(value, str) else ", ".join(map(str, value))
                out.append(f"{pad}    {line(tag)}: {line(text)}")
    if d["repro_runs"]:
        out.append("")
        out.append("Reproducer runs (simulator):")
        for run in d["repro_runs"]:
            out.append(f"  {run['created_at']}  {run['scenario']}{'/' + run['variant'] if run['variant'] else ''}"
                       f" seed={run['seed']}: {run['outcome']}")
            out += [f"      {line(text)}" for text in _evidence_lines(run["evidence"])]
            out += [f"      {line(text)}" for text in run_lines(run)]
        console = (d["repro_runs"][0].get("console") or "").rstrip().splitlines()
        if console:
            out.append("  console (last lines of the latest run):")
            out += [f"    | {line(text)}" for text in console[-8:]]
    if d["links"]:
        out.append("")
        out.append("Links:")
        out += [f"  {line(link)}" for link in d["links"]]
    out.append("")
    out.append(f"Next: triage ack {r['id']} | triage mute {r['id']} | triage snooze {r['id']} --until 2w | "
               f"triage label {r['id']} LABEL --note WHY"
               + (f" | triage reply {r['id']} --fix TITLE" if d["bugs"] or r["bug_extid"] else "")
               + (f" | triage mbox {r['id']}" if d["thread"] else ""))
    return wrap(clean("\n".join(out)), width)


def marker_summary(markers: list) -> str:
    """Markers grouped by kind, each once: ``fs_reclaim_lock x5 (holding, chain, chain-exists)``."""
    groups: dict[str, dict] = {}
    for m in markers:
        if isinstance(m, dict):
            kind = str(m.get("kind") or m.get("text") or json.dumps(m, ensure_ascii=False))
            g = groups.setdefault(kind, {"n": 0, "roles": [], "line": m.get("lineno")})
            if m.get("role") and m["role"] not in g["roles"]:
                g["roles"].append(str(m["role"]))
        else:
            g = groups.setdefault(str(m), {"n": 0, "roles": [], "line": None})
        g["n"] += 1
    parts = []
    for kind, g in groups.items():
        text = kind + (f" x{g['n']}" if g["n"] > 1 else "")
        if g["roles"]:
            text += f" ({', '.join(g['roles'])})"
        elif g["n"] == 1 and g["line"]:
            text += f" (line {g['line']})"
        parts.append(text)
    return "; ".join(parts)


def gfp_summary(masks: list) -> str:
    """Each distinct gfp mask once, as the kernel prints it: ``gfp_mask=0x6200ca(GFP_HIGHUSER_MOVABLE)``."""
    seen: list[str] = []
    for g in masks:
        if isinstance(g, dict):
            flags = g.get("flags") or g.get("bits") or []
            names = "|".join(map(str, flags)) if isinstance(flags, list) else str(flags)
            raw = g.get("raw") or g.get("mask") or ""
            text = (f"{g['context']}=" if g.get("context") else "") + f"{raw}({names})" if names else str(raw)
        else:
            text = str(g)
        if text and text not in seen:
            seen.append(text)
    return "; ".join(seen)


def _trace_lines(frames: list[dict]) -> list[str]:
    """Frames per stack; a stack that repeats a run of an earlier one (lockdep's chain link #0 is the crash
    stack itself) is named instead of printed again."""
    stacks: dict[str, list[dict]] = {}
    for f in frames:
        stacks.setdefault(f["stack"], []).append(f)
    out: list[str] = []
    printed: list[tuple[str, list[tuple]]] = []
    for stack, fs in stacks.items():
        key = [(f["function"], f["file"], f["line"]) for f in fs]
        same = next(((name, i) for name, seq in printed if len(key) >= 3
                     for i in range(len(seq) - len(key) + 1) if seq[i:i + len(key)] == key), None)
        if same:
            out.append(f"  [{stack}] = [{same[0]}] from {fs[0]['function']} on ({len(fs)} frames)")
            continue
        printed.append((stack, key))
        out.append(f"  [{stack}]")
        for f in fs:
            loc = f" {f['file']}:{f['line']}" if f["file"] else ""
            out.append(f"   {'*' if f['guilty'] else ' '} {f['function']}{loc}{' (inline)' if f['inline'] else ''}")
    return out


def _crash_lines(crashes: list[dict], limit: int = 10) -> list[str]:
    """syzbot's crash table of a bug: when, which kernel, where, what reproducer, and the links."""
    if not crashes:
        return []
    out = ["  crashes (latest first):"]
    for c in crashes[:limit]:
        repro = "C" if c["c_repro_link"] else "syz" if c["syz_repro_link"] else "-"
        out.append(f"    {(c['time'] or '?')[:16].replace('T', ' ')}  {c['kernel'] or '?'}  "
                   f"{(c['kernel_commit'] or '?')[:12]}  {c['manager'] or '?'}  repro: {repro}")
        links = [(k, c[f"{k}_link"]) for k in ("report", "log", "syz_repro", "c_repro", "config") if c[f"{k}_link"]]
        if links:
            out.append("        " + "  ".join(f"{k.replace('_repro', ' repro')}: {v}" for k, v in links))
    if len(crashes) > limit:
        out.append(f"    ... and {len(crashes) - limit} more")
    return out


def _verdict_lines(ev: Any) -> list[str]:
    """A classifier verdict's evidence as a maintainer reads it: each rule with its sentence and the report
    lines / frames it matched, then the model's probabilities."""
    if not isinstance(ev, dict) or "rules" not in ev:
        return _evidence_lines(ev)
    out = []
    d = ev.get("decisive") or {}
    if d.get("text") and d.get("role") != "context":
        where = f"line {d['line']}" if d.get("line") else "evidence"
        out.append(f"decisive ({d.get('rule')}): {where}: {str(d['text']).strip()}")
    event = ev.get("event") or {}
    if event.get("kind") and not event.get("primary", True):
        crash = event.get("primary_crash") or {}
        out.append(f"about: {event['kind']} at line {event.get('line')}, not the primary crash"
                   + (f" ({crash.get('kind')} at line {crash.get('line')})" if crash else ""))
    if suggested := suggestion_line(ev):
        out.append(suggested)
    for hit in ev.get("rules") or []:
        out.append(f"rule {hit.get('rule')} -> {hit.get('label')} ({hit.get('confidence')}): {hit.get('why', '')}")
        for m in hit.get("matches") or []:
            where = f"line {m['line']}" if m.get("line") else m.get("kind", "")
            out.append(f"    {where:>9}: {str(m.get('text', '')).strip()}")
    model = ev.get("model") or {}
    if model.get("probabilities"):
        probs = sorted(model["probabilities"].items(), key=lambda kv: -kv[1])
        out.append("model: " + ", ".join(f"{k} {v:.2f}" for k, v in probs))
    excluded = ev.get("excluded")
    if isinstance(excluded, dict) and excluded.get("label"):
        out.append(f"model's {excluded['label']}: ruled out by {excluded.get('rule')} (not this label, LABELS.md)")
    for key in ("decided_by", "by", "note"):
        if ev.get(key):
            out.append(f"{key.replace('_', ' ')}: {ev[key]}")
    return out


def suggestion_line(ev: dict) -> str:
    """What the model alone suggests of a classifier verdict (its ``suggestion``: no rule found a line that shows
    it), as a line to review, or ''."""
    sug = ev.get("suggestion") if isinstance(ev, dict) else None
    if not isinstance(sug, dict) or not sug.get("label"):
        return ""
    prob = sug.get("probability")
    return (f"suggestion: {sug['label']}" + (f" ({prob:.2f})" if isinstance(prob, int | float) else "")
            + " from the model alone, no evidence line: review")


def _evidence_lines(ev: Any) -> list[str]:
    """Evidence as ``key: value`` lines (a dict), one line per item (a list), or the text."""
    if ev in (None, "", {}, []):
        return []
    if isinstance(ev, dict):
        return [f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in ev.items()]
    if isinstance(ev, list):
        return [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in ev]
    return [str(ev)]
