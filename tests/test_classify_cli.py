"""``triage classify`` and the model artifact: output contract, bad input, safe persistence, no sklearn in parse."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from classifiers.model import SHIPPED_MODEL, Model, ModelError
from tests.conftest import ROOT, shared_data


def test_classify_json_one_object_per_file_in_order(cli):
    reports = shared_data("labelled", "reports")
    files = [reports / "013.txt", reports / "032.txt", reports / "047.txt", reports / "003.txt"]
    res = cli("classify", "--json", *files)
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert [r["file"] for r in rows] == [str(f) for f in files]
    assert [r["label"] for r in rows] == ["reclaim-deadlock", "data-loss", "fault-injection", "nofail-warning"]
    for r in rows:
        assert {"file", "label", "confidence", "needs_review", "evidence", "similar"} <= set(r)
        assert 0 <= r["confidence"] <= 1 and isinstance(r["needs_review"], bool)
        assert r["similar"] == []                      # no database yet
        assert r["evidence"]["rules"] and "probabilities" in r["evidence"]["model"]


def test_classify_human_output_shows_rules_and_lines(cli):
    res = cli("classify", shared_data("labelled", "reports", "013.txt"))
    assert res.exit_code == 0
    assert "reclaim-deadlock" in res.output and "rd-lockdep-fs-reclaim" in res.output
    assert "(fs_reclaim)" in res.output and "model:" in res.output


def test_similar_reports_come_from_the_store(cli, db_path):
    reports = shared_data("labelled", "reports")
    assert cli("import", reports / "001.txt", reports / "007.txt").exit_code == 0
    from triage.store import open_db

    db = open_db(db_path)
    db["bugs"].insert({"extid": "fd3f70a4509fca8c265d", "title": "WARNING in ext4_mb_load_buddy_gfp",
                       "status": "open", "fix_commits": json.dumps([])})
    db.execute("UPDATE reports SET bug_extid = 'fd3f70a4509fca8c265d'")
    db.conn.commit()
    row = json.loads(cli("classify", "--json", reports / "003.txt").output)
    assert row["similar"], "a report sharing the NOFAIL-from-reclaim frames is similar"
    assert row["similar"][0]["status"] == "open" and row["similar"][0]["label"] == "nofail-warning"


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    (b"\x00\x01\x02binary\x00" * 100, "binary"),
])
def test_bad_input_is_one_line_and_exit_1(cli, tmp_path, content, message):
    path = tmp_path / "input.txt"
    if content is not None:
        path.write_bytes(content)
    good = shared_data("labelled", "reports", "013.txt")
    res = cli("classify", "--json", path, good)
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output
    assert '"label": "reclaim-deadlock"' in res.output     # the good file is still classified


def test_text_without_a_crash_is_other_and_garbage_is_survived(cli, tmp_path):
    path = tmp_path / "noise.txt"
    path.write_text("hello\n" * 50 + "random console noise, nothing happened\n" + "x" * 100000)
    res = cli("classify", "--json", path)
    assert res.exit_code == 0
    assert json.loads(res.output)["label"] == "other"


def test_bad_model_file_is_a_clear_error(cli, tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "something-else"}')
    res = cli("classify", "--model", bad, shared_data("labelled", "reports", "013.txt"))
    assert res.exit_code == 1 and "not a syz-triage model" in res.output
    bad.write_text("\x80\x81 not json")
    with pytest.raises(ModelError, match="not JSON"):
        Model.load(bad)


def test_shipped_model_is_small_safe_data_and_round_trips(tmp_path):
    raw = SHIPPED_MODEL.read_bytes()
    assert len(raw) < 200_000
    data = json.loads(raw)
    assert data["format"] == "syz-triage-logreg/1"
    meta = data["meta"]
    assert meta["n_reports"] >= 89 and meta["version"] and set(meta["labels"]) == {
        "data-loss", "reclaim-deadlock", "fault-injection", "nofail-warning", "other"}
    model = Model.load(SHIPPED_MODEL)
    copy = Model.load(model.save(tmp_path / "m.json"))
    feats = [{"fn:ext4_mb_load_buddy_gfp": 1.0, "at:__alloc_pages_slowpath": 1.0}, {"kind:lockdep-circular": 1.0}]
    assert model.predict_proba(feats) == copy.predict_proba(feats)
    assert copy.version == model.version


def test_shipped_artifacts_hold_no_report_text():
    """The repo ships ids, labels and coefficients, never the third-party report texts."""
    labelled = shared_data("labelled", "reports")
    shipped = SHIPPED_MODEL.read_text() + (ROOT / "corpus" / "labels.jsonl").read_text()
    for path in sorted(labelled.glob("*.txt")):
        for line in path.read_text(errors="replace").splitlines():
            line = line.strip()
            if len(line) > 40:
                assert line not in shipped, (path.name, line)


def test_parse_does_not_import_sklearn():
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom triage.cli import app\n"
            "r = CliRunner().invoke(app, ['parse', '--json', sys.argv[1]])\nassert r.exit_code == 0, r.output\n"
            "print('sklearn' in sys.modules)")
    path = shared_data("labelled", "reports", "001.txt")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_batch_classification_does_not_read_the_text_again():
    """Classification reads only the parsed Report, not its text (the view build once re-read it: 77% of
    classify): the regexp work of classifying a report (calls, characters read; tests/work.py) is a small
    fraction of parsing it. The figure (reports/s) is bench/bench_classify.py's."""
    from classifiers.classifier import Classifier
    from tests import work
    from triage.report import parse

    reports = shared_data("labelled", "reports")
    texts = [p.read_text(errors="replace") for p in sorted(reports.glob("*.txt"))]
    clf = Classifier()
    clf.classify_many([parse(texts[0])])
    parsing = work.count(lambda: [parse(t) for t in texts], "triage.report", "classifiers")
    classifying = work.count(lambda: clf.classify_many(parsing.result), "triage.report", "classifiers")
    assert len(classifying.result) == len(texts)
    assert classifying.calls * 20 < parsing.calls, (classifying, parsing)
    assert classifying.chars * 20 < parsing.chars, (classifying, parsing)


