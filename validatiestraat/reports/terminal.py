"""The human summary of a run on the terminal: a table per scenario group, what failed and why, the verdict."""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console
from rich.table import Table

from validatiestraat.results import Outcome, Result, Verdict, verdict

_STYLE = {
    Outcome.PASS: "green",
    Outcome.FAIL: "red",
    Outcome.ERROR: "magenta",
    Outcome.OMIT: "yellow",
    Outcome.SKIP: "dim",
}
_VERDICT_STYLE = {
    Verdict.CERTIFIED: "bold green",
    Verdict.NOT_CERTIFIED: "bold red",
    Verdict.INCOMPLETE: "bold magenta",
}


def group_of(result: Result) -> str:
    """MP9 scenarios group by block (``MA-0.4`` → ``MA``), probes by their family (``OAUTH-code-reuse`` → ``OAUTH``)."""
    return result.scenario.split("-", 1)[0]


def case_outcome(results: list[Result]) -> Outcome:
    """A case passes when no check failed or errored and at least one passed; its omitted checks are listed
    apart (they never count as a pass)."""
    outcomes = {r.outcome for r in results}
    for o in (Outcome.FAIL, Outcome.ERROR, Outcome.PASS, Outcome.OMIT, Outcome.SKIP):
        if o in outcomes:
            return o
    return Outcome.ERROR


def summary(console: Console, results: list[Result], *, limit: int = 25) -> None:
    by_case: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_case[r.case].append(r)
    groups: dict[str, Counter[Outcome]] = defaultdict(Counter)
    checks: dict[str, Counter[Outcome]] = defaultdict(Counter)
    for case_results in by_case.values():
        groups[group_of(case_results[0])][case_outcome(case_results)] += 1
        for r in case_results:
            checks[group_of(r)][r.outcome] += 1

    table = Table(title="Cases per group (checks in brackets)")
    table.add_column("group")
    for o in Outcome:
        table.add_column(o.value, justify="right", style=_STYLE[o])
    for group in sorted(groups):
        table.add_row(group, *(f"{groups[group][o]} ({checks[group][o]})" for o in Outcome))
    console.print(table)

    for outcome, label in (
        (Outcome.FAIL, "Failed (the system under test broke a rule)"),
        (Outcome.ERROR, "Errors (harness or environment; not counted against the SUT)"),
    ):
        bad = [r for r in results if r.outcome is outcome]
        if not bad:
            continue
        console.print(f"[{_STYLE[outcome]}]{label}: {len(bad)}")
        for r in bad[:limit]:
            message = r.messages[0] if r.messages else ""
            console.print(f"  {r.case} · {r.check} · {', '.join(r.requirements)}\n    {message}", highlight=False)
        if len(bad) > limit:
            console.print(f"  … and {len(bad) - limit} more (see results.json)")
    omitted = Counter(r.check for r in results if r.outcome is Outcome.OMIT)
    for check_id, n in sorted(omitted.items()):
        reason = next(r.messages[0] for r in results if r.check == check_id and r.outcome is Outcome.OMIT)
        short = reason if len(reason) <= 200 else reason[:197] + "…"
        console.print(f"[yellow]omitted {n}×: {check_id}: {short}", highlight=False)


def verdict_line(results: list[Result]) -> str:
    v = verdict(results)
    return f"[{_VERDICT_STYLE[v]}]Verdict: {v.value.upper()}[/] (exit {v.exit_code})"
