"""Scenarios are data (``simulator/scenarios/*.toml``): parameters with defaults, variants that preset
parameters, and the machine: memory, devices, filesystems, pre-existing files, fault-injection knobs and
the tasks' programs. Any string value ``"$name"`` is replaced by parameter ``name`` (``"!$name"``: its
negation; ``"${name}"`` inside a longer string: its text).

This module loads and validates them, builds a ``Kernel`` from one, runs it and hands it to the detectors.
"""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import detectors, nilfs, versions  # noqa: F401  (nilfs: nilfs2's ifile in FILESYSTEMS)
from simulator.block import Disk, DmTarget, TcmuDevice
from simulator.daemons import Rpciod, khungtaskd, oom_reaper, tcmu_runner
from simulator.engine import Kernel, Mutex
from simulator.faults import FaultAttr
from simulator.fs import FILESYSTEMS
from simulator.mm import Zone
from simulator.params import Param, SimError
from simulator.programs import OPS, Program
from simulator.reclaim import kswapd
from simulator.writeback import Flusher

SCENARIO_DIR = Path(__file__).parent / "scenarios"
_BRACED = re.compile(r"\$\{(\w+)\}")
SIM_VERSION = "1.0"

# parameters every scenario has (a scenario may override the default)
COMMON_PARAMS: dict[str, dict[str, Any]] = {
    "kernel": {"default": "6.12", "help": "kernel version: version switches and message formats"},
    "panic_on_warn": {"default": False, "help": "panic on the first WARN (syzbot runs with it)"},
    "kasan": {"default": True, "help": "KASAN kernel: NULL dereferences print as general protection faults"},
    "lockdep": {"default": True, "help": "CONFIG_PROVE_LOCKING"},
    "hung_task_timeout": {"default": 143, "min": 1, "max": 3600, "help": "khungtaskd timeout in seconds"},
    "horizon": {"default": 320.0, "min": 1.0, "max": 86400.0, "help": "simulated seconds before the run is stopped"},
}


@dataclass
class Scenario:
    name: str
    summary: str
    seed_thread: str | None
    spec: str | None
    params: dict[str, Param]
    variants: dict[str, dict[str, Any]]
    body: dict[str, Any]
    path: Path = field(repr=False, default=Path())
    facts: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {"scenario": self.name, "summary": self.summary, "seed_thread": self.seed_thread, "spec": self.spec,
                "facts": self.facts,
                "variants": {name: v.get("help", "") for name, v in self.variants.items()},
                "fixes": [name for name, v in self.variants.items() if v.get("fix", True)],
                "params": {p.name: {"default": p.default, "help": p.help,
                                    **({"choices": p.choices} if p.choices else {})} for p in self.params.values()}}

    def fixes(self, values: dict[str, Any]) -> list[str]:
        """The fix variants that apply to a run with ``values`` (``fix = false`` marks a variant that is a
        configuration, not a fix; ``when`` limits a fix to some parameter values)."""
        out = []
        for name, v in self.variants.items():
            if not v.get("fix", True):
                continue
            when = v.get("when", {})
            if all(values.get(key) in allowed for key, allowed in when.items()):
                out.append(name)
        return out

    def resolve_params(self, variant: str | None, overrides: dict[str, str] | None) -> dict[str, Any]:
        values = {name: p.default for name, p in self.params.items()}
        if variant not in (None, "default"):
            if variant not in self.variants:
                raise SimError(f"unknown variant {variant!r} of {self.name} (have: default, "
                               f"{', '.join(self.variants)})")
            for key, val in self.variants[variant].get("set", {}).items():
                values[key] = self.params[key].coerce(val)
        for key, raw in (overrides or {}).items():
            if key not in self.params:
                raise SimError(f"unknown parameter {key!r} for {self.name} (have: {', '.join(sorted(self.params))})")
            values[key] = self.params[key].coerce(raw)
        return values


