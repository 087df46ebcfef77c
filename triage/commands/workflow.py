"""The maintainer's workflow: ``inbox``, ``show``, ``seen``, ``ack``, ``mute``, ``unack``, ``snooze``, ``label``,
``config``, ``digest``, ``reply``, ``mbox``, ``outbox``.

Batch review commands apply to every valid id, name the unknown ones on stderr and exit 1 if there were any.
Text from reports and mails reaches the terminal through ``triage.termsafe``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from triage.commands.common import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    JSON_OPTION,
    die,
    emit_json,
    open_reader,
    open_store,
    warn,
)

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


def _echo(text: str, err: bool = False) -> None:
    from triage.termsafe import clean

    typer.echo(clean(text), err=err)


# -- inbox -------------------------------------------------------------------------------------------------

def _check_subsystems(db, names: list[str]) -> None:
    """Unknown ``--subsystem`` values are usage errors: the table's names and those of the stored reports
    (syzbot's for their bugs; ``area_sets``: each list once, not a read of every bug; and those of the groups a
    writer left marked)."""
    from triage.inbox import subsystems_of
    from triage.subsystems import names as table_names

    known = set(table_names())
    for (subs,) in db.execute("SELECT subsystems FROM area_sets UNION SELECT subsystems FROM dirty_group_areas"):
        known.update(subsystems_of(subs))
    bad = [n for n in names if n not in known]
    if bad:
        from difflib import get_close_matches

        near = get_close_matches(bad[0], sorted(known), n=3)
        die(f"--subsystem {bad[0]!r}: no such subsystem" + (f" (did you mean {', '.join(near)}?)" if near else
            " (`triage query \"SELECT DISTINCT value FROM bugs, json_each(subsystems)\"` lists syzbot's)"),
            EXIT_USAGE)


def inbox_cmd(
    subsystem: list[str] = typer.Option(None, "--subsystem", "-s", metavar="S",
                                        help="Only this subsystem (repeatable). Overrides the subscriptions."),
    label: list[str] = typer.Option(None, "--label", "-l", metavar="L", help="Only this label (repeatable)."),
    since: str = typer.Option(None, "--since", metavar="SPAN", help="Only groups reported since: 14d, 2w, DATE."),
    show_all: bool = typer.Option(False, "--all", help="Also show acked, muted and snoozed reports, and bugs that "
                                  "are fixed, dup, invalid or superseded."),
    limit: int = typer.Option(50, "--limit", "-n", min=0, help="At most N lines (0: no limit)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """The reports that need you, worst first: one line per bug (duplicates folded)."""
    from triage.inbox import InboxFilter, query
    from triage.review import ReviewError, parse_when
    from vocab.labels import LABELS

    cfg = _config()
    subs = cfg.subscriptions
    for lab in label or []:
        if lab not in LABELS:
            die(f"--label {lab!r}: not a label (one of {', '.join(LABELS)})", EXIT_USAGE)
    try:
        since_dt = parse_when(since, future=False) if since else None
    except ReviewError as exc:
        die(f"--since {exc}", EXIT_USAGE)
    db = open_reader()
    if subsystem:
        _check_subsystems(db, list(subsystem))
    flt = InboxFilter(
        subsystems=list(subsystem) if subsystem else subs.subsystems,
        addresses=[] if subsystem else subs.addresses,
        labels=list(label) if label else subs.labels,
        since=since_dt, include_all=show_all, include_closed=show_all, limit=limit,
    )
    items = query(db, flt)
    if json_out:
        for item in items:
            emit_json(item.to_dict())
        return
    if not items:
        _say_empty(db, flt, subsystem, label, since, cfg)
        return
    print_inbox(items)
    _say_hidden(db, flt, len(items))


def _say_hidden(db, flt, shown: int) -> None:
    """``30 of 175 shown (--limit 30; ...); 12 fixed, dup, invalid or superseded hidden (--all shows them)``, on
    stderr."""
    from dataclasses import replace

    from triage.inbox import count, count_closed

    parts = []
    if flt.subsystems and not flt.addresses and not flt.include_closed:
        total, closed = count_closed(db, flt)          # one pass over the area's rows for both
    else:
        total = count(db, flt) if flt.limit and shown == flt.limit else shown
        closed = 0 if flt.include_closed else count(db, replace(flt, include_closed=True)) - total
    if total > shown:
        parts.append(f"--limit {flt.limit}; --limit 0 shows all")
    if closed > 0:
        parts.append(f"{closed} fixed, dup, invalid or superseded hidden: --all shows them")
    if parts:
        sys.stdout.flush()
        typer.echo(f"{shown} of {total + max(closed, 0)} shown ({'; '.join(parts)})", err=True)


def _say_empty(db, flt, subsystem, label, since, cfg) -> None:
    """An empty inbox says which filter emptied it, and whether anything is hidden by review state."""
    from dataclasses import replace

    from triage.inbox import count

    used = [f"--subsystem {','.join(subsystem)}"] if subsystem else []
    used += [f"--label {','.join(label)}"] if label else []
    used += [f"--since {since}"] if since else []
    subs = cfg.subscriptions
    if not subsystem and (subs.subsystems or subs.addresses):
        used.append("subscriptions " + ", ".join(subs.subsystems + subs.addresses) + f" in {cfg.path}")
    if not label and subs.labels:
        used.append(f"subscribed labels {', '.join(subs.labels)} in {cfg.path}")
    if not db.execute("SELECT 1 FROM reports LIMIT 1").fetchone():
        _echo("Inbox empty: no reports stored yet (triage import / triage sync syzbot).")
        return
    if used:
        unfiltered = count(db, replace(flt, subsystems=[], addresses=[], labels=[], since=None, limit=0))
        _echo(f"Inbox empty for {'; '.join(used)}" + (f" ({unfiltered} lines without these filters)."
                                                      if unfiltered else "."))
    else:
        _echo("Inbox empty.")
    if not flt.include_all:
        reviewed = count(db, replace(flt, include_all=True, limit=0))
        closed = count(db, replace(flt, include_all=True, include_closed=True, limit=0)) - reviewed
        if reviewed:
            _echo(f"{reviewed} acked, muted or snoozed: triage inbox --all shows them.")
        if closed:
            _echo(f"{closed} fixed, dup, invalid or superseded: triage inbox --all shows them.")


# SGR codes of the label colours and the header (what rich printed here; rich's import is ~20 ms of each inbox)
STYLES = {"data-loss": "1;31", "reclaim-deadlock": "31", "fault-injection": "33", "nofail-warning": "2",
          "unclassified": "35"}
HEADER = "1"


def _colour() -> bool:
    """Colour on a terminal: ``NO_COLOR`` turns it off, ``FORCE_COLOR`` on (as rich and most tools read them)."""
    import os

    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty() and os.environ.get("TERM", "") not in ("dumb", "unknown")


def print_inbox(items) -> None:
    """Inbox lines as a table fitted to the terminal (the title kept readable), label coloured on a tty.
    Every cell is already terminal-safe (``termsafe.line``); the only escape sequences are the colours."""
    from triage.columns import Column, cell, fit, terminal_width
    from triage.termsafe import line
    from vocab.labels import BY_NAME

    width = terminal_width()
    columns = [Column("ID", 0, right=True), Column("label"), Column("conf", 6, right=True), Column("subsys", 3),
               Column("status", 3), Column("age", 2, right=True), Column("crashes", 4, right=True),
               Column("repro", 7), Column("run", 7), Column("new", 5, right=True), Column("title", flex=True)]
    rows = []
    for it in items:
        review = f"needs-review: {line(it.suspected)}?" if it.suspected else "needs-review"
        flags = [f for f, on in ((review, it.needs_review), (it.state, it.state != "new"),
                                 ("human", it.label_source == "human")) if on]
        title = " ".join(f"[{f}]" for f in flags) + (" " if flags else "") + line(it.title)
        title += f" (+{it.duplicates - 1} dup)" if it.duplicates > 1 else ""
        rows.append([str(it.id), it.label, f"{it.confidence:.2f}" if it.confidence is not None else "-",
                     ",".join(map(line, it.subsystems)) or "?", it.status or "-", it.age, str(it.crashes),
                     line(it.repro) or "-", line((it.repro_run or "-").split(" ")[0]),
                     str(it.new_replies) if it.new_replies else "-", title])
    keep, widths = fit(columns, rows, width)
    if width is not None and widths[-1] < max(len(r[-1]) for r in rows):
        # the title is cut: labels in their short form leave it more room
        for r in rows:
            r[1] = BY_NAME[r[1]].short if r[1] in BY_NAME else r[1]
        keep, widths = fit(columns, rows, width)
    colour = _colour()

    def paint(text: str, sgr: str | None) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if colour and sgr and text else text

    out = [paint("  ".join(cell(columns[i].name, widths[i], columns[i].right) for i in keep).rstrip(), HEADER)]
    for it, row in zip(items, rows, strict=True):
        cells = [cell(row[i], widths[i], columns[i].right) for i in keep]
        text = "  ".join(cells).rstrip()
        if colour and 1 in keep and it.label in STYLES:
            at = keep.index(1)
            head = "  ".join(cells[:at]) + ("  " if at else "")
            label = cells[at].rstrip() if at == len(cells) - 1 else cells[at]
            text = head + paint(label, STYLES[it.label]) + text[len(head) + len(label):]
        out.append(text)
    sys.stdout.write("\n".join(out) + "\n")


# -- show --------------------------------------------------------------------------------------------------

def show_cmd(
    report_id: int = typer.Argument(..., metavar="ID"),
    raw: bool = typer.Option(False, "--raw", help="Print the report's stored text as it was imported."),
    no_pager: bool = typer.Option(False, "--no-pager", help="Never page (a terminal gets $PAGER, else less)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Everything about one report (trace, evidence, similar reports, crashes, thread, reproducer run). Paged when
    stdout is a terminal. Looking does not change what the inbox calls new: `triage seen ID` (or ack) does."""
    from triage.columns import terminal_width
    from triage.pager import page
    from triage.review import ReviewError
    from triage.show import details, raw_text, render
    from triage.termsafe import clean

    db = open_store()
    try:
        if raw:
            text = clean(raw_text(db, report_id))
        else:
            d = details(db, report_id)
    except ReviewError as exc:
        die(str(exc))
    if raw and no_pager:
        typer.echo(text, nl=not text.endswith("\n"))
    elif raw:
        page(text)
    if raw:
        return
    if json_out:
        emit_json(d)
        return
    text = render(d, width=terminal_width())
    if no_pager:
        typer.echo(text)
    else:
        page(text)


