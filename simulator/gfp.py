"""GFP flags: semantics on an abstract bit set, numeric values per kernel layout (kernel-semantics.md a.2).

The model works on symbolic bits (``IO``, ``FS``, ``NOFAIL`` ...); only printing needs the numeric mask of
the chosen kernel's layout, which is a table row per version range.
"""

from __future__ import annotations

from simulator.versions import KernelVersion

# Symbolic single bits (values are ours; printing converts through LAYOUTS).
HIGH, IO, FS, ZERO, ATOMIC, DIRECT_RECLAIM, KSWAPD_RECLAIM, WRITE, NOWARN, RETRY_MAYFAIL, NOFAIL, NORETRY, \
    MEMALLOC, COMP, NOMEMALLOC, HARDWALL, THISNODE, ACCOUNT, MOVABLE, HIGHMEM = (1 << i for i in range(20))

BIT_NAMES = {
    HIGHMEM: "__GFP_HIGHMEM", MOVABLE: "__GFP_MOVABLE", HIGH: "__GFP_HIGH", IO: "__GFP_IO", FS: "__GFP_FS",
    ZERO: "__GFP_ZERO", ATOMIC: "__GFP_ATOMIC", DIRECT_RECLAIM: "__GFP_DIRECT_RECLAIM",
    KSWAPD_RECLAIM: "__GFP_KSWAPD_RECLAIM", WRITE: "__GFP_WRITE", NOWARN: "__GFP_NOWARN",
    RETRY_MAYFAIL: "__GFP_RETRY_MAYFAIL", NOFAIL: "__GFP_NOFAIL", NORETRY: "__GFP_NORETRY",
    MEMALLOC: "__GFP_MEMALLOC", COMP: "__GFP_COMP", NOMEMALLOC: "__GFP_NOMEMALLOC", HARDWALL: "__GFP_HARDWALL",
    THISNODE: "__GFP_THISNODE", ACCOUNT: "__GFP_ACCOUNT",
}
NAME_BITS = {v: k for k, v in BIT_NAMES.items()}

RECLAIM = DIRECT_RECLAIM | KSWAPD_RECLAIM
GFP_NOWAIT = KSWAPD_RECLAIM
GFP_NOIO = RECLAIM
GFP_NOFS = RECLAIM | IO
GFP_KERNEL = RECLAIM | IO | FS
GFP_ATOMIC = HIGH | KSWAPD_RECLAIM          # 6.3+; ATOMIC bit added for older layouts when printing
GFP_USER = GFP_KERNEL | HARDWALL
GFP_HIGHUSER = GFP_USER | HIGHMEM
GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | MOVABLE
GFP_KERNEL_ACCOUNT = GFP_KERNEL | ACCOUNT

COMPOSITES = {
    "GFP_HIGHUSER_MOVABLE": GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER": GFP_HIGHUSER, "GFP_USER": GFP_USER,
    "GFP_KERNEL_ACCOUNT": GFP_KERNEL_ACCOUNT, "GFP_KERNEL": GFP_KERNEL, "GFP_NOFS": GFP_NOFS,
    "GFP_ATOMIC": GFP_ATOMIC, "GFP_NOIO": GFP_NOIO, "GFP_NOWAIT": GFP_NOWAIT,
}

# Numeric layouts: symbolic bit -> value (kernel-semantics.md a.2; L2 is an inference there).
_COMMON_L1_3 = {HIGH: 0x20, IO: 0x40, FS: 0x80, NOWARN: 0x200, RETRY_MAYFAIL: 0x400, NOFAIL: 0x800,
                NORETRY: 0x1000, MEMALLOC: 0x2000, COMP: 0x4000, NOMEMALLOC: 0x10000, HARDWALL: 0x20000,
                THISNODE: 0x40000, ATOMIC: 0x80000, ACCOUNT: 0x100000, HIGHMEM: 0x02, MOVABLE: 0x08}
_L45 = {HIGHMEM: 0x02, MOVABLE: 0x08, HIGH: 0x20, IO: 0x40, FS: 0x80, ZERO: 0x100, ATOMIC: 0x200,
        DIRECT_RECLAIM: 0x400, KSWAPD_RECLAIM: 0x800, WRITE: 0x1000, NOWARN: 0x2000, RETRY_MAYFAIL: 0x4000,
        NOFAIL: 0x8000, NORETRY: 0x10000, MEMALLOC: 0x20000, COMP: 0x40000, NOMEMALLOC: 0x80000,
        HARDWALL: 0x100000, THISNODE: 0x200000, ACCOUNT: 0x400000}
LAYOUTS: list[tuple[str, dict[int, int]]] = [   # (first version, layout), newest first
    ("6.3", {k: v for k, v in _L45.items() if k != ATOMIC}),
    ("5.0", _L45),
    ("4.15", {**_COMMON_L1_3, ZERO: 0x8000, WRITE: 0x100, DIRECT_RECLAIM: 0x200000, KSWAPD_RECLAIM: 0x400000}),
    ("4.10", {**_COMMON_L1_3, ZERO: 0x8000, WRITE: 0x800000, DIRECT_RECLAIM: 0x400000, KSWAPD_RECLAIM: 0x1000000}),
    ("2.6", {**_COMMON_L1_3, ZERO: 0x8000, WRITE: 0x1000000, DIRECT_RECLAIM: 0x400000, KSWAPD_RECLAIM: 0x2000000}),
]


def parse(text: str) -> int:
    """``GFP_NOFS|__GFP_NOFAIL`` -> symbolic mask."""
    mask = 0
    for part in str(text).replace(" ", "").split("|"):
        if not part:
            continue
        if part in COMPOSITES:
            mask |= COMPOSITES[part]
        elif part in NAME_BITS:
            mask |= NAME_BITS[part]
        elif "__GFP_" + part in NAME_BITS:
            mask |= NAME_BITS["__GFP_" + part]
        else:
            raise ValueError(f"unknown gfp flag {part!r}")
    return mask


def _layout(version: KernelVersion) -> dict[int, int]:
    for first, layout in LAYOUTS:
        if version.at_least(first):
            return layout
    return LAYOUTS[-1][1]


def _with_atomic(mask: int, version: KernelVersion) -> int:
    """GFP_ATOMIC carried __GFP_ATOMIC up to 6.2."""
    if not version.at_least("6.3") and mask & HIGH and not mask & DIRECT_RECLAIM:
        mask |= ATOMIC
    return mask


def value(mask: int, version: KernelVersion) -> int:
    layout = _layout(version)
    mask = _with_atomic(mask, version)
    return sum(v for bit, v in layout.items() if mask & bit)


def names(mask: int, version: KernelVersion) -> str:
    """``%pGg``: composites first (in table order), then single bits."""
    mask = _with_atomic(mask, version)
    parts = []
    table = dict(COMPOSITES)
    if not version.at_least("6.3"):
        table["GFP_ATOMIC"] = GFP_ATOMIC | ATOMIC
    for name, bits in table.items():
        if bits and mask & bits == bits:
            parts.append(name)
            mask &= ~bits
    for bit, name in BIT_NAMES.items():
        if mask & bit and bit in _layout(version):
            parts.append(name)
            mask &= ~bit
    return "|".join(parts)


def fmt(mask: int, version: KernelVersion) -> str:
    """``0x8c40(GFP_NOFS|__GFP_NOFAIL)`` as the kernel prints it."""
    return f"{value(mask, version):#x}({names(mask, version)})"
