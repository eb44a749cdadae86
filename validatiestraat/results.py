"""The outcome model: what a check found, what a scenario variant came to, what the run comes to.

``fail`` means the system under test broke a rule. ``error`` means the harness or the environment broke
(refused connection, timeout, our own bug): reported apart and never counted as a failure of the SUT.
``skip`` means the check does not apply here; ``omit`` means it applies but this harness cannot decide it yet
(the reason says why). Neither ever counts as a pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    OMIT = "omit"
    SKIP = "skip"


#: when findings disagree, the one earlier in this list decides the check's outcome
_PRECEDENCE = (Outcome.FAIL, Outcome.ERROR, Outcome.OMIT, Outcome.PASS, Outcome.SKIP)


@dataclass(frozen=True)
class Finding:
    """One thing a check established, with the exchanges that show it."""

    outcome: Outcome
    message: str
    exchanges: tuple[str, ...] = ()


def passed(message: str, *exchanges: str) -> Finding:
    return Finding(Outcome.PASS, message, exchanges)


def failed(message: str, *exchanges: str) -> Finding:
    return Finding(Outcome.FAIL, message, exchanges)


def errored(message: str, *exchanges: str) -> Finding:
    return Finding(Outcome.ERROR, message, exchanges)


def skipped(message: str, *exchanges: str) -> Finding:
    return Finding(Outcome.SKIP, message, exchanges)


def omitted(message: str, *exchanges: str) -> Finding:
    return Finding(Outcome.OMIT, message, exchanges)


def combine(outcomes: Iterable[Outcome]) -> Outcome:
    """The outcome of a set of findings; no finding at all is an error (a check must always say something)."""
    seen = set(outcomes)
    if not seen:
        return Outcome.ERROR
    return next(o for o in _PRECEDENCE if o in seen)


@dataclass
class Result:
    """The verdict of one check on one scenario variant (a case)."""

    id: str  # "<case>::<check>"
    case: str  # "<scenario>[<variant>]" or "<scenario>"
    scenario: str
    variant: str | None
    check: str
    title: str
    outcome: Outcome
    requirements: tuple[str, ...]
    messages: list[str] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)
    duration: float = 0.0

    @classmethod
    def of(
        cls,
        case: str,
        scenario: str,
        variant: str | None,
        check: str,
        title: str,
        requirements: tuple[str, ...],
        findings: list[Finding],
        duration: float = 0.0,
    ) -> Result:
        outcome = combine(f.outcome for f in findings)
        # the messages that made the outcome come first; passes follow, for the evidence trail
        ordered = sorted(findings, key=lambda f: _PRECEDENCE.index(f.outcome))
        messages = [f"{f.outcome}: {f.message}" for f in ordered] or ["error: the check returned no finding"]
        exchanges = list(dict.fromkeys(x for f in ordered for x in f.exchanges))
        return cls(
            f"{case}::{check}",
            case,
            scenario,
            variant,
            check,
            title,
            outcome,
            requirements,
            messages,
            exchanges,
            duration,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case": self.case,
            "scenario": self.scenario,
            "variant": self.variant,
            "check": self.check,
            "title": self.title,
            "outcome": self.outcome.value,
            "requirements": list(self.requirements),
            "messages": self.messages,
            "exchanges": self.exchanges,
            "duration": round(self.duration, 6),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(
            data["id"],
            data["case"],
            data["scenario"],
            data.get("variant"),
            data["check"],
            data.get("title", ""),
            Outcome(data["outcome"]),
            tuple(data.get("requirements", ())),
            list(data.get("messages", [])),
            list(data.get("exchanges", [])),
            float(data.get("duration", 0.0)),
        )


class Verdict(StrEnum):
    CERTIFIED = "certified"
    NOT_CERTIFIED = "not certified"
    INCOMPLETE = "incomplete"  # no SUT failure, but the harness or environment failed somewhere

    @property
    def exit_code(self) -> int:
        return {Verdict.CERTIFIED: 0, Verdict.NOT_CERTIFIED: 3, Verdict.INCOMPLETE: 4}[self]


def verdict(results: Iterable[Result]) -> Verdict:
    """Any SUT failure: not certified. Else any error: incomplete. Else certified (nothing run is an error)."""
    outcomes = Counter(r.outcome for r in results)
    if outcomes[Outcome.FAIL]:
        return Verdict.NOT_CERTIFIED
    if outcomes[Outcome.ERROR] or not outcomes:
        return Verdict.INCOMPLETE
    return Verdict.CERTIFIED


def tally(results: Iterable[Result]) -> dict[str, int]:
    counts = Counter(r.outcome.value for r in results)
    return {o.value: counts.get(o.value, 0) for o in Outcome}
