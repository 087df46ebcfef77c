"""GFP flags: semantics on an abstract bit set, numeric values per kernel layout (kernel-semantics.md a.2).

The model works on symbolic bits (``IO``, ``FS``, ``NOFAIL`` ...); only printing needs the numeric mask of
the chosen kernel's layout and the kernel's name table, both from ``vocab.gfp``: the one table the parser
decodes with, so what the simulated kernel prints decodes back to the flags it used.
"""

from __future__ import annotations

from simulator.versions import KernelVersion
from vocab import gfp as layouts

# Symbolic single bits (values are ours; printing converts through vocab.gfp's layouts).
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


def _layout(version: KernelVersion) -> layouts.Layout:
    """The numeric layout of ``version`` (one table with the parser's: ``vocab.gfp``)."""
    return layouts.layout_for((version.major, version.minor))[0]


def _with_atomic(mask: int, version: KernelVersion) -> int:
    """GFP_ATOMIC carried __GFP_ATOMIC up to 6.2."""
    if not version.at_least("6.3") and mask & HIGH and not mask & DIRECT_RECLAIM:
        mask |= ATOMIC
    return mask


def value(mask: int, version: KernelVersion) -> int:
    """The numeric mask ``version`` prints for the symbolic ``mask``."""
    vals = _layout(version).values
    mask = _with_atomic(mask, version)
    return sum(vals.get(name) or vals.get(layouts.OLD_NAMES.get(name, ""), 0)
               for bit, name in BIT_NAMES.items() if mask & bit)


def names(mask: int, version: KernelVersion) -> str:
    """``%pGg``: the names ``version`` prints for ``mask`` (composites first, in the kernel's table order)."""
    return "|".join(layouts.pgg(value(mask, version), _layout(version)))


def fmt(mask: int, version: KernelVersion) -> str:
    """``0x8c40(GFP_NOFS|__GFP_NOFAIL)`` as the kernel prints it."""
    return f"{value(mask, version):#x}({names(mask, version)})"