# -- review state ------------------------------------------------------------------------------------------

def _valid_ids(db, ids: list[int]) -> tuple[list[int], list[int]]:
    """(the ids that name reports, the ones that do not); the unknown are named on stderr here."""
    from triage.review import unknown_ids

    unknown = unknown_ids(db, ids)
    for rid in unknown:
        warn(f"no report with id {rid}")
    return [i for i in dict.fromkeys(ids) if i not in unknown], unknown


def _set_state(ids: list[int], state: str, json_out: bool, note: str | None = None) -> None:
    from triage.review import ReviewError, set_state

    db = open_store()
    valid, unknown = _valid_ids(db, ids)
    if valid:
        try:
            touched = set_state(db, valid, state, who=_user(_config()), note=note)
        except ReviewError as exc:
            die(str(exc))
        _done(state, valid, touched, json_out, unknown=unknown)
    if unknown:
        raise typer.Exit(EXIT_FINDINGS)


def _done(what: str, ids: list[int], touched: list[int], json_out: bool, unknown: list[int] | None = None,
          **extra) -> None:
    if json_out:
        emit_json({"action": what, "ids": ids, "reports": touched, **extra,
                   **({"unknown": unknown} if unknown else {})})
    else:
        dups = len(touched) - len(set(ids))
        typer.echo(f"{what}: {', '.join('#' + str(i) for i in ids)}" + (f" (+{dups} duplicates)" if dups else "")
                   + "".join(f", {k} {v}" for k, v in extra.items()))


