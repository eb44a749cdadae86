"""The 95 MP9 serving scenarios (fixtures/scenarios/dva/10-mp9.json): their shape per building block, their
expectations worked out again without the search engine, and every one of them passing against the reference
straat in JSON and XML."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import Straat
from validatiestraat import engine, requirements, scenarios
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, block_of
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario
from validatiestraat.session import DvaSession

REPO = Path(__file__).resolve().parents[1]
T = date(2026, 11, 23)
FILTERS = json.loads((REPO / "fixtures/mp9/filters.json").read_text("utf-8"))
MP9 = [s for s in scenarios.load() if s.kind == "mp9-search"]
# (filter scenarios, patient scenarios) per block in the Nictiz MP9 3.0 MedMij serving qualification
PER_BLOCK = {"MA": (7, 10), "VV": (4, 8), "WDS": (7, 3), "MGB": (7, 6), "TA": (7, 8), "MVE": (7, 8), "MTD": (7, 6)}
# the date parameter of the 0.4-0.6 filter scenarios, and the prefixes of 0.4, 0.5, 0.6
DATE_PARAM = {"MVE": "whenhandedover", "MTD": "effective-time"}
MINE = {
    "search.status",
    "search.searchset",
    "search.counts",
    "search.expected-resources",
    "search.patient-isolation",
    "search.includes",
    "content.unaltered",
}
MY_REQUIREMENTS = {
    "nictiz.mp9.status",
    "nictiz.mp9.bundle-searchset",
    "nictiz.mp9.counts",
    "validatiestraat.mp9.expected-resources",
    "validatiestraat.mp9.patient-isolation",
    "validatiestraat.mp9.includes",
    "validatiestraat.mp9.content-unaltered",
}


@pytest.fixture(scope="module")
def store():
    return load_builtin(T)


def is_filter(s: Scenario) -> bool:
    return re.fullmatch(r"[A-Z]+-0\.\d", s.id) is not None


# --------------------------------------------------------------------------- shape


def test_95_scenarios_with_the_qualifications_numbers_per_block() -> None:
    assert len(MP9) == 95
    got = {
        b: (sum(is_filter(s) for s in MP9 if s.block == b), sum(not is_filter(s) for s in MP9 if s.block == b))
        for b in PER_BLOCK
    }
    assert got == PER_BLOCK


def test_ids_are_unique_and_numbered_per_block() -> None:
    ids = [s.id for s in MP9]
    assert len(set(ids)) == len(ids)
    for block, (filters, patients) in PER_BLOCK.items():
        mine = [s.id for s in MP9 if s.block == block]
        assert mine == [f"{block}-0.{i}" for i in range(1, filters + 1)] + [
            f"{block}-{i}" for i in range(1, patients + 1)
        ]


def test_every_scenario_is_an_exact_json_and_xml_search_with_a_source(store) -> None:
    for s in MP9:
        assert s.variants == ("json", "xml") and s.expect.match == "exact", s.id
        assert s.block in BLOCKS_BY_CODE and store.patient(s.patient) is not None, s.id
        assert s.source.startswith(f"Nictiz MP9 3.0 MedMij serving {s.block} "), s.id
        assert s.title and s.expect.medication is not None, s.id


def test_filter_scenarios_have_the_qualifications_filter_shapes() -> None:
    for s in MP9:
        if not is_filter(s):
            continue
        assert s.patient == FILTERS["patient"], s.id
        names = [k for k, _ in s.filters]
        prefixes = [v[:2] for _, v in s.filters]
        n = s.id.split("-")[1]
        date_param = DATE_PARAM.get(s.block or "", "period-of-use")
        if s.block == "VV":
            wanted = {
                "0.1": [],
                "0.2": ["identifier"],
                "0.3": ["medication.code"],
                "0.4": ["pharmaceutical-treatment-identifier"],
            }
            assert names == wanted[n], s.id
            continue
        wanted = {
            "0.1": [],
            "0.2": ["identifier"],
            "0.3": ["medication.code"],
            "0.4": [date_param],
            "0.5": [date_param],
            "0.6": [date_param, date_param],
            "0.7": ["pharmaceutical-treatment-identifier"],
        }
        assert names == wanted[n], s.id
        if n == "0.4":
            assert prefixes == ["ge"], s.id
        if n == "0.5":
            assert prefixes == (["le"] if s.block in DATE_PARAM else ["lt"]), s.id
        if n == "0.6":
            assert prefixes == ["ge", "le"], s.id


def test_patient_scenarios_cover_the_blocks_patients_and_the_empty_patient(store) -> None:
    for block, (_, count) in PER_BLOCK.items():
        patients = [s.patient for s in MP9 if s.block == block and not is_filter(s)]
        assert len(set(patients)) == count, block
        assert "vs-patient-peeters" in patients, block
        holders = {store.patient_of(r) for r in store.all() if (b := block_of(r)) and b.code == block}
        assert holders - {FILTERS["patient"]} <= set(patients), block
        assert any(not s.expect.focal for s in MP9 if s.block == block and not is_filter(s)), block
    ma = {s.patient for s in MP9 if s.block == "MA" and not is_filter(s)}
    assert ma == {p.id for p in store.patients}  # MA has a patient scenario for every patient


# --------------------------------------------------------------------------- expectations, again


def test_filter_expectations_are_filters_json_and_patient_expectations_the_dataset_structure(store) -> None:
    """Worked out again here: filter scenarios from filters.json, patient scenarios from the Store (block by
    type and category, patient by subject), the Medication count from the Store's references."""
    for s in MP9:
        block = BLOCKS_BY_CODE[s.block or ""]
        if is_filter(s):
            params = [["category", block.category_token], *[[k, v] for k, v in s.filters]]
            (query,) = [q for q in FILTERS["queries"] if q["block"] == s.block and q["params"] == params]
            focal = sorted(query["expected"])
        else:
            focal = sorted(r["id"] for r in store.resources_of(s.patient, block.resource_type) if block_of(r) is block)
        assert sorted(s.expect.focal) == focal, s.id
        meds = {
            store.resolve(store.get(block.resource_type, i)["medicationReference"]["reference"])["id"] for i in focal
        }
        assert s.expect.medication == len(meds), s.id


