"""Judging a driven case: every check that applies, on the case's recorded exchanges and the dataset.

Pure (no I/O), so it can run beside the driving: :func:`judge_batch_in_worker` runs in a separate process that holds
its own copy of the dataset (:func:`init_worker`), while the next case is driven against the SUT.
"""

from __future__ import annotations

import atexit
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import checks_for, evaluate
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.store import PatientEntry, Resource, Store
from validatiestraat.results import Result
from validatiestraat.scenarios import Scenario

_DATASET: Store | None = None


def judge(ctx: CheckContext) -> list[Result]:
    return [evaluate(c, ctx) for c in checks_for(ctx.scenario.kind, ctx.scenario.checks)]


def init_worker(resources: list[Resource], patients: list[PatientEntry]) -> None:
    global _DATASET
    _DATASET = Store(resources, patients)
    checks_for("mp9-search")  # import and register the check library before the first case arrives
    from validatiestraat.checks.profile import validate

    kinds: dict[tuple[str, ...], Any] = {}
    for resource in _DATASET.all():  # one of each kind: compiles the profiles and value sets a run needs
        meta = resource.get("meta") or {}
        kinds.setdefault((resource.get("resourceType"), *meta.get("profile", ())), resource)
    for resource in kinds.values():
        validate(resource)


def judge_batch_in_worker(
    cases: list[tuple[Scenario, str | None, list[Exchange], dict[str, Any]]],
) -> list[list[Result]]:
    """The results of each case, in order (runs in a worker process)."""
    assert _DATASET is not None, "init_worker did not run"
    return [judge(CheckContext(s, v, exchanges, _DATASET, facts)) for s, v, exchanges, facts in cases]


_POOLS: dict[tuple[int, int], ProcessPoolExecutor] = {}


def pool(dataset: Store, workers: int) -> ProcessPoolExecutor:
    """Worker processes holding a copy of ``dataset``, started at once (``spawn``: no fork of a process that runs
    the straat's threads) and kept for the life of this process; call early, so their start-up overlaps other
    work, such as starting the straat."""
    key = (id(dataset), workers)
    if key not in _POOLS:
        executor = ProcessPoolExecutor(
            workers,
            mp_context=get_context("spawn"),
            initializer=init_worker,
            initargs=(dataset.all(), dataset.patients),
        )
        for _ in range(workers):
            executor.submit(_ready)  # makes the workers start and import the check library now
        _POOLS[key] = executor
        atexit.register(executor.shutdown, wait=False, cancel_futures=True)
    return _POOLS[key]


def discard(dataset: Store, workers: int) -> None:
    """Forget a pool whose workers died (the next :func:`pool` call starts new ones)."""
    executor = _POOLS.pop((id(dataset), workers), None)
    if executor is not None:
        executor.shutdown(wait=False, cancel_futures=True)


def _ready() -> bool:
    return _DATASET is not None
