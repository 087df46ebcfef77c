"""How well ``triage repro`` reproduces labelled reports: link each report, run its mechanism, classify the run.

    PYTHONPATH=. python bench/repro_eval.py                         # the 89 hand-labelled reports
    PYTHONPATH=. python bench/repro_eval.py --set other.jsonl [--json] [-v]
    PYTHONPATH=. python bench/repro_eval.py --judged tests/judged/linux-nilfs.jsonl [--work /tmp/judged]

A set is a JSON Lines file of ``{"label": ..., "text": ...}`` or ``{"label": ..., "file": path relative to the
file}`` (``labels.jsonl`` of ../shared/data/labelled is one), or a directory holding a ``labels.jsonl``.
``--judged`` takes the judged archive mails (tests/judged, keyed by message-id): their bodies come from a store
of the list built with bench/judged_archives.py (kept in ``--work``); mails judged ``not-a-report`` are left out.
Three figures, the targets of issue 14:

- linked and matching: the share of consequence-labelled reports linked to a run that fails (any outcome
  but ``ok`` / ``error-reported``) and whose console the project's classifier labels as the report is;
- call-path share: per consequence-labelled report with a crash stack, the share of its crash stack's
  distinct normalized function names that the run's console names (0 when not linked); the mean;
- false links: the share of ``other`` reports linked to a failing run.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SET = ROOT.parent / "shared" / "data" / "labelled"
TARGETS = {"linked_matching": 0.80, "call_path_share": 0.50, "false_links": 0.05}


@dataclass
class Row:
    set: str
    item: str
    label: str
    scenario: str | None = None
    outcome: str | None = None
    console_label: str | None = None
    share: float | None = None
    why: str = ""
    fixes: str = ""

    @property
    def failing(self) -> bool:
        return self.outcome is not None and self.outcome not in ("ok", "error-reported")

    @property
    def matching(self) -> bool:
        return self.failing and self.console_label == self.label


def load_set(spec: str) -> list[tuple[str, str, str]]:
    """(item, label, text) of a JSON Lines set or a directory with labels.jsonl."""
    path = Path(spec)
    if path.is_dir():
        path = path / "labels.jsonl"
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        label = row.get("label")
        text = row.get("text") or row.get("body")
        item = row.get("id") or row.get("file") or row.get("message_id") or f"{path.name}:{n}"
        if text is None and (row.get("file") or row.get("path")):
            text = (path.parent / (row.get("file") or row.get("path"))).read_text(errors="replace")
        if label and text is not None:
            out.append((str(item), str(label), text))
    return out


def load_judged(path: str, work: Path) -> list[tuple[str, str, str]]:
    """(message-id, label, body) of the judged mails of one list archive that are reports."""
    sys.path.insert(0, str(ROOT / "bench"))
    import judged_archives as ja

    work.mkdir(parents=True, exist_ok=True)
    con = ja.connect(ja.ensure_db(ja.list_name(path), work))
    out = []
    for j in ja.read_judged(Path(path)):
        if j["label"] == ja.NOT_A_REPORT:
            continue
        row = con.execute("SELECT body FROM messages WHERE message_id = ?", (j["message_id"],)).fetchone()
        if row and row[0]:
            out.append((j["message_id"], j["label"], row[0]))
    return out


def console_names(console: str) -> set[str]:
    from triage.report.normalize import canonical
    from triage.report.stacks import extract_frames

    return {canonical(f.function) for f in extract_frames(console)}


def evaluate(items: list[tuple[str, str, str]], set_name: str, seed: int = 1) -> list[Row]:
    from classifiers import classify
    from triage.report import parse
    from triage.repro import NotCovered, fix_runs, link, run_link

    rows = []
    for item, label, text in items:
        rep = parse(text)
        row = Row(set_name, item, label)
        crash = {f.norm_function for f in rep.frames if f.stack == "crash"}
        lk = link(rep)
        if isinstance(lk, NotCovered):
            row.why = lk.why
            row.share = 0.0 if crash else None
            rows.append(row)
            continue
        r = run_link(lk, seed, with_trace=False)
        row.scenario, row.outcome, row.why = lk.scenario, r.outcome, lk.why
        if r.console.strip():
            row.console_label = classify(parse(r.console)).label
        if crash:
            row.share = len(crash & console_names(r.console)) / len(crash)
        row.fixes = ",".join(fx["variant"] for fx in fix_runs(lk, r, seed) if fx["flips"])
        rows.append(row)
    return rows


def summary(rows: list[Row]) -> dict:
    cons = [r for r in rows if r.label != "other"]
    other = [r for r in rows if r.label == "other"]
    shares = [r.share for r in cons if r.share is not None]
    out = {
        "reports": len(rows), "consequence_reports": len(cons), "other_reports": len(other),
        "linked": sum(r.scenario is not None for r in cons),
        "linked_matching": round(sum(r.matching for r in cons) / len(cons), 4) if cons else None,
        "call_path_share": round(sum(shares) / len(shares), 4) if shares else None,
        "call_path_reports": len(shares),
        "false_links": round(sum(r.failing for r in other) / len(other), 4) if other else None,
        "per_label": {},
    }
    for label in sorted({r.label for r in cons}):
        mine = [r for r in cons if r.label == label]
        out["per_label"][label] = f"{sum(r.matching for r in mine)}/{len(mine)}"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", action="append", default=[], help="a JSON Lines set or a directory with labels.jsonl")
    ap.add_argument("--judged", action="append", default=[], help="a tests/judged/<list>.jsonl file")
    ap.add_argument("--work", type=Path, default=Path("/tmp/judged"), help="where the judged lists' stores live")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="one JSON object per report, then the summary")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per report")
    args = ap.parse_args(argv)
    sets = args.set or ([] if args.judged else [str(DEFAULT_SET)])
    t0 = time.perf_counter()
    rows: list[Row] = []
    for spec in sets:
        rows += evaluate(load_set(spec), Path(spec).name, args.seed)
    for spec in args.judged:
        rows += evaluate(load_judged(spec, args.work), Path(spec).stem, args.seed)
    summ = summary(rows)
    summ["seconds"] = round(time.perf_counter() - t0, 1)
    if args.json:
        for r in rows:
            print(json.dumps(asdict(r)))
        print(json.dumps(summ))
        return 0
    if args.verbose:
        for r in rows:
            mark = "+" if r.matching else ("!" if r.label == "other" and r.failing else " ")
            share = f"{r.share:.2f}" if r.share is not None else "  - "
            print(f"{mark} {r.item[:24]:<24} {r.label:<17} {str(r.scenario or '-'):<26} {str(r.outcome or '-'):<14} "
                  f"{str(r.console_label or '-'):<17} {share}  {r.fixes or ''}  {'' if r.scenario else r.why[:90]}")
    print(f"reports {summ['reports']} ({summ['consequence_reports']} consequence, {summ['other_reports']} other), "
          f"{summ['seconds']} s (machine shared with other work)")
    for key, target in TARGETS.items():
        val = summ[key]
        ok = val is not None and (val <= target if key == "false_links" else val >= target)
        print(f"  {key:<17} {val if val is not None else '-':<8} target {'<=' if key == 'false_links' else '>='} "
              f"{target}  {'ok' if ok else 'MISSED'}")
    print(f"  per label (matching/all): {summ['per_label']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