def seen_cmd(ids: list[int] = IDS, json_out: bool = JSON_OPTION) -> None:
    """Mark the lines of these reports seen: their replies so far stop counting as new (new -> seen)."""
    from triage.review import ReviewError, mark_seen

    db = open_store()
    valid, unknown = _valid_ids(db, ids)
    touched: list[int] = []
    who = _user(_config())
    try:
        for rid in valid:
            touched += mark_seen(db, rid, who=who)
    except ReviewError as exc:
        die(str(exc))
    if valid:
        _done("seen", valid, sorted(set(touched)), json_out, unknown=unknown)
    if unknown:
        raise typer.Exit(EXIT_FINDINGS)


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
    from triage.review import ReviewError, parse_when, snooze, stamp, utcnow

    try:
        when = parse_when(until, future=True)
    except ReviewError as exc:
        die(f"--until {exc}", EXIT_USAGE)
    if when <= utcnow():
        die(f"--until {until}: {stamp(when)[:10]} is in the past (snooze until a later date, or triage unack)",
            EXIT_USAGE)
    db = open_store()
    valid, unknown = _valid_ids(db, ids)
    if valid:
        try:
            touched = snooze(db, valid, when, who=_user(_config()))
        except ReviewError as exc:
            die(str(exc))
        _done("snoozed", valid, touched, json_out, unknown=unknown, until=stamp(when))
    if unknown:
        raise typer.Exit(EXIT_FINDINGS)


