"""GFP masks in kernel reports: every mask a report prints, decoded with the bit layout of its kernel.

The numeric value of a gfp flag changed several times (shared/docs/kernel-semantics.md §a.2-a.4), so
``0x8c40`` is ``GFP_NOFS|__GFP_NOFAIL`` on 5.x/6.x and something else entirely on 4.9. The layouts (version
range, single-bit values, the order ``%pGg`` prints names in) are one table, ``vocab.gfp``, which the
simulator prints with.

    decode(value, kernel)      -> ["GFP_NOFS", "__GFP_NOFAIL"]   names as the kernel prints them (%pGg)
    bits(names, kernel)        -> ["__GFP_RECLAIM"...]             single-bit names of printed names
    find_gfp(text, kernel)     -> [{raw, value, flags, bits, names_from, kernel_layout, line, lineno, context}]
    layout_for(kernel)         -> (Layout, guessed: bool)
"""

from __future__ import annotations

import re

from triage.report.context import kernel_tuple
from triage.report.lines import messages, word_lines
from vocab import gfp as table
from vocab.gfp import LAYOUTS, Layout

__all__ = ["LAYOUTS", "Layout", "bits", "decode", "find_gfp", "has_flag", "infer_layouts", "layout_for"]


def layout_for(kernel: str | None) -> tuple[Layout, bool]:
    """The layout of a kernel release, and whether it is a guess (unknown or out-of-table release)."""
    return table.layout_for(kernel_tuple(kernel) if isinstance(kernel, str) else None)


def _layout(kernel: str | Layout | None) -> Layout:
    if isinstance(kernel, Layout):
        return kernel
    if isinstance(kernel, str) and kernel in table.BY_NAME:
        return table.BY_NAME[kernel]
    return layout_for(kernel)[0]


def decode(value: int, kernel: str | Layout | None = None) -> list[str]:
    """Names of ``value`` as the kernel prints them (``%pGg``): composites first, leftover bits as hex."""
    return table.pgg(value, _layout(kernel))


def bits(names: list[str], kernel: str | Layout | None = None) -> list[str]:
    """Single-bit names of printed names (composites split, ``0x...`` leftovers decoded), in bit order."""
    lay = _layout(kernel)
    value = 0
    for name in names:
        name = name.strip()
        if name.lower().startswith("0x"):
            try:
                value |= int(name, 16)
            except ValueError:
                continue
            continue
        m = lay.mask(name)
        if m is None and not name.startswith("__") and lay.mask("__" + name) is not None:
            m = lay.mask("__" + name)                 # early 4.x printed single bits without "__"
        if m is not None:
            value |= m
    return table.single_bits(value, lay)


def infer_layouts(value: int, names: list[str]) -> list[Layout]:
    """Layouts in which ``value`` prints exactly as ``names`` (newest first); falls back to same bit sets."""
    exact = [lay for lay in reversed(LAYOUTS) if decode(value, lay) == names]
    if exact:
        return exact
    return [lay for lay in reversed(LAYOUTS) if set(bits(names, lay)) == set(table.single_bits(value, lay))]


# ---------------------------------------------------------------------------------------------------------
# Masks in report text.

# "(?<![\w])(?P<ctx>gfp_mask|gfp_flags|gfpflags|gfp|mode)..." with the same matches and groups, each alternative
# starting with its letter (the look-behind after it: "g" not after a word character): ``re`` then scans for "g" and
# "m" instead of trying the look-behind and the alternation at every character; "(?:X|)" is "(?:X)?" in cheap steps.
_MASK = re.compile(
    r"(?P<ctx>g(?<!\wg)fp(?:_mask|_flags|flags|)|m(?<!\wm)ode)\s?[:=]?\s?(?P<hex>0x[0-9a-fA-F]{1,16})\b"
    r"(?:\s?\((?P<names>[\w|]{0,400})\)|)"
)
_HINTS = ("gfp", "mode:0x")         # a text holds one of them when a mask is read from it
LINE_WORDS = ("gfp", "mode:")     # a line holds one of them when a mask is read from it
_CUT = re.compile(r"(?:g(?<!\wg)fp(?:_mask|_flags|flags|)|m(?<!\wm)ode:)[:=]?\s*$")     # (as ``_MASK``)


