"""The two certification front-ends (pytest suites in suites/dva, behave features in features/dva) run the
same cases from the same data and come to the same verdict per case; SUT failures and harness errors stay
apart in both.

The end-to-end tests start each front-end as a user would (a subprocess in the repository), read its native
JUnit output and its results.json, and compare. The two front-ends of one comparison run side by side.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from behave.parser import parse_file

from validatiestraat.frontend import CertificationRun, Options, UsageError, cases, find_case, judge
from validatiestraat.results import Finding, Outcome, Result
from validatiestraat.scenarios import Scenario, load

REPO = Path(__file__).resolve().parents[1]
FEATURES = REPO / "features" / "dva"
#: the outcome a front-end shows for each case verdict
NATIVE = {"failure": Outcome.FAIL, "error": Outcome.ERROR, "skipped": Outcome.SKIP}


def _make_features():
    spec = importlib.util.spec_from_file_location("make_features", REPO / "scripts" / "make_features.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the features cannot drift from the data ---------------------------------------------------------------
def test_feature_files_are_what_the_generator_makes():
    wanted = _make_features().render("dva")
    present = {p.name: p.read_text("utf-8") for p in FEATURES.glob("*.feature")}
    assert sorted(present) == sorted(wanted), "run: .venv/bin/python scripts/make_features.py"
    for name, text in wanted.items():
        assert present[name] == text, f"features/dva/{name} is stale; run: .venv/bin/python scripts/make_features.py"


def test_every_case_of_the_data_is_in_the_features_exactly_once():
    listed: list[str] = []
    for path in sorted(FEATURES.glob("*.feature")):
        feature = parse_file(str(path))
        assert feature.language == "nl", f"{path.name} must start with '# language: nl'"
        for outline in feature.scenarios:
            assert type(outline).__name__ == "ScenarioOutline", f"{path.name}: {outline.name} is not an outline"
            for examples in outline.examples:
                for row in examples.table.rows:
                    variant = row.get("formaat")
                    scenario, variant = find_case("dva", row["scenario"], variant)
                    listed.append(scenario.case_id(variant))
    doubled = sorted(c for c, n in Counter(listed).items() if n > 1)
    assert not doubled, f"cases listed twice in the features: {doubled}"
    assert sorted(listed) == sorted(c for c, _, _ in cases("dva"))


def test_feature_cells_keep_the_titles_intact():
    titles = {s.id: " ".join(s.title.split()) for _, s, _ in cases("dva")}
    for path in sorted(FEATURES.glob("*.feature")):
        for outline in parse_file(str(path)).scenarios:
            for examples in outline.examples:
                for row in examples.table.rows:
                    assert row["titel"] == titles[row["scenario"]]  # pipes in titles are escaped, not cut


# -- the verdict of one case ---------------------------------------------------------------------------------
def _result(check: str, *findings: Finding, requirements: tuple[str, ...] = ("req.a",)) -> Result:
    return Result.of("S[json]", "S", "json", check, check, requirements, list(findings))


def test_a_sut_failure_outweighs_a_harness_error_and_cites_its_requirements():
    verdict = judge(
        "S[json]",
        [
            _result("c1", Finding(Outcome.FAIL, "no self link", ("x00007",)), requirements=("nictiz.mp9.self-link",)),
            _result("c2", Finding(Outcome.ERROR, "timeout")),
            _result("c3", Finding(Outcome.PASS, "ok")),
        ],
    )
    assert verdict.outcome is Outcome.FAIL
    assert "c1 [nictiz.mp9.self-link]: no self link (exchanges x00007)" in verdict.message
    assert "timeout" not in verdict.message


def test_a_harness_error_is_not_a_failure_and_identical_reasons_make_one_line():
    verdict = judge("S[json]", [_result(c, Finding(Outcome.ERROR, "no response")) for c in ("c1", "c2")])
    assert verdict.outcome is Outcome.ERROR
    assert "in 2 check(s)" in verdict.message
    assert verdict.message.count("no response") == 1


def test_a_case_no_check_could_judge_is_skipped_with_the_reasons():
    verdict = judge(
        "S[json]",
        [_result("c1", Finding(Outcome.OMIT, "needs the HL7 validator")), _result("c2", Finding(Outcome.SKIP, "n/a"))],
    )
    assert verdict.outcome is Outcome.SKIP
    assert "needs the HL7 validator" in verdict.message and "n/a" in verdict.message
    mixed = judge(
        "S[json]", [_result("c1", Finding(Outcome.OMIT, "later")), _result("c2", Finding(Outcome.PASS, "ok"))]
    )
    assert mixed.outcome is Outcome.PASS
    assert judge("S[json]", []).outcome is Outcome.ERROR  # nothing judged the case: never a pass


def test_options_are_checked_before_anything_starts():
    with pytest.raises(UsageError, match="unknown fault"):
        Options.from_mapping({"fault": "dva.no_such_fault"})
    with pytest.raises(UsageError, match="cannot be combined"):
        CertificationRun(
            Options.from_mapping({"fault": "dva.no_self_link", "target": "https://dva.example.nl/fhir"}), "t"
        )
    options = Options.from_mapping(
        {"fault": "dva.no_self_link, dva.state_dropped", "report-dir": "x", "t": "2026-01-02"}
    )
    assert options.faults == {"dva.no_self_link", "dva.state_dropped"}
    assert options.report_dir == Path("x") and options.t == date(2026, 1, 2)


# -- the front-ends, end to end ------------------------------------------------------------------------------
@dataclass
class Run:
    native: dict[str, tuple[Outcome, str]]  # case -> the front-end's own outcome, with its message
    reported: dict[str, Outcome]  # case -> the verdict recomputed from results.json
    results_json: dict
    returncode: int
    output: str


def _env(**extra: str) -> dict[str, str]:
    """The user's environment without config variables or pytest settings that would change the runs."""
    keep = ("VALIDATIESTRAAT_PKI_DIR", "VALIDATIESTRAAT_SHARED")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VALIDATIESTRAAT_")) or k in keep}
    return {**env, **extra}