def label_cmd(
    report_id: int = typer.Argument(..., metavar="ID"),
    label: str = typer.Argument(..., metavar="LABEL", help="One of the consequence labels (triage label --help)."),
    note: str = typer.Option(None, "--note", help="Why (kept as the evidence of the human verdict)."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Label a report by hand: overrides the classifier and feeds the next training."""
    from triage.review import ReviewError, set_label
    from vocab.labels import LABELS

    if label not in LABELS:
        die(f"{label!r}: not a label (one of {', '.join(LABELS)})", EXIT_USAGE)
    db = open_store()
    try:
        set_label(db, report_id, label, who=_user(_config()), note=note)
    except ReviewError as exc:
        die(str(exc))
    _done("labelled", [report_id], [report_id], json_out, label=label)


def config_cmd(
    init: bool = typer.Option(False, "--init",
                              help="Write an example config file (all commented out) if there is none."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Show the config file's path and content (identity, subscriptions, digest and SMTP settings)."""
    from dataclasses import asdict

    from triage.config import EXAMPLE
    from triage.paths import config_file

    path: Path = config_file()
    if init:
        if path.exists():
            die(f"{path}: already exists")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EXAMPLE, encoding="utf-8")
        typer.echo(f"wrote {path}: every setting is commented out; remove a line's leading '# ' to use it",
                   err=True)
    cfg = _config()
    if json_out:
        emit_json({k: v for k, v in asdict(cfg).items() if k != "text"})
        return
    typer.echo(f"# {cfg.path}" + ("" if cfg.exists else " (absent; `triage config --init` writes this example)"))
    _echo(cfg.text if cfg.exists else EXAMPLE)


# -- mail out: digest, reply, outbox -----------------------------------------------------------------------

SMTP_OPTION = typer.Option(None, "--smtp", metavar="HOST:PORT",
                           help="SMTP server [default: the config's, else localhost:25].")
STARTTLS_OPTION = typer.Option(None, "--starttls/--no-starttls",
                               help="Use STARTTLS (the server's certificate is checked).")
USER_OPTION = typer.Option(None, "--user", metavar="U", help="SMTP login.")
PASSWORD_OPTION = typer.Option(None, "--password-env", metavar="VAR",
                               help="Environment variable holding the SMTP password.")


def _smtp(cfg, smtp: str | None, starttls: bool | None, user: str | None, password_env: str | None):
    """SMTP settings from the options, else the config; a bad value is a usage error."""
    from triage.outbox import SmtpSettings, parse_hostport, password_from_env

    conf = cfg.smtp
    try:
        host, port = parse_hostport(smtp or conf.host or "localhost:25")
        return SmtpSettings(host=host, port=port, starttls=conf.starttls if starttls is None else starttls,
                            user=user or conf.user, password=password_from_env(password_env or conf.password_env))
    except ValueError as exc:
        die(str(exc), EXIT_USAGE)


def digest_cmd(
    since: str = typer.Option("7d", "--since", metavar="SPAN", help="The period: 7d, 2w, or a start DATE."),
    subsystem: list[str] = typer.Option(None, "--subsystem", "-s", metavar="S",
                                        help="Only this subsystem (repeatable). Overrides the subscriptions."),
    send: bool = typer.Option(False, "--send", help="Mail it to --to or the config's [digest] to."),
    to: list[str] = typer.Option(None, "--to", metavar="ADDR", help="Mail it to ADDR (repeatable; implies --send)."),
    sender: str = typer.Option(None, "--from", metavar="ADDR", help="From address."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the message that would be sent; never connect."),
    smtp: str = SMTP_OPTION,
    starttls: bool = STARTTLS_OPTION,
    user: str = USER_OPTION,
    password_env: str = PASSWORD_OPTION,
    out: Path = typer.Option(None, "--out", metavar="FILE.eml", help="Write the message to FILE.eml; never send."),
    stale_max: int = typer.Option(None, "--stale-max", min=0, help="At most N stale open items."),
    json_out: bool = JSON_OPTION,
) -> None:
    """The weekly digest: counts per label, new critical items first, what got fixed, what is stale.

    Without --send or --to it is a preview (printed, or --out / --json / --dry-run): a preview never connects.
    """
    from triage.digest import build, message
    from triage.outbox import SendError, outbox_dir, save
    from triage.outbox import send as deliver
    from triage.review import ReviewError, parse_when, utcnow

    preview = [name for name, on in (("--out", out), ("--json", json_out), ("--dry-run", dry_run)) if on]
    if send and preview:
        die(f"--send and {preview[0]}: a preview never sends; choose one", EXIT_USAGE)
    cfg = _config()
    dig = cfg.digest
    now = utcnow()
    try:
        span = now - parse_when(since, future=False, now=now)
    except ReviewError as exc:
        die(f"--since {exc}", EXIT_USAGE)
    if span.total_seconds() <= 0:
        die(f"--since {since}: the period must end before now", EXIT_USAGE)
    db = open_store()
    if subsystem:
        _check_subsystems(db, list(subsystem))
    subs = cfg.subscriptions
    d = build(db, span, subsystems=list(subsystem) if subsystem else subs.subsystems,
              addresses=[] if subsystem else subs.addresses, labels=subs.labels,
              stale_max=dig.stale_max if stale_max is None else stale_max, stale_days=dig.stale_days, now=now)
    recipients = list(to) if to else dig.to
    sending = (send or bool(to)) and not preview
    if sending and not recipients:
        die("--send: no recipients (give --to ADDR or set [digest] to in the config)", EXIT_USAGE)
    settings = _smtp(cfg, smtp, starttls, user, password_env) if sending else None
    msg = message(d, recipients, sender or dig.sender or f"syz-triage <{_user(cfg)}@localhost>")
    if json_out:
        emit_json(d.to_dict())
    if out:
        try:
            save(msg, out)
        except OSError as exc:
            die(f"{out}: {exc.strerror or exc}")
        typer.echo(f"digest written to {out} (not sent)", err=True)
    if dry_run:
        for key in ("From", "To", "Subject", "Date"):
            if msg[key]:
                _echo(f"{key}: {msg[key]}")
        _echo("")
    if not sending:
        if not out and not json_out:
            _echo(msg.get_body(("plain",)).get_content().rstrip("\n"))
        if recipients and not preview:
            typer.echo(f"(a preview: --send mails it to {', '.join(recipients)})", err=True)
        return
    try:
        deliver(msg, settings, outbox_dir(), what="the digest")
    except SendError as exc:
        die(str(exc))
    typer.echo(f"digest sent to {', '.join(recipients)} via {settings.host}:{settings.port}", err=True)


def reply_cmd(
    report_id: int = typer.Argument(..., metavar="ID"),
    fix: str = typer.Option(None, "--fix", metavar="TITLE", help="#syz fix: the fixing commit's title."),
    dup: str = typer.Option(None, "--dup", metavar="TITLE", help="#syz dup: the title of the bug it duplicates."),
    invalid: bool = typer.Option(False, "--invalid", help="#syz invalid: close the bug as invalid."),
    undup: bool = typer.Option(False, "--undup", help="#syz undup: it is not a duplicate after all."),
    sets: list[str] = typer.Option(None, "--set", metavar="VALUE",
                                   help="#syz set VALUE, e.g. 'subsystems: ext4' (repeatable)."),
    send: bool = typer.Option(False, "--send", help="Send it over SMTP instead of writing an .eml file."),
    out: Path = typer.Option(None, "--out", "-o", metavar="FILE.eml",
                             help="Where to write the .eml [default: reply-ID-COMMAND.eml here]."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the mail; write, send and record nothing."),
    sender: str = typer.Option(None, "--from", metavar="ADDR", help="From [default: the config's user]."),
    smtp: str = SMTP_OPTION,
    starttls: bool = STARTTLS_OPTION,
    user: str = USER_OPTION,
    password_env: str = PASSWORD_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Tell syzbot about a report's bug: a #syz command mail in reply to the report's message.

    The mail is written as an .eml (for git send-email or a mail client) or sent with --send, and recorded:
    the inbox shows the bug as fix pending / dup / invalid at once.
    """
    from email.utils import parseaddr

    from triage.outbox import SendError, outbox_dir, recipients, save
    from triage.outbox import send as deliver
    from triage.reply import ReplyError, commands, compose, record
    from triage.review import ReviewError

    if send and (out or dry_run):
        die(f"--send and {'--out' if out else '--dry-run'}: choose one", EXIT_USAGE)
    try:
        cmds = commands(fix=fix, dup=dup, invalid=invalid, undup=undup, sets=list(sets or []))
    except ReplyError as exc:
        die(str(exc), EXIT_USAGE)
    cfg = _config()
    sender = sender or (cfg.user if cfg.user and "@" in cfg.user else None)
    if sender and "@" not in parseaddr(sender)[1]:
        die(f"--from {sender!r}: not an e-mail address", EXIT_USAGE)
    if send and not sender:
        die("--send needs a From: give --from ADDR or set user = \"Name <addr>\" in the config", EXIT_USAGE)
    settings = _smtp(cfg, smtp, starttls, user, password_env) if send else None
    db = open_store()
    try:
        msg, orig, extid = compose(db, report_id, cmds, sender)
    except ReplyError as exc:
        die(str(exc), EXIT_USAGE)
    except ReviewError as exc:
        die(str(exc))
    if orig is None:
        warn(f"no mail of bug {extid} is stored: the reply is not threaded (syzbot still reads it by its address)")
    if dry_run:
        _echo(bytes(msg).decode("utf-8", "replace").rstrip("\n"))
        return
    failed = None
    where = None
    if send:
        try:
            deliver(msg, settings, outbox_dir(), what="the reply")
        except SendError as exc:
            failed = exc
    else:
        where = out or _free_name(Path.cwd() / f"reply-{report_id}-{cmds[0].verb}.eml")
        try:
            save(msg, where)
        except OSError as exc:
            die(f"{where}: {exc.strerror or exc}")
    mid = record(db, msg, cmds, extid, orig)
    if json_out:
        emit_json({"report": report_id, "bug": extid, "message_id": mid, "commands": [c.line for c in cmds],
                   "to": recipients(msg), "in_reply_to": orig.message_id if orig else None,
                   "file": str(where) if where else (str(failed.kept) if failed else None),
                   "sent": bool(send and not failed)})
    elif where:
        _echo(f"{where}: {'; '.join(c.line for c in cmds)} in reply to "
              f"{'<' + orig.message_id + '>' if orig else 'bug ' + extid}; send it with: git send-email {where}")
    elif not failed:
        _echo(f"sent to {', '.join(recipients(msg))} via {settings.host}:{settings.port}: "
              f"{'; '.join(c.line for c in cmds)}")
    if failed:
        die(f"{failed} (recorded; triage outbox --resend retries)")


def _free_name(path: Path) -> Path:
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def mbox_cmd(
    report_id: int = typer.Argument(..., metavar="ID"),
    out: Path = typer.Option(None, "--out", "-o", metavar="FILE",
                             help="Where to write it [default: report-ID.mbox here]; - for stdout."),
) -> None:
    """Write the report's mail thread, from the store, as an mbox (for mutt or b4 am)."""
    from triage.mbox import thread, to_bytes, write
    from triage.review import ReviewError

    db = open_store()
    path = out or Path.cwd() / f"report-{report_id}.mbox"
    try:
        rows = thread(db, report_id)
        if str(out) == "-":
            sys.stdout.buffer.write(to_bytes(rows))
            return
        n = write(rows, path)
    except ReviewError as exc:
        die(str(exc))
    except OSError as exc:
        die(f"{path}: {exc.strerror or exc}")
    _echo(f"{path}: {n} message{'s' if n != 1 else ''} (mutt -f {path}; b4 am -m {path})", err=True)


def outbox_cmd(
    resend: bool = typer.Option(False, "--resend", help="Try to send every message again; sent ones leave."),
    smtp: str = SMTP_OPTION,
    starttls: bool = STARTTLS_OPTION,
    user: str = USER_OPTION,
    password_env: str = PASSWORD_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Digests and replies whose sending failed, kept until they go out."""
    from triage.outbox import SendError, outbox_dir, pending
    from triage.outbox import resend as send_again

    items = list(pending(outbox_dir()))
    if not resend:
        for it in items:
            if json_out:
                emit_json(it.to_dict())
            else:
                _echo(f"{it.kind:6}  {it.date}  to {', '.join(it.to) or '?'}  {it.subject}  ({it.path.name})")
        if not items and not json_out:
            typer.echo("outbox empty")
        return
    if not items:
        typer.echo("outbox empty: nothing to send")
        return
    settings = _smtp(_config(), smtp, starttls, user, password_env)
    failures = 0
    for it in items:
        try:
            send_again(it, settings)
        except SendError as exc:
            failures += 1
            warn(str(exc))
            if json_out:
                emit_json({**it.to_dict(), "sent": False})
            continue
        if json_out:
            emit_json({**it.to_dict(), "sent": True})
        else:
            _echo(f"sent: {it.subject} to {', '.join(it.to)}")
    if failures:
        raise typer.Exit(EXIT_FINDINGS)


def register(app: typer.Typer) -> None:
    app.command("inbox")(inbox_cmd)
    app.command("show")(show_cmd)
    app.command("seen")(seen_cmd)
    app.command("ack")(ack_cmd)
    app.command("mute")(mute_cmd)
    app.command("unack")(unack_cmd)
    app.command("snooze")(snooze_cmd)
    app.command("label")(label_cmd)
    app.command("reply")(reply_cmd)
    app.command("mbox")(mbox_cmd)
    app.command("config")(config_cmd)
    app.command("digest")(digest_cmd)
    app.command("outbox")(outbox_cmd)
