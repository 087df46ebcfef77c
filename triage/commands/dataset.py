"""The dataset: ``query`` (read-only SQL), ``search`` (full text), ``export``, ``serve`` (Datasette)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from triage.commands.common import EXIT_USAGE, JSON_OPTION, db_path, die, emit_json


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


def _print_rows(cols: list[str], rows) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold", show_lines=False)
    for col in cols:
        table.add_column(col, overflow="fold")
    n = 0
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
        n += 1
    Console().print(table)
    return n


def query_cmd(
    sql: str = typer.Argument(..., metavar="SQL", help="One SQL statement (SELECT / WITH / read-only PRAGMA)."),
    param: list[str] = typer.Option(None, "--param", "-p", metavar="NAME=VALUE", help="Named parameter :NAME."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run read-only SQL on the database. Writes (INSERT, UPDATE, DELETE, ATTACH, PRAGMA x=y) are refused."""
    from triage.dataset import QueryError, run_query

    params = {}
    for p in param or []:
        if "=" not in p:
            die(f"--param {p!r}: expected NAME=VALUE", EXIT_USAGE)
        k, v = p.split("=", 1)
        params[k] = v
    db, guard = _read_only()
    try:
        cols, rows = run_query(db, guard, sql, params)
        if json_out:
            for row in rows:
                emit_json(dict(zip(cols, row, strict=True)))
        else:
            _print_rows(cols, rows)
    except QueryError as exc:
        die(f"query {exc}")


def search_cmd(
    text: str = typer.Argument(..., metavar="TEXT", help="Words, or an FTS5 query (\"lost async\" AND ext4)."),
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    json_out: bool = JSON_OPTION,
) -> None:
    """Full-text search over report titles and texts and over mail subjects and bodies."""
    from triage.dataset import search

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
        ident = f"#{h['id']}" if h["kind"] == "report" else h["id"]
        typer.echo(f"{h['kind']:7} {ident}  {h['date'] or '-'}  {who}  {h['title'] or ''}")
        typer.echo("        " + " ".join((h["snippet"] or "").split()))


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
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8001, "--port"),
    open_browser: bool = typer.Option(False, "--open", help="Open a browser on the served database."),
) -> None:
    """Browse the database in Datasette, with table descriptions and canned queries."""
    import importlib.util
    import subprocess

    from triage.dataset import datasette_metadata
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
    if importlib.util.find_spec("datasette") is None:
        die("Datasette is not installed: pip install 'syz-triage[datasette]'")
    if not path.exists():
        die(f"{path}: no such database")
    meta_file = out or cache_dir() / "datasette-metadata.json"
    meta_file.parent.mkdir(parents=True, exist_ok=True)
    meta_file.write_text(meta + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "datasette", "serve", str(path), "--metadata", str(meta_file),
           "--host", host, "--port", str(port)] + (["--open"] if open_browser else [])
    try:
        raise typer.Exit(subprocess.call(cmd))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def register(app: typer.Typer) -> None:
    app.command("query")(query_cmd)
    app.command("search")(search_cmd)
    app.command("export")(export_cmd)
    app.command("serve")(serve_cmd)
