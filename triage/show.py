"""``triage show ID``: everything known about one report, as one JSON-able dict and a text view.

The parsed trace with the guilty frame marked, the verdict and its evidence, similar past reports
(same signature, title or guilty frame) with their bug status and fix, the mail thread (who said
what, ``#syz`` commands, patches), the reproducer runs, and links to syzbot and lore.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from triage.inbox import subsystems_of, thread_message_ids_sql
from triage.repro import run_lines, runs_for
from triage.review import ReviewError, group_ids

SYZBOT = "https://syzkaller.appspot.com"
LORE = "https://lore.kernel.org/all"


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


def lore_link(message_id: str) -> str:
    return f"{LORE}/{message_id.strip('<>')}/"


def bug_link(extid: str, link: str | None = None) -> str:
    return link or f"{SYZBOT}/bug?extid={extid}"


def details(db: sqlite_utils.Database, report_id: int) -> dict:
    """Everything ``triage show`` prints, as a JSON-able dict."""
    rep = _rows(db, "SELECT id, title, crash_type, corrupted, kernel, guilty_frame, guilty_file, signature, "
                    "signature_hash, bug_extid, source_kind, source, message_id, reported_at, parsed "
                    "FROM reports WHERE id = ?", [report_id])
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
    thread = _rows(db, f"SELECT message_id, thread_id, parent_id, date, author_name, author_email, subject, "
                       f"syz_commands, patch_subject, tags, list FROM messages m WHERE {cond} "
                       f"ORDER BY date, message_id", params) if cond != "0" else []
    for m in thread:
        m["syz_commands"] = _json(m["syz_commands"], [])
        m["tags"] = _json(m["tags"], {})
        m["link"] = lore_link(m["message_id"])
    runs = runs_for(db, members)
    links = [b["link"] for b in bugs]
    if r["bug_extid"] and not bugs:
        links.append(bug_link(r["bug_extid"]))
    links += [lore_link(m) for m in mids]
    return {
        "report": {**r, "subsystems": subsystems_of(json.dumps(bugs[0]["subsystems"]) if bugs else None,
                                                    r["guilty_file"])},
        "label": label, "verdicts": verdicts, "review": review,
        "duplicates": [m for m in members if m != report_id],
        "frames": frames, "markers": parsed.get("markers", []), "gfp": parsed.get("gfp", []),
        "bugs": bugs, "similar": similar(db, r, members), "thread": thread, "repro_runs": runs, "links": links,
    }


def similar(db: sqlite_utils.Database, r: dict, members: list[int], limit: int = 10) -> list[dict]:
    """Past reports outside this group with the same signature, title or guilty frame, one per group."""
    conds, params = [], []
    for col in ("signature_hash", "title", "guilty_frame"):
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


def render(d: dict) -> str:
    """The human view of ``details``: plain text, report-controlled strings printed as-is (never markup)."""
    r, lab, rv = d["report"], d["label"], d["review"]
    conf = f" {lab['confidence']:.2f}" if isinstance(lab.get("confidence"), int | float) else ""
    flags = " needs-review" if lab.get("needs_review") else ""
    out = [
        f"#{r['id']}  {r['title']}",
        f"  label: {lab.get('label') or 'unclassified'}{conf} ({lab.get('source') or 'no verdict'}){flags}",
        f"  type: {r['crash_type'] or '-'}   kernel: {r['kernel'] or '-'}   reported: {r['reported_at'] or '-'}",
        f"  subsystems: {', '.join(r['subsystems']) or '-'}   source: {r['source_kind']} {r['source']}",
        f"  review: {rv.get('state')}" + (f", snoozed until {rv['snooze_until']}" if rv.get("snooze_until") else "")
        + (f", last seen {rv['seen_at']}" if rv.get("seen_at") else ""),
    ]
    if d["duplicates"]:
        out.append(f"  duplicates: {', '.join('#' + str(i) for i in d['duplicates'])}")
    if r["guilty_frame"]:
        out.append(f"  guilty: {r['guilty_frame']} ({r['guilty_file'] or '?'})")
    for v in d["verdicts"]:
        conf_v = f" {v['confidence']:.2f}" if isinstance(v["confidence"], int | float) else ""
        out.append(f"  verdict {v['source']}: {v['label']}{conf_v} [{v['classifier_version'] or '-'}]"
                   f"{' needs-review' if v['needs_review'] else ''}")
        out += [f"      {line}" for line in _verdict_lines(v["evidence"])]
    notes = [m.get("text") or m.get("kind") or json.dumps(m, ensure_ascii=False) if isinstance(m, dict) else str(m)
             for m in d["markers"]]
    if notes:
        out.append(f"  markers: {'; '.join(notes)}")
    gfp = [g.get("flags") or g.get("text") or g.get("mask") if isinstance(g, dict) else str(g) for g in d["gfp"]]
    if any(gfp):
        out.append(f"  gfp: {'; '.join(str(g) for g in gfp if g)}")
    if d["frames"]:
        out.append("")
        out.append("Trace (* = guilty frame):")
        stack = None
        for f in d["frames"]:
            if f["stack"] != stack:
                stack = f["stack"]
                out.append(f"  [{stack}]")
            loc = f" {f['file']}:{f['line']}" if f["file"] else ""
            out.append(f"   {'*' if f['guilty'] else ' '} {f['function']}{loc}{' (inline)' if f['inline'] else ''}")
    for b in d["bugs"]:
        out.append("")
        out.append(f"syzbot bug {b['extid']}: {b['status'] or '?'}, {b['num_crashes'] or '?'} crashes, "
                   f"repro: {b['repro'] or 'none'}  {b['link']}")
        if b["fix_commits"]:
            out.append(f"  fix: {_fix_text(b['fix_commits'])}")
    if d["similar"]:
        out.append("")
        out.append("Similar reports:")
        for s in d["similar"]:
            why = "same signature" if s["same_signature"] else "same title/frame"
            fix = _fix_text(s["fix_commits"])
            out.append(f"  #{s['id']} {s['label']} {s['title']} ({why}; bug {s['bug_status'] or 'none'}"
                       f"{'; fix: ' + fix if fix else ''})")
    if d["thread"]:
        out.append("")
        out.append("Thread:")
        depth: dict[str, int] = {}
        for m in d["thread"]:
            depth[m["message_id"]] = depth.get(m["parent_id"] or "", -1) + 1 if m["parent_id"] in depth else 0
            pad = "  " + "  " * min(depth[m["message_id"]], 6)
            who = m["author_name"] or m["author_email"] or "?"
            out.append(f"{pad}{(m['date'] or '?')[:16]}  {who}: {m['subject'] or ''}")
            for c in m["syz_commands"]:
                cmd = c.get("command") if isinstance(c, dict) else c
                args = c.get("args", "") if isinstance(c, dict) else ""
                out.append(f"{pad}    #syz {cmd} {args}".rstrip())
            if m["patch_subject"]:
                out.append(f"{pad}    patch: {m['patch_subject']}")
            for tag, value in (m["tags"] or {}).items() if isinstance(m["tags"], dict) else ():
                out.append(f"{pad}    {tag}: {value if isinstance(value, str) else ', '.join(map(str, value))}")
    if d["repro_runs"]:
        out.append("")
        out.append("Reproducer runs (simulator):")
        for run in d["repro_runs"]:
            out.append(f"  {run['created_at']}  {run['scenario']}{'/' + run['variant'] if run['variant'] else ''}"
                       f" seed={run['seed']}: {run['outcome']}")
            out += [f"      {line}" for line in _evidence_lines(run["evidence"])]
            out += [f"      {line}" for line in run_lines(run)]
        console = (d["repro_runs"][0].get("console") or "").rstrip().splitlines()
        if console:
            out.append("  console (last lines of the latest run):")
            out += [f"    | {line}" for line in console[-8:]]
    if d["links"]:
        out.append("")
        out.append("Links:")
        out += [f"  {link}" for link in d["links"]]
    out.append("")
    out.append(f"Next: triage ack {r['id']} | triage mute {r['id']} | triage snooze {r['id']} --until 2w | "
               f"triage label {r['id']} LABEL --note WHY")
    return "\n".join(out)


def _verdict_lines(ev: Any) -> list[str]:
    """A classifier verdict's evidence as a maintainer reads it: each rule with its sentence and the report
    lines / frames it matched, then the model's probabilities."""
    if not isinstance(ev, dict) or "rules" not in ev:
        return _evidence_lines(ev)
    out = []
    for hit in ev.get("rules") or []:
        out.append(f"rule {hit.get('rule')} -> {hit.get('label')} ({hit.get('confidence')}): {hit.get('why', '')}")
        for m in hit.get("matches") or []:
            where = f"line {m['line']}" if m.get("line") else m.get("kind", "")
            out.append(f"    {where:>9}: {str(m.get('text', '')).strip()}")
    model = ev.get("model") or {}
    if model.get("probabilities"):
        probs = sorted(model["probabilities"].items(), key=lambda kv: -kv[1])
        out.append("model: " + ", ".join(f"{k} {v:.2f}" for k, v in probs))
    for key in ("decided_by", "by", "note"):
        if ev.get(key):
            out.append(f"{key.replace('_', ' ')}: {ev[key]}")
    return out


def _evidence_lines(ev: Any) -> list[str]:
    """Evidence as ``key: value`` lines (a dict), one line per item (a list), or the text."""
    if ev in (None, "", {}, []):
        return []
    if isinstance(ev, dict):
        return [f"{k}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}" for k, v in ev.items()]
    if isinstance(ev, list):
        return [x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in ev]
    return [str(ev)]
