"""``triage sim list|run|fuzz`` (the companion simulator) and ``triage repro`` (run the scenario that
reproduces a stored report's mechanism and keep the run with the report)."""

from __future__ import annotations

import typer

from triage.commands.common import EXIT_FINDINGS, EXIT_USAGE, JSON_OPTION, die, emit_json, open_store, warn

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
            typer.echo(f"  {key}: {_clip(val, 400)}")
    if r.evidence.get("also"):
        typer.echo(f"  also: {', '.join(r.evidence['also'])}")
    typer.echo(f"simulated {r.sim_time:g} s, {r.stats['events']} trace events")
    typer.echo("--- console ---" if r.console else "--- console: (the kernel printed nothing) ---")
    from triage.termsafe import clean

    typer.echo(clean(r.console), nl=False)


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
    report_ids: list[int] = typer.Argument(None, metavar="[REPORT_ID]...", help="Ids of stored reports."),
    all_: bool = typer.Option(False, "--all", help="Every stored report whose label is a consequence."),
    seed: int = typer.Option(1, "--seed", help="RNG seed of the runs."),
    store: bool = typer.Option(True, "--store/--no-store", help="Keep each run in repro_runs with its report."),
    fixes: bool = typer.Option(True, "--fixes/--no-fixes", help="Also run the mechanism's fix variants."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Run the mechanism that reproduces each report, with the fixes that change its outcome, and store the runs.

    A report no mechanism of the simulator covers says why. Exit 1 if an id does not exist (the others are
    still run)."""
    from triage.commands.progress import Bar
    from triage.repro import ReproError, labelled_report_ids, repro_many

    if not report_ids and not all_:
        die("give REPORT_ID... or --all", EXIT_USAGE)
    if report_ids and all_:
        die("give REPORT_ID... or --all, not both", EXIT_USAGE)
    db = open_store(read_only=not store)
    ids = labelled_report_ids(db) if all_ else list(report_ids)
    single = len(ids) == 1 and not all_
    counts = {"linked": 0, "failing": 0, "not_covered": 0, "unknown": 0}
    with Bar(not json_out and not single) as bar:
        bar("reproducing reports", len(ids))
        for res in repro_many(db, ids, seed, store=store, fixes=fixes):
            bar("", None)
            if isinstance(res, ReproError):
                counts["unknown"] += 1
                warn(str(res))
                continue
            if json_out:
                emit_json(res)
            else:
                _print_repro(res, console=single)
            if not res["covered"]:
                counts["not_covered"] += 1
                continue
            counts["linked"] += 1
            counts["failing"] += res["outcome"] not in ("ok", "error-reported")
    if not json_out and not single:
        typer.echo(f"{len(ids)} report{'s' if len(ids) != 1 else ''}: {counts['linked']} reproduced "
                   f"({counts['failing']} failing), {counts['not_covered']} not covered by a mechanism"
                   + (f", {counts['unknown']} unknown ids" if counts["unknown"] else ""))
    if counts["unknown"]:
        raise typer.Exit(EXIT_FINDINGS)


def _print_repro(res: dict, *, console: bool) -> None:
    rid = res["report_id"]
    if not res["covered"]:
        typer.echo(f"report {rid}: {_clip(res['why'], 400)}")
        return
    lk = res["link"]
    shown = {k: v for k, v in lk["params"].items() if not isinstance(v, list)}
    typer.echo(f"report {rid} -> {res['scenario']}  {_clip(_params_text(shown), 400)}  seed {res['seed']}")
    typer.echo(f"  why: {_clip(lk['why'], 400)}")
    for e in lk["evidence"][:3]:
        typer.echo(f"  from the report: {_clip(e)}")
    for n in lk.get("notes") or []:
        typer.echo(f"  note: {_clip(n)}")
    stored = f"  (stored as repro run {res['run_id']})" if res.get("run_id") else ""
    typer.echo(f"  outcome: {res['outcome']}{stored}")
    for fx in res.get("fixes") or []:
        typer.echo(f"  fix {fx['variant']}: {fx['outcome']}{'  <- flips the outcome' if fx['flips'] else ''}")
    if console:
        from triage.termsafe import clean

        typer.echo(clean(res["console"]), nl=False)


def _params_text(params: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in params.items()) or "(defaults)"


def _clip(text: str, width: int = 160) -> str:
    """One line of report-derived text, inert (``triage.termsafe``) and cut at ``width``."""
    from triage.termsafe import line

    text = line(text)
    return text if len(text) <= width else text[:width - 3] + "..."


def register(app: typer.Typer) -> None:
    app.add_typer(sim_app, name="sim")
    app.command("repro")(repro_cmd)
