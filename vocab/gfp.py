"""GFP flag layouts: what every gfp bit is worth in each kernel release range, the composite masks
(``GFP_KERNEL``, ``GFP_NOFS``, ...) and the order in which the kernel prints names (``%pGg``), in one table.

The parser decodes the masks a report prints with it (``triage.report.gfp``); the simulator prints its masks
with it (``simulator.gfp``), so a simulated console line decodes back to the flags the simulator used.

    layout_for((4, 16)) -> (Layout "v4.15", guessed=False)
    pgg(0x8c40, layout) -> ["GFP_NOFS", "__GFP_NOFAIL"]      the names ``%pGg`` prints, composites first
    single_bits(value, layout) -> ["__GFP_IO", ...]          single-bit names, in bit order

Rows and their evidence (shared/docs/kernel-semantics.md §a.2 has the per-bit table):

- v4.4-4.9 and v4.10-4.14: gfp.h of those releases (``__GFP_OTHER_NODE`` went in 4.10; the 0x400 bit is read
  under its 4.13 name ``__GFP_RETRY_MAYFAIL`` from 4.10 on, ``__GFP_REPEAT`` before).
- v4.15-4.17: ``__GFP_COLD`` ("mm: remove __GFP_COLD", 453f85d43fa9) and ``__GFP_NOTRACK`` (kmemcheck's
  removal) went in 4.15, and their bits stayed empty: the other values did not move. Shakeel Butt's "mm: save
  two stranding bit in gfp_mask" (linux-mm, 2018-05-16, acked 2018-05-17, built against v4.17-rc6) still shows,
  as the lines it removes, ``___GFP_DIRECT_RECLAIM 0x400000u``, ``___GFP_WRITE 0x800000u``,
  ``___GFP_KSWAPD_RECLAIM 0x1000000u`` and ``___GFP_NOLOCKDEP 0x2000000u``; real reports agree: 4.15.0 and
  4.16-rc4/rc5 kernels print ``GFP_KERNEL`` as ``0x14000c0`` and ``GFP_KERNEL|__GFP_ZERO`` as ``0x14080c0``
  (shared/data/syzkaller-reports/report 198, 218, 231).
- v4.18-4.20: that patch, merged for 4.18, slid ``__GFP_WRITE`` to 0x100 and the reclaim bits to
  0x200000 / 0x400000 (read in 4.19's gfp.h; 4.19 / 4.20 reports print ``GFP_HIGHUSER_MOVABLE`` as 0x6200ca).
- v5.0-6.2, v6.3-6.9 (``__GFP_ATOMIC`` removed), v6.10-6.17 (enum bits, enum print order), v6.18+
  (``GFP_NOWAIT`` includes ``__GFP_NOWARN``): gfp_types.h and mmflags.h of those releases; the 5.0 and 6.18
  boundaries are inferred from reports (between 4.20 and 5.3; 2025-26 syzbot reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Bits 0x01-0x80 never moved.
LOW: dict[str, int] = {"__GFP_DMA": 0x01, "__GFP_HIGHMEM": 0x02, "__GFP_DMA32": 0x04, "__GFP_MOVABLE": 0x08,
                       "__GFP_RECLAIMABLE": 0x10, "__GFP_HIGH": 0x20, "__GFP_IO": 0x40, "__GFP_FS": 0x80}

# Single-bit values per layout (beyond LOW), from gfp.h / gfp_types.h of each range.
_V4_4 = {"__GFP_COLD": 0x100, "__GFP_NOWARN": 0x200, "__GFP_REPEAT": 0x400, "__GFP_NOFAIL": 0x800,
         "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000, "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000,
         "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
         "__GFP_ATOMIC": 0x80000, "__GFP_ACCOUNT": 0x100000, "__GFP_NOTRACK": 0x200000,
         "__GFP_DIRECT_RECLAIM": 0x400000, "__GFP_OTHER_NODE": 0x800000, "__GFP_WRITE": 0x1000000,
         "__GFP_KSWAPD_RECLAIM": 0x2000000}
_V4_10 = {**{k: v for k, v in _V4_4.items() if k not in ("__GFP_OTHER_NODE", "__GFP_REPEAT")},
          "__GFP_RETRY_MAYFAIL": 0x400, "__GFP_WRITE": 0x800000, "__GFP_KSWAPD_RECLAIM": 0x1000000,
          "__GFP_NOLOCKDEP": 0x2000000}
_V4_15 = {k: v for k, v in _V4_10.items() if k not in ("__GFP_COLD", "__GFP_NOTRACK")}
_V4_18 = {"__GFP_WRITE": 0x100, "__GFP_NOWARN": 0x200, "__GFP_RETRY_MAYFAIL": 0x400, "__GFP_NOFAIL": 0x800,
          "__GFP_NORETRY": 0x1000, "__GFP_MEMALLOC": 0x2000, "__GFP_COMP": 0x4000, "__GFP_ZERO": 0x8000,
          "__GFP_NOMEMALLOC": 0x10000, "__GFP_HARDWALL": 0x20000, "__GFP_THISNODE": 0x40000,
          "__GFP_ATOMIC": 0x80000, "__GFP_ACCOUNT": 0x100000, "__GFP_DIRECT_RECLAIM": 0x200000,
          "__GFP_KSWAPD_RECLAIM": 0x400000, "__GFP_NOLOCKDEP": 0x800000}
_V5_0 = {"__GFP_ZERO": 0x100, "__GFP_ATOMIC": 0x200, "__GFP_DIRECT_RECLAIM": 0x400, "__GFP_KSWAPD_RECLAIM": 0x800,
         "__GFP_WRITE": 0x1000, "__GFP_NOWARN": 0x2000, "__GFP_RETRY_MAYFAIL": 0x4000, "__GFP_NOFAIL": 0x8000,
         "__GFP_NORETRY": 0x10000, "__GFP_MEMALLOC": 0x20000, "__GFP_COMP": 0x40000, "__GFP_NOMEMALLOC": 0x80000,
         "__GFP_HARDWALL": 0x100000, "__GFP_THISNODE": 0x200000, "__GFP_ACCOUNT": 0x400000,
         "__GFP_NOLOCKDEP": 0x800000}
_V6_3 = {**{k: v for k, v in _V5_0.items() if k != "__GFP_ATOMIC"},
         "__GFP_ZEROTAGS": 0x800000, "__GFP_SKIP_ZERO": 0x1000000, "__GFP_SKIP_KASAN": 0x2000000,
         "__GFP_NOLOCKDEP": 0x4000000}
# 6.10+ enum form; the high bits are config-dependent: these are x86 syzbot's (no KASAN_HW_TAGS, LOCKDEP on),
# confirmed by "Unexpected gfp: 0x1000000 (__GFP_NOLOCKDEP)" in a 2026 report.
_V6_10 = {**{k: v for k, v in _V6_3.items() if k not in ("__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN")},
          "__GFP_NOLOCKDEP": 0x1000000, "__GFP_NO_OBJ_EXT": 0x2000000}

# Print order of single bits: 4.x-6.9 (the mmflags.h table) and 6.10+ (enum order).
ORDER_OLD = ["__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_ATOMIC", "__GFP_IO", "__GFP_FS", "__GFP_COLD",
             "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
             "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL",
             "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_NOTRACK",
             "__GFP_WRITE", "__GFP_OTHER_NODE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
             "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN", "__GFP_NOLOCKDEP"]
ORDER_ENUM = ["__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE", "__GFP_RECLAIMABLE", "__GFP_HIGH",
              "__GFP_IO", "__GFP_FS", "__GFP_ZERO", "__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM",
              "__GFP_WRITE", "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
              "__GFP_MEMALLOC", "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE",
              "__GFP_ACCOUNT", "__GFP_ZEROTAGS", "__GFP_SKIP_ZERO", "__GFP_SKIP_KASAN", "__GFP_NOLOCKDEP",
              "__GFP_NO_OBJ_EXT"]
COMPOSITE_ORDER_OLD = ["GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER",
                       "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_NOWAIT",
                       "GFP_DMA"]
COMPOSITE_ORDER_NEW = [*COMPOSITE_ORDER_OLD, "GFP_DMA32", "__GFP_RECLAIM"]

# Composite masks as unions of single-bit names (a layout gives the values; ``Layout.composite_overrides``
# says where a release defined one differently).
COMPOSITES: dict[str, tuple[str, ...]] = {
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
# Bits renamed in place: the name a release before the rename printed for the same bit.
OLD_NAMES: dict[str, str] = {"__GFP_RETRY_MAYFAIL": "__GFP_REPEAT"}
_ATOMIC_6_3 = {"GFP_ATOMIC": ("__GFP_HIGH", "__GFP_KSWAPD_RECLAIM")}


@dataclass(frozen=True)
class Layout:
    """One gfp bit layout: the releases that use it, bit values, composite overrides and print order."""

    name: str                      # the first release of the range ("v4.15")
    first: tuple[int, int]
    last: tuple[int, int]
    single: dict[str, int]
    order: list[str]
    composite_order: list[str]
    composite_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    note: str = ""

    @property
    def values(self) -> dict[str, int]:
        return {**LOW, **self.single}

    def mask(self, name: str) -> int | None:
        """Value of a single-bit or composite name in this layout (None if the layout lacks it)."""
        vals = self.values
        if name in vals:
            return vals[name]
        parts = self.composite_overrides.get(name) or COMPOSITES.get(name)
        if parts is None:
            return None
        return sum(vals[p] for p in parts if p in vals) or None

    def table(self) -> list[tuple[str, int]]:
        """The %pGg name table: (name, mask) in print order."""
        out: list[tuple[str, int]] = []
        for name in [*self.composite_order, *self.order]:
            m = self.mask(name)
            if m and name not in dict(out):
                out.append((name, m))
        return out


LAYOUTS: list[Layout] = [
    Layout("v4.4", (4, 4), (4, 9), _V4_4, ORDER_OLD, COMPOSITE_ORDER_OLD, note="4.4-4.9"),
    Layout("v4.10", (4, 10), (4, 14), _V4_10, ORDER_OLD, COMPOSITE_ORDER_OLD,
           note="4.10-4.14 (__GFP_OTHER_NODE gone)"),
    Layout("v4.15", (4, 15), (4, 17), _V4_15, ORDER_OLD, COMPOSITE_ORDER_OLD,
           note="4.15-4.17 (__GFP_COLD and __GFP_NOTRACK gone, no bit moved)"),
    Layout("v4.18", (4, 18), (4, 20), _V4_18, ORDER_OLD, COMPOSITE_ORDER_OLD,
           note="4.18-4.20 (stranded bits reused: __GFP_WRITE 0x100, reclaim bits 0x200000/0x400000)"),
    Layout("v5.0", (5, 0), (6, 2), _V5_0, ORDER_OLD, COMPOSITE_ORDER_OLD,
           note="5.0-6.2 (start inferred: between 4.20 and 5.3 reports)"),
    Layout("v6.3", (6, 3), (6, 9), _V6_3, ORDER_OLD, COMPOSITE_ORDER_OLD, composite_overrides=_ATOMIC_6_3,
           note="6.3-6.9 (__GFP_ATOMIC removed; 5.x print order, seen in 6.4 reports)"),
    Layout("v6.10", (6, 10), (6, 17), _V6_10, ORDER_ENUM, COMPOSITE_ORDER_NEW, composite_overrides=_ATOMIC_6_3,
           note="6.10-6.17 (enum gfp bits; enum print order inferred)"),
    Layout("v6.18", (6, 18), (99, 99), _V6_10, ORDER_ENUM, COMPOSITE_ORDER_NEW,
           composite_overrides={**_ATOMIC_6_3, "GFP_NOWAIT": ("__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN")},
           note="6.18+ (GFP_NOWAIT includes __GFP_NOWARN; boundary inferred)"),
]
CURRENT = LAYOUTS[-1]
BY_NAME: dict[str, Layout] = {lay.name: lay for lay in LAYOUTS}
_TABLES = {lay.name: lay.table() for lay in LAYOUTS}


def layout_for(version: tuple[int, int] | None) -> tuple[Layout, bool]:
    """The layout of a (major, minor) release, and whether it is a guess (unknown or out-of-table release)."""
    if version is None:
        return CURRENT, True
    for lay in LAYOUTS:
        if lay.first <= version <= lay.last:
            return lay, False
    return (LAYOUTS[0], True) if version < LAYOUTS[0].first else (CURRENT, True)


def pgg(value: int, layout: Layout) -> list[str]:
    """The names ``%pGg`` prints for ``value``: composites first, then single bits, leftover bits as hex."""
    try:
        flags = int(value) & ((1 << 64) - 1)
    except (TypeError, ValueError):
        return []
    out: list[str] = []
    for name, mask in _TABLES[layout.name]:
        if flags & mask == mask:
            out.append(name)
            flags &= ~mask
            if not flags:
                break
    if flags:
        out.append(hex(flags))
    return out


def single_bits(value: int, layout: Layout) -> list[str]:
    """Single-bit names of ``value`` in bit order; bits the layout does not name come last, as hex."""
    out = []
    for name, bit in sorted(layout.values.items(), key=lambda kv: kv[1]):
        if value & bit:
            out.append(name)
            value &= ~bit
    if value:
        out.append(hex(value))
    return out
