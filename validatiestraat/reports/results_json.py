"""``results.json``: the machine-readable verdict of a run.

Top level: ``run_id``, ``started``, ``duration``, ``verdict`` (certified, not certified, incomplete),
``exit_code``, ``summary`` (results per outcome), ``meta``, ``requirements`` and ``results``. Each requirement
of the catalogue (and any requirement a result cites that the catalogue lacks, with ``known: false``) comes
with its source and paraphrase, the checks that verify it, and its outcome over the results citing it (the
same precedence as within a check: fail, error, omit, pass, skip; ``null`` when no result of this run cites
it). ``results`` are :meth:`Result.to_json`, messages redacted. The exchange ids they cite are the ids of
``evidence/exchanges.jsonl``.
"""

from __future__ import annotations

from typing import Any

from validatiestraat.engine import RunOutcome
from validatiestraat.results import Result, Verdict, combine, tally

FORMAT = "validatiestraat.results/1"


def verdict_of(outcome: RunOutcome) -> Verdict:
    """The verdict; a run the CLI marked with a harness error is never certified."""
    found = outcome.verdict
    if found is Verdict.CERTIFIED and outcome.meta.get("harness_error"):
        return Verdict.INCOMPLETE
    return found


def requirement_table(results: list[Result]) -> tuple[dict[str, Any], str | None]:
    """Per requirement id: source, text, verifying checks, outcome over the citing results; and the error of
    reading the catalogue, if any (the table then holds only what the results cite)."""
    problem = None
    try:
        from validatiestraat.requirements import catalogue

        known = catalogue()
    except Exception as exc:  # a broken catalogue must not cost the report
        known = {}
        problem = f"requirement catalogue unreadable: {type(exc).__name__}: {exc}"
    citing: dict[str, list[Result]] = {}
    for r in results:
        for req in r.requirements:
            citing.setdefault(req, []).append(r)
    table: dict[str, Any] = {}
    for rid in sorted(set(known) | set(citing)):
        entry = known.get(rid)
        rs = citing.get(rid, [])
        table[rid] = {
            "known": entry is not None,
            "source": entry.source if entry else None,
            "text": entry.text if entry else None,
            "checks": list(entry.checks) if entry else sorted({r.check for r in rs}),
            "outcome": combine(r.outcome for r in rs).value if rs else None,
            "summary": tally(rs),
            "results": [r.id for r in rs],
        }
    return table, problem


def build(outcome: RunOutcome, results: list[Result], meta: dict[str, Any]) -> dict[str, Any]:
    """The ``results.json`` document; ``results`` and ``meta`` already redacted."""
    found = verdict_of(outcome)
    requirements, problem = requirement_table(results)
    doc: dict[str, Any] = {
        "format": FORMAT,
        "run_id": outcome.run_id,
        "started": outcome.started,
        "duration": round(outcome.duration, 3),
        "verdict": found.value,
        "exit_code": found.exit_code,
        "summary": tally(results),
        "meta": meta,
        "requirements": requirements,
        "results": [r.to_json() for r in results],
    }
    if problem:
        doc["problems"] = [problem]
    return doc
