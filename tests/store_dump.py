"""A canonical dump of a store's contents, for comparing two imports of the same input: every row of the tables
an import writes, keyed by content, with the import's own clocks (import / seen / created times) left out."""

from __future__ import annotations

import json

# table -> columns left out (when the row was written, not what it says)
CLOCKS = {
    "reports": {"imported_at"}, "sources": {"seen_at"}, "frames": set(), "messages": {"imported_at"},
    "threads": set(), "verdicts": {"created_at"}, "reviews": {"updated_at"}, "bugs": {"updated_at"},
    "crashes": set(), "sync_state": {"updated_at"}, "report_labels": set(), "dup_groups": set(),
}


def dump(db) -> dict[str, list]:
    """table -> its rows (dicts without the clock columns), sorted. A report's ``reported_at`` that is its
    import time (the input had no date) reads ``<import time>``."""
    out = {}
    for table, clocks in CLOCKS.items():
        cur = db.execute(f"SELECT * FROM {table}")
        cols = [c[0] for c in cur.description]
        rows = []
        for values in cur:
            row = dict(zip(cols, values, strict=True))
            if table == "reports" and row["reported_at"] == row["imported_at"]:
                row["reported_at"] = "<import time>"
            if table == "sync_state":
                row.pop("source")           # names the clone's path
            rows.append({k: v for k, v in row.items() if k not in clocks})
        out[table] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    return out


def differences(a: dict[str, list], b: dict[str, list], limit: int = 3) -> list[str]:
    """What differs between two dumps, a few rows per table."""
    out = []
    for table in a:
        if a[table] != b[table]:
            sa = {json.dumps(r, sort_keys=True, default=str) for r in a[table]}
            sb = {json.dumps(r, sort_keys=True, default=str) for r in b[table]}
            out.append(f"{table}: {len(a[table])} vs {len(b[table])} rows; only first: {sorted(sa - sb)[:limit]}; "
                       f"only second: {sorted(sb - sa)[:limit]}")
    return out
