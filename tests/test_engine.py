"""The engine: the same verdicts whether the checks run in this process or in a worker beside the driving, and
a dead worker costs nothing but time."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import date

import pytest

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import Straat
from validatiestraat import engine, judge, scenarios
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.pki import TestPKI
from validatiestraat.results import Outcome, Result
from validatiestraat.session import DvaSession

T = date(2026, 3, 1)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DvaSession]:
    store = load_builtin(T)
    recorder = Recorder()
    with Straat(store, pki=TestPKI(tmp_path_factory.mktemp("pki")), recorder=recorder) as straat:
        yield DvaSession(straat, recorder, store, t=T.isoformat())


def chosen() -> list[scenarios.Scenario]:
    return scenarios.select(scenarios.load(), ["MA-0", "VV-1", "MTD-2", "OAUTH-response-type"])


def verdicts(results: list[Result]) -> list[tuple[str, Outcome, tuple[str, ...]]]:
    return [(r.id, r.outcome, tuple(m.split(" (")[0] for m in r.messages)) for r in results]


def test_checks_in_a_worker_give_the_same_results_in_the_same_order(session: DvaSession) -> None:
    here = engine.run(session, chosen())
    seen: list[str] = []
    there = engine.run(session, chosen(), judges=1, progress=lambda case, _results: seen.append(case))
    assert verdicts(there.results) == verdicts(here.results)
    assert {r.outcome for r in here.results} <= {Outcome.PASS, Outcome.OMIT, Outcome.SKIP}
    assert sorted(seen) == sorted({r.case for r in here.results})


def test_a_dead_worker_is_replaced_by_judging_here(session: DvaSession) -> None:
    workers = judge.pool(session.dataset, 1)
    assert workers.submit(judge._ready).result(timeout=60)  # the worker is up
    for pid in list(workers._processes):  # kill it the hard way
        os.kill(pid, signal.SIGKILL)
    outcome = engine.run(session, chosen(), judges=1)
    assert verdicts(outcome.results) == verdicts(engine.run(session, chosen()).results)
    fresh = judge.pool(session.dataset, 1)  # the next run gets new workers
    assert fresh is not workers and fresh.submit(judge._ready).result(timeout=60)
