"""``validatiestraat run`` and ``validatiestraat faults``: certify a DVA, list the fault catalogue.

Exit codes (DESIGN.md): 0 certified, 3 not certified (the SUT broke a rule), 4 harness or environment error
(including a run that could not complete, and a secret found in the reports), 2 usage error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=False)
err = Console(stderr=True)

EXIT_HARNESS = 4


def run_command(
    role: Annotated[str, typer.Option(help="The role of the system under test (dva).")] = "dva",
    target: Annotated[
        str | None, typer.Option(help="FHIR base URL of an external DVA (its other endpoints: --config).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="A straat.toml describing the target (see docs).")] = None,
    way: Annotated[
        str | None, typer.Option(help="Front channel: auto, manual or preshared (default from config, else auto).")
    ] = None,
    fault: Annotated[
        list[str] | None, typer.Option(help="Run the reference DVA with this fault on (repeatable).")
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option("--scenario", "-s", help="Only scenarios whose id starts with this.")
    ] = None,
    t: Annotated[str | None, typer.Option("--t", help="Date T of the dataset (YYYY-MM-DD); default today.")] = None,
    report_dir: Annotated[Path, typer.Option(help="Where reports/<run-id>/ is written.")] = Path("reports"),
    pki_dir: Annotated[Path | None, typer.Option(help="Where the test PKI lives (default: the user cache).")] = None,
) -> None:
    """Certify a DVA: every MP9 serving scenario in JSON and XML, OAuth, TLS and list checks, with evidence."""
    from validatiestraat import engine, scenarios
    from validatiestraat.config import ConfigError, load_config
    from validatiestraat.evidence.recorder import Recorder
    from validatiestraat.evidence.redact import harvest
    from validatiestraat.reports import ReportError, write_reports
    from validatiestraat.reports.scan import scan
    from validatiestraat.reports.terminal import summary, verdict_line
    from validatiestraat.targets import check_config, open_session, straat_instructions

    if role != "dva":
        raise typer.BadParameter(f"role {role!r} is not supported yet; only 'dva'", param_hint="--role")
    faults = frozenset(fault or ())
    if faults:
        from mock_providers.faults import FAULTS

        unknown = sorted(faults - FAULTS.keys())
        if unknown:
            raise typer.BadParameter(f"unknown fault(s) {', '.join(unknown)}; see `validatiestraat faults`")
    try:
        run_config = load_config(config, target=target, way=way, t=t, pki_dir=pki_dir)
        check_config(run_config, faults)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if run_config.fhir.packages:  # fhir.profile (also in the judging worker processes) reads the caches from here
        from validatiestraat.fhir.packages import ENV

        os.environ[ENV] = os.pathsep.join(str(p) for p in run_config.fhir.packages)
    chosen = scenarios.select(scenarios.load(role), scenario)
    if not chosen:
        raise typer.BadParameter(f"no scenario matches {scenario}", param_hint="--scenario")

    run_id = engine.new_run_id()
    out_dir = report_dir / run_id
    recorder = Recorder()
    total = sum(len(s.variants) for s in chosen)
    outcome = None
    session = None
    try:
        with open_session(run_config, faults=faults, recorder=recorder) as session:
            if run_config.external:
                for what, value in straat_instructions(session, run_config):
                    err.print(f"[dim]{what}: {value}", highlight=False)
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[case]}"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as bar:
                task = bar.add_task("certifying", total=total, case="")
                outcome = engine.run(
                    session,
                    chosen,
                    judges=1 if (os.cpu_count() or 1) >= 2 else 0,  # checks beside the driving
                    progress=lambda case, _results: bar.update(task, advance=1, case=case),
                    run_id=run_id,
                )
    except Exception as exc:  # the straat could not start or a target could not be reached at all
        err.print(f"[magenta]harness error: {type(exc).__name__}: {exc}")
        if outcome is None:
            outcome = engine.RunOutcome(run_id, "", 0.0, [], {"harness_error": f"{type(exc).__name__}: {exc}"})
    outcome.meta.update(
        {
            "role": role,
            "target": run_config.describe(),
            "faults": sorted(faults),
            "scenarios": len(chosen),
            "cases": total,
            **(session.meta if session is not None else {}),
        }
    )
    secrets = set(session.secrets) if session is not None else set()
    report_failed = False
    try:
        write_reports(out_dir, outcome, recorder.exchanges, secrets)
    except ReportError as exc:
        err.print(f"[magenta]harness error: {exc}")
        report_failed = True
    summary(console, outcome.results)
    console.print(f"{len(outcome.results)} results over {total} cases in {outcome.duration:.1f} s; reports: {out_dir}")
    leaks = scan(out_dir, set(harvest(recorder.exchanges, secrets)))
    if leaks:
        err.print(f"[magenta]harness error: {len(leaks)} secret(s) found unredacted in the reports: {leaks[:5]}")
        raise typer.Exit(EXIT_HARNESS)
    console.print(verdict_line(outcome.results))
    if session is not None and not session.front_channel:
        console.print("[yellow]scope fhir-only: preshared tokens, the OAuth front channel was not certified")
    if "harness_error" in outcome.meta or report_failed:
        raise typer.Exit(EXIT_HARNESS)
    raise typer.Exit(outcome.verdict.exit_code)


def faults_command() -> None:
    """The fault catalogue: each named fault breaks one rule on the reference DVA (use with `run --fault`)."""
    from mock_providers.faults import describe

    table = Table(title="Faults of the reference DVA (validatiestraat run --fault NAME)")
    for column in ("fault", "requirement that must catch it", "what it breaks"):
        table.add_column(column)
    rows = describe()
    for name, requirement, title in rows:
        table.add_row(name, requirement, title)
    console.print(table)
    console.print(f"{len(rows)} faults")
