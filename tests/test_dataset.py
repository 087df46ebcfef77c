"""The dataset: read-only query (writes refused), full-text search, export, Datasette metadata, views."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from test_inbox_data import add, bug, labelled_text, message, synthetic, verdict

from triage.dataset import CANNED_QUERIES, QueryError, datasette_metadata, open_read_only, run_query


@pytest.fixture
def store(db, db_path):
    ids = [add(db, labelled_text(n), f"l{n}", days_ago=n, bug=f"bug{n}") for n in (1, 5, 20)]
    bug(db, "bug5", subsystems=("ext4",), status="open")
    bug(db, "bug1", subsystems=("mm",), status="fixed")
    verdict(db, ids[0], "nofail-warning")
    verdict(db, ids[1], "data-loss", needs_review=True, confidence=0.5)
    message(db, "<m1@x>", "bug5", 1, author="Jan Kara", body="The dirty pages are dropped on umount, a data loss.",
            syz=[{"command": "fix", "args": "ext4: keep dirty pages"}])
    db.conn.commit()
    return ids


def test_query_refuses_writes_and_answers_selects(cli, store, db, tmp_path):
    before = db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    other = tmp_path / "other.db"
    refused = {
        "DELETE FROM reports": "DELETE",
        "UPDATE reviews SET state = 'acked'": "UPDATE",
        "INSERT INTO label_ranks VALUES ('x', 9, 'x', 'x')": "INSERT",
        f"ATTACH DATABASE '{other}' AS o": "ATTACH",
        "PRAGMA query_only = 0": "PRAGMA",
        "PRAGMA user_version = 99": "PRAGMA",
        "CREATE TABLE t (x)": "CREATE",
        "DROP VIEW report_labels": "DROP",
        "WITH x AS (SELECT 1) DELETE FROM reviews": "DELETE",
    }
    for sql, what in refused.items():
        res = cli("query", sql)
        assert res.exit_code == 1, sql
        lines = res.output.strip().splitlines()
        assert len(lines) == 1 and "refused" in lines[0] and what in lines[0], (sql, res.output)
    assert not other.exists(), "ATTACH created a file"
    assert db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == before
    assert db.execute("SELECT state FROM reviews GROUP BY state").fetchall() == [("new",)]
    res = cli("query", "--json", "SELECT label, COUNT(*) AS n FROM report_labels GROUP BY label ORDER BY label")
    assert res.exit_code == 0
    assert [json.loads(x) for x in res.output.splitlines()] == [
        {"label": None, "n": 1}, {"label": "data-loss", "n": 1}, {"label": "nofail-warning", "n": 1}]
    res = cli("query", "--json", "-p", "f=does_not_exist", "SELECT COUNT(*) AS n FROM frames WHERE norm_function = :f")
    assert json.loads(res.output) == {"n": 0}
    assert cli("query", "PRAGMA table_info(reports)").exit_code == 0
    res = cli("query", "SELEC nonsense")
    assert res.exit_code == 1 and "syntax error" in res.output


def test_authorizer_guards_even_a_writable_attach(db_path, store):
    """The authorizer, not only mode=ro, stops ATTACH: attaching another file could write to it."""
    db, guard = open_read_only(db_path)
    with pytest.raises(QueryError, match="ATTACH"):
        run_query(db, guard, "ATTACH DATABASE ':memory:' AS m")
    cols, rows = run_query(db, guard, "SELECT COUNT(*) AS n FROM reports")
    assert cols == ["n"] and list(rows) == [(3,)]


def test_search_reports_and_messages(cli, store):
    res = cli("search", "--json", "dropped umount")
    hits = [json.loads(x) for x in res.output.splitlines()]
    assert hits and hits[0]["kind"] == "message" and hits[0]["id"] == "<m1@x>"
    hits = [json.loads(x) for x in cli("search", "--json", "prune_icache_sb").output.splitlines()]
    assert any(h["kind"] == "report" and h["id"] == store[0] for h in hits)
    # invalid FTS5 syntax falls back to plain words instead of failing
    res = cli("search", "--json", 'prune_icache_sb AND ("')
    assert res.exit_code == 0 and any(json.loads(x)["id"] == store[0] for x in res.output.splitlines())
    assert cli("search", "zzzznotaword").output.strip() == "no match"


def test_export_csv_json_and_errors(cli, store, tmp_path):
    out = tmp_path / "reports.csv"
    res = cli("export", "--format", "csv", "--out", out)
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(int(r["id"]) for r in rows) == sorted(store)
    assert {r["label"] for r in rows} == {"data-loss", "nofail-warning", ""}
    res = cli("export", "--format", "json", "--table", "bugs")
    data = json.loads(res.output)
    assert sorted(b["extid"] for b in data) == ["bug1", "bug5"]
    res = cli("export", "--format", "jsonl", "--table", "messages")
    assert json.loads(res.output)["author_name"] == "Jan Kara"
    for args in (("--table", "reports; DROP TABLE reports"), ("--format", "xml"), ("--table", "reports_fts_data")):
        res = cli("export", *args)
        assert res.exit_code == 2 and "Traceback" not in res.output, args
    res = cli("export", "--out", tmp_path / "missing" / "x.csv")
    assert res.exit_code == 1 and "x.csv" in res.output


def test_datasette_metadata_and_canned_queries_run(cli, store, db, tmp_path):
    out = tmp_path / "metadata.json"
    assert cli("serve", "--metadata-only", "--out", out).exit_code == 0
    meta = json.loads(out.read_text())
    (name, dbmeta), = meta["databases"].items()
    assert name == "triage" and "reports_through_function" in dbmeta["queries"]
    assert "open_data_loss_by_subsystem" in dbmeta["queries"]
    assert meta == datasette_metadata("triage")
    db.execute("INSERT INTO frames (report_id, stack, pos, function, norm_function) "
               "VALUES (?, 'crash', 99, 'ext4_x.isra.0', 'ext4_x')", [store[1]])
    db.conn.commit()
    ro, guard = open_read_only(db.conn.execute("PRAGMA database_list").fetchone()[2])
    results = {}
    for qname, q in CANNED_QUERIES.items():
        params = {"function": "ext4_x"} if ":function" in q["sql"] else {}
        cols, rows = run_query(ro, guard, q["sql"], params)
        results[qname] = [dict(zip(cols, r, strict=True)) for r in rows]
    assert [r["id"] for r in results["reports_through_function"]] == [store[1]]
    assert results["open_data_loss_by_subsystem"] == [
        {"subsystem": "ext4", "bugs": 1, "reports": 1, "titles": results["open_data_loss_by_subsystem"][0]["titles"]}]
    assert [r["id"] for r in results["needs_review"]] == [store[1]]
    assert results["syz_commands"][0]["command"] == "fix"
    assert len(results["inbox"]) == 3 and results["inbox"][0]["label"] == "data-loss"


def test_serve_without_datasette_says_how_to_install(cli, store, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "datasette", None)        # as if it were not installed
    res = cli("serve")
    assert res.exit_code == 1 and "pip install 'syz-triage[datasette]'" in res.output


def test_views_from_plain_sqlite(db_path, store, db):
    """The views answer from the sqlite3 module alone (no syz-triage code in the query path)."""
    add(db, synthetic("view_fn", 1), "v1", days_ago=1, bug="bug5")
    db.conn.commit()
    conn = sqlite3.connect(db_path)
    groups = conn.execute("SELECT dup_key, reports, label FROM inbox_groups WHERE visible").fetchall()
    assert ("bug5", 2, "data-loss") in groups
    guilty = conn.execute("SELECT COUNT(*) FROM report_frames WHERE guilty").fetchone()[0]
    assert guilty == conn.execute("SELECT COUNT(*) FROM report_frames f JOIN reports r ON r.id = f.report_id "
                                  "WHERE f.function = r.guilty_frame OR f.norm_function = r.guilty_frame"
                                  ).fetchone()[0]
    weeks = conn.execute("SELECT SUM(reports) FROM digest_weekly").fetchone()[0]
    assert weeks == 4


def test_query_prints_plain_aligned_columns_and_json_as_json(cli, store):
    res = cli("query", "SELECT label, COUNT(*) AS reports FROM report_labels GROUP BY label ORDER BY label")
    assert res.exit_code == 0
    assert res.output.splitlines() == [" label           reports", "                 1",
                                       " data-loss       1", " nofail-warning  1"]
    assert "┃" in cli("query", "--table", "SELECT 1 AS x").output
    rows = [json.loads(x) for x in cli("query", "--json", "SELECT extid, subsystems, fix_commits, title FROM bugs "
                                                          "ORDER BY extid").output.splitlines()]
    assert rows[0]["subsystems"] == ["mm"] and rows[0]["fix_commits"] == [] and isinstance(rows[0]["title"], str)
    # text that merely looks like JSON stays text
    row = json.loads(cli("query", "--json", "SELECT '[syzbot] x' AS s, '[1, 2]' AS j").output)
    assert row == {"s": "[syzbot] x", "j": [1, 2]}


FOREVER = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"


def test_query_time_limit(cli, store):
    res = cli("query", "--timeout", "0.5", FOREVER)
    assert res.exit_code == 1 and res.output.strip().splitlines() == [
        "triage: query stopped after 0.5 s (--timeout; 0 for no limit)"]
    assert cli("query", "--timeout", "0.5", "SELECT COUNT(*) FROM reports").exit_code == 0


def test_ctrl_c_stops_a_query(db_path, store):
    """A real process running a statement with no time limit stops on SIGINT with one line, exit 1."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    env = {**os.environ, "TRIAGE_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "triage", "query", "--timeout", "0", FOREVER], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # well into the statement: 1.5 s of its CPU time (start-up takes a fraction of that; a wall-clock wait could
    # end before a loaded machine had even imported the CLI, and SIGINT would then stop the start-up instead)
    deadline = time.monotonic() + 120
    while _cpu_seconds(proc.pid) < 1.5 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1, (out, err)
    assert err.strip().splitlines() == ["triage: query interrupted (Ctrl-C)"] and out == ""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc; elsewhere inf, after a 1.5 s wait)."""
    import os
    import time

    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        time.sleep(1.5)
        return float("inf")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _databases(folder) -> list[str]:
    return sorted({p.name.removesuffix("-wal").removesuffix("-shm") for p in folder.iterdir()})


def test_paths_with_uri_characters_open_read_only(cli, tmp_path, monkeypatch):
    from triage.store import open_db

    for name in ("a#b.db", "c?d.db", "e%41f.db", "g h#?%.db"):
        path = tmp_path / name
        db = open_db(path)
        add(db, synthetic("uri_fn"), "u", days_ago=1)
        db.conn.close()
        before = _databases(tmp_path)
        res = cli("--db", path, "query", "--json", "SELECT COUNT(*) AS n FROM reports")
        assert res.exit_code == 0 and json.loads(res.output) == {"n": 1}, (name, res.output)
        assert _databases(tmp_path) == before, name      # no stray empty database ("a" for "a#b.db")
        db, guard = open_read_only(path)
        with pytest.raises(QueryError, match="refused"):
            run_query(db, guard, "DELETE FROM reports")


def test_search_ranks_reports_before_mails(cli, store, db):
    for n in range(25):
        message(db, f"<talk{n}@x>", None, 2, body="prune_icache_sb prune_icache_sb prune_icache_sb again")
    db.conn.commit()
    hits = [json.loads(x) for x in cli("search", "--json", "prune_icache_sb").output.splitlines()]
    kinds = [h["kind"] for h in hits]
    assert kinds[0] == "report" and kinds == sorted(kinds, key=lambda k: k != "report")
    assert kinds.count("message") == 20 and any(h["id"] == store[0] for h in hits if h["kind"] == "report")
    out = cli("search", "prune_icache_sb").output
    assert out.index("report ") < out.index("message ")


def test_canned_query_lists_each_report_once(store, db, db_path):
    # one report whose stack passes through the function in three frames of two stacks
    for stack, pos in (("crash", 90), ("crash", 91), ("lockdep-chain-0", 0)):
        db.execute("INSERT INTO frames (report_id, stack, pos, function, norm_function) VALUES (?, ?, ?, 'f', 'f')",
                   [store[1], stack, pos])
    db.conn.commit()
    ro, guard = open_read_only(db_path)
    cols, rows = run_query(ro, guard, CANNED_QUERIES["reports_through_function"]["sql"], {"function": "f"})
    rows = [dict(zip(cols, r, strict=True)) for r in rows]
    assert [r["id"] for r in rows] == [store[1]] and rows[0]["frames"] == 3
    assert sorted(rows[0]["stacks"].split(",")) == ["crash", "lockdep-chain-0"]


def test_serve_refuses_a_non_loopback_host(cli, store):
    from triage.dataset import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.3.4.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1") and not is_loopback("::")
    for host in ("0.0.0.0", "::", "192.0.2.1"):
        res = cli("serve", "--host", host)
        assert res.exit_code == 2 and "--public" in res.output and len(res.output.strip().splitlines()) == 1


def _wait_http(url: str, proc, seconds: float = 90) -> bytes:
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read()
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url}: no answer")


def _children(pid: int) -> list[int]:
    from pathlib import Path

    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_serve_runs_datasette_in_process_so_a_kill_stops_it(db_path, store, db, sig):
    import os
    import signal
    import socket
    import subprocess
    import sys

    from conftest import ROOT

    pytest.importorskip("datasette")
    db.execute("INSERT INTO frames (report_id, stack, pos, function, norm_function) VALUES (?, 'crash', 98, 'g', 'g')",
               [store[1]])
    db.execute("INSERT INTO frames (report_id, stack, pos, function, norm_function) VALUES (?, 'crash', 99, 'g', 'g')",
               [store[1]])
    db.conn.commit()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TRIAGE_DB": str(db_path), "PYTHONPATH": str(ROOT),
           "XDG_CACHE_HOME": str(db_path.parent / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "triage", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = _wait_http(f"http://127.0.0.1:{port}/triage/reports_through_function.json?function=g&_shape=array",
                          proc)
        assert [r["id"] for r in json.loads(body)] == [store[1]]          # once, through Datasette too
        assert _children(proc.pid) == []                                   # no Datasette child to orphan
        proc.send_signal(getattr(signal, sig))
        proc.wait(timeout=30)
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(2)
            s.connect(("127.0.0.1", port))                                  # nothing listens any more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_canned_inbox_query_orders_as_the_inbox(store, db, db_path):
    # an older confident data-loss group beside the newer one flagged for review: both orders put it first
    old = add(db, labelled_text(30), "l30", days_ago=30, bug="bug30")
    verdict(db, old, "data-loss", confidence=0.9)
    db.conn.commit()
    from triage.inbox import InboxFilter, groups
    from triage.store.groups import settle

    settle(db)
    db.conn.commit()
    inbox = [g.dup_key for g in groups(db, InboxFilter(limit=0, include_closed=True))]   # the view keeps closed
    ro, guard = open_read_only(db_path)
    cols, rows = run_query(ro, guard, CANNED_QUERIES["inbox"]["sql"], {})
    canned = [dict(zip(cols, r, strict=True))["dup_key"] for r in rows]
    assert canned == inbox
    assert canned.index("bug30") < canned.index("bug5")