def test_the_scenario_file_is_what_the_generator_makes() -> None:
    spec = importlib.util.spec_from_file_location("make_mp9_scenarios", REPO / "scripts/make_mp9_scenarios.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build() == (REPO / "fixtures/scenarios/dva/10-mp9.json").read_text("utf-8"), (
        "fixtures/scenarios/dva/10-mp9.json was edited by hand: run scripts/make_mp9_scenarios.py"
    )


def test_the_requirements_of_these_checks_are_in_the_catalogue() -> None:
    catalogue = requirements.catalogue()
    assert set(catalogue) >= MY_REQUIREMENTS
    for rid in MY_REQUIREMENTS:
        assert catalogue[rid].checks and catalogue[rid].source and catalogue[rid].text, rid
        assert set(catalogue[rid].checks) <= MINE, rid
    assert not [p for p in requirements.problems() if any(r in p for r in MY_REQUIREMENTS | MINE)]


# --------------------------------------------------------------------------- against the reference straat


@pytest.fixture(scope="module")
def results(store) -> list[Result]:
    recorder = Recorder()
    with Straat(store, recorder=recorder) as straat:
        session = DvaSession(straat, recorder, store, t=T.isoformat())
        # only the checks of this module set: other checks have their own tests
        outcome = engine.run(session, [replace(s, checks=tuple(sorted(MINE))) for s in MP9])
    return outcome.results


def test_every_scenario_passes_against_the_reference_straat_in_json_and_xml(results: list[Result]) -> None:
    by_id = {s.id: s for s in MP9}
    assert Counter((r.scenario, r.variant) for r in results) == {
        (s.id, v): len(MINE) for s in MP9 for v in ("json", "xml")
    }
    bad = [
        f"{r.id}: {r.outcome} {r.messages[:1]}"
        for r in results
        if r.outcome is not Outcome.PASS
        # an empty answer has nothing whose content could be altered
        and not (r.check == "content.unaltered" and r.outcome is Outcome.SKIP and not by_id[r.scenario].expect.focal)
    ]
    assert not bad, "\n".join(bad)
