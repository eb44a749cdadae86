"""``allure-results/``: the run in the Allure 2 results format, for ``allure generate`` / ``allure serve``.

One ``<uuid>-result.json`` per case (a scenario variant). Its status follows the case's checks: fail gives
``failed``, error gives ``broken`` (harness or environment), pass ``passed``, skip and omit ``skipped`` (with
the reason in ``statusDetails``); a case whose checks pass except some the harness cannot decide yet (omit) is
``passed``, the undecided checks named in its details. Each check is a step with its own status and messages.
Labels: ``parentSuite`` the role, ``suite`` the scenario kind, ``subSuite`` the scenario, ``feature`` the MP9
block or the probe, ``story`` the scenario id, ``tag`` the block and the scenario tags; the variant is a
parameter. The redacted exchanges of the case (and the exchanges its results cite) are attachments
(``<uuid>-attachment.json``); each step links the exchanges it cites. ``environment.properties``,
``executor.json`` and ``categories.json`` (SUT failures apart from harness errors) describe the run.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.reports.evidence import write_atomic, write_json
from validatiestraat.results import Outcome, Result

ALLURE = "allure-results"
STATUS = {
    Outcome.PASS: "passed",
    Outcome.FAIL: "failed",
    Outcome.ERROR: "broken",
    Outcome.OMIT: "skipped",
    Outcome.SKIP: "skipped",
}
_OURS = ("-result.json", "-attachment.json", "-container.json")


def _epoch_ms(iso: str) -> int:
    try:
        moment = datetime.fromisoformat(iso)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    except (TypeError, ValueError):
        return int(datetime.now(UTC).timestamp() * 1000)


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def case_outcome(results: list[Result]) -> Outcome:
    """The outcome of a case in Allure: failed or broken when a check says so; else passed when a check
    passed (checks the harness could not decide are named in the details, and show as skipped steps); else
    skipped."""
    seen = {r.outcome for r in results}
    return next((o for o in (Outcome.FAIL, Outcome.ERROR, Outcome.PASS, Outcome.OMIT) if o in seen), Outcome.SKIP)


def _details(results: list[Result], outcome: Outcome) -> dict[str, Any]:
    deciding = [f"{r.check}: {m}" for r in results if r.outcome is outcome for m in r.messages[:1]]
    return {"known": False, "muted": False, "flaky": False, "message": "\n".join(deciding)} if deciding else {}


def _attachment_name(x: Exchange) -> str:
    path = x.url.split("?", 1)[0]
    answer = str(x.status) if x.status is not None else (x.error or "no response").split(":", 1)[0]
    return f"{x.id} {x.step}: {x.method} {path} -> {answer}"


def write(
    out_dir: Path,
    run_id: str,
    started: str,
    results: list[Result],
    exchanges: list[Exchange],
    scenarios: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
    verdict: str = "",
) -> Path:
    """Write ``out_dir/allure-results/`` from (already redacted) results and exchanges."""
    folder = out_dir / ALLURE
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.iterdir():  # a report folder written again: drop our previous result files only
        if stale.is_file() and stale.name.endswith(_OURS):
            stale.unlink()
    scenarios = scenarios or {}
    meta = meta or {}
    role = str(meta.get("role") or "dva")
    by_case: dict[str, list[Exchange]] = {}
    for x in exchanges:
        by_case.setdefault(x.case, []).append(x)
    cases: dict[str, list[Result]] = {}
    for r in results:
        cases.setdefault(r.case, []).append(r)

    run_start = _epoch_ms(started)
    first_seen = min((x.started for x in exchanges), default=0.0)
    clock = run_start
    for case, rs in cases.items():
        head = rs[0]
        scenario = scenarios.get(head.scenario)
        # the case's exchanges plus the ones its results cite (token setup, say), in recording order
        cited = {x for r in rs for x in r.exchanges}
        own = {x.id for x in by_case.get(case, [])}
        evidence = [x for x in exchanges if x.id in own or x.id in cited]
        sources: dict[str, dict[str, str]] = {}
        for x in evidence:
            source = f"{uuid.uuid4()}-attachment.json"
            write_json(folder / source, x.to_json(), indent=None)
            sources[x.id] = {"name": _attachment_name(x), "source": source, "type": "application/json"}
        case_xs = by_case.get(case, [])
        if case_xs:
            start = run_start + int((min(x.started for x in case_xs) - first_seen) * 1000)
            stop = run_start + int((max(x.started + x.elapsed for x in case_xs) - first_seen) * 1000)
        else:
            start = clock
            stop = start
        stop = max(stop, start) + int(sum(r.duration for r in rs) * 1000)
        clock = stop
        steps = []
        step_clock = start
        for r in rs:
            step_stop = step_clock + int(r.duration * 1000)
            step: dict[str, Any] = {
                "name": f"{r.check}: {r.title}" if r.title else r.check,
                "status": STATUS[r.outcome],
                "stage": "finished",
                "statusDetails": {"message": "\n".join(r.messages)},
                "steps": [],
                "attachments": [sources[x] for x in r.exchanges if x in sources],
                "parameters": [{"name": "requirement", "value": q} for q in r.requirements],
                "start": step_clock,
                "stop": step_stop,
            }
            steps.append(step)
            step_clock = step_stop
        outcome = case_outcome(rs)
        labels = [
            {"name": "parentSuite", "value": role},
            {"name": "suite", "value": scenario.kind if scenario else "validatiestraat"},
            {"name": "subSuite", "value": head.scenario},
            {"name": "story", "value": head.scenario},
            {"name": "framework", "value": "validatiestraat"},
        ]
        if scenario is not None:
            feature = f"MP9 {scenario.block}" if scenario.block else (scenario.probe or scenario.kind)
            labels.append({"name": "feature", "value": feature})
            tags = ([scenario.block] if scenario.block else []) + list(scenario.tags)
            labels += [{"name": "tag", "value": t} for t in dict.fromkeys(tags)]
        parameters = [{"name": "variant", "value": head.variant}] if head.variant else []
        result_uuid = str(uuid.uuid4())
        doc = {
            "uuid": result_uuid,
            "historyId": _md5(f"{role}:{case}"),
            "testCaseId": _md5(f"{role}:{head.scenario}"),
            "fullName": f"{role}.{case}",
            "name": f"{case}: {scenario.title}" if scenario is not None and scenario.title else case,
            "description": _description(scenario, rs),
            "status": STATUS[outcome],
            "statusDetails": _details(rs, Outcome.OMIT if outcome is Outcome.PASS else outcome),
            "stage": "finished",
            "steps": steps,
            "attachments": [sources[x.id] for x in evidence],
            "parameters": parameters,
            "labels": labels,
            "links": [],
            "start": start,
            "stop": stop,
        }
        write_json(folder / f"{result_uuid}-result.json", doc, indent=None)
    _environment(folder, run_id, meta, verdict)
    return folder


def _description(scenario: Any, results: list[Result]) -> str:
    lines = []
    if scenario is not None:
        lines.append(scenario.title)
        if scenario.source:
            lines.append(f"source: {scenario.source}")
    reqs = list(dict.fromkeys(q for r in results for q in r.requirements))
    lines.append(f"requirements: {', '.join(reqs) or '-'}")
    return "\n".join(lines)


def _property(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")


def _environment(folder: Path, run_id: str, meta: Mapping[str, Any], verdict: str) -> None:
    entries = {"run_id": run_id, "verdict": verdict, **{str(k): v for k, v in meta.items()}}
    lines = [f"{k.replace(' ', '_').replace('=', '_').replace(':', '_')}={_property(v)}" for k, v in entries.items()]
    write_atomic(folder / "environment.properties", "\n".join(lines) + "\n")
    write_json(
        folder / "executor.json",
        {"name": "validatiestraat", "type": "validatiestraat", "buildName": run_id, "reportName": f"run {run_id}"},
    )
    write_json(
        folder / "categories.json",
        [
            {"name": "Failures of the system under test", "matchedStatuses": ["failed"]},
            {"name": "Harness or environment errors (not the SUT)", "matchedStatuses": ["broken"]},
        ],
    )
