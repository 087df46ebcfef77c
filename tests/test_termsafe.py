"""Data printed as data: escape sequences, bidi overrides and Rich markup from reports and mails reach no
terminal raw, through every terminal output path (show, search, inbox, digest to stdout, query, errors)."""

from __future__ import annotations

import json
import re

import pytest
from test_inbox_data import add, bug, message, synthetic, verdict

from triage.termsafe import clean, is_clean, json_safe, line, plain

OSC_TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"
BIDI = "\u202e"
C1_CSI = "\x9b31m"
HOSTILE = f"ext4 {OSC_TITLE}{CLEAR}data{BIDI}evil\u2066x\u2069 [/x] [link=https://evil.example]click[/link]{C1_CSI}"
# anything a terminal acts on: ESC, BEL, C1 controls, bidi embeddings / overrides / isolates
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_clean_escapes_controls_visibly_and_keeps_text():
    out = clean("a\x1b[2Jb\tc\nd\u202ee\x9bf\x7fg")
    assert out == "a\\x1b[2Jb\tc\nd\\u202ee\\x9bf\\x7fg"
    assert line("one\ntwo\r") == "one\\x0atwo\\x0d"
    assert clean(None) == "" and clean(42) == "42" and clean("ünïcode ✓ 日本") == "ünïcode ✓ 日本"
    assert is_clean(clean(HOSTILE)) and not RAW.search(line(HOSTILE))
    # markup is never interpreted: a Text keeps the brackets as characters
    assert plain("[/x] [link=https://e]x[/link]").plain == "[/x] [link=https://e]x[/link]"
    dumped = json_safe(json.dumps({"t": HOSTILE}, ensure_ascii=False))
    assert json.loads(dumped) == {"t": HOSTILE} and not RAW.search(dumped)


@pytest.fixture
def hostile_store(db):
    rid = add(db, synthetic("hostile_fn"), "hostile", days_ago=1, bug="bugH", message_id="<h@x>")
    db.execute("UPDATE reports SET title = ?, guilty_file = ?, source = ? WHERE id = ?",
               [HOSTILE, f"fs/ext4/{OSC_TITLE}.c", f"/tmp/{CLEAR}.txt", rid])
    bug(db, "bugH", title=HOSTILE)
    verdict(db, rid, "data-loss", evidence={"rules": [{"rule": "r", "label": "data-loss", "confidence": 0.9,
                                                      "why": HOSTILE, "matches": [{"line": 3, "text": HOSTILE}]}]})
    message(db, "<h@x>", "bugH", 1, author=f"Mallory {OSC_TITLE}", subject=HOSTILE, body=f"ext4 {HOSTILE}",
            syz=[{"command": "set", "args": HOSTILE}])
    db.conn.commit()
    return rid


def _holds(obj, text: str) -> bool:
    if isinstance(obj, dict):
        return any(_holds(v, text) for v in obj.values())
    if isinstance(obj, list):
        return any(_holds(v, text) for v in obj)
    return obj == text


def _assert_inert(res, *needles):
    assert "Traceback" not in res.output and "MarkupError" not in res.output, res.output
    assert not RAW.search(res.output), repr(res.output[:2000])
    for needle in needles:
        assert needle in res.output, needle


def test_every_terminal_path_prints_data_as_data(cli, hostile_store, monkeypatch):
    rid = hostile_store
    monkeypatch.setenv("COLUMNS", "400")
    _assert_inert(cli("show", rid), "\\x1b]0;pwned\\x07", "\\u202e", "[/x]", "[link=https://evil.example]")
    _assert_inert(cli("show", "--raw", rid))
    _assert_inert(cli("inbox"), "\\x1b]0;pwned", "[/x]")
    _assert_inert(cli("search", "ext4"), "\\x1b]0;pwned")
    _assert_inert(cli("digest", "--since", "2w"), "\\x1b]0;pwned")
    res = cli("query", "SELECT title, guilty_file FROM reports")
    _assert_inert(res, "[/x]", "[link=https://evil.example]click[/link]", "\\x1b]0;pwned")
    _assert_inert(cli("query", "--table", "SELECT title AS '[/x]' FROM reports"), "[/x]")
    for cmd in (("inbox", "--json"), ("show", "--json", rid), ("search", "--json", "ext4"),
                ("query", "--json", "SELECT title FROM reports")):
        res = cli(*cmd)
        _assert_inert(res)
        assert any(_holds(json.loads(x), HOSTILE) for x in res.output.splitlines()), cmd    # the value intact
    # an error message naming hostile input (a path) is one inert line too
    res = cli("--db", f"/nonexistent/{OSC_TITLE}/x.db", "query", "SELECT 1")
    assert res.exit_code == 1
    _assert_inert(res)