def _case_of_pytest(name: str) -> str:
    return name[name.index("[") + 1 : -1]  # "test_mp9[MA-0.1[json]]" -> "MA-0.1[json]"


def _native(testcases: list[ET.Element], case_of) -> dict[str, tuple[Outcome, str]]:
    out: dict[str, tuple[Outcome, str]] = {}
    for tc in testcases:
        problem = next((c for c in tc if c.tag in NATIVE), None)
        outcome = NATIVE[problem.tag] if problem is not None else Outcome.PASS
        message = "" if problem is None else (problem.get("message") or "") + "\n" + (problem.text or "")
        case = case_of(tc.get("name"))
        assert case not in out, f"{case} reported twice"
        out[case] = (outcome, message)
    return out


def _reported(report_dir: Path) -> tuple[dict[str, Outcome], dict]:
    data = json.loads((report_dir / "results.json").read_text("utf-8"))
    by_case: dict[str, list[Result]] = {}
    for r in data["results"]:
        by_case.setdefault(r["case"], []).append(Result.from_json(r))
    return {case: judge(case, results).outcome for case, results in by_case.items()}, data


def _start_pytest(tmp: Path, selection: list[str] | None, options: list[str], env: dict[str, str]):
    args = [sys.executable, "-m", "pytest", "suites/dva", "-q", "-p", "no:cacheprovider"]
    args += ["--junitxml", str(tmp / "pytest.xml"), "--report-dir", str(tmp / "pytest-reports"), *options]
    if selection is not None:
        args += ["-k", " or ".join(f"[{case}]" for case in selection)]
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _start_behave(tmp: Path, selection: list[str] | None, userdata: list[str], env: dict[str, str]):
    args = [sys.executable, "-m", "behave", "features/dva", "-f", "progress", "--no-skipped"]
    args += ["--junit", "--junit-directory", str(tmp / "behave-junit"), "-D", f"report-dir={tmp / 'behave-reports'}"]
    for item in userdata:
        args += ["-D", item]
    if selection is not None:
        args += ["-n", "^(" + "|".join(re.escape(case) for case in selection) + ") "]
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def run_both(
    tmp: Path, selection: list[str] | None, options: dict[str, str | list[str]], **env: str
) -> tuple[Run, Run]:
    """Both front-ends with the same options (pytest ``--name value``, behave ``-D name=value``), side by side."""
    pytest_options, userdata = [], []
    for name, value in options.items():
        values = value if isinstance(value, list) else [value]
        pytest_options += [a for v in values for a in (f"--{name}", v)]
        userdata.append(f"{name}={','.join(values)}")
    environment = _env(**env)
    procs = {
        "pytest": _start_pytest(tmp, selection, pytest_options, environment),
        "behave": _start_behave(tmp, selection, userdata, environment),
    }
    outputs = {name: p.communicate(timeout=240)[0] for name, p in procs.items()}

    pytest_cases = ET.parse(tmp / "pytest.xml").getroot().iter("testcase")
    pytest_cases = [tc for tc in pytest_cases if "empty parameter set" not in ET.tostring(tc, "unicode")]
    pytest_native = _native(pytest_cases, _case_of_pytest)
    behave_cases = [tc for f in sorted((tmp / "behave-junit").glob("*.xml")) for tc in ET.parse(f).getroot()]
    behave_cases = [tc for tc in behave_cases if tc.tag == "testcase"]
    behave_native = _native(behave_cases, lambda name: name.split(" ", 1)[0])
    runs = []
    for name, native in (("pytest", pytest_native), ("behave", behave_native)):
        reported, data = _reported(tmp / f"{name}-reports")
        runs.append(Run(native, reported, data, procs[name].returncode, outputs[name]))
    return runs[0], runs[1]


