"""Fuzzing at scale: the properties of tests/test_reliability_fuzz.py (the parser and the mail reader on real
reports and mails, mutated) over >= 100,000 inputs. Reports inputs per second, what the inputs turned out to be,
and every failure with the input that shows it (saved to a file).

    PYTHONPATH=. python bench/fuzz.py [--n 100000] [--seed N] [--out DIR]

CI runs the same properties briefly (derandomized, a few dozen examples each); this run is random unless
--seed is given. Exit 1 if any property failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

import test_reliability_fuzz as fz  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def properties(reports, mails, seen: Counter, last: list):
    """(name, the property as a plain callable of one ``data``) for each of the three."""

    def parse_one(data):
        raw = data.draw(fz.mutated(reports, fz.TEXT_OPS))
        as_text = data.draw(st.booleans())
        last[:] = [raw]
        seen[fz.check_parse(raw.decode("utf-8", "replace") if as_text else raw)] += 1

    def mail_one(data):
        raw = data.draw(fz.mutated(mails, fz.MAIL_OPS))
        last[:] = [raw]
        seen[fz.check_mail(raw)] += 1

    def report_in_mail(data):
        head, _, _ = data.draw(st.sampled_from(mails)).partition(b"\n\n")
        body = data.draw(fz.mutated(reports, fz.TEXT_OPS))
        raw = data.draw(fz.mutated((head + b"\n\n" + body,), fz.MAIL_OPS))
        last[:] = [raw]
        seen[fz.check_mail(raw)] += 1

    return [("parser", parse_one), ("mail reader", mail_one), ("report in a mail", report_in_mail)]


def _counted(prop, runs: Counter):
    def counted(data):
        runs["inputs"] += 1
        prop(data)

    return counted


def run(n: int, rng_seed: int | None, out: Path) -> int:
    reports, mails = fz.report_docs(), fz.mail_docs()
    print(f"fragments: {len(reports)} real reports, {len(mails)} real mails (../shared/data)")
    per = -(-n // 3)
    total, failures, started = 0, 0, time.monotonic()
    for name, prop in properties(reports, mails, seen := Counter(), last := []):
        seen.clear()
        runs = Counter()
        test = settings(max_examples=per, deadline=None, database=None, derandomize=False,
                        phases=[Phase.generate, Phase.shrink], print_blob=True,
                        suppress_health_check=list(HealthCheck))(given(data=st.data())(_counted(prop, runs)))
        if rng_seed is not None:
            test = seed(rng_seed)(test)
        t0 = time.monotonic()
        try:
            test()
            failed = None
        except Exception as exc:  # noqa: BLE001 - a property failed: report it and go on
            failed = exc
        took = time.monotonic() - t0
        checked = sum(seen.values())            # inputs that went through every check (a draw can overrun)
        total += checked
        found = ", ".join(f"{v} {k}" for k, v in seen.most_common())
        print(f"{name:17} {checked:7d} inputs in {took:7.1f} s = {checked / took:6.0f} inputs/s  ({found}; "
              f"{runs['inputs']} generated)")
        if failed is not None:
            failures += 1
            path = out / f"fuzz-failure-{name.replace(' ', '-')}.bin"
            path.write_bytes(last[0] if last else b"")
            lines = traceback.format_exception_only(type(failed), failed)
            print(f"  FAILED: {''.join(lines).strip()[:2000]}\n  the last input tried (the shrunk one): {path}")
    took = time.monotonic() - started
    print(f"total {total} inputs in {took:.1f} s = {total / took:.0f} inputs/s; {failures} properties failed"
          " (figures from a shared, loaded machine)")
    return 1 if failures else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="inputs in all (split over the three properties)")
    ap.add_argument("--seed", type=int, default=None, help="a fixed random seed (default: random)")
    ap.add_argument("--out", type=Path, default=None, help="where failing inputs are saved [default: a temp dir]")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="syz-triage-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    sys.exit(run(args.n, args.seed, out))


if __name__ == "__main__":
    main()
