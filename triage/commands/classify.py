"""``triage classify`` / ``train`` / ``eval`` / ``reclassify``: label reports by their consequence.

Every report ``triage import`` / ``sync`` stores gets its verdict in its batch: the pipeline calls
``triage.classify_store.classify_reports``. scikit-learn is imported only inside commands.
"""

from __future__ import annotations

from pathlib import Path

import typer

from triage.commands.common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    JSON_OPTION,
    db_path,
    die,
    emit_json,
    waiting_for_lock,
    warn,
)

MODEL_OPTION = typer.Option(None, "--model", metavar="PATH", help="Model file to use [default: trained, else shipped].")
LABELLED_OPTION = typer.Option(None, "--labelled", metavar="DIR",
                               help="Directory of labelled report texts [default: ../shared/data/labelled].")
LABELS_OPTION = typer.Option(None, "--labels", metavar="FILE",
                             help="labels.jsonl: rows with id (corpus format) or file (path to the text) and label.")


def _classifier(model: Path | None):
    from classifiers.classifier import Classifier, default_classifier
    from classifiers.model import Model, ModelError
    from classifiers.rules import RuleError

    try:
        return Classifier(model=Model.load(model)) if model else default_classifier()
    except (ModelError, RuleError) as exc:
        die(str(exc))


def _open_existing_db(read_only: bool = True):
    """The store if it exists (classify works without one), else None."""
    from triage.store import StoreError, open_db

    path = db_path()
    if not path.exists():
        return None
    try:
        return open_db(path, read_only=read_only, on_wait=waiting_for_lock)
    except StoreError as exc:
        warn(f"{exc} (continuing without the store)")
        return None


def termsafe(text: object) -> str:
    from triage.termsafe import line

    return line(text)


def _render(name: str, result: dict) -> str:
    flag = "  NEEDS REVIEW" if result["needs_review"] else ""
    lines = [f"{termsafe(name)}: {result['label']} ({result['confidence']:.2f}){flag}"]
    if result.get("title"):
        lines.append(f"  title: {termsafe(result['title'])}")
    ev = result["evidence"]
    if ev.get("decided_by") == "human":
        lines.append(f"  labelled by a maintainer (report {ev.get('report_id')})")
    d = ev.get("decisive")
    if d and result["label"] != "other":
        where = f"line {d['line']}" if d.get("line") else "evidence"
        lines.append(f"  decisive ({d['rule']}): {where}: {termsafe(d['text'])[:140]}")
    event = ev.get("event") or {}
    if event.get("kind") and event["kind"] != "none":
        about = "the primary crash" if event.get("primary") else "not the primary crash"
        lines.append(f"  about: {event['kind']} at line {event.get('line')} ({about}"
                     + (f"; the log holds {event['crashes']} crashes" if event.get("crashes") else "") + ")")
    sug = ev.get("suggestion")
    if sug:
        lines.append(f"  suggestion: {sug['label']} ({sug['probability']:.2f}) from the model alone, no evidence "
                     f"line: review")
    for hit in ev.get("rules", []):
        lines.append(f"  rule {hit['rule']} -> {hit['label']} ({hit['confidence']:.2f}): {hit['why']}")
        for m in hit["matches"][:6]:
            where = f"line {m['line']}" if m.get("line") else m["kind"]
            lines.append(f"      {where:>10}: {termsafe(m['text'])[:140]}")
    model = ev.get("model")
    if model:
        probs = ", ".join(f"{k} {v:.2f}" for k, v in sorted(model["probabilities"].items(), key=lambda kv: -kv[1]))
        lines.append(f"  model: {probs}")
    if ev.get("note"):
        lines.append(f"  note: {ev['note']}")
    for s in result.get("similar", []):
        fix = f", fix: {s['fix']}" if s.get("fix") else ""
        lines.append(f"  similar: report {s['report_id']} {termsafe(s['title'])} [{s.get('status') or '?'}{fix}]"
                     f" label {s.get('label') or '-'}")
    return "\n".join(lines)


def classify_cmd(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Console logs, report excerpts or e-mails."),
    json_out: bool = JSON_OPTION,
    model: Path = MODEL_OPTION,
) -> None:
    """Label reports by consequence (data-loss, reclaim-deadlock, fault-injection, nofail-warning, other),
    with the evidence: the rules that fired, the lines they matched, the model's probabilities."""
    from records.inputs import display_name
    from triage.classify_store import human_label_for_text, similar
    from triage.report import parse
    from triage.report.source import InputError, content_hash, read_report_input

    clf = _classifier(model)
    db = _open_existing_db()
    failed = False
    for path in files:
        try:
            raw = read_report_input(path)
        except InputError as exc:
            warn(str(exc))
            failed = True
            continue
        name = display_name(path)            # a file name's undecodable bytes shown as U+FFFD
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if "\x00" in text[:4096]:
            warn(f"{name}: binary data, not a kernel report")
            failed = True
            continue
        rep = parse(text)
        verdict = clf.classify(rep)
        result = {"file": name, "title": rep.title, **verdict.as_dict()}
        result["similar"] = []
        if db is not None:
            human = human_label_for_text(db, rep.report or text) or human_label_for_text(db, text)
            if human:
                result.update(label=human["label"], confidence=1.0, needs_review=False, source="human")
                result["evidence"] = {**verdict.evidence, "decided_by": "human", "report_id": human["report_id"],
                                      "classifier_label": verdict.label}
            result["similar"] = similar(db, rep, exclude_hash=content_hash(rep.report or text))
        if json_out:
            emit_json(result)
        else:
            typer.echo(_render(name, result))
    if failed:
        raise typer.Exit(EXIT_FINDINGS)


