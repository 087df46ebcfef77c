"""``triage sync syzbot`` against a real local server replaying both dashboard generations."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import shared_data
from replay_server import ReplayServer, SyzbotSite

GENERATIONS = ["2025", "2026"]


def fixture_bugs(root: Path) -> dict[str, set[str]]:
    """40-hex bug id -> the report blob ids its JSON lists, from the fixture files themselves."""
    bugs = {}
    for f in root.glob("bug/*.json"):
        data = json.loads(f.read_text())
        xs = {re.search(r"x=([0-9a-f]+)", c["crash-report-link"]).group(1) for c in data.get("crashes", [])}
        bugs.setdefault(data["id"], set()).update(xs)
    return bugs


def sync(cli, url, *extra):
    res = cli("sync", "syzbot", "--base-url", url, "--rate", "0", "--json", *extra)
    lines = res.stdout.strip().splitlines()
    return res, (json.loads(lines[-1]) if lines else None)


def counts(db):
    return {t: db[t].count for t in ("bugs", "crashes", "reports", "frames", "sources")}


@pytest.fixture(params=GENERATIONS)
def site(request):
    root = shared_data("syzbot-pages", request.param)
    with ReplayServer(SyzbotSite(root)) as srv:
        yield srv, root


def test_full_sync_stores_every_bug_crash_and_report(site, cli, db):
    srv, root = site
    res, out = sync(cli, srv.url)
    assert res.exit_code == 0, res.stdout + res.stderr
    expected = fixture_bugs(root)
    assert out["bugs_new"] == len(expected) == db["bugs"].count
    assert set(out) >= {"bugs_new", "bugs_updated", "reports_new", "threads_new", "messages_new", "requests", "errors"}
    stored = {r["bug_id"]: r for r in db["bugs"].rows}
    assert set(stored) == set(expected)
    for bug_id, xs in expected.items():
        extid = stored[bug_id]["extid"]
        assert re.fullmatch(r"[0-9a-f]{20}", extid), extid        # extids also for bugs listed by id
        keys = {r["crash_key"] for r in db["crashes"].rows_where("bug_extid = ?", [extid])}
        assert keys == xs
    crashes = list(db["crashes"].rows)
    assert all(c["report_id"] for c in crashes) and all(c["time"] for c in crashes)
    linked = {r["id"]: r for r in db["reports"].rows_where("source_kind = 'syzbot'")}
    assert {c["report_id"] for c in crashes} == set(linked) and out["reports_new"] == len(linked)
    for c in crashes:
        assert linked[c["report_id"]]["bug_extid"] == c["bug_extid"]
    bug = db["bugs"].get("fd3f70a4509fca8c265d")
    assert bug["title"] == "WARNING in ext4_mb_load_buddy_gfp" and json.loads(bug["subsystems"]) == ["mm"]
    assert bug["status"] == "open" and bug["repro"] == "C" and bug["num_crashes"] in (4, 9)
    assert "https://lore.kernel.org/all/20250924011600.1095949-1-kartikey406@gmail.com/T/" in json.loads(
        bug["discussions"])
    fixed = db["bugs"].get("0b92850d68d9b12934f5")
    assert fixed["status"] == "fixed"
    assert json.loads(fixed["fix_commits"])[0]["title"] == "ext4: verify orphan file size is not too big"
    assert all(r[0] in ("open", "fixed", "invalid") for r in db.execute("SELECT status FROM bugs"))


def test_second_sync_adds_nothing_and_costs_few_requests(site, cli, db):
    srv, _ = site
    _, first = sync(cli, srv.url)
    before = counts(db)
    res, again = sync(cli, srv.url)
    assert res.exit_code == 0
    assert counts(db) == before
    assert again["bugs_new"] == again["bugs_updated"] == again["reports_new"] == 0
    assert again["requests"] < first["requests"] / 2
    assert not any("CrashReport" in p for p, _ in srv.requests[-again["requests"]:])  # immutable blobs cached


def test_changed_crash_count_updates_the_bug(cli, db):
    root = shared_data("syzbot-pages", "2025")
    with ReplayServer(SyzbotSite(root)) as srv:
        sync(cli, srv.url)
        bug_json = json.loads((root / "bug/extid=fd3f70a4509fca8c265d.json").read_text())
        extra = dict(bug_json["crashes"][0], **{"crash-report-link": "/text?tag=CrashReport&x=1aaaaaaa580000"})
        bug_json["crashes"].append(extra)
        srv.replace("/bug?extid=fd3f70a4509fca8c265d&json=1", json.dumps(bug_json).encode(), "application/json")
        html = (root / "bug/extid=fd3f70a4509fca8c265d.html").read_text().replace("Crashes (4):", "Crashes (5):")
        srv.replace("/bug?extid=fd3f70a4509fca8c265d", html.encode(), "text/html; charset=utf-8")
        text = (shared_data("syzbot-pages", "2026") / "text/CrashReport/145ad1aa580000.txt").read_bytes()
        srv.replace("/text?tag=CrashReport&x=1aaaaaaa580000", text, "text/plain; charset=utf-8")
        before = counts(db)
        res, out = sync(cli, srv.url)
    assert res.exit_code == 0, res.stdout
    assert out["bugs_updated"] == 1 and out["bugs_new"] == 0 and out["reports_new"] == 1
    assert db["bugs"].get("fd3f70a4509fca8c265d")["num_crashes"] == 5
    assert db["crashes"].count == before["crashes"] + 1
    row = db.execute("SELECT r.bug_extid FROM crashes c JOIN reports r ON r.id = c.report_id "
                     "WHERE c.crash_key = '1aaaaaaa580000'").fetchone()
    assert row == ("fd3f70a4509fca8c265d",)


def test_changed_bug_page_layout_is_a_clear_error_and_keeps_data(cli, db):
    root = shared_data("syzbot-pages", "2026")
    with ReplayServer(SyzbotSite(root)) as srv:
        sync(cli, srv.url)
        before = counts(db)
        old = db["bugs"].get("fd3f70a4509fca8c265d")
        html = (root / "bug/extid=fd3f70a4509fca8c265d.html").read_text()
        redesigned = re.sub(r"<(/?)(table|thead|tbody|tr|th|td)\b", r"<\1div", html)   # tables became divs
        srv.replace("/bug?extid=fd3f70a4509fca8c265d", redesigned.encode(), "text/html; charset=utf-8")
        res, out = sync(cli, srv.url, "--full")
    assert res.exit_code == 1
    [err] = out["errors"]
    assert "/bug?extid=fd3f70a4509fca8c265d" in err and "page layout not understood" in err
    assert counts(db) == before
    assert db["bugs"].get("fd3f70a4509fca8c265d") == old


def test_changed_list_layout_stops_the_sync_and_keeps_data(cli, db):
    root = shared_data("syzbot-pages", "2025")
    with ReplayServer(SyzbotSite(root)) as srv:
        sync(cli, srv.url)
        before = counts(db)
        html = (root / "upstream/fixed/index.html").read_text().replace(">Count</a>", ">Crashes</a>")
        srv.replace("/upstream/fixed", html.encode(), "text/html; charset=utf-8")
        res = cli("sync", "syzbot", "--base-url", srv.url, "--rate", "0")
    assert res.exit_code == 1
    assert "sync stopped" in res.stderr and "/upstream/fixed" in res.stderr and "Title and Count" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert counts(db) == before


def test_subsystem_and_status_filters(cli, db):
    root = shared_data("syzbot-pages", "2025")
    with ReplayServer(SyzbotSite(root)) as srv:
        res, out = sync(cli, srv.url, "--subsystem", "ext4", "--status", "open", "--status", "fixed")
    assert res.exit_code == 0, res.stdout
    rows = list(db["bugs"].rows)
    assert rows and out["bugs_new"] == len(rows)
    assert all("ext4" in json.loads(r["subsystems"]) for r in rows)
    assert {r["status"] for r in rows} == {"open", "fixed"}
    assert any(p.startswith("/upstream/s/ext4") for p, _ in srv.requests)


def test_a_cut_report_text_is_not_stored_and_a_full_sync_repairs_it(cli, db):
    """A crash report ended by the connection closing may be cut: it is neither stored nor cached (issue 15)."""
    root = shared_data("syzbot-pages", "2025")
    blob = "/text?tag=CrashReport&x=1652eb62580000"
    with ReplayServer(SyzbotSite(root)) as srv:
        srv.script(blob, [("cut", 300, False)] * 10)
        res, out = sync(cli, srv.url)
        assert res.exit_code == 1
        [err] = out["errors"]
        assert blob in err and "may be cut" in err
        crash = db["crashes"].get(("fd3f70a4509fca8c265d", "1652eb62580000"))
        assert crash["report_id"] is None
        assert db["sources"].count_where("location LIKE ?", ["%x=1652eb62580000"]) == 0
        srv.script(blob, [])
        res, out = sync(cli, srv.url)                  # an ordinary re-sync skips the unchanged bug
        assert res.exit_code == 0 and db["crashes"].get(("fd3f70a4509fca8c265d", "1652eb62580000"))["report_id"] is None
        res, out = sync(cli, srv.url, "--full")
    assert res.exit_code == 0, out
    assert out["reports_new"] == 1 and out["bugs_updated"] == 1
    rid = db["crashes"].get(("fd3f70a4509fca8c265d", "1652eb62580000"))["report_id"]
    text = (root / "text/CrashReport/1652eb62580000.txt").read_text()
    assert db["reports"].get(rid)["text"] == text
