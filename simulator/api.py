"""The library API: list scenarios, run one, fuzz one over seeds, run every scenario and variant."""

from __future__ import annotations

from collections import Counter
from typing import Any

from simulator import scenario as S


def list_scenarios() -> list[dict[str, Any]]:
    return [sc.describe() for sc in S.scenarios().values()]


def run(name: str, variant: str | None = None, overrides: dict[str, str] | None = None, seed: int = 1,
        *, with_trace: bool = True) -> S.RunResult:
    """One deterministic run: same arguments, same result byte for byte."""
    return S.run(name, variant, overrides, seed, with_trace=with_trace)


def fuzz(name: str, runs: int, variant: str | None = None, overrides: dict[str, str] | None = None,
         first_seed: int = 1) -> dict[str, Any]:
    """Outcome distribution over seeds ``first_seed .. first_seed + runs - 1``, plus mean loss fraction."""
    if runs < 1:
        raise S.SimError(f"--runs must be at least 1 (got {runs})")
    sc = S.get(name)
    values = sc.resolve_params(variant, overrides)
    outcomes: Counter[str] = Counter()
    lost = acked = 0
    examples: dict[str, int] = {}
    for seed in range(first_seed, first_seed + runs):
        r = S.run(name, variant, overrides, seed, with_trace=False)
        outcomes[r.outcome] += 1
        examples.setdefault(r.outcome, seed)
        lost += r.stats["lost_pages"]
        acked += r.stats["acked_pages"]
    return {"scenario": name, "variant": variant or "default", "params": values, "runs": runs,
            "first_seed": first_seed, "outcomes": dict(sorted(outcomes.items())),
            "fractions": {k: round(v / runs, 6) for k, v in sorted(outcomes.items())},
            "lost_pages": lost, "acked_pages": acked, "loss_fraction": round(lost / acked, 6) if acked else 0.0,
            "example_seed": examples}


def run_all(seed: int = 1) -> list[S.RunResult]:
    """Every scenario with default parameters and each of its variants that applies to them (a variant's
    ``when``); ``triage demo`` builds on this."""
    out = []
    for sc in S.scenarios().values():
        defaults = sc.resolve_params(None, None)
        applies = [name for name, v in sc.variants.items()
                   if all(defaults.get(key) in allowed for key, allowed in v.get("when", {}).items())]
        for variant in ["default", *applies]:
            out.append(S.run(sc.name, variant, None, seed))
    return out