def train_cmd(
    labelled: Path = LABELLED_OPTION,
    labels: Path = LABELS_OPTION,
    out: Path = typer.Option(None, "--out", metavar="PATH",
                             help="Where to write the model [default: model.json in the user data dir]."),
    no_store: bool = typer.Option(False, "--no-store", help="Ignore the human labels in the database."),
    no_corpus: bool = typer.Option(False, "--no-corpus", help="Train on the store's human labels only."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Train the model on the labelled corpus plus the maintainers' labels in the store."""
    from classifiers.dataset import DatasetError
    from classifiers.model import ModelError, user_model
    from classifiers.training import gather, train

    db = None if no_store else _open_existing_db()
    try:
        examples = gather(labelled, labels, db, corpus=not no_corpus)
        model = train(examples)
    except (DatasetError, ModelError) as exc:
        die(str(exc))
    path = model.save(out or user_model())
    summary = {"model": str(path), "version": model.version, "n_reports": model.meta["n_reports"],
               "labels": model.meta["labels"], "sources": model.meta.get("sources", {}),
               "n_features": model.meta["n_features"]}
    if out is None and not no_store:
        # the model the store's verdicts came from has changed: bring them up to date now
        from classifiers.classifier import default_classifier
        from triage.classify_store import reclassify

        store = _open_existing_db(read_only=False)
        if store is not None:
            summary["reclassified"] = reclassify(store, default_classifier(reload=True))["reclassified"]
    if json_out:
        emit_json(summary)
    else:
        src = ", ".join(f"{n} {k}" for k, n in summary["sources"].items())
        typer.echo(f"trained model {model.version} on {summary['n_reports']} reports ({src}), "
                   f"{summary['n_features']} features -> {path}")
        if "reclassified" in summary:
            typer.echo(f"re-classified {summary['reclassified']} stored reports with it")


def _eval_judged(judged: Path, work: Path | None, only: list[str] | None, model: Path | None,
                 show_errors: bool, json_out: bool) -> None:
    from records.paths import cache_dir
    from triage.judged import JudgedError, evaluate, render

    clf = _classifier(model)
    try:
        scores = evaluate(judged, work or cache_dir() / "judged", clf, only=only)
    except JudgedError as exc:
        die(str(exc))
    if json_out:
        for s in scores:
            emit_json(s.as_dict())
        return
    typer.echo(render(scores))
    if show_errors:
        for s in scores:
            for e in s.errors:
                typer.echo(f"  wrong: {s.name}: {e['id']}: judged {e['judged']}, predicted {e['predicted']}")


def eval_cmd(
    labels: Path = LABELS_OPTION,
    labelled: Path = LABELLED_OPTION,
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds."),
    seed: int = typer.Option(0, "--seed", help="Shuffle seed of the folds."),
    show_errors: bool = typer.Option(False, "--errors", help="List the reports the combination gets wrong."),
    judged: Path = typer.Option(None, "--judged", metavar="DIR",
                                help="Score the shipped classifier on the judged sets of DIR (tests/judged: whole "
                                     "list archives, imported into --work, and the syzbot sample) instead."),
    work: Path = typer.Option(None, "--work", metavar="DIR",
                              help="Where --judged keeps the imported archives [default: the user cache dir]."),
    only: list[str] = typer.Option(None, "--set", metavar="NAME", help="With --judged: only this set (repeatable)."),
    model: Path = MODEL_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Per-label precision / recall / F1 and the confusion matrix, grouped cross-validation, for five
    classifiers: title keywords, syzkaller crash type, rules alone, model alone, and the combination.
    With --judged: per-label precision / recall / F1 of the shipped classifier on hand-judged real text, and
    how its verdicts were decided (by a rule, by the model, a model suggestion) and flagged for review."""
    from classifiers.dataset import DatasetError, load_examples
    from classifiers.evaluate import CLASSIFIERS, cross_validate, render_table, shares

    if judged is not None:
        _eval_judged(judged, work, only, model, show_errors, json_out)
        return
    try:
        examples = load_examples(labelled, labels)
    except DatasetError as exc:
        die(str(exc))
    if len({ex.label for ex in examples}) < 2:
        die("evaluation needs at least two labels", EXIT_USAGE)
    ev = cross_validate(examples, n_splits=folds, seed=seed)
    if json_out:
        for name in CLASSIFIERS:
            extra = shares(ev) if name == "combined" else {}
            emit_json({**ev.scores[name].as_dict(), "folds": ev.n_splits, "n_reports": len(ev.truth), **extra})
    else:
        typer.echo(render_table(ev))
        if show_errors:
            for name, truth, pred in ev.errors("combined"):
                typer.echo(f"  wrong: {name}: {truth} predicted {pred}")


def reclassify_cmd(
    everything: bool = typer.Option(False, "--all", help="Re-classify every report, not only stale verdicts."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Re-classify stored reports whose verdict came from another classifier version."""
    from triage.classify_store import reclassify
    from triage.commands.common import open_store

    db = open_store()
    result = reclassify(db, _classifier(None), everything=everything)
    if json_out:
        emit_json(result)
    else:
        typer.echo(f"re-classified {result['reclassified']} reports with {result['classifier_version']}")


def register(app: typer.Typer) -> None:
    app.command("classify")(classify_cmd)
    app.command("train")(train_cmd)
    app.command("eval")(eval_cmd)
    app.command("reclassify")(reclassify_cmd)
