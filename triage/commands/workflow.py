"""The maintainer's workflow: ``inbox``, ``show``, ``ack``, ``mute``, ``snooze``, ``label``, ``config``, ``digest``."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from triage.commands.common import EXIT_USAGE, JSON_OPTION, die, emit_json, open_store

IDS = typer.Argument(..., metavar="ID...", help="Report ids (as shown by `triage inbox`).")


def _config():
    from triage.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        die(str(exc))


def _user(cfg) -> str:
    from triage.review import current_user

    return cfg.user or current_user()


def inbox_cmd(
    subsystem: list[str] = typer.Option(None, "--subsystem", "-s", metavar="S",
                                        help="Only this subsystem (repeatable). Overrides the subscriptions."),
    label: list[str] = typer.Option(None, "--label", "-l", metavar="L", help="Only this label (repeatable)."),
    since: str = typer.Option(None, "--since", metavar="SPAN", help="Only groups reported since: 14d, 2w, DATE."),
    show_all: bool = typer.Option(False, "--all", help="Also show acked, muted and snoozed reports."),
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="At most N lines (0: no limit)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """The reports that need you, worst first: one line per bug (duplicates folded)."""
    from triage.inbox import InboxFilter, query
    from triage.review import LABELS, ReviewError, parse_when

    cfg = _config()
    subs = cfg.subscriptions
    for lab in label or []:
        if lab not in LABELS:
            die(f"--label {lab!r}: not a label (one of {', '.join(LABELS)})", EXIT_USAGE)
    try:
        since_dt = parse_when(since, future=False) if since else None
    except ReviewError as exc:
        die(f"--since {exc}", EXIT_USAGE)
    flt = InboxFilter(
        subsystems=list(subsystem) if subsystem else subs.subsystems,
        addresses=[] if subsystem else subs.addresses,
        labels=list(label) if label else subs.labels,
        since=since_dt, include_all=show_all, limit=limit,
    )
    items = query(open_store(), flt)
    if json_out:
        for item in items:
            emit_json(item.to_dict())
        return
    _print_inbox(items, filtered=bool(subsystem or label or since) or bool(subs))


def _print_inbox(items, filtered: bool) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(width=None if sys.stdout.isatty() else 140)
    if not items:
        console.print("Inbox empty" + (" (filtered by options or subscriptions)" if filtered else "") + ".")
        return
    styles = {"data-loss": "bold red", "reclaim-deadlock": "red", "fault-injection": "yellow",
              "nofail-warning": "dim", "unclassified": "magenta"}
    rows = []
    for it in items:
        conf = f" {it.confidence:.2f}" if it.confidence is not None else ""
        flags = [f for f, on in (("needs-review", it.needs_review), (it.state, it.state != "new"),
                                 ("human", it.label_source == "human")) if on]
        title = " ".join(f"[{f}]" for f in flags) + (" " if flags else "") + _one_line(it.title)
        title += f" (+{it.duplicates - 1} dup)" if it.duplicates > 1 else ""
        rows.append([str(it.id), it.label + conf, ",".join(it.subsystems) or "-", it.age, str(it.crashes),
                     it.repro or "-", (it.repro_run or "-").split(" ")[0],
                     str(it.new_replies) if it.new_replies else "-", title])
    headers = ["ID", "label", "subsys", "age", "crashes", "repro", "run", "new", "title"]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    # one line per report: the title (last) gets what the other columns leave
    widths[-1] = max(16, min(widths[-1], console.width - sum(widths[:-1]) - len(headers) + 1))
    table = Table(box=None, pad_edge=False, padding=(0, 1, 0, 0), header_style="bold")
    for i, col in enumerate(headers):
        table.add_column(col, no_wrap=True, overflow="ellipsis", width=widths[i],
                         justify="right" if col in ("ID", "age", "crashes", "new") else "left")
    for it, row in zip(items, rows, strict=True):
        table.add_row(*(Text(cell, style=styles.get(it.label, "")) if i == 1 else Text(cell)
                        for i, cell in enumerate(row)))
    console.print(table)


def _one_line(text: str) -> str:
    """Report-controlled text on one line: control characters become spaces."""
    return "".join(c if c.isprintable() else " " for c in text)


def show_cmd(report_id: int = typer.Argument(..., metavar="ID"), json_out: bool = JSON_OPTION) -> None:
    """Everything about one report (trace, evidence, similar reports, thread, reproducer run); marks it seen."""
    from triage.review import ReviewError, mark_seen
    from triage.show import details, render

    db = open_store()
    cfg = _config()
    try:
        d = details(db, report_id)
        mark_seen(db, report_id, who=_user(cfg))
    except ReviewError as exc:
        die(str(exc))
    if json_out:
        emit_json(d)
    else:
        typer.echo(render(d))


def _set_state(ids: list[int], state: str, json_out: bool, note: str | None = None) -> None:
    from triage.review import ReviewError, set_state

    db = open_store()
    try:
        touched = set_state(db, ids, state, who=_user(_config()), note=note)
    except ReviewError as exc:
        die(str(exc))
    _done(state, ids, touched, json_out)


def _done(what: str, ids: list[int], touched: list[int], json_out: bool, **extra) -> None:
    if json_out:
        emit_json({"action": what, "ids": ids, "reports": touched, **extra})
    else:
        dups = len(touched) - len(set(ids))
        typer.echo(f"{what}: {', '.join('#' + str(i) for i in ids)}" + (f" (+{dups} duplicates)" if dups else "")
                   + "".join(f", {k} {v}" for k, v in extra.items()))


def ack_cmd(ids: list[int] = IDS, note: str = typer.Option(None, "--note"), json_out: bool = JSON_OPTION) -> None:
    """Acknowledge: hide from the inbox (a new crash of the same bug brings it back)."""
    _set_state(ids, "acked", json_out, note)


def mute_cmd(ids: list[int] = IDS, note: str = typer.Option(None, "--note"), json_out: bool = JSON_OPTION) -> None:
    """Mute: hide from the inbox for good, new crashes of the same bug included."""
    _set_state(ids, "muted", json_out, note)


def unack_cmd(ids: list[int] = IDS, json_out: bool = JSON_OPTION) -> None:
    """Undo ack / mute / snooze: back to the inbox as seen."""
    _set_state(ids, "seen", json_out)


def snooze_cmd(
    ids: list[int] = IDS,
    until: str = typer.Option(..., "--until", metavar="DATE", help="YYYY-MM-DD or a span: 3d, 2w."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Hide from the inbox until a date."""
    from triage.review import ReviewError, parse_when, snooze, stamp

    db = open_store()
    try:
        when = parse_when(until, future=True)
    except ReviewError as exc:
        die(f"--until {exc}", EXIT_USAGE)
    try:
        touched = snooze(db, ids, when, who=_user(_config()))
    except ReviewError as exc:
        die(str(exc))
    _done("snoozed", ids, touched, json_out, until=stamp(when))


