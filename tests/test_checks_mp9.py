"""The MP9 search checks on hand-built answers: each passes the reference DVA's answer and fails the breakage it
is there for (a dropped or extra resource, another patient's data, a missing _include or :iterate secondary, a
period-of-use filter without the derived end, an altered dose), also when the DVA gave the dataset ids of its own.

The answers are made with the reference search in process (no HTTP) and then broken by hand.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from mock_providers.his.dataset import load_builtin
from validatiestraat import scenarios
from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import REGISTRY, evaluate
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.formats import media_type, to_json, to_xml
from validatiestraat.fhir.search import search
from validatiestraat.fhir.searchparams import EXT_DURATION
from validatiestraat.fhir.store import Store
from validatiestraat.fhir.tdates import expand
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario

T = date(2026, 11, 23)
BASE = "https://dva.straat.test/fhir"
MINE = (
    "search.status",
    "search.searchset",
    "search.counts",
    "search.expected-resources",
    "search.patient-isolation",
    "search.includes",
    "content.unaltered",
)
STORE = load_builtin(T)
SCENARIOS = scenarios.by_id()
BSNS = [p.bsn for p in STORE.patients]


# --------------------------------------------------------------------------- helpers


def answer(scenario: Scenario, store: Store = STORE, patient: str | None = None) -> dict[str, Any]:
    """What the reference DVA answers for the scenario, as a deep copy that a test may break."""
    block = BLOCKS_BY_CODE[scenario.block or ""]
    params = block.query(*[(k, expand(v, T)) for k, v in scenario.filters])
    return copy.deepcopy(search(store, block.resource_type, params, patient or scenario.patient or "", BASE))


def exchange(body: dict[str, Any] | bytes, status: int = 200, fmt: str = "json") -> Exchange:
    raw = body if isinstance(body, bytes) else to_xml(body) if fmt == "xml" else to_json(body)
    return Exchange(
        id="x1",
        case="test",
        step="search",
        sender="harness",
        receiver="dva",
        method="GET",
        url=f"{BASE}/MedicationRequest?category=x",
        request_headers=[],
        request_body=b"",
        status=status,
        response_headers=[("Content-Type", media_type(fmt))],  # type: ignore[arg-type]
        response_body=raw,
    )


def judge(check_id: str, scenario: Scenario, x: Exchange) -> Result:
    ctx = CheckContext(scenario, "json", [x], STORE)
    result = evaluate(REGISTRY[check_id], ctx)
    assert result.messages, "a check always says something"
    for bsn in BSNS:
        assert all(bsn not in m for m in result.messages), f"a BSN in the message of {check_id}"
    return result


def outcomes(scenario: Scenario, body: dict[str, Any] | bytes, **kw: Any) -> dict[str, Outcome]:
    x = exchange(body, **kw)
    return {c: judge(c, scenario, x).outcome for c in MINE}


def entries(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def drop(bundle: dict[str, Any], resource_type: str, rid: str | None = None) -> str:
    """Remove one entry (the first of the type, or the given id); returns the id removed."""
    victim = next(e for e in entries(bundle, resource_type) if rid is None or e["resource"]["id"] == rid)
    bundle["entry"].remove(victim)
    return victim["resource"]["id"]


def vendor_ids(bundle: dict[str, Any]) -> dict[str, str]:
    """Give every resource an id of the 'vendor' and rewrite fullUrls and references to match."""
    new = {f"{e['resource']['resourceType']}/{e['resource']['id']}": f"v{i:04d}" for i, e in enumerate(bundle["entry"])}

    def rewrite(value: Any) -> None:
        if isinstance(value, dict):
            ref = value.get("reference")
            if isinstance(ref, str) and ref in new:
                value["reference"] = f"{ref.split('/')[0]}/{new[ref]}"
            for v in value.values():
                rewrite(v)
        elif isinstance(value, list):
            for v in value:
                rewrite(v)

    for e in bundle["entry"]:
        r = e["resource"]
        old = f"{r['resourceType']}/{r['id']}"
        r["id"] = new[old]
        e["fullUrl"] = f"https://vendor.example/fhir/{r['resourceType']}/{new[old]}"
        rewrite(r)
    return new


def message(result: Result) -> str:
    return " ".join(result.messages)


# --------------------------------------------------------------------------- the reference passes


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("sid", ["MA-0.1", "MA-0.4", "VV-0.1", "WDS-2", "TA-0.5", "MVE-4", "MGB-4", "MTD-0.6"])
def test_the_reference_answer_passes_every_check(sid: str, fmt: str) -> None:
    scenario = SCENARIOS[sid]
    assert set(outcomes(scenario, answer(scenario), fmt=fmt).values()) == {Outcome.PASS}


def test_an_empty_answer_for_a_patient_without_data_passes_and_content_has_nothing_to_compare() -> None:
    scenario = SCENARIOS["MA-8"]
    assert scenario.patient == "vs-patient-peeters"
    got = outcomes(scenario, answer(scenario))
    assert got.pop("content.unaltered") is Outcome.SKIP
    assert set(got.values()) == {Outcome.PASS}


def test_an_answer_with_vendor_ids_is_matched_by_identifier_and_reference_and_passes() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    vendor_ids(bundle)
    assert set(outcomes(scenario, bundle).values()) == {Outcome.PASS}
    assert set(outcomes(scenario, bundle, fmt="xml").values()) == {Outcome.PASS}


def test_server_metadata_narrative_and_added_elements_do_not_count_as_altered() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    for e in bundle["entry"]:
        r = e["resource"]
        r.setdefault("meta", {}).update({"versionId": "7", "lastUpdated": "2026-11-23T10:00:00Z", "source": "#a"})
        r["text"] = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'}
        r.setdefault("extension", []).append({"url": "http://vendor.example/ext", "valueString": "added"})
    assert judge("content.unaltered", scenario, exchange(bundle)).outcome is Outcome.PASS


def test_numbers_compare_by_value_and_date_times_by_instant() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    ma = entries(bundle, "MedicationRequest")[0]["resource"]
    dose = ma["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    dose["value"] = float(dose["value"])  # 1 -> 1.0
    registered = next(x for x in ma["extension"] if x["url"].endswith("ext-RegistrationDateTime"))
    assert registered["valueDateTime"].endswith("+01:00")
    hour = int(registered["valueDateTime"][11:13])
    registered["valueDateTime"] = (
        registered["valueDateTime"][:11] + f"{hour - 1:02d}" + registered["valueDateTime"][13:19] + "Z"
    )
    assert judge("content.unaltered", scenario, exchange(bundle)).outcome is Outcome.PASS


# --------------------------------------------------------------------------- status and Bundle


def test_status_other_than_200_or_201_fails_and_the_content_checks_skip() -> None:
    scenario = SCENARIOS["MA-0.1"]
    oo = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    got = outcomes(scenario, oo, status=500)
    assert got["search.status"] is Outcome.FAIL
    assert got["search.searchset"] is Outcome.FAIL  # an OperationOutcome is not a Bundle
    assert {got[c] for c in MINE[2:]} == {Outcome.SKIP}
    assert outcomes(scenario, answer(scenario), status=201)["search.status"] is Outcome.PASS


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_body_that_does_not_parse_fails_searchset_and_is_not_an_error(fmt: str) -> None:
    scenario = SCENARIOS["MA-0.1"]
    got = outcomes(
        scenario, b"<Bundle xmlns='http://hl7.org/fhir'><type value='searchset'>" if fmt == "xml" else b"{", fmt=fmt
    )
    assert got["search.searchset"] is Outcome.FAIL
    assert Outcome.ERROR not in got.values()


def test_a_bundle_of_another_type_fails_searchset_only() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    bundle["type"] = "collection"
    got = outcomes(scenario, bundle)
    assert got.pop("search.searchset") is Outcome.FAIL
    assert set(got.values()) == {Outcome.PASS}


# --------------------------------------------------------------------------- counts and expected resources


def test_a_dropped_focal_resource_fails_counts_and_expected_resources_naming_it() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    gone = drop(bundle, "MedicationRequest", "vs-ma-verhoeven-omeprazol")
    x = exchange(bundle)
    assert judge("search.counts", scenario, x).outcome is Outcome.FAIL
    result = judge("search.expected-resources", scenario, x)
    assert result.outcome is Outcome.FAIL and f"MedicationRequest/{gone}" in message(result)
    assert "missing" in message(result)


def test_a_dropped_resource_is_found_with_vendor_ids_too() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    drop(bundle, "MedicationRequest", "vs-ma-verhoeven-omeprazol")
    vendor_ids(bundle)
    result = judge("search.expected-resources", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "MedicationRequest/vs-ma-verhoeven-omeprazol" in message(result)


def test_an_extra_resource_of_the_patient_fails_expected_resources_naming_it() -> None:
    scenario = SCENARIOS["MA-0.2"]  # identifier filter: only the current metformine agreement
    bundle = answer(scenario)
    other = copy.deepcopy(STORE.get("MedicationRequest", "vs-ma-verhoeven-omeprazol"))
    bundle["entry"].insert(
        0, {"fullUrl": f"{BASE}/MedicationRequest/x", "resource": other, "search": {"mode": "match"}}
    )
    x = exchange(bundle)
    result = judge("search.expected-resources", scenario, x)
    assert result.outcome is Outcome.FAIL and "vs-ma-verhoeven-omeprazol" in message(result)
    assert judge("search.counts", scenario, x).outcome is Outcome.FAIL
    assert judge("search.patient-isolation", scenario, x).outcome is Outcome.PASS  # it is the patient's own


def test_a_resource_not_in_the_dataset_and_a_duplicate_fail_expected_resources() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    stranger = copy.deepcopy(entries(bundle, "MedicationRequest")[0])
    stranger["resource"]["id"] = "made-up"
    stranger["resource"]["identifier"] = [{"system": "urn:oid:2.999.1", "value": "X"}]
    bundle["entry"].append(stranger)
    result = judge("search.expected-resources", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "MedicationRequest/made-up (not in the dataset)" in message(result)

    bundle = answer(scenario)
    bundle["entry"].append(copy.deepcopy(entries(bundle, "MedicationRequest")[0]))
    result = judge("search.expected-resources", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "more than once" in message(result)


def test_a_period_of_use_search_without_the_duration_derived_end_fails_expected_resources() -> None:
    """A server that ignores ext-TimeInterval.Duration leaves the amoxicilline agreement (start T-40, 7 days)
    open-ended, so period-of-use=ge T-7 returns it."""

    def without_duration(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: without_duration(v)
                for k, v in value.items()
                if not (isinstance(v, dict) and v.get("url") == EXT_DURATION)
            }
        if isinstance(value, list):
            return [without_duration(v) for v in value if not (isinstance(v, dict) and v.get("url") == EXT_DURATION)]
        return value

    stripped = Store([without_duration(r) for r in STORE.all()], STORE.patients)
    assert not any(EXT_DURATION in json.dumps(r) for r in stripped.all())
    scenario = SCENARIOS["MA-0.4"]
    wrong = {e["resource"]["id"] for e in answer(scenario, stripped)["entry"] if e["search"]["mode"] == "match"}
    assert wrong - set(scenario.expect.focal) == {"vs-ma-verhoeven-amoxicilline"}
    # the faulty server's answer, with the dataset's resources as they are
    bundle = answer(SCENARIOS["MA-0.1"])
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] != "MedicationRequest" or e["resource"]["id"] in wrong
    ]
    result = judge("search.expected-resources", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL
    assert "MedicationRequest/vs-ma-verhoeven-amoxicilline (in the dataset, does not match)" in message(result)


def test_a_missing_medication_fails_the_medication_count() -> None:
    scenario = SCENARIOS["MVE-0.1"]
    bundle = answer(scenario)
    drop(bundle, "Medication")
    result = judge("search.counts", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Medication returned, expected exactly" in message(result)
    bundle = answer(scenario)
    bundle["entry"].append(copy.deepcopy(entries(bundle, "Medication")[0]))
    assert judge("search.counts", scenario, exchange(bundle)).outcome is Outcome.FAIL


# --------------------------------------------------------------------------- patient isolation


def test_another_patients_resource_fails_patient_isolation_naming_the_patient() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    foreign = answer(SCENARIOS["MA-1"])  # vs-patient-brouwer
    bundle["entry"] += entries(foreign, "MedicationRequest")
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "vs-patient-brouwer" in message(result)


def test_another_patients_resource_relabelled_to_the_patient_still_fails() -> None:
    """The subject says it is ours, but the dataset says whose it is."""
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    foreign = entries(answer(SCENARIOS["MA-1"]), "MedicationRequest")[0]
    foreign["resource"]["subject"] = copy.deepcopy(entries(bundle, "MedicationRequest")[0]["resource"]["subject"])
    bundle["entry"].append(foreign)
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "vs-patient-brouwer" in message(result)


def test_another_patient_resource_and_an_unknown_patient_fail_patient_isolation() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    other = copy.deepcopy(STORE.get("Patient", "vs-patient-visser"))
    bundle["entry"].append(
        {"fullUrl": f"{BASE}/Patient/vs-patient-visser", "resource": other, "search": {"mode": "include"}}
    )
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Patient/vs-patient-visser (of vs-patient-visser)" in message(result)

    bundle = answer(scenario)
    nobody = {"resourceType": "Patient", "id": "p-x", "name": [{"family": "Niemand"}], "birthDate": "1970-01-01"}
    bundle["entry"].append({"fullUrl": f"{BASE}/Patient/p-x", "resource": nobody, "search": {"mode": "include"}})
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Patient/p-x (a Patient that is not vs-patient-verhoeven)" in message(
        result
    )


def test_a_patient_with_a_vendor_id_is_recognised_by_bsn_or_name_and_birth_date() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    other = copy.deepcopy(STORE.get("Patient", "vs-patient-visser"))
    other["id"] = "p-1"
    bundle["entry"].append({"fullUrl": f"{BASE}/Patient/p-1", "resource": other, "search": {"mode": "include"}})
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Patient/p-1 (of vs-patient-visser)" in message(result)
    other["name"] = [{"family": "Anders"}]
    other["identifier"] = [
        {"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": STORE.patient("vs-patient-visser").bsn}
    ]
    result = judge("search.patient-isolation", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Patient/p-1 (of vs-patient-visser)" in message(result)


# --------------------------------------------------------------------------- includes


def test_a_missing_include_fails_naming_the_include_and_the_resource() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    med = drop(bundle, "Medication")
    result = judge("search.includes", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL
    assert f"Medication/{med} (by _include=MedicationRequest:medication)" in message(result)
    assert "_include:iterate" not in message(result)


def test_a_missing_iterate_secondary_fails_and_says_iterate() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    org = drop(bundle, "Organization")
    result = judge("search.includes", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL
    assert "1 _include:iterate secondary missing" in message(result)
    assert f"Organization/{org} (by _include:iterate=PractitionerRole:organization)" in message(result)


def test_a_missing_include_is_found_with_vendor_ids_too() -> None:
    scenario = SCENARIOS["MGB-0.1"]
    bundle = answer(scenario)
    drop(bundle, "Location")
    vendor_ids(bundle)
    result = judge("search.includes", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "Location/" in message(result)


def test_ignoring_every_include_fails_and_an_include_marked_match_fails() -> None:
    scenario = SCENARIOS["TA-0.1"]
    bundle = answer(scenario)
    bundle["entry"] = entries(bundle, "MedicationDispense")
    result = judge("search.includes", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "_include=MedicationDispense:subject" in message(result)

    bundle = answer(scenario)
    entries(bundle, "Medication")[0]["search"]["mode"] = "match"
    result = judge("search.includes", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "marked search.mode 'match'" in message(result)


# --------------------------------------------------------------------------- content unaltered


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_altered_dose_fails_content_naming_the_path_and_both_values(fmt: str) -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    ma = entries(bundle, "MedicationRequest")[0]["resource"]
    dose = ma["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    before = dose["value"]
    dose["value"] = before * 2
    result = judge("content.unaltered", scenario, exchange(bundle, fmt=fmt))
    assert result.outcome is Outcome.FAIL
    assert (
        f"MedicationRequest/{ma['id']}: dosageInstruction[0].doseAndRate[0].doseQuantity.value: "
        f"expected {before}, found {before * 2}"
    ) in message(result)


def test_an_altered_value_with_vendor_ids_is_named_by_the_dataset_id_and_never_shows_a_bsn() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    ma = entries(bundle, "MedicationRequest")[0]["resource"]
    ma["dosageInstruction"][0]["route"]["coding"][0]["display"] = BSNS[0]
    vendor_ids(bundle)
    result = judge("content.unaltered", scenario, exchange(bundle))  # judge() also asserts: no BSN in messages
    assert result.outcome is Outcome.FAIL
    assert "MedicationRequest/vs-ma-verhoeven-metformine: dosageInstruction[0].route.coding[0].display" in message(
        result
    )
    assert "[BSN]" in message(result)


def test_a_dropped_element_and_a_reference_to_another_resource_fail_content() -> None:
    scenario = SCENARIOS["MA-0.1"]
    bundle = answer(scenario)
    ma = entries(bundle, "MedicationRequest")[0]["resource"]
    del ma["dosageInstruction"]
    result = judge("content.unaltered", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and f"MedicationRequest/{ma['id']}: dosageInstruction: expected" in message(
        result
    )
    assert "found absent" in message(result)

    bundle = answer(scenario)
    vendor_ids(bundle)
    mas = entries(bundle, "MedicationRequest")
    a, b = (
        mas[0]["resource"],
        next(
            e["resource"]
            for e in mas
            if e["resource"]["medicationReference"]["reference"]
            != mas[0]["resource"]["medicationReference"]["reference"]
        ),
    )
    a["medicationReference"]["reference"] = b["medicationReference"]["reference"]  # same display, other target
    result = judge("content.unaltered", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and "medicationReference.reference" in message(result)


def test_an_altered_secondary_resource_fails_content() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    med = entries(bundle, "Medication")[0]["resource"]
    med["code"]["coding"][0]["code"] = "0000"
    result = judge("content.unaltered", scenario, exchange(bundle))
    assert result.outcome is Outcome.FAIL and f"Medication/{med['id']}: code.coding[0].code" in message(result)


def test_a_returned_id_that_is_a_bsn_is_masked_in_the_messages() -> None:
    scenario = SCENARIOS["MA-0.2"]
    bundle = answer(scenario)
    stranger = copy.deepcopy(entries(bundle, "MedicationRequest")[0])
    stranger["resource"]["id"] = BSNS[1]
    stranger["resource"]["identifier"] = [{"system": "urn:oid:2.999.1", "value": "X"}]
    stranger["resource"]["subject"]["reference"] = f"Patient/{BSNS[1]}"
    bundle["entry"].append(stranger)
    x = exchange(bundle)
    result = judge("search.expected-resources", scenario, x)  # judge() asserts that no message holds a BSN
    assert result.outcome is Outcome.FAIL and "MedicationRequest/[BSN] (not in the dataset)" in message(result)
    # its patient cannot be identified: the isolation check says so instead of passing silently
    result = judge("search.patient-isolation", scenario, x)
    assert result.outcome is Outcome.OMIT and "patient not identifiable" in message(result)
