"""Every speed-up of the import leaves the store as it was: a public-inbox import and an mbox import of a real
list archive (reiserfs-devel, 2,249 messages, 214 reports) with the prefilter, the worker pool and the fast mail
split on, and with all three off, store the same reports, frames, sources, messages, threads, verdicts and group
rows (compared as canonical dumps: ids included, the import's clocks left out)."""

from __future__ import annotations

import re

import pytest
from conftest import shared_data
from store_dump import differences, dump

import records.mail as mail
from scrapers.archives import walk
from triage import sources
from triage.pipeline import Pipeline
from triage.store import open_db

# Batches end by count only: the threading of a message depends on what was stored before its batch
# (a later-dated message in an earlier batch roots its own thread), so batch ends must not depend on time
# (nor on the lock time a batch took: ``lock_seconds``).
SAME_BATCHES = {"batch_seconds": float("inf"), "lock_seconds": float("inf")}


def import_with(tmp_path, name: str, records, fast: bool, monkeypatch) -> tuple[dict, Pipeline]:
    if not fast:
        monkeypatch.setattr(mail, "simple_mail", lambda raw: None)        # the standard parser only
        monkeypatch.setattr(mail, "simple_message", lambda raw: None)
    db = open_db(tmp_path / f"{name}.db")
    pipe = Pipeline(db, workers=2 if fast else 0, prefilter=fast, **SAME_BATCHES)
    pipe.run(records(db))
    monkeypatch.undo()
    return dump(db), pipe


@pytest.fixture(scope="module")
def reiserfs(list_archive):
    return list_archive("reiserfs-devel")


@pytest.mark.slow
def test_public_inbox_import_is_the_same_with_and_without_the_speed_ups(tmp_path, reiserfs, monkeypatch):
    shared_data("labelled")                      # the classifier's corpus
    fast, pipe = import_with(tmp_path, "fast", lambda db: sources.public_inbox(db, reiserfs), True, monkeypatch)
    slow, _ = import_with(tmp_path, "slow", lambda db: sources.public_inbox(db, reiserfs), False, monkeypatch)
    assert pipe.jobs_pooled == pipe.jobs_seen > 2000                                 # the pool split every mail
    assert len(fast["reports"]) > 200 and len(fast["threads"]) > 600 and len(fast["verdicts"]) == len(fast["reports"])
    assert not differences(fast, slow)


@pytest.mark.slow
def test_mbox_import_is_the_same_with_and_without_the_speed_ups(tmp_path, reiserfs, archive_mails, monkeypatch):
    mbox = tmp_path / "reiserfs-devel.mbox"
    with mbox.open("wb") as f:
        for raw in archive_mails("reiserfs-devel"):
            body = re.sub(rb"^(>*From )", rb">\1", raw, flags=re.M)             # mboxrd quoting
            f.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + body.rstrip(b"\n") + b"\n\n")
    fast, pipe = import_with(tmp_path, "fast", lambda db: walk([str(mbox)]), True, monkeypatch)
    slow, _ = import_with(tmp_path, "slow", lambda db: walk([str(mbox)]), False, monkeypatch)
    assert pipe.jobs_pooled > 0 and len(fast["messages"]) > 2000 and len(fast["reports"]) > 200
    assert not differences(fast, slow)