def label_cmd(
    report_id: int = typer.Argument(..., metavar="ID"),
    label: str = typer.Argument(..., metavar="LABEL",
                                help="data-loss | reclaim-deadlock | fault-injection | other | nofail-warning"),
    note: str = typer.Option(None, "--note", help="Why (kept as the evidence of the human verdict)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Label a report by hand: overrides the classifier and feeds the next training."""
    from triage.review import LABELS, ReviewError, set_label

    if label not in LABELS:
        die(f"{label!r}: not a label (one of {', '.join(LABELS)})", EXIT_USAGE)
    db = open_store()
    try:
        set_label(db, report_id, label, who=_user(_config()), note=note)
    except ReviewError as exc:
        die(str(exc))
    _done("labelled", [report_id], [report_id], json_out, label=label)


def config_cmd(
    init: bool = typer.Option(False, "--init", help="Write an example config file if there is none."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show the config file's path and content (subscriptions, digest settings)."""
    from dataclasses import asdict

    from triage.config import EXAMPLE
    from triage.paths import config_file

    path: Path = config_file()
    if init:
        if path.exists():
            die(f"{path}: already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EXAMPLE, encoding="utf-8")
    cfg = _config()
    if json_out:
        emit_json({k: v for k, v in asdict(cfg).items() if k != "text"})
        return
    typer.echo(f"# {cfg.path}" + ("" if cfg.exists else " (absent; `triage config --init` writes this example)"))
    typer.echo(cfg.text if cfg.exists else EXAMPLE, nl=False)


def digest_cmd(
    since: str = typer.Option("7d", "--since", metavar="SPAN", help="The period: 7d, 2w, or a start DATE."),
    subsystem: list[str] = typer.Option(None, "--subsystem", "-s", metavar="S",
                                        help="Only this subsystem (repeatable). Overrides the subscriptions."),
    to: list[str] = typer.Option(None, "--to", metavar="ADDR", help="Send to ADDR (repeatable)."),
    sender: str = typer.Option(None, "--from", metavar="ADDR", help="From address."),
    smtp: str = typer.Option(None, "--smtp", metavar="HOST:PORT", help="SMTP server [default: localhost:25]."),
    starttls: bool = typer.Option(None, "--starttls/--no-starttls", help="Use STARTTLS."),
    user: str = typer.Option(None, "--user", metavar="U", help="SMTP login."),
    password_env: str = typer.Option(None, "--password-env", metavar="VAR",
                                     help="Environment variable holding the SMTP password."),
    out: Path = typer.Option(None, "--out", metavar="FILE.eml", help="Write the message to FILE.eml."),
    stale_max: int = typer.Option(None, "--stale-max", min=0, help="At most N stale open items."),
    json_out: bool = JSON_OPTION,
) -> None:
    """The weekly digest: counts per label, new critical items first, what got fixed, what is stale."""
    from triage.digest import SendError, SmtpSettings, build, message, send
    from triage.digest.mail import parse_hostport, password_from_env, save
    from triage.paths import data_dir
    from triage.review import ReviewError, parse_when, utcnow

    cfg = _config()
    dig = cfg.digest
    now = utcnow()
    try:
        span = now - parse_when(since, future=False, now=now)
    except ReviewError as exc:
        die(f"--since {exc}", EXIT_USAGE)
    if span.total_seconds() <= 0:
        die(f"--since {since}: the period must end before now", EXIT_USAGE)
    subs = cfg.subscriptions
    d = build(open_store(), span, subsystems=list(subsystem) if subsystem else subs.subsystems,
              addresses=[] if subsystem else subs.addresses, labels=subs.labels,
              stale_max=dig.stale_max if stale_max is None else stale_max, stale_days=dig.stale_days, now=now)
    recipients = list(to) if to else dig.to
    if json_out:
        emit_json(d.to_dict())
    msg = message(d, recipients, sender or dig.sender or f"syz-triage <{_user(cfg)}@localhost>")
    if out:
        try:
            save(msg, out)
        except OSError as exc:
            die(f"{out}: {exc.strerror or exc}")
        typer.echo(f"digest written to {out}", err=True)
    if not recipients:
        if not out and not json_out:
            typer.echo(msg.get_body(("plain",)).get_content(), nl=False)
        return
    try:
        host, port = parse_hostport(smtp or dig.smtp or "localhost:25")
        settings = SmtpSettings(host=host, port=port, starttls=dig.starttls if starttls is None else starttls,
                                user=user or dig.user, password=password_from_env(password_env or dig.password_env))
    except ValueError as exc:
        die(str(exc), EXIT_USAGE)
    try:
        send(msg, settings, data_dir() / "outbox")
    except SendError as exc:
        die(str(exc))
    typer.echo(f"digest sent to {', '.join(recipients)} via {host}:{port}", err=True)


def register(app: typer.Typer) -> None:
    app.command("inbox")(inbox_cmd)
    app.command("show")(show_cmd)
    app.command("ack")(ack_cmd)
    app.command("mute")(mute_cmd)
    app.command("unack")(unack_cmd)
    app.command("snooze")(snooze_cmd)
    app.command("label")(label_cmd)
    app.command("config")(config_cmd)
    app.command("digest")(digest_cmd)
