"""``triage parse``: JSON Lines in input order, a readable view, one-line errors, no heavy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, shared_data

FIELDS = {"file", "title", "type", "alt_titles", "corrupted", "corrupted_reason", "guilty_file", "guilty_frame",
          "frames", "gfp", "markers", "kernel", "task", "signature"}


def test_json_lines_in_input_order(cli, tmp_path):
    a = shared_data("labelled", "reports", "001.txt")
    empty = tmp_path / "empty.log"
    empty.write_text("just a boot log\n")
    b = shared_data("labelled", "reports", "013.txt")
    res = cli("parse", "--json", a, empty, b)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["file"] for r in rows] == [str(a), str(empty), str(b)]
    assert all(FIELDS <= set(r) for r in rows)
    assert rows[0]["title"] == "WARNING in ext4_mb_load_buddy_gfp"
    assert rows[1]["title"] is None
    assert rows[2]["title"] == "possible deadlock in start_this_handle"
    assert rows[2]["type"] == "LOCKDEP"
    assert any(f["stack"].startswith("lockdep-chain") for f in rows[2]["frames"])


def test_human_view(cli):
    res = cli("parse", shared_data("labelled", "reports", "013.txt"))
    assert res.exit_code == 0
    assert "possible deadlock in start_this_handle" in res.stdout
    assert "type: LOCKDEP" in res.stdout


def test_unreadable_inputs_get_one_line_errors_and_the_rest_is_parsed(cli, tmp_path):
    good = shared_data("labelled", "reports", "001.txt")
    res = cli("parse", "--json", tmp_path / "missing.txt", tmp_path, good)
    assert res.exit_code == 1
    assert len(res.stdout.splitlines()) == 1
    err = res.stderr.strip().splitlines()
    assert err == [f"triage: {tmp_path / 'missing.txt'}: no such file", f"triage: {tmp_path}: is a directory"]
    assert "Traceback" not in res.output


def test_binary_input_is_not_an_error(cli, tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 100)
    res = cli("parse", "--json", junk)
    assert res.exit_code == 0
    assert json.loads(res.stdout)["title"] is None


def test_mail_input_gives_the_report_title(cli, tmp_path):
    body = shared_data("labelled", "reports", "001.txt").read_text()
    mail = tmp_path / "m.eml"
    mail.write_text("From: syzbot <syzbot@example.com>\nSubject: [syzbot] WARNING in x\n"
                    "Message-ID: <1@x>\n\nHello,\n\nsyzbot found the following issue on:\n\n" + body)
    res = cli("parse", "--json", mail)
    assert json.loads(res.stdout)["title"] == "WARNING in ext4_mb_load_buddy_gfp"


def test_parse_does_not_import_scikit_learn(tmp_path):
    report = shared_data("labelled", "reports", "001.txt")
    code = (f"import sys, runpy; sys.argv = ['triage', 'parse', '--json', {str(report)!r}]\n"
            "try:\n    runpy.run_module('triage', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'simpy', 'bs4'))\n"
            "print('HEAVY', heavy, file=sys.stderr)\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path,
                         timeout=120)
    assert "WARNING in ext4_mb_load_buddy_gfp" in out.stdout
    assert "HEAVY []" in out.stderr, out.stderr


def test_stdin(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    data = Path(shared_data("labelled", "reports", "001.txt")).read_bytes()
    out = subprocess.run([sys.executable, "-m", "triage", "parse", "--json", "-"], input=data,
                         capture_output=True, env=env, cwd=tmp_path, timeout=120)
    assert json.loads(out.stdout)["title"] == "WARNING in ext4_mb_load_buddy_gfp"
