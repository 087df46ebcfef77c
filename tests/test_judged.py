"""The judged set (tests/judged/): hand judgements of mails of three real list archives, keyed by message-id.

Checked here: each file is well-formed (fields, labels, kinds, unique message-ids), every message-id is a mail
of its archive (../shared/data/public-inbox), and the README's counts are the files' counts. The tool's accuracy
against these judgements is measured by bench/judged_eval.py, not asserted here.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter

import pytest
from conftest import ROOT, shared_data

sys.path.insert(0, str(ROOT / "bench"))

from judged_archives import FIELDS, JUDGED, KINDS, LISTS, NOT_A_REPORT, counts_table  # noqa: E402

from vocab.labels import LABELS  # noqa: E402

REASON = re.compile(r"^(?:tool-consequence|sample|inbox-top\d+|marker:[a-z-]+)$")
MSGID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)


def rows(name: str) -> list[dict]:
    path = JUDGED / f"{name}.jsonl"
    assert path.exists(), f"{path}: missing"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("name", LISTS)
def test_judgements_are_well_formed(name):
    judged = rows(name)
    assert judged, f"{name}: no judgements"
    for j in judged:
        where = f"{name}: {j.get('message_id')}"
        assert tuple(j) == FIELDS, f"{where}: fields {tuple(j)}"
        assert j["list"] == name, where
        assert j["label"] in (*LABELS, NOT_A_REPORT), f"{where}: label {j['label']!r}"
        assert isinstance(j["original"], bool), where
        assert j["kind"] in KINDS, f"{where}: kind {j['kind']!r}"
        if j["label"] == NOT_A_REPORT:
            assert j["title"] is None, f"{where}: a mail without kernel output has no title"
        else:
            assert isinstance(j["title"], str) and j["title"].strip() == j["title"] != "", f"{where}: title"
        assert isinstance(j["why"], str) and j["why"].strip(), f"{where}: say why"
        assert j["selected_by"] and all(REASON.match(r) for r in j["selected_by"]), f"{where}: {j['selected_by']}"
    dups = [m for m, n in Counter(j["message_id"] for j in judged).items() if n > 1]
    assert not dups, f"{name}: message-ids judged twice: {dups[:5]}"
    assert [j["message_id"] for j in judged] == sorted(j["message_id"] for j in judged), f"{name}: not sorted"


def archive_msgids(bundle, tmp) -> set[str]:
    """Every Message-ID of a public-inbox archive, read from its git objects (not through the tool)."""
    repo = tmp / "0.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(bundle), str(repo)], check=True)
    out = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--unordered", "--batch"],
                         capture_output=True, check=True).stdout
    ids: set[str] = set()
    pos = 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        _, kind, size = out[pos:eol].split()
        start, pos = eol + 1, eol + 1 + int(size) + 1
        if kind != b"blob":
            continue
        body = out[start:pos - 1]
        head = body[:body.find(b"\n\n")] if b"\n\n" in body else body
        m = MSGID.search(head)
        if m:
            ids.update(x.decode("utf-8", "replace") for x in re.findall(rb"<([^<>\s]+)>", m.group(1))[:1])
    return ids


@pytest.mark.parametrize("name", LISTS)
def test_every_judged_mail_is_in_its_archive(name, tmp_path):
    bundle = shared_data("public-inbox", f"{name}.bundle")
    ids = archive_msgids(bundle, tmp_path)
    assert len(ids) > 1000, f"{bundle}: only {len(ids)} message-ids read"
    absent = [j["message_id"] for j in rows(name) if j["message_id"] not in ids]
    assert not absent, f"{name}: judged mails not in the archive: {absent[:5]}"


def test_readme_counts_are_the_files_counts():
    readme = (JUDGED / "README.md").read_text(encoding="utf-8")
    assert counts_table() in readme, "tests/judged/README.md: counts out of date (bench/judged_select.py --counts)"
