"""Which of a fixed list of words (literal texts) a text holds, from one linear pass.

The parser asks this of every input for its tables' words (the marker table's 47 gate words, the oops headers):
a substring test per word reads the text once per word; an RE2 set (google-re2) reads it once for all of them.
Without the package, or for a text RE2 cannot take (a lone surrogate is no UTF-8), the substring tests answer.
"""

from __future__ import annotations


class WordSet:
    """``WordSet(words).present(text)``: the words ``text`` holds, exactly ``{w for w in words if w in text}``."""

    def __init__(self, words: tuple[str, ...]):
        self.words = words
        self._set = None
        try:
            import re2
        except ImportError:  # pragma: no cover (the fallback: one substring test per word)
            return
        opts = re2.Options()
        opts.literal = True
        found = re2.Set.SearchSet(opts)
        for w in words:
            found.Add(w)
        found.Compile()
        self._set = found

    def present(self, text: str) -> set[str]:
        if self._set is not None:
            try:
                return {self.words[i] for i in self._set.Match(text) or ()}
            except UnicodeError:
                pass
        return {w for w in self.words if w in text}
