"""Scenarios, defined once as data (``fixtures/scenarios/<role>/*.json``) and run by every front-end.

A scenario is what the harness does to the system under test (an MP9 search for one patient with some
filters, or a protocol probe such as presenting a code twice) and what it expects. Each scenario runs once
per variant (``json`` and ``xml`` for the MP9 searches); a scenario variant is a *case*, id
``<scenario>[<variant>]``. Which checks judge a case follows from its kind, or from the scenario's own list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROLES = ("dva",)
#: the data folder, beside the package in a clone and in site-packages alike
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True)
class Expect:
    """What an MP9 search must return: the focal resources (dataset ids, ``exact`` or ``at-least``) and the
    number of distinct Medication resources that come along."""

    focal: tuple[str, ...] = ()
    match: str = "exact"
    medication: int | None = None


@dataclass(frozen=True)
class Scenario:
    id: str
    kind: str  # "mp9-search" or "probe"
    title: str
    variants: tuple[str | None, ...] = (None,)
    block: str | None = None  # MP9 block code (MA, VV, ...)
    patient: str | None = None  # dataset Patient id whose token is used
    filters: tuple[tuple[str, str], ...] = ()  # extra search parameters (date placeholders allowed)
    expect: Expect = field(default_factory=Expect)
    probe: str | None = None  # probe name, for kind "probe"
    checks: tuple[str, ...] = ()  # explicit check ids; empty = every check registered for the kind
    source: str = ""  # where the scenario comes from (e.g. the Nictiz scenario number it mirrors)
    tags: tuple[str, ...] = ()

    def case_id(self, variant: str | None) -> str:
        return f"{self.id}[{variant}]" if variant else self.id

    @property
    def cases(self) -> list[tuple[str, str | None]]:
        return [(self.case_id(v), v) for v in self.variants]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scenario:
        expect = data.get("expect") or {}
        return cls(
            id=data["id"],
            kind=data["kind"],
            title=data.get("title", data["id"]),
            variants=tuple(data.get("variants") or (None,)),
            block=data.get("block"),
            patient=data.get("patient"),
            filters=tuple((str(k), str(v)) for k, v in data.get("filters", [])),
            expect=Expect(tuple(expect.get("focal", ())), expect.get("match", "exact"), expect.get("medication")),
            probe=data.get("probe"),
            checks=tuple(data.get("checks", ())),
            source=data.get("source", ""),
            tags=tuple(data.get("tags", ())),
        )


@cache
def load(role: str = "dva") -> tuple[Scenario, ...]:
    """Every scenario of ``role``, from the JSON files under ``fixtures/scenarios/<role>/``, in file order."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    found: list[Scenario] = []
    for item in sorted((FIXTURES / "scenarios" / role).glob("*.json")):
        found += [Scenario.from_json(s) for s in json.loads(item.read_text("utf-8"))["scenarios"]]
    ids = [s.id for s in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate scenario ids: {duplicates}")
    return tuple(found)


def by_id(role: str = "dva") -> dict[str, Scenario]:
    return {s.id: s for s in load(role)}


def select(scenarios: tuple[Scenario, ...], patterns: list[str] | None) -> list[Scenario]:
    """Scenarios whose id starts with one of ``patterns`` or carries one as a tag (all when none given)."""
    if not patterns:
        return list(scenarios)
    return [s for s in scenarios if any(s.id.startswith(p) or p in s.tags for p in patterns)]
