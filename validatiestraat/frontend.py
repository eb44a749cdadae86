"""What the certification front-ends share: the pytest suites (``suites/``) and the behave features
(``features/``) are thin shells over one :class:`CertificationRun`.

    run = CertificationRun(Options(faults=frozenset({"dva.no_self_link"})), frontend="pytest")
    verdict = run.run_case(scenario, variant)   # drives and judges one case through the engine
    ...                                          # the front-end turns verdict.outcome into its own outcome
    run.finish()                                 # stops the straat, writes reports/<run-id>/

A case's verdict follows :func:`validatiestraat.results.verdict`: any ``fail`` of one of its checks makes the
case fail (the SUT broke a rule); else any ``error`` makes it an error (harness or environment, never the SUT's
fault); else, when no check passed, it is skipped (every check skipped or omitted, with the reasons); else it
passes. Each front-end maps those four onto its own outcomes so that a SUT failure and a harness error stay
distinguishable (pytest: failed vs error; behave: failed vs error).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from validatiestraat import engine, targets
from validatiestraat.config import ConfigError, RunConfig, load_config
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.results import Finding, Outcome, Result
from validatiestraat.scenarios import Scenario, by_id, load
from validatiestraat.session import DvaSession

#: the user-facing names of the options, the same in pytest (``--fault``) and behave (``-D fault=``)
OPTION_HELP = {
    "role": "the role of the system under test (only 'dva' so far)",
    "target": "base URL of an external system under test; default: the straat's own reference party",
    "config": "TOML file describing the target (endpoints, certificates, tokens)",
    "fault": "switch on a fault of the reference party (repeatable; comma-separated in behave)",
    "report-dir": "where the reports go (default: reports/<run-id>)",
    "t": "date T of the dataset, YYYY-MM-DD (default: today)",
    "way": "how the access tokens are obtained: auto, manual or preshared (default: the config's, else auto)",
}


class HarnessError(Exception):
    """A case could not be judged because the harness or the environment broke: never a failure of the SUT.

    Deliberately not an ``AssertionError``: pytest reports it as an error (raised during fixture setup) and
    behave as an error (a step raising a non-assertion exception)."""


class UsageError(Exception):
    """The options given to a front-end do not make sense."""


@dataclass(frozen=True)
class Options:
    role: str = "dva"
    target: str | None = None
    config: Path | None = None
    faults: frozenset[str] = frozenset()
    report_dir: Path | None = None
    t: date | None = None
    way: str | None = None  # how tokens are obtained: auto, manual, preshared (default: the config's, else auto)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Options:
        """Options from string values (behave's ``-D name=value`` userdata; pytest passes its parsed options).
        ``fault`` may be a comma-separated string or a list; ``report-dir`` and ``report_dir`` are both accepted."""

        def get(name: str) -> Any:
            value = values.get(name, values.get(name.replace("-", "_")))
            return value if value not in ("", None) else None

        faults_value = get("fault") or get("faults") or ()
        if isinstance(faults_value, str):
            faults_value = faults_value.split(",")
        faults = frozenset(f.strip() for f in faults_value if f and f.strip())
        t_value = get("t")
        try:
            t = date.fromisoformat(t_value) if isinstance(t_value, str) else t_value
        except ValueError as exc:
            raise UsageError(f"date T {t_value!r} is not YYYY-MM-DD") from exc
        role = get("role") or "dva"
        if role != "dva":
            raise UsageError(f"role {role!r} has no suite yet; use 'dva'")
        target, config = get("target"), get("config")
        if faults:
            from mock_providers.faults import validate

            try:
                validate(faults)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
        return cls(
            role=role,
            target=target,
            config=Path(config) if config else None,
            faults=faults,
            report_dir=Path(get("report-dir")) if get("report-dir") else None,
            t=t,
            way=get("way"),
        )


# -- the session the front-ends drive ----------------------------------------------------------------------
def run_config(options: Options) -> RunConfig:
    """The run configuration, as the CLI builds it: the ``--config`` TOML, the ``VALIDATIESTRAAT_*`` variables,
    then the options. A mistake is a :class:`UsageError` before anything starts."""
    if options.target and options.faults:
        raise UsageError("--fault switches a fault on the reference party; it cannot be combined with a target")
    overrides: dict[str, Any] = {"role": options.role}
    if options.way:
        overrides["way"] = options.way
    if options.t:
        overrides["t"] = options.t.isoformat()
    if options.target:
        overrides["target"] = {"fhir_base": options.target}
    try:
        config = load_config(options.config, overrides=overrides)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    if config.external and options.faults:
        raise UsageError("--fault switches a fault on the reference party; it cannot be combined with a target")
    return config


def open_session(config: RunConfig, faults: frozenset[str]) -> tuple[DvaSession, Callable[[], None]]:
    """The session the front-ends drive and the function that ends it: the straat around its own reference
    DVA (with ``faults``), or around the external DVA the config names (:mod:`validatiestraat.targets`, the
    same as the CLI's). Every exchange is recorded."""
    session, stack = targets.start(config, faults=faults, recorder=Recorder())
    return session, stack.close


# -- one case, judged -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseVerdict:
    """What one case came to, in the terms every front-end maps onto its own outcomes."""

    case: str
    outcome: Outcome  # PASS, FAIL, ERROR or SKIP (a case whose checks all skipped or omitted)
    message: str
    results: tuple[Result, ...] = ()


def _lines(results: list[Result], outcome: Outcome) -> list[str]:
    """One line per distinct reason of the results with ``outcome``, naming every check (and the requirements
    it cites) that gave that reason: twenty checks without a response make one line, not twenty."""
    by_reason: dict[str, list[str]] = {}
    for r in results:
        if r.outcome is not outcome:
            continue
        reasons = [m for m in r.messages if m.startswith(f"{outcome}:")] or r.messages
        shown = f" (exchanges {', '.join(r.exchanges[:5])})" if r.exchanges else ""
        cited = f" [{', '.join(r.requirements)}]" if r.requirements else ""
        reason = " | ".join(m.split(": ", 1)[-1] for m in reasons) + shown
        by_reason.setdefault(reason, []).append(r.check + cited)
    return [f"{', '.join(checks)}: {reason}" for reason, checks in by_reason.items()]


def judge(case: str, results: list[Result]) -> CaseVerdict:
    """The case's verdict from its check results (see the module docstring for the order)."""
    if not results:
        return CaseVerdict(case, Outcome.ERROR, f"{case}: no check judged this case", ())
    for outcome, what in (
        (Outcome.FAIL, "the system under test broke"),
        (Outcome.ERROR, "harness or environment error (not counted against the system under test) in"),
    ):
        lines = _lines(results, outcome)
        if lines:
            head = f"{case}: {what} {sum(r.outcome is outcome for r in results)} check(s)"
            return CaseVerdict(case, outcome, "\n".join([head, *(f"  - {line}" for line in lines)]), tuple(results))
    if not any(r.outcome is Outcome.PASS for r in results):
        lines = _lines(results, Outcome.OMIT) + _lines(results, Outcome.SKIP)
        message = "\n".join([f"{case}: no check could judge this case", *(f"  - {line}" for line in lines)])
        return CaseVerdict(case, Outcome.SKIP, message, tuple(results))
    passed = sum(r.outcome is Outcome.PASS for r in results)
    return CaseVerdict(case, Outcome.PASS, f"{case}: {passed}/{len(results)} checks passed", tuple(results))


# -- the run ----------------------------------------------------------------------------------------------------
def cases(role: str = "dva", kind: str | None = None) -> list[tuple[str, Scenario, str | None]]:
    """Every case (id, scenario, variant) of ``role``'s scenario data, of one kind or all, in data order."""
    return [(case, s, v) for s in load(role) if kind in (None, s.kind) for case, v in s.cases]


def find_case(role: str, scenario_id: str, variant: str | None) -> tuple[Scenario, str | None]:
    """The scenario ``scenario_id`` and the variant named by a front-end (``-`` or empty = no variant)."""
    scenario = by_id(role).get(scenario_id)
    if scenario is None:
        raise HarnessError(f"no scenario {scenario_id!r} in the {role} scenario data (regenerate the features?)")
    wanted = None if variant in (None, "", "-") else variant
    if wanted not in scenario.variants:
        shown = ", ".join(str(v) for v in scenario.variants)
        raise HarnessError(f"scenario {scenario_id} has no variant {wanted!r} (it has: {shown})")
    return scenario, wanted


@dataclass
class CertificationRun:
    """One certification run of a front-end: the session (started on first use), the results so far, the
    reports at the end."""

    options: Options
    frontend: str
    run_id: str = field(default_factory=engine.new_run_id)
    results: list[Result] = field(default_factory=list)
    _session: DvaSession | None = None
    _stop: Callable[[], None] | None = None
    _started: str = ""
    _t0: float = 0.0
    _broken: str | None = None  # why the session could not be opened (every case is then an error)
    leaks: list[str] = field(default_factory=list)  # secrets found unredacted in the reports (a harness bug)
    config: RunConfig = field(init=False)

    def __post_init__(self) -> None:
        self.config = run_config(self.options)  # usage errors surface now, before the straat starts

    @property
    def report_dir(self) -> Path:
        return self.options.report_dir or Path("reports") / self.run_id

    @property
    def session(self) -> DvaSession:
        if self._session is None:
            if self._broken is not None:
                raise HarnessError(self._broken)
            self._started = datetime.now(UTC).isoformat(timespec="seconds")
            self._t0 = time.perf_counter()
            try:
                self._session, self._stop = open_session(self.config, self.options.faults)
            except Exception as exc:
                self._broken = f"the session could not be opened: {type(exc).__name__}: {exc}"
                raise HarnessError(self._broken) from exc
        return self._session

    def run_case(self, scenario: Scenario, variant: str | None) -> CaseVerdict:
        """Drive and judge one case; the results join the run's reports whatever the outcome."""
        case = scenario.case_id(variant)
        try:
            results = engine.run_case(self.session, scenario, variant)
        except Exception as exc:  # no session, or the engine itself broke (e.g. a scenario naming an unknown check)
            message = f"harness error: {type(exc).__name__}: {exc}"
            finding = Finding(Outcome.ERROR, message)
            results = [Result.of(case, scenario.id, variant, "harness", "the harness drives the case", (), [finding])]
        self.results += results
        return judge(case, results)

    def outcome(self) -> engine.RunOutcome:
        return engine.RunOutcome(
            self.run_id,
            self._started or datetime.now(UTC).isoformat(timespec="seconds"),
            time.perf_counter() - self._t0 if self._t0 else 0.0,
            list(self.results),
            meta={
                "frontend": self.frontend,
                "role": self.options.role,
                "target": self.config.describe(),
                "faults": sorted(self.options.faults),
                "cases": len(dict.fromkeys(r.case for r in self.results)),
            },
        )

    def stop(self) -> None:
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()

    def finish(self) -> Path | None:
        """Stop the straat and write the reports; returns their folder (None when no case ran). Afterwards
        :attr:`leaks` lists every secret found unredacted in them (the front-end must make that loud)."""
        self.stop()
        if self._session is None and not self.results:
            return None
        from validatiestraat.reports import write_reports
        from validatiestraat.reports.scan import scan

        exchanges = self._session.recorder.exchanges if self._session else []
        secrets = set(self._session.secrets) if self._session else set()
        out = write_reports(self.report_dir, self.outcome(), exchanges, secrets)
        self.leaks = scan(out, secrets)
        return out
