"""Everything a run writes to ``reports/<run-id>/``, redacted.

    write_reports(out_dir, outcome, exchanges, secrets) -> out_dir

- ``results.json``: verdict, exit code, summary, requirements with their outcome, every result;
- ``junit.xml``: one suite per scenario, one test case per check result;
- ``allure-results/``: one Allure result per case, the checks as steps, the exchanges as attachments;
- ``evidence/exchanges.jsonl``: every recorded exchange; ``evidence/manifest.json``: the SHA-256 of every
  other file, written last (:func:`validatiestraat.reports.evidence.verify` checks it).

Nothing leaves unredacted: one :class:`~validatiestraat.evidence.redact.Redactor` learns the secrets of the
whole run first (the ones given, and the ones their positions reveal) and the same marks are used in every
file. :func:`validatiestraat.reports.scan.scan` checks the result afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from validatiestraat.engine import RunOutcome
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.redact import Redactor
from validatiestraat.reports import allure, junit, results_json
from validatiestraat.reports.evidence import write_atomic, write_exchanges, write_json, write_manifest
from validatiestraat.results import Result

__all__ = ["ReportError", "redacted_run", "write_reports"]


def _scenarios() -> Mapping[str, Any]:
    try:
        from validatiestraat.scenarios import by_id

        return by_id()
    except Exception:  # scenario files are data: a broken one must not cost the report
        return {}


def redacted_run(
    outcome: RunOutcome, exchanges: Iterable[Exchange], redactor: Redactor
) -> tuple[list[Result], list[Exchange], dict[str, Any]]:
    """The results, exchanges and meta of a run, redacted with one redactor (it learns from all first)."""
    exchanges = list(exchanges)
    for r in outcome.results:
        for message in r.messages:
            redactor.learn_text(message)
    redactor.learn(exchanges)
    xs = [redactor.exchange(x) for x in exchanges]
    results = [
        replace(
            r,
            id=redactor.text(r.id) or "",
            case=redactor.text(r.case) or "",
            messages=[redactor.text(m) or "" for m in r.messages],
        )
        for r in outcome.results
    ]
    meta = redactor.obj(dict(outcome.meta))
    return results, xs, meta


class ReportError(Exception):
    """Some part of the report could not be written; the other parts and the manifest were."""

    def __init__(self, out_dir: Path, problems: list[str]) -> None:
        super().__init__(f"report {out_dir} incomplete: " + "; ".join(problems))
        self.out_dir = out_dir
        self.problems = problems


def write_reports(
    out_dir: Path,
    outcome: RunOutcome,
    exchanges: list[Exchange],
    secrets: set[str],
    scenarios: Mapping[str, Any] | None = None,
) -> Path:
    """Write the report of ``outcome`` into ``out_dir`` (``reports/<run-id>/``) and return it. ``secrets`` are
    the values known to be secret (tokens, BSNs); the redactor finds the rest by position. ``scenarios``
    (id → Scenario) give titles and labels; by default the scenario files are read.

    Each file is written whole or not at all (temporary file, then rename); ``results.json`` and the evidence
    come first, the manifest last. A part that fails does not stop the others: :class:`ReportError` lists
    what failed, after everything else and the manifest were written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scenarios = _scenarios() if scenarios is None else scenarios
    redactor = Redactor(secrets)
    results, xs, meta = redacted_run(outcome, exchanges, redactor)
    doc = results_json.build(outcome, results, meta)

    def write_junit() -> None:
        xml = junit.build(outcome.run_id, outcome.started, outcome.duration, results, scenarios)
        write_atomic(out_dir / "junit.xml", xml)

    def write_allure() -> None:
        allure.write(out_dir, outcome.run_id, outcome.started, results, xs, scenarios, meta, doc["verdict"])

    parts: list[tuple[str, Callable[[], object]]] = [
        ("results.json", lambda: write_json(out_dir / "results.json", doc)),
        ("evidence", lambda: write_exchanges(out_dir, xs)),
        ("junit.xml", write_junit),
        ("allure-results", write_allure),
    ]
    problems = []
    for name, part in parts:
        try:
            part()
        except Exception as exc:  # the rest of the report is still worth having
            problems.append(redactor.text(f"{name}: {type(exc).__name__}: {exc}") or name)
    write_manifest(out_dir, outcome.run_id)
    if problems:
        raise ReportError(out_dir, problems)
    return out_dir
