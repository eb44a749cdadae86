"""The check registry: a check is a pure function over a case's recorded exchanges and the dataset.

    @check("fhir.bundle-searchset", "The response is a searchset Bundle", ["nictiz.mp9.bundle-type"])
    def bundle_is_searchset(ctx: CheckContext) -> list[Finding]: ...

A check never performs I/O. It returns at least one finding; a case it cannot judge gives ``skip`` (does not
apply) or ``omit`` (applies, cannot be decided here), with the reason. The same function serves the CLI,
pytest, behave and offline re-evaluation from the evidence of a run.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from validatiestraat.checks.context import CheckContext, NoResponse
from validatiestraat.results import Finding, Result, errored

CheckFn = Callable[[CheckContext], list[Finding]]


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    requirements: tuple[str, ...]
    kinds: tuple[str, ...]  # the scenario kinds this check judges by default
    fn: CheckFn

    def __call__(self, ctx: CheckContext) -> list[Finding]:
        return self.fn(ctx)


REGISTRY: dict[str, Check] = {}


def check(
    id: str, title: str, requirements: list[str] | tuple[str, ...], kinds: tuple[str, ...] = ("mp9-search",)
) -> Callable[[CheckFn], CheckFn]:
    """Register ``fn`` as check ``id``; ``kinds`` = the scenario kinds it judges when a scenario names no
    checks of its own (use ``()`` for checks that only scenarios naming them run)."""

    def register(fn: CheckFn) -> CheckFn:
        if id in REGISTRY:
            raise ValueError(f"check {id} registered twice")
        REGISTRY[id] = Check(id, title, tuple(requirements), kinds, fn)
        return fn

    return register


def all_checks() -> dict[str, Check]:
    import validatiestraat.checks  # noqa: F401  (importing the package registers every check module)

    return REGISTRY


def checks_for(kind: str, explicit: tuple[str, ...] = ()) -> list[Check]:
    registry = all_checks()
    if explicit:
        unknown = [c for c in explicit if c not in registry]
        if unknown:
            raise KeyError(f"unknown checks {unknown}")
        return [registry[c] for c in explicit]
    return [c for c in registry.values() if kind in c.kinds]


def evaluate(chk: Check, ctx: CheckContext) -> Result:
    """Run one check on one case. No response where one was needed is an ``error`` (environment), and so is
    an exception inside a check (our bug); neither is ever reported as a failure of the SUT."""
    t0 = time.perf_counter()
    try:
        findings = chk(ctx)
    except NoResponse as exc:
        findings = [errored(str(exc), *exc.exchanges)]
    except Exception as exc:  # a bug in a check must not end the run nor blame the SUT
        where = traceback.extract_tb(exc.__traceback__)[-1]
        findings = [
            errored(
                f"harness error in check {chk.id}: {type(exc).__name__}: {exc} "
                f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
            )
        ]
    return Result.of(
        ctx.case,
        ctx.scenario.id,
        ctx.variant,
        chk.id,
        chk.title,
        chk.requirements,
        findings,
        time.perf_counter() - t0,
    )
