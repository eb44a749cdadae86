"""Protocol probes: what the harness does to a DVA beyond the MP9 searches (OAuth, TLS, lists).

A probe is an async function over the session, registered by name; a ``probe`` scenario names it. It
records its exchanges under named steps and returns facts; the checks named by the scenario judge them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from validatiestraat.scenarios import Scenario
from validatiestraat.session import DvaSession

ProbeFn = Callable[[DvaSession, Scenario, str | None], Awaitable[dict[str, Any]]]
PROBES: dict[str, ProbeFn] = {}


def probe(name: str) -> Callable[[ProbeFn], ProbeFn]:
    def register(fn: ProbeFn) -> ProbeFn:
        if name in PROBES:
            raise ValueError(f"probe {name} registered twice")
        PROBES[name] = fn
        return fn

    return register


def all_probes() -> dict[str, ProbeFn]:
    from validatiestraat.probes import lists as _lists  # noqa: F401  (registers the probes)
    from validatiestraat.probes import oauth as _oauth  # noqa: F401
    from validatiestraat.probes import tls as _tls  # noqa: F401

    return PROBES


async def run_probe(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    probes = all_probes()
    if scenario.probe not in probes:
        raise KeyError(f"scenario {scenario.id} names unknown probe {scenario.probe!r}")
    return await probes[scenario.probe](session, scenario, variant)
