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
from concurrent.futures import BrokenExecutor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import checks_for
from validatiestraat.judge import discard, judge, judge_batch_in_worker
from validatiestraat.judge import pool as judge_pool
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


def drive_case(session: DvaSession, scenario: Scenario, variant: str | None) -> CheckContext | list[Result]:
    """Drive one case against the SUT: the context to judge it on, or (when driving was blocked) its results:
    the blocking outcome for every check of the case."""
    case = scenario.case_id(variant)

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
        checks = checks_for(scenario.kind, scenario.checks)
        return [Result.of(case, scenario.id, variant, c.id, c.title, c.requirements, [blocked]) for c in checks]
    return CheckContext(scenario, variant, session.recorder.of_case(case), session.dataset, facts)


def run_case(session: DvaSession, scenario: Scenario, variant: str | None) -> list[Result]:
    """Drive one case against the SUT and judge it with every check that applies."""
    driven = drive_case(session, scenario, variant)
    return driven if isinstance(driven, list) else judge(driven)


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
    judges: int = 0,
) -> RunOutcome:
    """Every case of ``scenarios``, in order. With ``judges`` > 0 the checks run in that many worker processes
    while the next cases are driven (the checks are pure, so the verdicts are the same); if a worker dies, the
    remaining cases are judged in this process."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    cases = [(scenario, variant) for scenario in scenarios for _, variant in scenario.cases]
    if judges > 0:
        results = _run_pipelined(session, cases, progress, judges)
    else:
        results = []
        for scenario, variant in cases:
            case_results = run_case(session, scenario, variant)
            results += case_results
            if progress is not None:
                progress(scenario.case_id(variant), case_results)
    return RunOutcome(run_id or new_run_id(), started, time.perf_counter() - t0, results)


#: cases per message to a worker: fewer wake-ups of the pool's threads, which share the GIL with the driving
BATCH = 8


def _run_pipelined(
    session: DvaSession, cases: list[tuple[Scenario, str | None]], progress: Progress | None, judges: int
) -> list[Result]:
    workers = judge_pool(session.dataset, judges)
    slots: list[list[Result]] = []  # the results of each case, in case order
    batches: list[tuple[list[int], list[CheckContext], Future[list[list[Result]]]]] = []
    waiting: list[tuple[int, CheckContext]] = []

    def here(index: int, ctx: CheckContext) -> None:
        slots[index] = judge(ctx)
        if progress is not None:
            progress(ctx.case, slots[index])

    def send() -> None:
        if not waiting:
            return
        indexes, ctxs = [i for i, _ in waiting], [c for _, c in waiting]
        waiting.clear()
        try:
            future = workers.submit(
                judge_batch_in_worker, [(c.scenario, c.variant, c.exchanges, c.facts) for c in ctxs]
            )
        except BrokenExecutor:  # the worker died earlier: judge here from now on
            discard(session.dataset, judges)
            for i, c in zip(indexes, ctxs, strict=True):
                here(i, c)
            return
        if progress is not None:
            future.add_done_callback(
                lambda f, ctxs=ctxs: [progress(c.case, r) for c, r in zip(ctxs, _safe(f, len(ctxs)), strict=True)]
            )
        batches.append((indexes, ctxs, future))

    try:
        for scenario, variant in cases:
            driven = drive_case(session, scenario, variant)
            if isinstance(driven, list):
                slots.append(driven)
                if progress is not None:
                    progress(scenario.case_id(variant), driven)
                continue
            slots.append([])
            waiting.append((len(slots) - 1, driven))
            if len(waiting) >= BATCH:
                send()
        send()
        for indexes, ctxs, future in batches:
            try:
                judged = future.result()
            except Exception:  # the worker died or could not take the cases: judge here, same checks, same verdicts
                discard(session.dataset, judges)
                judged = [judge(c) for c in ctxs]
            for i, case_results in zip(indexes, judged, strict=True):
                slots[i] = case_results
        return [r for case_results in slots for r in case_results]
    finally:
        for _, _, future in batches:  # nothing of this run may keep running after it returns
            future.cancel()


def _safe(future: Future[list[list[Result]]], n: int) -> list[list[Result]]:
    try:
        return future.result()
    except Exception:  # reported where the results are collected
        return [[] for _ in range(n)]
