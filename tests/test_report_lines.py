"""lines.messages (the parsers' lines, built at C level) against its definition: ``clean`` of every line."""

from __future__ import annotations

import random

from tests.conftest import shared_data
from triage.report import lines as L


def _by_definition(text: str) -> tuple[list[str], list[str | None]]:
    pairs = [L.clean(raw) for raw in text.split("\n")]
    return [msg for _, msg in pairs], [tag for tag, _ in pairs]


def _check(text: str) -> None:
    L._last_messages = (None, L.Messages([], None))     # (a text of the test before must not answer for this one)
    texts, tags = L.messages(text)
    want_texts, want_tags = _by_definition(text)
    assert texts == want_texts, text[:300]
    assert (tags or [None] * len(texts)) == want_tags, text[:300]
    assert [tuple(ln) for ln in L.cleaned(text)] == [(i, tag, msg) for i, (tag, msg)
                                                      in enumerate(zip(want_tags, want_texts, strict=True), 1)]


# Pieces of every prefix the console grammar reads (vocab.console) and of lines that only look like one.
_PIECES = ["", " ", "\t", "\u00a0", ">", "> ", "<4>", "<", "[", "]", "[  12.345678]", "[ T12]", "[    C0]", "[T1]",
           "[2023-10-13 02:51:09] ", "Feb 24 20:39:18 host kernel: ", "<TASK>", "</IRQ>", "[<ffffffff8123abcd>] ",
           "1", "T", "C", "x", "\r", " foo+0x1/0x2"]


def test_messages_match_clean_on_prefix_mixes():
    rng = random.Random(13)
    for _ in range(3000):
        lines = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(1, 8))]
        text = "\n".join(lines)
        _check(text)
        _check(text + "y" * 2500)           # a line past MAX_LINE, and a text long enough to be remembered


def test_messages_match_clean_on_real_reports():
    folder = shared_data("syzkaller-reports", "report")
    for path in sorted(folder.iterdir())[:300]:
        _check(path.read_bytes().decode("utf-8", "replace"))


def test_long_line_found_wherever_it_lies():
    """``_long_line`` is True whenever a line is longer than MAX_LINE, wherever it starts (blocks of MAX_LINE // 2)."""
    n = L.MAX_LINE
    for before in range(0, 2 * n + 3, 97):
        for size in (n - 1, n, n + 1, n + 2, 2 * n):
            text = "a\n" * (before // 2) + "x" * size + "\nb"
            assert L._long_line(text) or max(map(len, text.split("\n"))) <= n, (before, size)
    assert not L._long_line(("x" * (n // 2 - 1) + "\n") * 20)
