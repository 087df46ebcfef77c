"""The consequence labels (shared/docs/LABELS.md), in one table.

Two orders matter and both are columns of the table: ``precedence`` is the LABELS.md tie-break (when the
primary crash shows evidence for two labels, the lower number wins), ``rank`` is the inbox's order (worst
first; the benign ``nofail-warning`` sinks below ``other``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    name: str
    precedence: int        # LABELS.md tie-break: 0 wins
    rank: int              # inbox order: 0 = worst
    severity: str
    short: str             # column heading where space is tight
    description: str


TABLE: tuple[Label, ...] = (
    Label("data-loss", 0, 0, "critical", "data-loss", "the kernel may silently drop data a program already wrote"),
    Label("reclaim-deadlock", 1, 1, "high", "reclaim",
          "memory reclaim recursing into a filesystem or IO path can hang"),
    Label("fault-injection", 2, 2, "medium", "fault-inj", "a crash on an error path opened by an injected failure"),
    Label("nofail-warning", 3, 5, "low", "nofail",
          "the page allocator complaining about a __GFP_NOFAIL request"),
    Label("other", 4, 3, "normal", "other", "anything else: memory safety, unrelated warnings and deadlocks, ..."),
)

BY_NAME: dict[str, Label] = {lab.name: lab for lab in TABLE}
# every label, in tie-break order (data-loss first, other last)
LABELS: tuple[str, ...] = tuple(lab.name for lab in sorted(TABLE, key=lambda lab: lab.precedence))
# the four labels that claim a consequence (everything but ``other``)
CONSEQUENCE_LABELS: tuple[str, ...] = tuple(name for name in LABELS if name != "other")
# every label in inbox order, worst first
INBOX_ORDER: tuple[str, ...] = tuple(lab.name for lab in sorted(TABLE, key=lambda lab: lab.rank))
UNCLASSIFIED_RANK = 4     # a report without a verdict sorts between ``other`` and ``nofail-warning``
