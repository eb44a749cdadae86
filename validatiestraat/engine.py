"""The engine: drive each case of each scenario, then judge it with its checks.

    outcome = engine.run(session, scenarios, progress=callback)

Front-ends (the CLI, the pytest suites, the behave features) all call :func:`run_case`; the CLI runs every
case through :func:`run`. A case whose driving is blocked gets the blocking outcome for each of its checks;
anything unexpected in the harness is an ``error`` of that case, never a crash of the run.
"""

from __future__ import annotations

import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import checks_for, evaluate
from validatiestraat.results import Finding, Outcome, Result, Verdict, verdict
from validatiestraat.scenarios import Scenario
from validatiestraat.session import Blocked, DvaSession

Progress = Callable[[str, list[Result]], None]
Driver = Callable[[DvaSession, Scenario, str | None], Awaitable[dict[str, Any]]]


def _drive_search(session: DvaSession, scenario: Scenario, variant: str | None) -> Awaitable[dict[str, Any]]:
    return session.search(scenario, variant)


def _drive_probe(session: DvaSession, scenario: Scenario, variant: str | None) -> Awaitable[dict[str, Any]]:
    from validatiestraat.probes import run_probe

    session.gate_probe(scenario)  # a preshared (FHIR-only) run skips the probes that need the front channel
    return run_probe(session, scenario, variant)


DRIVERS: dict[str, Driver] = {"mp9-search": _drive_search, "probe": _drive_probe}


def run_case(session: DvaSession, scenario: Scenario, variant: str | None) -> list[Result]:
    """Drive one case against the SUT and judge it with every check that applies."""
    case = scenario.case_id(variant)
    checks = checks_for(scenario.kind, scenario.checks)

    async def drive() -> dict[str, Any]:
        with session.recorder.case(case):
            return await DRIVERS[scenario.kind](session, scenario, variant)

    blocked: Finding | None = None
    facts: dict[str, Any] = {}
    try:
        facts = session.run(drive())
    except Blocked as exc:
        blocked = Finding(exc.outcome, str(exc), exc.exchanges)
    except Exception as exc:  # our bug or an environment failure: an error of this case, the run goes on
        where = traceback.extract_tb(exc.__traceback__)[-1]
        blocked = Finding(
            Outcome.ERROR,
            f"harness error while driving {case}: {type(exc).__name__}: {exc} "
            f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})",
        )
    if blocked is not None:
        return [Result.of(case, scenario.id, variant, c.id, c.title, c.requirements, [blocked]) for c in checks]
    ctx = CheckContext(scenario, variant, session.recorder.of_case(case), session.dataset, facts)
    return [evaluate(c, ctx) for c in checks]


@dataclass
class RunOutcome:
    run_id: str
    started: str
    duration: float
    results: list[Result]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        return verdict(self.results)


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def run(
    session: DvaSession,
    scenarios: list[Scenario],
    progress: Progress | None = None,
    run_id: str | None = None,
) -> RunOutcome:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    results: list[Result] = []
    for scenario in scenarios:
        for case, variant in scenario.cases:
            case_results = run_case(session, scenario, variant)
            results += case_results
            if progress is not None:
                progress(case, case_results)
    return RunOutcome(run_id or new_run_id(), started, time.perf_counter() - t0, results)
