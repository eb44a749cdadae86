"""The pytest front-end of the validatiestraat: options, the certification run, one test per case.

    pytest suites/dva                                        # certify the straat's reference DVA
    pytest suites/dva --fault dva.no_self_link               # the reference DVA with a fault (must not pass)
    pytest suites/dva -k "[MA-0.1[json]] or [TLS-versions]"   # a subset, by case id (brackets: exact)
    pytest suites/dva --target https://dva.example.nl/ --config straat.toml

A case's outcome: the SUT broke a rule -> **failed** (the message cites the requirement ids); the harness or the
environment broke -> **error** (raised while setting the case up, so pytest counts it apart); no check could
judge it -> **skipped** with the reasons; else passed. At the end the reports go to ``--report-dir``
(default ``reports/<run-id>``). ``suites/conftest.py`` wires this module in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from validatiestraat.frontend import (
    OPTION_HELP,
    CaseVerdict,
    CertificationRun,
    HarnessError,
    Options,
    UsageError,
    cases,
)
from validatiestraat.results import Outcome

RUN = pytest.StashKey[CertificationRun]()
REPORTS = pytest.StashKey[Path | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("validatiestraat", "validatiestraat certification")
    group.addoption("--role", default="dva", help=OPTION_HELP["role"])
    group.addoption("--target", default=None, metavar="URL", help=OPTION_HELP["target"])
    group.addoption("--config", default=None, metavar="TOML", help=OPTION_HELP["config"])
    group.addoption("--fault", action="append", default=[], metavar="NAME", help=OPTION_HELP["fault"])
    group.addoption("--report-dir", default=None, metavar="DIR", help=OPTION_HELP["report-dir"])
    group.addoption("--t", dest="date_t", default=None, metavar="YYYY-MM-DD", help=OPTION_HELP["t"])
    group.addoption("--way", default=None, choices=("auto", "manual", "preshared"), help=OPTION_HELP["way"])


def pytest_configure(config: pytest.Config) -> None:
    values: dict[str, Any] = {
        "role": config.getoption("role"),
        "target": config.getoption("target"),
        "config": config.getoption("config"),
        "fault": config.getoption("fault"),
        "report-dir": config.getoption("report_dir"),
        "t": config.getoption("date_t"),
        "way": config.getoption("way"),
    }
    try:
        options = Options.from_mapping(values)
        worker = getattr(config, "workerinput", {}).get("workerid")
        if worker and options.report_dir:  # pytest-xdist: every worker runs its own straat, reports apart
            options = replace(options, report_dir=options.report_dir / worker)
        config.stash[RUN] = CertificationRun(options, frontend="pytest")
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from exc


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        session.config.stash[REPORTS] = run.finish()
        if run.leaks:  # a harness bug: the run must not look green
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run, reports = config.stash.get(RUN, None), config.stash.get(REPORTS, None)
    if run is None or reports is None:
        return
    outcome = run.outcome()
    terminalreporter.write_sep("-", "validatiestraat")
    terminalreporter.write_line(f"verdict: {outcome.verdict.value} ({len(outcome.results)} check results)")
    terminalreporter.write_line(f"reports: {reports}")
    if run.leaks:
        terminalreporter.write_line(
            f"harness error: secrets found unredacted in the reports: {run.leaks[:5]}", red=True
        )


@pytest.fixture(scope="session")
def certification(pytestconfig: pytest.Config) -> Any:
    """The run of this pytest session; its straat starts with the first case and stops at the end."""
    run = pytestconfig.stash[RUN]
    yield run
    run.stop()


@pytest.fixture
def case(request: pytest.FixtureRequest, certification: CertificationRun) -> CaseVerdict:
    """Drive and judge the case given as parameter. A harness or environment error is raised here, in the
    setup, so that pytest reports it as an *error* and never as a failure of the system under test."""
    __tracebackhide__ = True  # the message says it all; the fixture's own lines are noise
    scenario, variant = request.param
    verdict = certification.run_case(scenario, variant)
    if verdict.outcome is Outcome.ERROR:
        raise HarnessError(verdict.message)
    return verdict


def case_params(kind: str, role: str = "dva") -> list[Any]:
    """One pytest parameter per case of ``kind`` in the scenario data; the test id is the case id."""
    return [pytest.param((scenario, variant), id=case_id) for case_id, scenario, variant in cases(role, kind)]


def assert_certified(verdict: CaseVerdict) -> None:
    """Turn a case's verdict into the test's outcome (errors were raised during setup already)."""
    if verdict.outcome is Outcome.FAIL:
        pytest.fail(verdict.message, pytrace=False)
    if verdict.outcome is Outcome.SKIP:
        pytest.skip(verdict.message)
    if verdict.outcome is not Outcome.PASS:  # ERROR is handled by the fixture; anything else is our bug
        raise HarnessError(verdict.message)
