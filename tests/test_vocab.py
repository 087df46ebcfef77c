"""The shared vocabularies agree with every copy the store holds as data."""

from triage.store import open_db
from vocab.labels import BY_NAME, INBOX_ORDER, LABELS


def test_store_label_ranks_match_the_label_table(tmp_path):
    db = open_db(tmp_path / "t.db")
    rows = {name: (rank, severity) for name, rank, severity in
            db.execute("SELECT label, rank, severity FROM label_ranks WHERE label != 'unclassified'")}
    assert set(rows) == set(LABELS)
    for name, (rank, severity) in rows.items():
        assert (rank, severity) == (BY_NAME[name].rank, BY_NAME[name].severity), name
    assert [n for n, _ in sorted(rows.items(), key=lambda kv: kv[1][0])] == list(INBOX_ORDER)
