"""The dataset: ``query`` (read-only SQL), ``search`` (full text), ``export``, ``serve`` (Datasette)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from triage.commands.common import EXIT_USAGE, JSON_OPTION, db_path, die, emit_json, warn


def _read_only():
    from triage.dataset import open_read_only
    from triage.store import StoreError, open_db

    path = db_path()
    if path.exists():
        try:
            open_db(path).conn.close()      # bring an older store's schema (views) up to date first
        except StoreError:
            pass                            # a read-only file or a newer schema: query it as it is
    try:
        return open_read_only(path)
    except StoreError as exc:
        die(str(exc))


def _print_rows(cols: list[str], rows, table: bool = False) -> int:
    """Rows as plain aligned columns (``--table``: a box), every value printed as data."""
    from triage.termsafe import line

    cells = [["" if v is None else line(v) for v in row] for row in rows]
    if table:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        box = Table(header_style="bold", show_lines=False)
        for col in cols:
            box.add_column(Text(line(col)), overflow="fold")
        for row in cells:
            box.add_row(*(Text(v) for v in row))
        Console(highlight=False).print(box)
        return len(cells)
    heads = [line(c) for c in cols]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(heads)]
    out = sys.stdout
    out.write(" " + "  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip() + "\n")
    for row in cells:
        out.write(" " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return len(cells)


def query_cmd(
    sql: str = typer.Argument(..., metavar="SQL", help="One SQL statement (SELECT / WITH / read-only PRAGMA)."),
    param: list[str] = typer.Option(None, "--param", "-p", metavar="NAME=VALUE", help="Named parameter :NAME."),
    timeout: float = typer.Option(5.0, "--timeout", metavar="SECONDS", min=0,
                                  help="Stop the statement after this long (0: no limit)."),
    table: bool = typer.Option(False, "--table", help="Draw a box table instead of plain aligned columns."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run read-only SQL on the database. Writes (INSERT, UPDATE, DELETE, ATTACH, PRAGMA x=y) are refused.

    Ctrl-C or --timeout stops a long statement with a one-line message (exit 1).
    """
    from triage.dataset import QueryError, json_values, run_query

    params = {}
    for p in param or []:
        if "=" not in p:
            die(f"--param {p!r}: expected NAME=VALUE", EXIT_USAGE)
        k, v = p.split("=", 1)
        params[k] = v
    db, guard = _read_only()
    try:
        cols, rows = run_query(db, guard, sql, params, timeout=timeout or None)
        if json_out:
            for row in rows:
                emit_json(json_values(dict(zip(cols, row, strict=True))))
        else:
            _print_rows(cols, list(rows), table=table)
    except QueryError as exc:
        die(f"query {exc}")


def search_cmd(
    text: str = typer.Argument(..., metavar="TEXT", help="Words, or an FTS5 query (\"lost async\" AND ext4)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="At most N reports and N mails."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Full-text search: reports (titles and texts) first, then mails (subjects and bodies), best first."""
    from triage.dataset import search
    from triage.termsafe import line

    db, _guard = _read_only()
    hits = search(db, text, limit)
    if json_out:
        for hit in hits:
            emit_json(hit)
        return
    if not hits:
        typer.echo("no match")
        return
    for h in hits:
        who = h.get("label") or "" if h["kind"] == "report" else h.get("author") or ""
        ident = f"#{h['id']}" if h["kind"] == "report" else line(h["id"])
        typer.echo(f"{h['kind']:7} {ident}  {h['date'] or '-'}  {line(who)}  {line(h['title'])}")
        typer.echo("        " + line(" ".join((h["snippet"] or "").split())))


def export_cmd(
    fmt: str = typer.Option("csv", "--format", "-f", metavar="csv|json|jsonl"),
    table: str = typer.Option(None, "--table", "-t", metavar="T",
                              help="Table or view to export [default: labelled_reports]."),
    out: Path = typer.Option(None, "--out", "-o", metavar="FILE", help="Write to FILE instead of stdout."),
) -> None:
    """Export a table or view (default: every report with its effective label) as CSV or JSON."""
    from triage.dataset import DEFAULT_EXPORT, FORMATS, QueryError, export

    if fmt not in FORMATS:
        die(f"--format {fmt!r}: one of {', '.join(FORMATS)}", EXIT_USAGE)
    db, _guard = _read_only()
    tmp = out.with_name(out.name + ".part") if out else None
    try:
        if tmp:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                n = export(db, table or DEFAULT_EXPORT, fmt, fh)
            tmp.replace(out)
            typer.echo(f"{n} rows written to {out}", err=True)
        else:
            export(db, table or DEFAULT_EXPORT, fmt, sys.stdout)
    except QueryError as exc:
        if tmp:
            tmp.unlink(missing_ok=True)
        die(str(exc), EXIT_USAGE)
    except BrokenPipeError:
        raise
    except OSError as exc:
        if tmp:
            tmp.unlink(missing_ok=True)
        die(f"{out}: {exc.strerror or exc}")


def serve_cmd(
    metadata_only: bool = typer.Option(False, "--metadata-only", help="Only write Datasette's metadata JSON."),
    out: Path = typer.Option(None, "--out", "-o", metavar="FILE",
                             help="Where to write the metadata [default: stdout with --metadata-only]."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless --public)."),
    port: int = typer.Option(8001, "--port", min=0, max=65535),
    public: bool = typer.Option(False, "--public",
                                help="Allow a non-loopback --host: anyone who reaches it reads the whole store."),
    open_browser: bool = typer.Option(False, "--open", help="Open a browser on the served database."),
) -> None:
    """Browse the database in Datasette (run in this process), with table descriptions and canned queries."""
    import importlib.util

    from triage.dataset import datasette_metadata, is_loopback
    from triage.paths import cache_dir

    path = db_path()
    meta = json.dumps(datasette_metadata(path.stem), indent=2, ensure_ascii=False)
    if metadata_only:
        if out:
            out.write_text(meta + "\n", encoding="utf-8")
            typer.echo(f"metadata written to {out}", err=True)
        else:
            typer.echo(meta)
        return
    if not public and not is_loopback(host):
        die(f"--host {host}: not a loopback address; Datasette has no login, so everyone who can reach "
            f"{host}:{port} would read the whole store. Pass --public to serve it anyway", EXIT_USAGE)
    if importlib.util.find_spec("datasette") is None:
        die("Datasette is not installed: pip install 'syz-triage[datasette]'")
    if not path.is_file():
        die(f"{path}: no such database")
    meta_file = out or cache_dir() / "datasette-metadata.json"
    meta_file.parent.mkdir(parents=True, exist_ok=True)
    meta_file.write_text(meta + "\n", encoding="utf-8")
    if public and not is_loopback(host):
        warn(f"serving {path} to the network on {host}:{port} without authentication (--public)")
    # In this process, not a child: killing `triage serve` stops the server with it.
    from datasette.cli import cli as datasette_cli

    args = ["serve", str(path), "--metadata", str(meta_file), "--host", host, "--port", str(port)]
    try:
        datasette_cli.main(args + (["--open"] if open_browser else []), prog_name="triage serve",
                           standalone_mode=False)
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    except Exception as exc:  # click / datasette start-up errors: one line
        die(f"serve: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")


def register(app: typer.Typer) -> None:
    app.command("query")(query_cmd)
    app.command("search")(search_cmd)
    app.command("export")(export_cmd)
    app.command("serve")(serve_cmd)
