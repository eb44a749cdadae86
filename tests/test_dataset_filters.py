"""The dataset's filter table (fixtures/mp9/filters.json, worked out by hand) against the reference DVA's search,
for two different dates T (the search code the DVA serves with, called in process)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from mock_providers.his.dataset import load_builtin
from validatiestraat.fhir.search import search
from validatiestraat.fhir.tdates import expand

FILTERS = json.loads((Path(__file__).resolve().parents[1] / "fixtures/mp9/filters.json").read_text())
QUERIES = FILTERS["queries"]


def test_the_filter_table_has_every_date_prefix_and_both_outcomes() -> None:
    """(That every filter parameter occurs is checked in test_dataset.py.)"""
    prefixes = {value[:2] for q in QUERIES for name, value in q["params"] if name == "period-of-use"}
    assert {"ge", "gt", "lt", "le"} <= prefixes
    assert any(not q["expected"] for q in QUERIES) and any(q["expected"] for q in QUERIES)


@pytest.mark.parametrize("t", [date(2026, 3, 1), date(2025, 10, 27)], ids=str)
def test_every_filter_query_returns_exactly_the_expected_resources(t: date) -> None:
    store = load_builtin(t)
    wrong = []
    for q in QUERIES:
        params = [(name, expand(value, t)) for name, value in q["params"]]
        bundle = search(store, q["resourceType"], params, FILTERS["patient"], "https://dva.straat.test/fhir")
        got = sorted(e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match")
        if got != sorted(q["expected"]):
            wrong.append(f"{q['resourceType']}?{expand(q['query'], t)}: got {got}, expected {sorted(q['expected'])}")
    assert not wrong, "\n".join(wrong)