def _load(path: Path) -> Scenario:
    data = tomllib.loads(path.read_text())
    params = {name: Param(name, **spec) for name, spec in COMMON_PARAMS.items()}
    for name, spec in data.get("params", {}).items():
        base = {k: v for k, v in COMMON_PARAMS.get(name, {}).items()}
        base.update(spec)
        params[name] = Param(name, **base)
    variants = data.get("variants", {})
    for vname, v in variants.items():
        for key in [*v.get("set", {}), *v.get("when", {})]:
            if key not in params:
                raise SimError(f"{path.name}: variant {vname} names unknown parameter {key}")
    body = {key: data[key] for key in ("machine", "device", "fs", "files", "task", "faults") if key in data}
    for t in body.get("task", []):
        for op in t.get("program", []):
            if op.get("op") not in OPS:
                raise SimError(f"{path.name}: unknown op {op.get('op')!r}")
    return Scenario(data["name"], data.get("summary", ""), data.get("seed_thread"), data.get("spec"), params,
                    variants, body, path, list(data.get("facts", [])))


_CACHE: dict[str, Scenario] = {}


def scenarios() -> dict[str, Scenario]:
    if not _CACHE:
        for path in sorted(SCENARIO_DIR.glob("*.toml")):
            sc = _load(path)
            _CACHE[sc.name] = sc
    return _CACHE


def get(name: str) -> Scenario:
    sc = scenarios().get(name)
    if sc is None:
        raise SimError(f"unknown scenario {name!r} (have: {', '.join(scenarios())})")
    return sc


def _subst(obj: Any, values: dict[str, Any]) -> Any:
    if isinstance(obj, str) and obj.startswith("!$"):
        return not values[obj[2:]]
    if isinstance(obj, str) and obj.startswith("$") and not obj.startswith("${"):
        return values[obj[1:]]
    if isinstance(obj, str) and "${" in obj:
        return _BRACED.sub(lambda m: str(values[m.group(1)]), obj)
    if isinstance(obj, dict):
        return {k: _subst(v, values) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_subst(v, values) for v in obj]
    return obj


def build(sc: Scenario, values: dict[str, Any], seed: int) -> Kernel:
    body = _subst(copy.deepcopy(sc.body), values)
    version = versions.KernelVersion.parse(values["kernel"])
    k = Kernel(version, seed, values)
    m = body["machine"]
    zone = Zone(k, managed=m.get("managed", 1024), free=m["free"], wmark_min=m["wmark"][0], wmark_low=m["wmark"][1],
                wmark_high=m["wmark"][2])
    k.subsystems.update(zone=zone, shrinkers=[], filesystems=[], fs_by_name={}, oom_reaper=oom_reaper(k))
    for cap, knobs in body.get("faults", {}).items():
        k.subsystems[cap] = FaultAttr(cap, **knobs)
    k.subsystems["shrinker_rwsem"] = Mutex(k, "shrinker_rwsem", "rwsem")
    k.spawn(m.get("kswapd_comm") or "kswapd0", kswapd(k, m.get("kswapd_path")), kthread=True, daemon=True,
            pid=int(m.get("kswapd_pid") or 80), ppid=2)
    k.spawn("khungtaskd", khungtaskd(k, int(values["hung_task_timeout"])), kthread=True, daemon=True, pid=30, ppid=2)
    k.subsystems["flusher"] = Flusher(k, m.get("dirty_background", 64))
    devices: dict[str, Any] = {}
    tcmu: list[tuple[TcmuDevice, dict]] = []
    for d in body.get("device", []):
        if d["kind"] == "disk":
            devices[d["name"]] = Disk(k, d["name"], d.get("latency", 0.002), d.get("fail_writes_at") or None)
        elif d["kind"] == "dm":
            devices[d["name"]] = DmTarget(k, d["name"], devices[d["lower"]], worker_nofs=bool(d.get("worker_nofs")),
                                          map_lock=d.get("map_lock") or None)
        elif d["kind"] == "tcmu":
            devices[d["name"]] = dev = TcmuDevice(k, d["name"])
            tcmu.append((dev, d))
    for f in body.get("fs", []):
        cls = FILESYSTEMS[f["type"]]
        fs = cls(k, f["name"], devices.get(f.get("dev", "")), f)
        k.subsystems["filesystems"].append(fs)
        k.subsystems["fs_by_name"][f["name"]] = fs
        k.subsystems["shrinkers"].append(fs)
        if f["type"] == "nfs":
            k.subsystems["rpciod"] = Rpciod(k, nofs_scope=bool(f.get("rpciod_nofs")), path=f.get("rpciod_path") or None)
    for dev, d in tcmu:
        fsname, _, path = d["backing"].partition(":")
        kind = d.get("server") or "tcmu-runner"
        dev.daemon = k.spawn(d.get("daemon") or kind,
                             tcmu_runner(k, dev, k.subsystems["fs_by_name"][fsname], path,
                                         io_flusher=bool(d.get("io_flusher")), kind=kind,
                                         path=d.get("path") or None, noio=d.get("noio", "auto")),
                             kthread=kind == "loop", daemon=True, pid=int(d.get("pid") or 1460))
    for spec in body.get("files", []):
        _make_files(k, spec)
    for t in body.get("task", []):
        prog = Program(k, t["program"])
        k.spawn(str(t["comm"]), prog.run, kthread=bool(t.get("kthread")), pid=t.get("pid"), ppid=t.get("ppid", 1))
    return k


