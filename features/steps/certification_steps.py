"""The steps of the certification features: thin, every case is driven and judged by the engine
(:mod:`validatiestraat.frontend`), exactly as in the pytest suites.

A case whose checks found a SUT failure fails (an ``AssertionError`` citing the requirement ids); a harness or
environment error raises :class:`~validatiestraat.frontend.HarnessError`, which behave reports as an *error*;
a case no check could judge is skipped with the reasons.
"""

from __future__ import annotations

from behave import given, then, when

from validatiestraat.frontend import HarnessError, find_case
from validatiestraat.results import Outcome


@given("de straat met de te keuren DVA")
def step_straat(context):
    context.certification.session  # noqa: B018  (opens the session now: a straat that cannot start is an error here)


def _run(context, scenario_id: str, variant: str | None) -> None:
    run = context.certification
    scenario, variant = find_case(run.options.role, scenario_id, variant)
    context.verdict = run.run_case(scenario, variant)
    if context.verdict.outcome is Outcome.ERROR:
        raise HarnessError(context.verdict.message)


@when('de PGO scenario "{scenario_id}" in {variant} uitvoert')
def step_run_variant(context, scenario_id, variant):
    _run(context, scenario_id, variant)


@when('de PGO scenario "{scenario_id}" uitvoert')
def step_run(context, scenario_id):
    _run(context, scenario_id, None)


@then("keurt de straat het goed")
def step_certified(context):
    verdict = context.verdict
    if verdict.outcome is Outcome.SKIP:
        print(verdict.message)  # behave keeps no skip reason of its own; the output (and results.json) do
        context.scenario.skip(verdict.message)
        return
    assert verdict.outcome is not Outcome.FAIL, verdict.message
    if verdict.outcome is not Outcome.PASS:
        raise HarnessError(verdict.message)