def test_binary_features_score_as_the_general_arithmetic():
    """Binary feature dicts take a shorter path through the model; it must give the very same floats as the
    general one (values given as strings are converted there, one by one)."""
    from classifiers.classifier import Classifier
    from classifiers.features import features
    from triage.report import parse

    model = Model.load(SHIPPED_MODEL)
    clf = Classifier(model=model)
    paths = sorted(shared_data("labelled", "reports").glob("*.txt"))
    feats = [features(v) for v in clf.views([parse(p.read_text(errors="replace")) for p in paths])]
    feats += [{}, {"no-such-feature": 1.0}, {"kind:lockdep-circular": 1.0, "no-such-feature": 1.0}]
    general = [{k: "1" for k in f} for f in feats]
    assert model.predict_proba(feats) == model.predict_proba(general)
    one = "kind:lockdep-circular"
    assert model.predict_proba([{one: 2.0}]) == model.predict_proba([{one: 1.0}])


def test_a_reports_columns_are_its_known_features_in_order():
    """``columns1(view, index)`` finds a report's model columns (plus one) from the parts of its feature names, without
    building the names: the columns of exactly ``features(view)``'s known names, each once, in their order; and
    the model scores them as it scores the feature dict, one by one and as a batch."""
    from classifiers.classifier import Classifier
    from classifiers.features import columns1, feature_index, features
    from classifiers.model import BATCH_MIN
    from triage.report import parse

    model = Model.load(SHIPPED_MODEL)
    index = feature_index(model.features)
    clf = Classifier(model=model)
    paths = sorted(shared_data("labelled", "reports").glob("*.txt")) + \
        sorted(shared_data("syzbot-sample").glob("*.txt"))
    views = clf.views([parse(p.read_text(errors="replace")) for p in paths])
    where = {name: j for j, name in enumerate(model.features)}
    rows, feats = [], []
    for view in views:
        f = features(view)
        rows.append(columns1(view, index))
        feats.append(f)
        assert rows[-1] == [where[k] + 1 for k in f if k in where]
    assert sum(map(len, rows)) > len(rows) * 5
    assert len(rows) >= BATCH_MIN
    assert model.predict_columns1(rows) == model.predict_proba(feats)
    assert model.predict_columns1(rows[:50]) == model.predict_proba(feats[:50])
    odd = feature_index(["fn:a>b", "pair:x>y>z", "sfn:task:f:g", "title:x"])   # every split of a name is indexed
    assert odd.fn == {"a>b": 0} and odd.pair == {("x", "y>z"): 1, ("x>y", "z"): 1}
    assert odd.sfn == {"sfn:task:": {"f:g": 2}, "sfn:task:f:": {"g": 2}}


