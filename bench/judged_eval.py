"""Score a store made by any version of the tool against the hand judgements of its list (tests/judged/).

    python bench/judged_eval.py ARCHIVE_DB [JUDGED.jsonl] [--json]   # default JUDGED: tests/judged/<db's name>.jsonl
    python bench/judged_eval.py --all [--work DIR] [--json]          # the three archives (imported when absent)
    python bench/judged_eval.py --sample [--json]                    # the held-out syzbot sample (classify --json)

A mail's predicted label is the effective label (``report_labels``) of the report stored from it (the first one,
by id, when a mail gave several), or of the report it is a source of (a reply re-pasting a crash stored already);
a mail without a report is predicted ``not-a-report``. It prints
- per consequence label: precision / recall over the judged mails (with the counts behind them);
- the judged ``not-a-report`` mails that became reports (listed) and the judged reports that did not;
- judged reports whose stored title disagrees with the judged one (up to whitespace and a ``(N)`` suffix);
- how the store's verdicts were decided (``verdicts.evidence``: by a rule, by the model alone, by the model with an
  agreeing weak rule, by default, by a human) and the share flagged ``needs_review``, for all verdicts and for the
  consequence verdicts;
- the top of the inbox: for each of the first 30 lines of ``triage inbox --json``, whether the mail of its first
  (earliest) report is judged, and if so whether the line is right (a report, same label, same title).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from judged_archives import (  # noqa: E402
    INBOX_TOP,
    LISTS,
    NOT_A_REPORT,
    SAMPLE,
    SAMPLE_DIR,
    classify_files,
    connect,
    ensure_db,
    first_report,
    inbox_top,
    judged_path,
    list_name,
    load_judged,
    load_sample_judged,
    printable,
    report_mail,
    same_title,
)

from vocab.labels import CONSEQUENCE_LABELS  # noqa: E402

UNCLASSIFIED = "(unclassified)"


def predictions(con, mids: set[str]) -> dict[str, dict]:
    """message-id -> {report_id, label, title, reports} for the judged mails the store made a report of."""
    out: dict[str, dict] = {}
    # a mail whose crash was stored already (a reply re-pasting it) is a source of that report
    rows = con.execute("SELECT s.message_id, r.id, r.title, l.label FROM sources s "
                       "JOIN reports r ON r.id = s.report_id LEFT JOIN report_labels l ON l.report_id = r.id "
                       "WHERE s.message_id IS NOT NULL ORDER BY s.message_id = r.message_id DESC, r.id")
    for mid, rid, title, label in rows:
        if mid not in mids:
            continue
        if mid in out:
            out[mid]["reports"] += 1
            continue
        out[mid] = {"report_id": rid, "title": title, "label": label or UNCLASSIFIED, "reports": 1}
    return out


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def label_scores(truth: dict[str, str], pred: dict[str, str]) -> dict[str, dict]:
    scores = {}
    for lab in CONSEQUENCE_LABELS:
        tp = sum(truth[m] == lab and pred[m] == lab for m in truth)
        npred = sum(pred[m] == lab for m in truth)
        ntrue = sum(truth[m] == lab for m in truth)
        scores[lab] = {"tp": tp, "predicted": npred, "judged": ntrue,
                       "precision": ratio(tp, npred), "recall": ratio(tp, ntrue)}
    return scores


def decided(evidence: str | dict | None, label: str, source: str) -> str:
    """How one verdict was decided: rule | model-alone | model+rule | suggestion | default | human | unknown."""
    if source == "human":
        return "human"
    try:
        ev = evidence if isinstance(evidence, dict) else json.loads(evidence or "{}")
    except json.JSONDecodeError:
        return "unknown"
    by = ev.get("decided_by")
    if by == "suggestion":
        return "suggestion"
    if by == "model":
        agreeing = [r for r in ev.get("rules") or [] if isinstance(r, dict) and r.get("label") == label]
        return "model+rule" if agreeing else "model-alone"
    return by if by in ("rule", "default", "human") else "unknown"


def verdict_shares(con) -> dict[str, dict]:
    rows = con.execute("SELECT l.label, l.needs_review, l.source, c.evidence FROM report_labels l "
                       "LEFT JOIN verdicts c ON c.report_id = l.report_id AND c.source = 'combined' "
                       "WHERE l.label IS NOT NULL").fetchall()
    out = {}
    for scope, keep in (("all", lambda lab: True), ("consequence", lambda lab: lab in CONSEQUENCE_LABELS)):
        sel = [r for r in rows if keep(r[0])]
        by = Counter(decided(ev, lab, src) for lab, _, src, ev in sel)
        out[scope] = {"verdicts": len(sel), "needs_review": sum(bool(r[1]) for r in sel),
                      "decided_by": dict(by.most_common())}
    return out


def inbox_check(db: Path, con, judged: dict[str, dict], limit: int = INBOX_TOP) -> list[dict]:
    lines = []
    for rank, line in enumerate(inbox_top(db, limit), 1):
        rid = first_report(con, line)
        mid = report_mail(con, rid)
        j = judged.get(mid) if mid else None
        row = {"rank": rank, "report_id": rid, "message_id": mid, "representative_message_id":
               report_mail(con, int(line["id"])), "label": line.get("label"),
               "title": line.get("title"), "judged": j is not None, "right": None, "problems": []}
        if j is not None:
            if j["label"] == NOT_A_REPORT:
                row["problems"].append("not a report")
            else:
                if line.get("label") != j["label"]:
                    row["problems"].append(f"label {line.get('label')} != judged {j['label']}")
                if not same_title(line.get("title"), j["title"]):
                    row["problems"].append(f"title != judged {j['title']!r}")
            row["right"] = not row["problems"]
        lines.append(row)
    return lines


def evaluate(db: Path, judged_file: Path, original_only: bool = False) -> dict:
    judged = load_judged(judged_file)
    if not judged:
        sys.exit(f"{judged_file}: no judgements")
    names = {j.get("list") for j in judged.values()}
    if len(names) != 1:
        sys.exit(f"{judged_file}: judgements of several lists ({', '.join(sorted(map(str, names)))})")
    name = names.pop()
    scored = {m: j for m, j in judged.items() if j.get("original", True) or not original_only}
    con = connect(db)
    pred = predictions(con, set(scored))
    truth = {m: j["label"] for m, j in scored.items()}
    plabel = {m: pred[m]["label"] if m in pred else NOT_A_REPORT for m in scored}
    false_reports = [{"message_id": m, "report_id": pred[m]["report_id"], "title": pred[m]["title"],
                      "label": pred[m]["label"]} for m in sorted(scored) if truth[m] == NOT_A_REPORT and m in pred]
    missed = [m for m in sorted(scored) if truth[m] != NOT_A_REPORT and m not in pred]
    titles = [{"message_id": m, "title": pred[m]["title"], "judged": scored[m]["title"]} for m in sorted(scored)
              if truth[m] != NOT_A_REPORT and m in pred and not same_title(pred[m]["title"], scored[m]["title"])]
    top = inbox_check(db, con, judged)
    judged_reports = sum(t != NOT_A_REPORT for t in truth.values())
    result = {
        "list": name, "db": str(db), "judged": len(scored), "judged_reports": judged_reports,
        "judged_labels": dict(Counter(truth.values()).most_common()),
        "reports_made": len(pred), "several_reports": sum(p["reports"] > 1 for p in pred.values()),
        "labels": label_scores(truth, plabel),
        "not_a_report_as_report": false_reports, "reports_missed": missed,
        "title_agreement": {"compared": judged_reports - len(missed), "disagree": len(titles)},
        "title_disagreements": titles,
        "verdicts": verdict_shares(con),
        "inbox_top": {"lines": len(top), "judged": sum(r["judged"] for r in top),
                      "right": sum(bool(r["right"]) for r in top),
                      "unjudged": [r["message_id"] for r in top if not r["judged"]]},
        "inbox_lines": top,
    }
    con.close()
    return result


def total(results: list[dict]) -> dict:
    labels = {}
    for lab in CONSEQUENCE_LABELS:
        tp, npred, ntrue = (sum(r["labels"][lab][k] for r in results) for k in ("tp", "predicted", "judged"))
        labels[lab] = {"tp": tp, "predicted": npred, "judged": ntrue, "precision": ratio(tp, npred),
                       "recall": ratio(tp, ntrue)}
    return {"list": "all", "judged": sum(r["judged"] for r in results), "labels": labels,
            "judged_reports": sum(r["judged_reports"] for r in results),
            "not_a_report_as_report": sum(len(r["not_a_report_as_report"]) for r in results),
            "reports_missed": sum(len(r["reports_missed"]) for r in results),
            "title_disagree": sum(r["title_agreement"]["disagree"] for r in results),
            "title_compared": sum(r["title_agreement"]["compared"] for r in results),
            "inbox_right": sum(r["inbox_top"]["right"] for r in results),
            "inbox_judged": sum(r["inbox_top"]["judged"] for r in results),
            "inbox_lines": sum(r["inbox_top"]["lines"] for r in results)}


def fmt(x: float | None) -> str:
    return "  -  " if x is None else f"{x:.2f}"


def pct(a: int, b: int) -> str:
    return f"{a}/{b} ({100 * a / b:.0f}%)" if b else "0/0"


def print_table(results: list[dict], verbose: bool) -> None:
    rows = [*results, total(results)] if len(results) > 1 else results
    head = "".join(f" {lab:<20.20s}" for lab in CONSEQUENCE_LABELS)
    print(f"{'list':15s} {'judged':>6s}{head} {'nar->rep':>8s} {'missed':>6s} {'title!=':>9s}  top30 ok")
    print(f"{'':15s} {'':6s}" + "".join(f" {'P':>5s} {'R':>5s} {'tp/p/j':<8s}" for _ in CONSEQUENCE_LABELS))
    for r in rows:
        cells = "".join(f" {fmt(s['precision']):>5s} {fmt(s['recall']):>5s} "
                        f"{str(s['tp']) + '/' + str(s['predicted']) + '/' + str(s['judged']):<8s}"
                        for s in r["labels"].values())
        if r["list"] == "all":
            nar, missed = r["not_a_report_as_report"], r["reports_missed"]
            tdis, tcmp = r["title_disagree"], r["title_compared"]
            ok, nj, nl = r["inbox_right"], r["inbox_judged"], r["inbox_lines"]
        else:
            nar, missed = len(r["not_a_report_as_report"]), len(r["reports_missed"])
            tdis, tcmp = r["title_agreement"]["disagree"], r["title_agreement"]["compared"]
            ok, nj, nl = r["inbox_top"]["right"], r["inbox_top"]["judged"], r["inbox_top"]["lines"]
        print(f"{r['list']:15s} {r['judged']:6d}{cells} {nar:8d} {missed:6d} {tdis:>4d}/{tcmp:<4d}  "
              f"{ok:>2d}/{nl}{'' if nj == nl else f' ({nl - nj} unjudged)'}")
    print("(P precision, R recall, tp/p/j = right / predicted / judged; nar->rep: judged not-a-report mails that became"
          " reports; missed: judged reports with no report; title!=: stored titles that disagree / compared)")
    print()
    print(f"{'verdicts':15s} {'scope':12s} {'n':>5s} {'rule':>6s} {'model':>6s} {'mod+rul':>7s} {'default':>7s} "
          f"{'human':>6s} {'review':>6s}")
    for r in results:
        for scope, v in r["verdicts"].items():
            n = v["verdicts"] or 1
            by = v["decided_by"]
            print(f"{r['list']:15s} {scope:12s} {v['verdicts']:5d} {by.get('rule', 0) / n:6.0%} "
                  f"{by.get('model-alone', 0) / n:6.0%} {by.get('model+rule', 0) / n:7.0%} "
                  f"{by.get('default', 0) / n:7.0%} {by.get('human', 0) / n:6.0%} {v['needs_review'] / n:6.0%}")
    for r in results:
        print(f"\n{r['list']}: judged {r['judged']} ({', '.join(f'{k} {v}' for k, v in r['judged_labels'].items())})")
        shown = r["not_a_report_as_report"] if verbose else r["not_a_report_as_report"][:15]
        if r["not_a_report_as_report"]:
            print(f"  not-a-report mails made reports ({len(r['not_a_report_as_report'])}):")
            for f in shown:
                print(f"    {printable(f['message_id'])}  [{f['label']}] {printable(f['title'])}")
            if len(shown) < len(r["not_a_report_as_report"]):
                print(f"    ... {len(r['not_a_report_as_report']) - len(shown)} more (--verbose)")
        tshown = r["title_disagreements"] if verbose else r["title_disagreements"][:10]
        if tshown:
            print(f"  titles that disagree ({len(r['title_disagreements'])}):")
            for t in tshown:
                print(f"    {printable(t['title'])!s:60.60s} | judged: {printable(t['judged'])}")
            if len(tshown) < len(r["title_disagreements"]):
                print(f"    ... {len(r['title_disagreements']) - len(tshown)} more (--verbose)")
        print(f"  inbox top {r['inbox_top']['lines']}: {r['inbox_top']['right']} right, "
              f"{r['inbox_top']['judged'] - r['inbox_top']['right']} wrong, "
              f"{r['inbox_top']['lines'] - r['inbox_top']['judged']} unjudged")
        for line in r["inbox_lines"]:
            if verbose or not line["right"]:
                state = "unjudged" if not line["judged"] else ("ok" if line["right"] else "; ".join(line["problems"]))
                print(f"    {line['rank']:2d} [{line['label']}] {printable(line['title'])!s:55.55s} {state}"
                      + (f"  <{printable(line['message_id'])}>" if not line["judged"] else ""))


def evaluate_sample() -> dict:
    """The held-out syzbot sample: the tool's verdict of each judged report (``triage classify --json``)."""
    judged = load_sample_judged()
    if not judged:
        sys.exit(f"tests/judged/{SAMPLE}.jsonl: no judgements")
    verdicts = classify_files([SAMPLE_DIR / f"{bug}.txt" for bug in sorted(judged)])
    truth = {b: j["label"] for b, j in judged.items()}
    pred = {b: verdicts[b]["label"] if b in verdicts else UNCLASSIFIED for b in judged}
    how = Counter(decided(verdicts[b]["evidence"], pred[b], verdicts[b].get("source", "")) for b in verdicts)
    wrong = [{"bug_id": b, "judged": truth[b], "predicted": pred[b], "title": judged[b].get("title")}
             for b in sorted(judged) if truth[b] != pred[b]]
    return {"list": SAMPLE, "judged": len(judged), "judged_labels": dict(Counter(truth.values()).most_common()),
            "labels": label_scores(truth, pred), "other_right": sum(truth[b] == pred[b] == "other" for b in judged),
            "verdicts": {"verdicts": len(verdicts), "decided_by": dict(how.most_common()),
                         "needs_review": sum(bool(v.get("needs_review")) for v in verdicts.values())},
            "wrong": wrong}


