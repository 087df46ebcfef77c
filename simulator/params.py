"""Typed mechanism parameters: what a report (or ``sim run --set KEY=VALUE``) may set, and how it is checked.

A mechanism's TOML declares each parameter with a default, a help line and, when the default does not say
it, a ``type``:

    bool, int, float, str     taken from the default; ``choices`` make a str (or bool) a closed set
    kernel                    a kernel release the model knows (``simulator.versions``): ``6.12``, ``5.2``
    gfp                       a gfp mask in the kernel's words: ``GFP_NOFS|__GFP_NOFAIL``
    path                      a call path, outermost frame first: function names (``a,b,c`` on the command line)
    names                     a list of names (lock classes, task comms): ``a,b,c``
    paths                     a list of call paths (``a,b;c,d`` on the command line)

Every bad value is a ``SimError`` with one line naming the parameter and what is wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from simulator import gfp as G
from simulator import versions

LIST_TYPES = ("path", "names", "paths")
TYPES = ("bool", "int", "float", "str", "kernel", "gfp", *LIST_TYPES)
MAX_PATH = 256          # frames in one call path
MAX_NAMES = 16          # locks in a chain, tasks in a run
MAX_PATHS = 8           # call paths in a list (one per lockdep chain link)
_FUNCTION = re.compile(r"[A-Za-z_$][\w.$]{0,159}")
_NAME = re.compile(r"[^\x00-\x1f\x7f,;]{1,160}")


class SimError(ValueError):
    """Bad scenario, variant, parameter or value (one line, for the CLI)."""


@dataclass
class Param:
    name: str
    default: Any = None
    help: str = ""
    type: str = ""
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = 100_000      # keeps a run cheap; scenarios may raise it

    def __post_init__(self) -> None:
        if not self.type:
            self.type = "kernel" if self.name == "kernel" else type(self.default).__name__
        if self.default is None and self.type not in LIST_TYPES:
            raise SimError(f"parameter {self.name}: no default")
        if self.type not in TYPES:
            raise SimError(f"parameter {self.name}: unknown type {self.type!r} (have: {', '.join(TYPES)})")
        if self.type in LIST_TYPES and self.default in ("", None):
            self.default = []

    def coerce(self, raw: Any) -> Any:
        """The value as the model uses it, or SimError."""
        try:
            value = self._coerce(raw)
        except (ValueError, TypeError) as exc:
            raise SimError(f"bad value for {self.name}: {_short(raw)} ({exc or 'want ' + self.type})") from None
        if self.choices is not None and value not in self.choices:
            raise SimError(f"bad value for {self.name}: {_short(raw)} (choose from "
                           f"{', '.join(map(str, self.choices))})")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and self.name.endswith("rate") and not 0.0 <= value <= 1.0:
                raise SimError(f"bad value for {self.name}: {_short(raw)} (a probability between 0 and 1)")
            low = 0 if self.min is None else self.min
            if value < low:
                raise SimError(f"bad value for {self.name}: {_short(raw)} (must be at least {low})")
            if self.max is not None and value > self.max:
                raise SimError(f"bad value for {self.name}: {_short(raw)} (at most {self.max})")
        return value

    def _coerce(self, raw: Any) -> Any:
        t = self.type
        if self.choices is not None:
            if any(raw == c and type(raw) is type(c) for c in self.choices):
                return raw
            if isinstance(raw, str) and any(isinstance(c, bool) for c in self.choices) and \
                    raw.strip().lower() in ("1", "true", "yes", "y", "on", "0", "false", "no", "n", "off"):
                return _bool(raw)
        if t == "bool":
            return _bool(raw)
        if t == "int":
            if isinstance(raw, bool) or isinstance(raw, float):
                raise ValueError("want an integer")
            return int(raw.strip(), 0) if isinstance(raw, str) else int(raw)
        if t == "float":
            if isinstance(raw, bool):
                raise ValueError("want a number")
            val = float(raw)
            if not math.isfinite(val):
                raise ValueError("want a finite number")
            return val
        if t == "kernel":
            return str(versions.KernelVersion.parse(str(raw)))
        if t == "gfp":
            G.parse(str(raw))
            return str(raw).replace(" ", "")
        if t == "path":
            return _path(raw)
        if t == "names":
            return _names(raw)
        if t == "paths":
            items = raw.split(";") if isinstance(raw, str) else list(raw)
            if len(items) > MAX_PATHS:
                raise ValueError(f"at most {MAX_PATHS} call paths")
            return [_path(p) for p in items]
        if not isinstance(raw, str):
            raise ValueError("want text")
        if len(raw) > 256 or any(not ch.isprintable() for ch in raw):
            raise ValueError("want printable text of at most 256 characters")
        return raw


def _bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    low = str(raw).strip().lower()
    if low in ("1", "true", "yes", "y", "on"):
        return True
    if low in ("0", "false", "no", "n", "off"):
        return False
    raise ValueError("want true or false")


def _split(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [p.strip() for p in raw.split(",") if p.strip()]
    if isinstance(raw, (list, tuple)):
        return [str(p).strip() for p in raw]
    raise ValueError("want a comma-separated list")


def _path(raw: Any) -> list[str]:
    frames = _split(raw)
    if len(frames) > MAX_PATH:
        raise ValueError(f"at most {MAX_PATH} frames in a call path")
    for f in frames:
        if not _FUNCTION.fullmatch(f):
            raise ValueError(f"not a function name: {_short(f)}")
    return frames


def _names(raw: Any) -> list[str]:
    names = _split(raw)
    if len(names) > MAX_NAMES:
        raise ValueError(f"at most {MAX_NAMES} names")
    for n in names:
        if not _NAME.fullmatch(n):
            raise ValueError(f"not a printable name: {_short(n)}")
    return names


def _short(raw: Any) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."