def find_gfp(text: str, kernel: str | None = None) -> list[dict]:
    """Every gfp mask the report prints, one dict per occurrence (see module doc for the fields).

    Printed names (``mode:0x8c40(GFP_NOFS|__GFP_NOFAIL)``) are kept as printed (``names_from: "printed"``)
    and split into single bits with the layout of ``kernel``, or, when the kernel is unknown, with the
    layout the printed names themselves fit. Bare masks (``gfp_mask=0x800d0``) are decoded the same way
    (``names_from: "decoded"``). ``layout_guessed`` says the layout is a fallback, ``layout_mismatch`` that
    the printed names do not fit the layout chosen for ``kernel``.
    """
    if not isinstance(text, str):
        return []
    # the lines holding "gfp" or "mode:" (none: neither hint is in the text, no more scan of it)
    candidates = word_lines(text, LINE_WORDS)
    if not candidates or not any(map(text.__contains__, _HINTS)):
        return []
    found: list[tuple[int, str, re.Match[str]]] = []
    texts = messages(text).texts
    for i in sorted(candidates):
        line = texts[i]
        if not any(map(line.__contains__, LINE_WORDS)):
            continue
        if _CUT.search(line) and i + 1 < len(texts):
            line = f"{line.rstrip()} {texts[i + 1].strip()}"    # a mail client wrapped it after "gfp_mask"
        for m in _MASK.finditer(line):
            if m.group("ctx") == "mode" and ":" not in line[m.end("ctx"):m.start("hex")]:
                continue                         # "mode 0x..." without the colon is something else
            found.append((i + 1, line, m))
    if not found:
        return []
    lay, guessed = layout_for(kernel)
    how = "kernel" if not guessed else "fallback: current layout"
    if guessed:
        # the printed names say which layout printed them: use the newest layout that fits them all
        candidates: list[Layout] | None = None
        for _, _, m in found:
            if m.group("names") is None:
                continue
            names = [n for n in m.group("names").split("|") if n]
            fit = infer_layouts(int(m.group("hex"), 16), names)
            candidates = fit if candidates is None else [c for c in candidates if c in fit]
        if candidates:
            lay, how = candidates[0], "inferred from printed names"
    out = []
    for lineno, line, m in found:
        value = int(m.group("hex"), 16)
        decoded = decode(value, lay)
        entry = {
            "raw": m.group("hex"),
            "value": value,
            "context": m.group("ctx"),
            "line": line.strip(),
            "lineno": lineno,
            "kernel_layout": f"{lay.name} ({lay.note})",
            "layout_guessed": guessed,
            "layout_from": how,
        }
        if m.group("names") is not None:
            printed = [n for n in m.group("names").split("|") if n]
            b = bits(printed, lay)
            entry.update(flags=printed, bits=b, names_from="printed",
                         layout_mismatch=set(b) != set(table.single_bits(value, lay)))
        else:
            entry.update(flags=decoded, bits=table.single_bits(value, lay), names_from="decoded", layout_mismatch=False)
        out.append(entry)
    return out


def has_flag(entry: dict, flag: str) -> bool:
    """True if a ``find_gfp`` entry carries ``flag`` (``"__GFP_NOFAIL"``, ``"NOFAIL"``, ``"GFP_NOFS"``)."""
    name = flag if flag.startswith(("__GFP_", "GFP_")) else "__GFP_" + flag
    lay = table.BY_NAME.get(str(entry.get("kernel_layout", "")).split(" ")[0], table.CURRENT)
    mask = lay.mask(name)
    if not mask:
        return False
    return set(table.single_bits(mask, lay)) <= set(entry.get("bits", ()))