def test_a_batch_scores_as_one_report_at_a_time():
    """A batch of BATCH_MIN reports or more is scored with numpy in one pass: the very same floats as the
    per-report arithmetic (reports without any known feature and non-binary ones included)."""
    from classifiers.classifier import Classifier
    from classifiers.features import features
    from classifiers.model import BATCH_MIN
    from triage.report import parse

    model = Model.load(SHIPPED_MODEL)
    clf = Classifier(model=model)
    paths = sorted(shared_data("labelled", "reports").glob("*.txt")) + \
        sorted(shared_data("syzbot-sample").glob("*.txt"))[:200]
    feats = [features(v) for v in clf.views([parse(p.read_text(errors="replace")) for p in paths])]
    feats += [{}, {"no-such-feature": 1.0}, {"kind:lockdep-circular": "1", "fn:shrink_slab": 1.0}]
    feats = (feats * (BATCH_MIN // len(feats) + 1))[::-1]
    assert len(feats) >= BATCH_MIN
    assert model.predict_proba(feats) == [model.predict_proba([f])[0] for f in feats]


def test_round4_is_round_to_four_places_bit_for_bit():
    """``combine.round4`` (the stored probabilities) gives the very float ``round(x, 4)`` gives: random
    probabilities, every 4-place value and every half between two, each with its neighbouring floats, and what
    it leaves to ``round`` (zeros, negatives, above one, not finite)."""
    import math
    import random
    import struct

    from classifiers.combine import round4

    rng = random.Random(13)
    xs = [rng.random() for _ in range(100_000)] + [math.exp(-rng.random() * 40) for _ in range(20_000)]
    for k in range(10_001):
        for x in (k / 10_000, (k + 0.5) / 10_000):
            for direction in (2.0, -1.0):
                y = x
                for _ in range(3):
                    xs.append(y)
                    y = math.nextafter(y, direction)
    xs += [0.0, -0.0, 5e-324, 1e-300, 0.03125, 1.0, 1.00001, -0.25, math.inf, -math.inf, 12345.67891]
    bits = struct.Struct("<d").pack
    assert [bits(round4(x)) for x in xs] == [bits(round(x, 4)) for x in xs]
    assert math.isnan(round4(math.nan))
    # a batch's rows rounded in one numpy pass: the very same floats, NaN where round gives NaN
    from classifiers.combine import ROUND_BATCH, round4_rows

    rows = [xs[i:i + 5] for i in range(0, len(xs) - 5, 5)]
    assert len(rows) >= ROUND_BATCH
    for batch in (rows, rows[:ROUND_BATCH - 1], [[math.nan, 0.5, 1.0]] * ROUND_BATCH):
        got = round4_rows(batch)
        want = [[round(x, 4) for x in row] for row in batch]
        assert [[bits(x) if x == x else "nan" for x in row] for row in got] == \
            [[bits(x) if x == x else "nan" for x in row] for row in want]
