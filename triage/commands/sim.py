"""``triage sim list|run|fuzz`` (the companion simulator) and ``triage repro`` (run the scenario that
reproduces a stored report's mechanism and keep the run with the report)."""

from __future__ import annotations

import typer

from triage.commands.common import EXIT_FINDINGS, EXIT_USAGE, JSON_OPTION, die, emit_json, open_store

sim_app = typer.Typer(help="The companion simulator: kernel allocation, reclaim and writeback scenarios.",
                      no_args_is_help=True)

SET_OPTION = typer.Option([], "--set", metavar="KEY=VALUE", help="Set a scenario parameter (repeatable).")


def _overrides(sets: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            die(f"--set wants KEY=VALUE, got {item!r}", EXIT_USAGE)
        out[key.strip()] = value.strip()
    return out


@sim_app.command("list")
def list_cmd(json_out: bool = JSON_OPTION) -> None:
    """List the scenarios with their variants and parameters."""
    from simulator import list_scenarios

    for sc in list_scenarios():
        if json_out:
            emit_json(sc)
            continue
        seed = f", seed {sc['seed_thread']}" if sc["seed_thread"] else ""
        typer.echo(f"{sc['scenario']}  ({sc['spec'] or '-'}{seed})")
        typer.echo(f"    {sc['summary']}")
        typer.echo(f"    variants: default, {', '.join(sc['variants']) or '-'}")
        params = ", ".join(f"{name}={p['default']}" for name, p in sc["params"].items())
        typer.echo(f"    params: {params}")


@sim_app.command("run")
def run_cmd(
    scenario: str = typer.Argument(..., help="Scenario name (see `triage sim list`)."),
    variant: str = typer.Option(None, "--variant", "-v", help="Variant (default: the buggy configuration)."),
    sets: list[str] = SET_OPTION,
    seed: int = typer.Option(1, "--seed", help="RNG seed: same seed, same run."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run one scenario and print the outcome, the detector's evidence and the kernel console log."""
    from simulator import SimError, run

    try:
        r = run(scenario, variant, _overrides(sets), seed)
    except SimError as exc:
        die(str(exc), EXIT_USAGE)
    if json_out:
        d = r.to_dict()
        emit_json({k: d[k] for k in ("scenario", "variant", "params", "seed", "outcome", "evidence", "console",
                                     "trace", "stats", "sim_time", "sim_version")})
        return
    typer.echo(f"scenario {r.scenario}  variant {r.variant}  seed {r.seed}  kernel {r.params['kernel']}")
    typer.echo(f"outcome: {r.outcome}")
    for key, val in r.evidence.items():
        if key not in ("detector", "also") and val not in (None, [], {}):
            typer.echo(f"  {key}: {val}")
    if r.evidence.get("also"):
        typer.echo(f"  also: {', '.join(r.evidence['also'])}")
    typer.echo(f"simulated {r.sim_time:g} s, {r.stats['events']} trace events")
    typer.echo("--- console ---" if r.console else "--- console: (the kernel printed nothing) ---")
    typer.echo(r.console, nl=False)


@sim_app.command("fuzz")
def fuzz_cmd(
    scenario: str = typer.Argument(..., help="Scenario name."),
    runs: int = typer.Option(100, "--runs", "-n", help="Number of seeds to run."),
    variant: str = typer.Option(None, "--variant", "-v"),
    sets: list[str] = SET_OPTION,
    first_seed: int = typer.Option(1, "--first-seed", help="Seeds used: first-seed .. first-seed+runs-1."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run a scenario over many seeds and print the distribution of outcomes."""
    from simulator import SimError, fuzz

    if runs < 1 or runs > 1_000_000:
        die(f"--runs must be between 1 and 1000000 (got {runs})", EXIT_USAGE)
    try:
        res = fuzz(scenario, runs, variant, _overrides(sets), first_seed)
    except SimError as exc:
        die(str(exc), EXIT_USAGE)
    if json_out:
        emit_json(res)
        return
    typer.echo(f"scenario {res['scenario']}  variant {res['variant']}  runs {runs}  seeds {first_seed}.."
               f"{first_seed + runs - 1}")
    for outcome, n in res["outcomes"].items():
        typer.echo(f"  {outcome:<15} {n:>7}  {100 * res['fractions'][outcome]:6.2f}%  (e.g. --seed "
                   f"{res['example_seed'][outcome]})")
    if res["acked_pages"]:
        typer.echo(f"  pages lost {res['lost_pages']} of {res['acked_pages']} acknowledged "
                   f"({100 * res['loss_fraction']:.3f}%)")


def repro_cmd(
    report_id: int = typer.Argument(..., metavar="REPORT_ID", help="Id of a stored report (triage import ...)."),
    seed: int = typer.Option(1, "--seed", help="RNG seed of the run."),
    store: bool = typer.Option(True, "--store/--no-store", help="Keep the run in repro_runs with the report."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Pick the scenario that reproduces a report's mechanism, run it and store the run with the report."""
    from triage.repro import ReproError, repro

    db = open_store(read_only=not store)
    try:
        res = repro(db, report_id, seed, store=store)
    except ReproError as exc:
        die(str(exc), EXIT_FINDINGS)
    if json_out:
        emit_json(res)
        return
    lk = res["link"]
    typer.echo(f"report {report_id} -> scenario {res['scenario']}  variant {res['variant']}  "
               f"params {lk['params'] or '{}'}  seed {seed}")
    typer.echo(f"  why: {lk['why']}")
    typer.echo(f"  matched: {', '.join(lk['matched'])}")
    typer.echo(f"outcome: {res['outcome']}" + (f"  (stored as repro run {res['run_id']})" if res["run_id"] else ""))
    typer.echo(res["console"], nl=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sim_app, name="sim")
    app.command("repro")(repro_cmd)