def print_sample(r: dict) -> None:
    print(f"{SAMPLE}: judged {r['judged']} ({', '.join(f'{k} {v}' for k, v in r['judged_labels'].items())})")
    for lab, sc in r["labels"].items():
        print(f"  {lab:18s} P {fmt(sc['precision'])}  R {fmt(sc['recall'])}  "
              f"right/predicted/judged {sc['tp']}/{sc['predicted']}/{sc['judged']}")
    v = r["verdicts"]
    n = v["verdicts"] or 1
    print("  decided by: " + ", ".join(f"{k} {c / n:.0%}" for k, c in v["decided_by"].items())
          + f"; needs review {v['needs_review'] / n:.0%}")
    for w in r["wrong"]:
        print(f"  wrong: {w['bug_id']} judged {w['judged']}, predicted {w['predicted']}  {printable(w['title'])}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("db", nargs="?", type=Path, help="a store of one archive (named <list>.db when JUDGED is omitted)")
    ap.add_argument("judged", nargs="?", type=Path, help="default: tests/judged/<list>.jsonl")
    ap.add_argument("--all", action="store_true", help="the three archives: WORK/<list>.db, imported when absent")
    ap.add_argument("--work", type=Path, default=Path("/tmp/judged"))
    ap.add_argument("--original-only", action="store_true", help="score only mails judged original")
    ap.add_argument("--json", action="store_true", help="one JSON object per archive, then the totals")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every line, not only the wrong ones")
    ap.add_argument("--sample", action="store_true", help="score the held-out syzbot sample instead")
    args = ap.parse_args(argv)
    if args.sample:
        r = evaluate_sample()
        print(json.dumps(r, ensure_ascii=False)) if args.json else print_sample(r)
        return 0
    if args.all == (args.db is not None):
        ap.error("give ARCHIVE_DB [JUDGED] or --all")
    if args.all:
        args.work.mkdir(parents=True, exist_ok=True)
        pairs = [(ensure_db(n, args.work), judged_path(n)) for n in LISTS]
    else:
        pairs = [(args.db, args.judged or judged_path(list_name(args.db)))]
    results = [evaluate(db, jf, args.original_only) for db, jf in pairs]
    if args.json:
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
        if len(results) > 1:
            print(json.dumps(total(results)))
    else:
        print_table(results, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
