"""``junit.xml``: the results in the JUnit XML shape CI servers read (the Ant/Jenkins ``junit-10`` schema shape).

One ``<testsuite>`` per scenario, one ``<testcase>`` per result: ``classname`` is the case
(``MA-0.1[json]``), ``name`` the check id. ``fail`` gives ``<failure>``, ``error`` gives ``<error>`` (the
harness or the environment, not the SUT), ``skip`` and ``omit`` give ``<skipped message=...>``. The
messages, the requirement ids and the exchange ids go in ``<system-out>``. Requirement ids are also listed as
``<property name="requirement">`` of the suite: the schema allows properties on suites only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from lxml import etree

from validatiestraat.results import Outcome, Result

#: characters XML 1.0 cannot carry; SUT answers may contain them
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_MESSAGE_MAX = 500


def clean(text: Any) -> str:
    return _NOT_XML.sub("\ufffd", str(text))


def _short(text: str) -> str:
    first = clean(text).splitlines()[0] if text else ""
    return first if len(first) <= _MESSAGE_MAX else first[: _MESSAGE_MAX - 1] + "…"


def junit_timestamp(iso: str) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS`` (no zone: the schema's pattern), from an ISO date-time; None when unparsable."""
    try:
        return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return None


def _count(results: list[Result]) -> dict[str, int]:
    return {
        "tests": len(results),
        "failures": sum(r.outcome is Outcome.FAIL for r in results),
        "errors": sum(r.outcome is Outcome.ERROR for r in results),
        "skipped": sum(r.outcome in (Outcome.SKIP, Outcome.OMIT) for r in results),
    }


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.6f}"


def build(
    run_id: str,
    started: str,
    duration: float,
    results: list[Result],
    scenarios: Mapping[str, Any] | None = None,
) -> bytes:
    """The JUnit XML document for ``results`` (already redacted). ``scenarios`` maps scenario ids to
    :class:`Scenario` objects, for titles and kinds (optional)."""
    scenarios = scenarios or {}
    by_scenario: dict[str, list[Result]] = {}
    for r in results:
        by_scenario.setdefault(r.scenario, []).append(r)
    total = _count(results)
    root = etree.Element(
        "testsuites",
        name=clean(f"validatiestraat {run_id}"),
        tests=str(total["tests"]),
        failures=str(total["failures"]),
        errors=str(total["errors"]),
        time=_seconds(duration),
    )
    stamp = junit_timestamp(started)
    for index, (scenario_id, rs) in enumerate(by_scenario.items()):
        counts = _count(rs)
        attrs = {
            "name": clean(scenario_id),
            "tests": str(counts["tests"]),
            "failures": str(counts["failures"]),
            "errors": str(counts["errors"]),
            "skipped": str(counts["skipped"]),
            "time": _seconds(sum(r.duration for r in rs)),
            "id": str(index),
            "package": "validatiestraat",
        }
        if stamp:
            attrs["timestamp"] = stamp
        suite = etree.SubElement(root, "testsuite", attrs)
        properties: list[tuple[str, str]] = []
        scenario = scenarios.get(scenario_id)
        if scenario is not None:
            properties += [("scenario.title", scenario.title), ("scenario.kind", scenario.kind)]
            properties += [("scenario.block", scenario.block)] if scenario.block else []
            properties += [("scenario.source", scenario.source)] if scenario.source else []
        properties += [("requirement", req) for req in dict.fromkeys(q for r in rs for q in r.requirements)]
        if properties:
            props = etree.SubElement(suite, "properties")
            for name, value in properties:
                etree.SubElement(props, "property", name=clean(name), value=clean(value))
        for r in rs:
            case = etree.SubElement(
                suite, "testcase", name=clean(r.check), classname=clean(r.case), time=_seconds(r.duration)
            )
            body = clean("\n".join(r.messages))
            first = _short(r.messages[0] if r.messages else "")
            if r.outcome is Outcome.FAIL:
                etree.SubElement(case, "failure", message=first, type="fail").text = body
            elif r.outcome is Outcome.ERROR:
                etree.SubElement(case, "error", message=first, type="harness-or-environment").text = body
            elif r.outcome in (Outcome.SKIP, Outcome.OMIT):
                etree.SubElement(case, "skipped", message=first)
            out = [
                f"{r.title}",
                f"outcome: {r.outcome}",
                f"requirements: {', '.join(r.requirements) or '-'}",
                f"exchanges: {', '.join(r.exchanges) or '-'}",
                *r.messages,
            ]
            etree.SubElement(case, "system-out").text = clean("\n".join(out))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
