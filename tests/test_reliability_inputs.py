"""Hostile inputs in one batch with good files (issue 15): ``triage import``, ``triage parse`` and ``triage
classify`` as real processes. Each bad input: one line on stderr naming it, exit 1, never a traceback, never a
hang; every good input before and after it is stored (or printed)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from test_reliability_locks import distinct_reports

from records.inputs import MAX_INPUT_BYTES

pytestmark = pytest.mark.slow            # three 2 GB gzip bombs refused at 512 MiB each: CI runs it (CI=1)

TRIAGE = [sys.executable, "-m", "triage"]
BAD_NAME = b"c-bad-\xff\xfe-name.txt"        # not UTF-8: readable, stored and printed with U+FFFD


def gzip_bomb(path: Path, size: int = 2 << 30) -> None:
    """``size`` bytes of zeros as gzip, about size/1000 on disk: one 64 MiB member written again and again
    (gzip readers take concatenated members as one stream). Made streaming: 64 MiB is the most in memory."""
    pack = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    member = b"".join(pack.compress(zeros) for _ in range(64)) + pack.flush()
    with open(path, "wb") as out:
        for _ in range(size // (64 << 20)):
            out.write(member)


def unreadable(tmp: Path) -> str:
    """A path that opening refuses with PermissionError: a mode-000 file, else (as root, who reads it anyway)
    a /proc file of a process we may not inspect; skip when there is none."""
    f = tmp / "unreadable.txt"
    f.write_text("secret\n")
    f.chmod(0)
    for cand in (str(f), "/proc/1/environ", "/proc/1/mem", "/proc/1/auxv"):
        try:
            with open(cand, "rb"):
                pass
        except PermissionError:
            return cand
        except OSError:
            continue
    pytest.skip("no unreadable path: root reads the mode-000 file and every /proc file tried")


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """(arguments in order, {bad input: its error}, {good report file: its title}, the utf-7 mail's id)."""
    tmp = tmp_path_factory.mktemp("hostile")
    texts = distinct_reports()
    assert len(texts) >= 5
    d = tmp / "batch"
    d.mkdir()
    before, after = tmp / "before.txt", tmp / "zz-after.txt"
    before.write_text(texts[0])
    (d / "a-good.txt").write_text(texts[1])
    (d / "b-utf7.eml").write_bytes(b"From: a@b\nSubject: x\nMessage-ID: <utf7@example.org>\n"
                                   b"Content-Type: text/plain; charset=utf-7\n\n+AGEAYgBj- +ZeVnLIqe-\n")
    with open(os.path.join(os.fsencode(d), BAD_NAME), "wb") as f:
        f.write(texts[2].encode())
    nest = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(5000))
    (d / "d-deep.eml").write_bytes(b"From: a@b\nSubject: x\nMessage-ID: <deep@example.org>\n" + nest + b"\nhi\n")
    gzip_bomb(d / "e-bomb.txt.gz")
    assert (d / "e-bomb.txt.gz").stat().st_size < 3 << 20
    os.mkfifo(d / "f-fifo")
    (d / "g-zero").symlink_to("/dev/zero")
    (d / "h-loop").mkdir()
    (d / "h-loop" / "again").symlink_to("..")
    (d / "i-link").symlink_to("i-link")
    (d / "z-good.txt").write_text(texts[3])
    after.write_text(texts[4])
    locked = unreadable(tmp)
    mib = MAX_INPUT_BYTES // (1024 * 1024)
    bad = {
        f"{d}/d-deep.eml": "unreadable e-mail (RecursionError)",
        f"{d}/e-bomb.txt.gz": f"gzip decompresses to more than {mib} MiB",
        f"{d}/f-fifo": "not a regular file (a FIFO, socket or device)",
        f"{d}/g-zero": "not a regular file (a FIFO, socket or device)",
        f"{d}/i-link": "Too many levels of symbolic links",
        "/dev/zero": "not a regular file (a FIFO, socket or device)",
        locked: "Permission denied",
    }
    from triage.report import parse

    good = {str(before): texts[0], f"{d}/a-good.txt": texts[1], f"{d}/{BAD_NAME.decode(errors='replace')}": texts[2],
            f"{d}/z-good.txt": texts[3], str(after): texts[4]}
    titles = {name: parse(text).display_title for name, text in good.items()}
    return [str(before), str(d), "/dev/zero", locked, str(after)], bad, titles, d


def _run(args: list, tmp: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRIAGE_DB": str(tmp / "t.db"), "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8",
           "HOME": str(tmp)}                              # strict UTF-8 output: a raw surrogate would raise
    return subprocess.run([*TRIAGE, *args], env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=600)


def _errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert all(line.startswith("triage: ") for line in lines), stderr
    return lines


def _named_once(lines: list[str], bad: dict[str, str]) -> None:
    for name, why in bad.items():
        hits = [line for line in lines if line.startswith(f"triage: {name}: ")]
        assert len(hits) == 1, (name, lines)
        assert why in hits[0], (name, hits[0])


def test_import_names_each_bad_input_once_and_stores_every_good_one(batch, tmp_path):
    args, bad, titles, d = batch
    res = _run(["import", *args], tmp_path)
    assert res.returncode == 1
    lines = _errors(res.stderr)
    loop = f"triage: {d}/h-loop/again: directory already read (a symlink loops back to it)"
    assert loop in lines
    _named_once(lines, bad)
    assert len(lines) == len(bad) + 1                     # nothing else: the good inputs say nothing
    assert f"{len(titles)} new reports" in res.stdout and f"{len(bad) + 1} errors" in res.stdout
    with sqlite3.connect(tmp_path / "t.db") as conn:
        stored = dict(conn.execute("SELECT source, title FROM reports").fetchall())
        mids = {r[0] for r in conn.execute("SELECT message_id FROM messages")}
    assert stored == titles                               # before and after the bad ones, the odd name too
    assert mids == {"utf7@example.org"}                   # the utf-7 mail is read (it holds no report)


@pytest.mark.parametrize("command", ["parse", "classify"])
def test_parse_and_classify_name_each_bad_input_once_and_do_every_good_one(batch, tmp_path, command):
    args, bad, titles, d = batch
    files = [args[0], *sorted(p for p in Path(d).iterdir() if p.name != "h-loop"), *args[2:]]
    res = _run([command, "--json", *files], tmp_path)
    assert res.returncode == 1
    lines = _errors(res.stderr)
    _named_once(lines, bad)
    assert len(lines) == len(bad)
    out = [json.loads(line) for line in res.stdout.splitlines()]
    by_file = {o["file"]: o for o in out}
    assert set(by_file) == set(titles) | {f"{d}/b-utf7.eml"}
    for name, title in titles.items():
        assert by_file[name]["title"] == title, name
    if command == "classify":
        assert all(o["label"] and o["evidence"] is not None for o in out)