def agreement(selection: list[str], pytest_run: Run, behave_run: Run) -> dict[str, Outcome]:
    """Both front-ends ran exactly ``selection`` and came to the same verdict per case, natively and in
    their results.json; returns that verdict per case."""
    for run in (pytest_run, behave_run):
        assert sorted(run.native) == sorted(selection), run.output[-3000:]
        assert sorted(run.reported) == sorted(selection)
        native = {case: outcome for case, (outcome, _) in run.native.items()}
        assert native == run.reported, "the front-end's own outcome differs from the verdict of its results.json"
    assert pytest_run.reported == behave_run.reported
    return pytest_run.reported


def subset() -> list[str]:
    """~10 cases: both formats of the first scenario of four MP9 blocks, and two protocol probes if any."""
    picked: list[str] = []
    blocks: set[str | None] = set()
    for scenario in load("dva"):
        if scenario.kind == "mp9-search" and scenario.block not in blocks and len(blocks) < 4:
            blocks.add(scenario.block)
            picked += [case for case, _ in scenario.cases]
    return picked + [case for case, _, _ in cases("dva", "probe")][:2]


def scenario_of(case: str) -> Scenario:
    return next(s for c, s, _ in cases("dva") if c == case)


def test_both_frontends_certify_the_reference_dva_case_by_case(tmp_path):
    every = [case for case, _, _ in cases("dva")]
    t = date.today().isoformat()
    pytest_run, behave_run = run_both(tmp_path, None, {"t": t})
    verdicts = agreement(every, pytest_run, behave_run)
    assert set(verdicts.values()) == {Outcome.PASS}, {c: o for c, o in verdicts.items() if o is not Outcome.PASS}
    for run in (pytest_run, behave_run):
        assert run.returncode == 0, run.output[-3000:]
        assert run.results_json["verdict"] == "certified"
    assert pytest_run.results_json["meta"]["frontend"] == "pytest"
    assert behave_run.results_json["meta"]["frontend"] == "behave"


def test_both_frontends_fail_a_fault_for_its_requirement_alike(tmp_path):
    chosen = subset()
    assert len(chosen) >= 8
    pytest_run, behave_run = run_both(tmp_path, chosen, {"fault": "dva.no_self_link", "t": date.today().isoformat()})
    verdicts = agreement(chosen, pytest_run, behave_run)
    for case, outcome in verdicts.items():
        expected = Outcome.FAIL if scenario_of(case).kind == "mp9-search" else Outcome.PASS
        assert outcome is expected, case
        for run in (pytest_run, behave_run):
            if expected is Outcome.FAIL:  # the front-end's own message cites the requirement that was broken
                assert "nictiz.mp9.self-link" in run.native[case][1], run.native[case][1]
    for run in (pytest_run, behave_run):
        assert run.returncode != 0
        assert run.results_json["verdict"] == "not certified"
        assert run.results_json["meta"]["faults"] == ["dva.no_self_link"]


def test_an_unreachable_dva_is_a_harness_error_in_both_not_a_failure(tmp_path):
    with socket.socket() as s:  # a port nothing listens on: connection refused, at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chosen = subset()[:2]
    options = {"target": f"https://dva.down.test:{port}/fhir", "way": "preshared"}
    patients = {scenario_of(case).patient for case in chosen}
    tokens = ",".join(f"{p}=token-{i}" for i, p in enumerate(sorted(patients)))
    pytest_run, behave_run = run_both(
        tmp_path,
        chosen,
        options,
        VALIDATIESTRAAT_TARGET_RESOLVE="dva.down.test=127.0.0.1",
        VALIDATIESTRAAT_TOKENS=tokens,
    )
    verdicts = agreement(chosen, pytest_run, behave_run)
    assert set(verdicts.values()) == {Outcome.ERROR}
    for run in (pytest_run, behave_run):
        assert run.results_json["verdict"] == "incomplete"
        assert run.results_json["summary"]["fail"] == 0
