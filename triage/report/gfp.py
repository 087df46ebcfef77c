"""GFP masks in kernel reports: the bit layouts per kernel version (tables) and every mask a report prints.

The numeric value of a gfp flag changed several times (shared/docs/kernel-semantics.md §a.2-a.4), so
``0x8c40`` is ``GFP_NOFS|__GFP_NOFAIL`` on 5.x/6.x and something else entirely on 4.9. ``LAYOUTS`` holds one
row per layout: its version range, the single-bit values, and the order ``%pGg`` prints names in.

    decode(value, kernel)      -> ["GFP_NOFS", "__GFP_NOFAIL"]   names as the kernel prints them (%pGg)
    bits(names, kernel)        -> ["__GFP_RECLAIM"...]             single-bit names of printed names
    find_gfp(text, kernel)     -> [{raw, value, flags, bits, names_from, kernel_layout, line, lineno, context}]
    layout_for(kernel)         -> (Layout, guessed: bool)

Version boundaries marked "inferred" come from real reports in shared/data (a 4.16 report prints
GFP_KERNEL as 0x14000c0, a 4.19 one uses the 4.19 layout, a 5.3 one the 5.x layout, 6.4 still prints in the
5.x name order, 2025-26 syzbot reports in enum order with GFP_NOWAIT including __GFP_NOWARN).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from triage.report.context import kernel_tuple
from triage.report.lines import clean_lines

# Bits 0x01-0x80 never moved.
_LOW = {"__GFP_DMA": 0x01, "__GFP_HIGHMEM": 0x02, "__GFP_DMA32": 0x04, "__GFP_MOVABLE": 0x08,
        "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80}

# Single-bit values per layout (beyond _LOW), from gfp.h / gfp_types.h of each era.
_L1 = {"__GFP_COLD": 0x100, "__GFP_NOWARN": 0x200, "__GFP_REPEAT": 0x400, "__GFP_NOFAIL": 0x800,
       "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000, "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000,
       "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
       "__GFP_ATOMIC": 0x80000, "__GFP_ACCOUNT": 0x100000, "__GFP_NOTRACK": 0x200000,
       "__GFP_DIRECT_RECLAIM": 0x400000, "__GFP_OTHER_NODE": 0x800000, "__GFP_WRITE": 0x1000000,
       "__GFP_KSWAPD_RECLAIM": 0x2000000}
_L2 = {**{k: v for k, v in _L1.items() if k not in ("__GFP_OTHER_NODE", "__GFP_REPEAT")},
       "__GFP_RETRY_MAYFAIL": 0x400, "__GFP_WRITE": 0x800000, "__GFP_KSWAPD_RECLAIM": 0x1000000,
       "__GFP_NOLOCKDEP": 0x2000000}
_L3 = {"__GFP_WRITE": 0x100, "__GFP_NOWARN": 0x200, "__GFP_RETRY_MAYFAIL": 0x400, "__GFP_NOFAIL": 0x800,
       "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000, "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000,
       "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
       "__GFP_ATOMIC": 0x80000, "__GFP_ACCOUNT": 0x100000, "__GFP_DIRECT_RECLAIM": 0x200000,
       "__GFP_KSWAPD_RECLAIM": 0x400000, "__GFP_NOLOCKDEP": 0x800000}
_L4 = {"__GFP_ZERO": 0x100, "__GFP_ATOMIC": 0x200, "__GFP_DIRECT_RECLAIM": 0x400, "__GFP_KSWAPD_RECLAIM": 0x800,
       "__GFP_WRITE": 0x1000, "__GFP_NOWARN": 0x2000, "__GFP_RETRY_MAYFAIL": 0x4000, "__GFP_NOFAIL": 0x8000,
       "__GFP_NORETRY": 0x10000, "__GFP_MEMALLOC": 0x20000, "__GFP_COMP": 0x40000, "__GFP_NOMEMALLOC": 0x80000,
       "__GFP_HARDWALL": 0x100000, "__GFP_THISNODE": 0x200000, "__GFP_ACCOUNT": 0x400000,
       "__GFP_NOLOCKDEP": 0x800000}
_L5 = {**{k: v for k, v in _L4.items() if k != "__GFP_ATOMIC"},
       "__GFP_ZEROTAGS": 0x800000, "__GFP_SKIP_ZERO": 0x1000000, "__GFP_SKIP_KASAN": 0x2000000,
       "__GFP_NOLOCKDEP": 0x4000000}
# 6.10+ enum form; the high bits are config-dependent: these are x86 syzbot's (no KASAN_HW_TAGS, LOCKDEP on),
# confirmed by "Unexpected gfp: 0x1000000 (__GFP_NOLOCKDEP)" in a 2026 report.
_L6 = {**{k: v for k, v in _L5.items() if k not in ("__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN")},
       "__GFP_NOLOCKDEP": 0x1000000, "__GFP_NO_OBJ_EXT": 0x2000000}

# Print order of single bits: 4.x-6.9 (mmflags.h table) and 6.10+ (enum order).
_ORDER_OLD = ["__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO", "__GFP_FS", "__GFP_COLD",
              "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
              "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL",
              "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_NOTRACK",
              "__GFP_WRITE", "__GFP_OTHER_NODE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
              "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN", "__GFP_NOLOCKDEP"]
_ORDER_ENUM = ["__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE", "__GFP_RECLAIMABLE", "__GFP_HIGH",
               "__GFP_IO", "__GFP_FS", "__GFP_ZERO", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
               "__GFP_WRITE", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
               "__GFP_MEMALLOC", "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE",
               "__GFP_ACCOUNT", "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN", "__GFP_NOLOCKDEP",
               "__GFP_NO_OBJ_EXT"]
_COMPOSITE_ORDER_OLD = ["GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
                        "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT",
                        "GFP_DMA"]
_COMPOSITE_ORDER_NEW = [*_COMPOSITE_ORDER_OLD, "GFP_DMA32", "__GFP_RECLAIM"]

# Composite masks as unions of single-bit names (the layout gives the values).
_COMPOSITES: dict[str, tuple[str, ...]] = {
    "__GFP_RECLAIM": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM"),
    "GFP_KERNEL": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS"),
    "GFP_KERNEL_ACCOUNT": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS",
                           "__GFP_ACCOUNT"),
    "GFP_NOFS": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO"),
    "GFP_NOIO": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM"),
    "GFP_NOWAIT": ("__GFP_KSWAPD_RECLAIM",),
    "GFP_ATOMIC": ("__GFP_HIGH", "__GFP_ATOMIC", "__GFP_KSWAPD_RECLAIM"),
    "GFP_USER": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_HARDWALL"),
    "GFP_HIGHUSER": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS", "__GFP_HARDWALL",
                     "__GFP_HIGHMEM"),
    "GFP_HIGHUSER_MOVABLE": ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_IO", "__GFP_FS",
                             "__GFP_HARDWALL", "__GFP_HIGHMEM", "__GFP_MOVABLE"),
    "GFP_TRANSHUGE_LIGHT": ("__GFP_IO", "__GFP_FS", "__GFP_HARDWALL", "__GFP_HIGHMEM", "__GFP_MOVABLE",
                            "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_NOWARN"),
    "GFP_TRANSHUGE": ("__GFP_IO", "__GFP_FS", "__GFP_HARDWALL", "__GFP_HIGHMEM", "__GFP_MOVABLE", "__GFP_COMP",
                      "__GFP_NOMEMALLOC", "__GFP_NOWARN", "__GFP_DIRECT_RECLAIM"),
    "GFP_DMA": ("__GFP_DMA",),
    "GFP_DMA32": ("__GFP_DMA32",),
}


@dataclass(frozen=True)
class Layout:
    """One gfp bit layout: the kernels that use it, bit values, composite overrides and print order."""

    name: str
    first: tuple[int, int]
    last: tuple[int, int]
    single: dict[str, int]
    order: list[str]
    composite_order: list[str]
    composite_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""

    @property
    def values(self) -> dict[str, int]:
        return {**_LOW, **self.single}

    def mask(self, name: str) -> int | None:
        """Value of a single-bit or composite name in this layout (None if the layout lacks it)."""
        vals = self.values
        if name in vals:
            return vals[name]
        parts = self.composite_overrides.get(name) or _COMPOSITES.get(name)
        if parts is None:
            return None
        return sum(vals[p] for p in parts if p in vals) or None

    def table(self) -> list[tuple[str, int]]:
        """The %pGg name table: (name, mask) in print order."""
        out = []
        for name in [*self.composite_order, *self.order]:
            m = self.mask(name)
            if m and name not in dict(out):
                out.append((name, m))
        return out


LAYOUTS: list[Layout] = [
    Layout("L1", (4, 4), (4, 9), _L1, _ORDER_OLD, _COMPOSITE_ORDER_OLD, note="4.4-4.9"),
    Layout("L2", (4, 10), (4, 16), _L2, _ORDER_OLD, _COMPOSITE_ORDER_OLD,
           note="4.10-4.16 (__GFP_OTHER_NODE gone; end inferred from 4.15/4.16 reports)"),
    Layout("L3", (4, 17), (4, 20), _L3, _ORDER_OLD, _COMPOSITE_ORDER_OLD,
           note="4.17-4.20 (start inferred; read in 4.19, seen in 4.19/4.20 reports)"),
    Layout("L4", (5, 0), (6, 2), _L4, _ORDER_OLD, _COMPOSITE_ORDER_OLD,
           note="5.0-6.2 (start inferred: between 4.20 and 5.3 reports)"),
    Layout("L5", (6, 3), (6, 9), _L5, _ORDER_OLD, _COMPOSITE_ORDER_OLD,
           composite_overrides={"GFP_ATOMIC": ("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM")},
           note="6.3-6.9 (__GFP_ATOMIC removed; 5.x print order, seen in 6.4 reports)"),
    Layout("L6", (6, 10), (6, 17), _L6, _ORDER_ENUM, _COMPOSITE_ORDER_NEW,
           composite_overrides={"GFP_ATOMIC": ("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM")},
           note="6.10-6.17 (enum gfp bits; enum print order inferred)"),
    Layout("L7", (6, 18), (99, 99), _L6, _ORDER_ENUM, _COMPOSITE_ORDER_NEW,
           composite_overrides={"GFP_ATOMIC": ("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM"),
                                "GFP_NOWAIT": ("__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN")},
           note="6.18+ (GFP_NOWAIT includes __GFP_NOWARN; boundary inferred)"),
]
CURRENT = LAYOUTS[-1]
_BY_NAME = {lay.name: lay for lay in LAYOUTS}
_TABLES = {lay.name: lay.table() for lay in LAYOUTS}


def layout_for(kernel: str | None) -> tuple[Layout, bool]:
    """The layout of a kernel release, and whether it is a guess (unknown or out-of-table release)."""
    ver = kernel_tuple(kernel) if isinstance(kernel, str) else None
    if ver is None:
        return CURRENT, True
    for lay in LAYOUTS:
        if lay.first <= ver <= lay.last:
            return lay, False
    return (LAYOUTS[0], True) if ver < LAYOUTS[0].first else (CURRENT, True)


def _layout(kernel: str | Layout | None) -> Layout:
    if isinstance(kernel, Layout):
        return kernel
    if isinstance(kernel, str) and kernel in _BY_NAME:
        return _BY_NAME[kernel]
    return layout_for(kernel)[0]


def decode(value: int, kernel: str | Layout | None = None) -> list[str]:
    """Names of ``value`` as the kernel prints them (``%pGg``): composites first, leftover bits as hex."""
    lay = _layout(kernel)
    try:
        flags = int(value) & ((1 << 64) - 1)
    except (TypeError, ValueError):
        return []
    out: list[str] = []
    for name, mask in _TABLES[lay.name]:
        if flags & mask == mask:
            out.append(name)
            flags &= ~mask
            if not flags:
                break
    if flags:
        out.append(hex(flags))
    return out


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
    return _single_bits(value, lay)


def _single_bits(value: int, lay: Layout) -> list[str]:
    out = []
    by_value = sorted(lay.values.items(), key=lambda kv: kv[1])
    for name, bit in by_value:
        if value & bit:
            out.append(name)
            value &= ~bit
    if value:
        out.append(hex(value))
    return out


def infer_layouts(value: int, names: list[str]) -> list[Layout]:
    """Layouts in which ``value`` prints exactly as ``names`` (newest first); falls back to same bit sets."""
    exact = [lay for lay in reversed(LAYOUTS) if decode(value, lay) == names]
    if exact:
        return exact
    return [lay for lay in reversed(LAYOUTS) if set(bits(names, lay)) == set(_single_bits(value, lay))]


# ---------------------------------------------------------------------------------------------------------
# Masks in report text.

_MASK = re.compile(
    r"(?<![\w])(?P<ctx>gfp_mask|gfp_flags|gfpflags|gfp|mode)\s?[:=]?\s?(?P<hex>0x[0-9a-fA-F]{1,16})\b"
    r"(?:\s?\((?P<names>[\w|]{0,400})\))?"
)
_HINTS = ("gfp", "mode:0x")


def find_gfp(text: str, kernel: str | None = None) -> list[dict]:
    """Every gfp mask the report prints, one dict per occurrence (see module doc for the fields).

    Printed names (``mode:0x8c40(GFP_NOFS|__GFP_NOFAIL)``) are kept as printed (``names_from: "printed"``)
    and split into single bits with the layout of ``kernel``, or, when the kernel is unknown, with the
    layout the printed names themselves fit. Bare masks (``gfp_mask=0x800d0``) are decoded the same way
    (``names_from: "decoded"``). ``layout_guessed`` says the layout is a fallback, ``layout_mismatch`` that
    the printed names do not fit the layout chosen for ``kernel``.
    """
    if not isinstance(text, str) or not any(h in text for h in _HINTS):
        return []
    found: list[tuple[int, str, re.Match[str]]] = []
    for ln in clean_lines(text):
        if "gfp" not in ln.text and "mode:" not in ln.text:
            continue
        for m in _MASK.finditer(ln.text):
            if m.group("ctx") == "mode" and ":" not in ln.text[m.end("ctx"):m.start("hex")]:
                continue                         # "mode 0x..." without the colon is something else
            found.append((ln.lineno, ln.text, m))
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
                         layout_mismatch=set(b) != set(_single_bits(value, lay)))
        else:
            entry.update(flags=decoded, bits=_single_bits(value, lay), names_from="decoded", layout_mismatch=False)
        out.append(entry)
    return out


def has_flag(entry: dict, flag: str) -> bool:
    """True if a ``find_gfp`` entry carries ``flag`` (``"__GFP_NOFAIL"``, ``"NOFAIL"``, ``"GFP_NOFS"``)."""
    name = flag if flag.startswith(("__GFP_", "GFP_")) else "__GFP_" + flag
    lay = _BY_NAME.get(str(entry.get("kernel_layout", "")).split(" ")[0], CURRENT)
    mask = lay.mask(name)
    if not mask:
        return False
    return set(_single_bits(mask, lay)) <= set(entry.get("bits", ()))