def _make_files(k: Kernel, spec: dict[str, Any]) -> None:
    """Pre-existing inodes and their cached pages (taken from memory already in use, not from ``free``)."""
    from simulator.pagecache import Folio

    fs = k.subsystems["fs_by_name"][spec["fs"]]
    zone = k.subsystems["zone"]
    for n in range(int(spec.get("count", 1))):
        inode = fs.new_inode(spec["path"].replace("{n}", str(n)))
        inode.prealloc = bool(spec.get("prealloc"))
        inode.needs_flush = bool(spec.get("needs_flush"))
        inode.extra["slab"] = bool(spec.get("slab", True))
        inode.extra["reclaimable"] = bool(spec.get("reclaimable"))
        inode.extra["group"] = n
        for key in ("evict_alloc", "evict_order", "evict_lock", "evict_write_inode", "evict_read", "pinned"):
            if spec.get(key) not in (None, "", [], False):
                inode.extra[key] = spec[key]
        if spec.get("dentry_only"):
            inode.nlink, inode.extra["dentry_only"] = 0, True
        for idx in range(int(spec.get("clean_pages", 0))):
            folio = Folio(inode.mapping, idx)
            inode.mapping.pages[idx] = folio
            zone.lru_add(folio)
            if fs.dev is not None:
                fs.dev.blocks[(fs.name, inode.ino, idx)] = 0
        if spec.get("buddy_pages") and hasattr(fs, "buddy"):
            folio = Folio(fs.buddy.mapping, n)
            folio.pinned = bool(spec.get("pin_buddy"))
            fs.buddy.mapping.pages[n] = folio
            zone.lru_add(folio)


@dataclass
class RunResult:
    scenario: str
    variant: str
    params: dict[str, Any]
    seed: int
    outcome: str
    evidence: dict[str, Any]
    console: str
    trace: list[dict[str, Any]]
    sim_time: float
    stats: dict[str, Any] = field(default_factory=dict)
    sim_version: str = SIM_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "variant": self.variant, "params": self.params, "seed": self.seed,
                "outcome": self.outcome, "evidence": self.evidence, "console": self.console, "trace": self.trace,
                "stats": self.stats, "sim_time": self.sim_time, "sim_version": self.sim_version}


def run(name: str, variant: str | None = None, overrides: dict[str, str] | None = None, seed: int = 1,
        *, with_trace: bool = True) -> RunResult:
    sc = get(name)
    values = sc.resolve_params(variant, overrides)
    k = build(sc, values, seed)
    env = k.env
    programs = [t.proc for t in k.tasks if not t.daemon and t.proc is not None]
    horizon = env.timeout(float(values["horizon"]))
    env.run(until=env.any_of([env.all_of(programs), horizon]) if programs else horizon)
    outcome, evidence = detectors.decide(k)
    stats = {"acked_pages": len({a["key"] for a in k.acks}),
             "lost_pages": evidence.get("lost_pages", 0) if outcome in ("data-loss", "error-reported") else 0,
             "warnings": len(k.warns), "injected_failures": len(k.injections), "events": len(k.trace)}
    return RunResult(sc.name, variant or "default", values, seed, outcome, evidence, k.console.text(),
                     k.trace if with_trace else [], round(env.now, 6), stats)
