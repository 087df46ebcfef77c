"""``triage sync lore`` against real local servers replaying the syzbot pages and the lore threads."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from conftest import shared_data
from replay_server import LoreSite, ReplayServer, SyzbotSite, gzip_truncated

REPORT_MID = "68c7c2b3.050a0220.3c6139.0d0d.GAE@google.com"
PATCH_ROOT = "20250924011600.1095949-1-kartikey406@gmail.com"


@pytest.fixture
def servers(monkeypatch):
    monkeypatch.setenv("TRIAGE_HTTP_BACKOFF", "0.01")
    monkeypatch.setenv("TRIAGE_HTTP_RETRIES", "1")
    with ReplayServer(SyzbotSite(shared_data("syzbot-pages", "2025"))) as syz, \
            ReplayServer(LoreSite(shared_data("lore", "lore.kernel.org"))) as lore:
        yield syz, lore


def run(cli, *args):
    res = cli("sync", *args, "--rate", "0", "--json")
    lines = res.stdout.strip().splitlines()
    return res, (json.loads(lines[-1]) if lines else None)


def header_blocks(mbox: bytes) -> list[str]:
    """Header blocks of an mboxrd file, split independently of the code under test."""
    text = mbox.decode("utf-8", "replace")
    return [part.split("\n\n", 1)[0] for part in re.split(r"^From mboxrd@z .*\n", text, flags=re.M) if part.strip()]


def header(block: str, name: str) -> str | None:
    m = re.search(rf"^{name}:[ \t]*((?:.*)(?:\n[ \t].*)*)", block, re.I | re.M)
    return re.sub(r"\s+", " ", m.group(1)).strip() if m else None


def fixture_thread(mid: str) -> bytes:
    root = shared_data("lore", "lore.kernel.org")
    for inbox in sorted(p.name for p in root.iterdir()):
        d = root / inbox / mid
        if (d / "t.mbox.gz").exists():
            return gzip.decompress((d / "t.mbox.gz").read_bytes())
        if (d / "raw").exists():
            return (d / "raw").read_bytes()
    raise AssertionError(mid)


def linked_msgids(db) -> set[str]:
    out = set()
    for (disc,) in db.execute("SELECT discussions FROM bugs"):
        out |= {m.group(1) for u in json.loads(disc) if (m := re.match(r"https://lore.kernel.org/all/(.+)/T/$", u))}
    return out


def test_lore_sync_stores_threads_with_parents_and_bug_links(servers, cli, db):
    syz, lore = servers
    assert run(cli, "syzbot", "--base-url", syz.url)[0].exit_code == 0
    res, out = run(cli, "lore", "--base-url", lore.url)
    assert res.exit_code == 0, res.stdout
    expected = {}
    for mid in linked_msgids(db):
        for block in header_blocks(fixture_thread(mid)):
            mids = re.findall(r"<([^<>\s]+)>", header(block, "Message-ID") or "")
            expected[mids[0]] = block
    stored = {r["message_id"]: r for r in db["messages"].rows}
    assert set(stored) == set(expected) and out["messages_new"] == len(expected)
    assert out["threads_new"] == db["threads"].count > 0
    assert all(p.endswith(("t.mbox.gz", "raw")) for p, _ in lore.requests)
    assert all(h["User-Agent"].startswith("syz-triage/") for _, h in lore.requests)

    lost = []
    for mid, block in expected.items():
        irt = re.findall(r"<([^<>\s]+)>", header(block, "In-Reply-To") or "")
        row = stored[mid]
        if irt and irt[0] in stored:                       # header parents are followed
            assert row["parent_id"] == irt[0]
            assert row["thread_id"] == stored[irt[0]]["thread_id"]
        if not irt and not header(block, "References") and (header(block, "Subject") or "").startswith("Re:"):
            lost.append(mid)
    assert lost, "the fixtures hold replies that lost their In-Reply-To"
    for mid in lost:                                       # ... threaded by subject, like lore does
        parent = stored[stored[mid]["parent_id"]]
        assert parent["date"] <= stored[mid]["date"]
        assert parent["subject"].removeprefix("Re: ") == stored[mid]["subject"].removeprefix("Re: ")
        assert parent["thread_id"] == stored[mid]["thread_id"]
    # Kartikey's "Hi Andreas" answer lost its In-Reply-To; it answers Andreas' review
    assert stored["20250925020621.1268714-1-kartikey406@gmail.com"]["parent_id"] == \
        "294A93D3-4FBA-46E7-8814-1C7E0CC82359@dilger.ca"

    tid = stored[PATCH_ROOT]["thread_id"]
    thread = db["threads"].get(tid)
    members = {m for m, r in stored.items() if r["thread_id"] == tid}
    blocks = header_blocks(fixture_thread(PATCH_ROOT))
    in_mbox = {re.findall(r"<([^<>\s]+)>", header(b, "Message-ID"))[0] for b in blocks}
    assert len(in_mbox) == 9 and in_mbox <= members           # lore's thread, loose subject matches included
    assert all(stored[m]["in_reply_to"] in members for m in members - in_mbox)   # + replies by header
    assert thread["bug_extid"] == "fd3f70a4509fca8c265d" and thread["n_messages"] == len(members)
    assert stored[REPORT_MID]["bug_extid"] == "fd3f70a4509fca8c265d"
    assert db["threads"].get(REPORT_MID)["bug_extid"] == "fd3f70a4509fca8c265d"
    assert "syzbot+fd3f70a4509fca8c265d@syzkaller.appspotmail.com" in json.loads(
        stored[PATCH_ROOT]["tags"])["Reported-by"]
    assert stored[PATCH_ROOT]["patch_subject"] == "ext4: fix allocation failure in ext4_mb_load_buddy_gfp"
    tests = [c for r in stored.values() for c in json.loads(r["syz_commands"]) if c["command"] == "test"]
    assert tests and any("git://git.kernel.org" in c["args"] for c in tests)
    assert not any(json.loads(r["syz_commands"]) for r in stored.values()
                   if r["author_email"].startswith("syzbot") and not r["subject"].startswith("Forwarded:"))
    lore_reports = list(db["sources"].rows_where("kind = 'lore'"))
    assert lore_reports and out["reports_new"] + 0 >= 0
    linked = db.execute("SELECT count(*) FROM reports r JOIN sources s ON s.report_id = r.id "
                        "WHERE s.kind = 'lore' AND r.bug_extid IS NOT NULL").fetchone()[0]
    assert linked == len({s["report_id"] for s in lore_reports})

    again_res, again = run(cli, "lore", "--base-url", lore.url)
    assert again_res.exit_code == 0
    assert again["messages_new"] == again["threads_new"] == again["reports_new"] == 0


def test_truncated_thread_mbox_is_a_clear_error(servers, cli, db):
    syz, lore = servers
    run(cli, "syzbot", "--base-url", syz.url)
    path = f"/all/{PATCH_ROOT}/t.mbox.gz"
    lore.replace(path, gzip_truncated(fixture_thread(PATCH_ROOT)), "application/gzip")
    res, out = run(cli, "lore", "--base-url", lore.url)
    assert res.exit_code == 1
    [err] = [e for e in out["errors"] if PATCH_ROOT in e]
    assert "truncated or corrupt t.mbox.gz" in err and "\n" not in err
    assert db["messages"].count > 0                     # the other threads are stored
    lore.replace(path, gzip.compress(fixture_thread(PATCH_ROOT)), "application/gzip")   # lore is fine again
    res, out = run(cli, "lore", "--base-url", lore.url)
    assert res.exit_code == 0 and out["errors"] == []   # the bad download was not kept in the cache
    assert db["messages"].count_where("message_id = ?", ["20250925020621.1268714-1-kartikey406@gmail.com"]) == 1


def test_bot_challenge_stops_the_sync(servers, cli, db):
    syz, lore = servers
    run(cli, "syzbot", "--base-url", syz.url)
    challenge = b"<!doctype html><html><head><title>Making sure you're not a bot!</title></head>" \
                b"<body><script src=/.within.website/x/cmd/anubis/static/js/main.mjs></script></body></html>"
    for mid in linked_msgids(db):
        lore.replace(f"/all/{mid}/t.mbox.gz", challenge, "text/html; charset=utf-8")
    res = cli("sync", "lore", "--base-url", lore.url, "--rate", "0")
    assert res.exit_code == 1
    assert "sync stopped" in res.stderr and "bot challenge" in res.stderr and "Traceback" not in res.stderr
    assert db["messages"].count == 0


def test_sync_resumes_after_the_server_dies_midway_without_duplicates(servers, cli, db):
    syz, lore = servers
    run(cli, "syzbot", "--base-url", syz.url)
    targets = len(linked_msgids(db))
    lore.die_after(targets // 2)
    res, out = run(cli, "lore", "--base-url", lore.url)
    assert res.exit_code == 1 and "sync stopped" in out["errors"][-1] and "connection failed" in out["errors"][-1]
    first_messages = db["messages"].count
    assert 0 < first_messages
    done_first = {p for p, _ in lore.requests}
    lore.die_after(None)
    n = len(lore.requests)
    res, out = run(cli, "lore", "--base-url", lore.url)
    assert res.exit_code == 0, out
    resumed = [p for p, _ in lore.requests[n:]]
    assert not set(resumed) & done_first                # finished threads are not fetched again
    ids = [r[0] for r in db.execute("SELECT message_id FROM messages")]
    assert len(ids) == len(set(ids)) == first_messages + out["messages_new"]
    cursor = json.loads(db["sync_state"].get(f"lore:{lore.url}")["cursor"])
    assert cursor["complete"] is True


def test_search_query_fetches_the_threads_found(servers, cli, db):
    _, lore = servers
    res, out = run(cli, "lore", "--base-url", lore.url, "--no-bugs", "--query", "ext4_mb_load_buddy_gfp")
    assert res.exit_code == 0, out
    assert any("?q=" in p and "x=A" in p for p, _ in lore.requests)
    assert db["messages"].count_where("message_id = ?", [REPORT_MID]) == 1
    assert db["threads"].get(REPORT_MID)["bug_extid"] == "fd3f70a4509fca8c265d"
    res, out = run(cli, "lore", "--base-url", lore.url, "--no-bugs", "--query", "no-such-words-anywhere")
    assert res.exit_code == 0 and out["messages_new"] == 0


def test_lore_link_parsing():
    from scrapers.lore import lore_target

    assert lore_target("https://lore.kernel.org/all/a%2Fb@x/T/") == ("all", "a/b@x")
    assert lore_target("https://lore.kernel.org/linux-ext4/m@x/") == ("linux-ext4", "m@x")
    assert lore_target("https://groups.google.com/d/msgid/syzkaller-bugs/m@x") is None
