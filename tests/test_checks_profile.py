"""The structural check ``fhir.profile`` (validatiestraat/checks/profile.py): R4 element table + R4B models.

A structurally sound answer comes out ``omit`` (the declared profiles are not validated until the native
validator exists), never ``pass``; each kind of structural error is a ``fail``; R4 content that fhir.resources'
R4B models do not know is not a false failure.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.profile import r4_problems, structure
from validatiestraat.checks.registry import all_checks, evaluate
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.formats import dumps, media_type
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario

NICTIZ = "http://nictiz.nl/fhir/StructureDefinition/"
BASE = "https://dva.example.test/fhir"
BSN = "999911120"
STORE = Store(patients=[PatientEntry("pat-1", BSN, "Test Patiënt")])
SCENARIO = Scenario(id="unit", kind="mp9-search", title="unit", variants=("json", "xml"), block="MA", patient="pat-1")


def agreement() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "ma-1",
        "meta": {"profile": [NICTIZ + "mp-MedicationAgreement"]},
        "extension": [{"url": NICTIZ + "ext-RenderedDosageInstruction", "valueString": "3 maal per dag 1 stuk"}],
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "Medication/med-1", "display": "PARACETAMOL"},
        "subject": {"reference": "Patient/pat-1", "display": "Test Patiënt"},
        "authoredOn": "2026-11-01",
        "dosageInstruction": [
            {"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}, "text": "3 maal per dag"}
        ],
    }


def bundle(resource: dict[str, Any] | None = None) -> dict[str, Any]:
    resource = resource or agreement()
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "self", "url": f"{BASE}/MedicationRequest"}],
        "entry": [
            {
                "fullUrl": f"{BASE}/{resource['resourceType']}/{resource.get('id', 'x')}",
                "resource": resource,
                "search": {"mode": "match"},
            }
        ],
    }


def exchange(body: dict[str, Any] | bytes, fmt: str = "json") -> Exchange:
    raw = body if isinstance(body, bytes) else dumps(body, fmt)  # type: ignore[arg-type]
    return Exchange(
        id="x00001",
        case=f"unit[{fmt}]",
        step="search",
        sender="harness",
        receiver="dva",
        method="GET",
        url=f"{BASE}/MedicationRequest",
        request_headers=[("accept", f"application/fhir+{fmt}")],
        request_body=b"",
        status=200,
        response_headers=[("content-type", media_type(fmt))],
        response_body=raw,
    )


def judge(x: Exchange) -> Result:
    return evaluate(all_checks()["fhir.profile"], CheckContext(SCENARIO, "json", [x], STORE))


def with_agreement(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    resource = copy.deepcopy(agreement())
    change(resource)
    return bundle(resource)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_sound_answer_is_omit_not_pass_and_names_the_unvalidated_profiles(fmt: str) -> None:
    result = judge(exchange(bundle(), fmt))
    assert result.outcome is Outcome.OMIT
    assert result.messages[0].startswith("omit: conformance to the declared profiles")
    assert NICTIZ + "mp-MedicationAgreement" in result.messages[0] and "issue 5" in result.messages[0]
    assert result.messages[1].startswith("pass: 2 resources structurally valid FHIR R4")


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("unknown element", lambda r: r.update(colour="red"), "MedicationRequest has no element 'colour' in FHIR R4"),
    (
        "R4B-only element (R4 guard)",
        lambda r: r["extension"].append({"url": "http://example.org/x", "valueCodeableReference": {}}),
        "Extension has no element 'valueCodeableReference' in FHIR R4",
    ),
    ("unknown nested element", lambda r: r["dosageInstruction"][0]["timing"]["repeat"].update(bogus=1), "bogus"),
    ("number for a code", lambda r: r.update(status=5), "status: code must be a non-empty JSON string"),
    (
        "string for a positiveInt (R4B would coerce it)",
        lambda r: r["dosageInstruction"][0]["timing"]["repeat"].update(frequency="3"),
        "frequency: positiveInt must be a JSON integer",
    ),
    ("boolean as a number", lambda r: r.update(doNotPerform=1), "doNotPerform: boolean must be true or false"),
    ("required element missing (R4B)", lambda r: r.pop("intent"), "intent"),
    (
        "two choices of medication[x] (R4B)",
        lambda r: r.update(medicationCodeableConcept={"text": "x"}),
        "got multiple",
    ),
    ("impossible dateTime (R4B)", lambda r: r.update(authoredOn="2026-13-45"), "authoredOn"),
    ("id with a space (R4B)", lambda r: r.update(id="ma 1"), "id"),
    ("object where an array belongs", lambda r: r.update(identifier={"value": "x"}), "must be a JSON array"),
    ("array where one value belongs", lambda r: r.update(subject=[r["subject"]]), "must not be a JSON array"),
    ("empty array", lambda r: r.update(category=[]), "empty array"),
    ("empty string", lambda r: r.update(authoredOn=""), "non-empty JSON string"),
    ("empty object", lambda r: r.update(note=[{}]), "empty Annotation"),
    ("extension without url (R4B)", lambda r: r["extension"][0].pop("url"), "url"),
    (
        "contained resource of an unknown type",
        lambda r: r.update(contained=[{"resourceType": "Foo", "id": "x"}]),
        "resourceType 'Foo' is not a FHIR R4 resource type",
    ),
    ("'_' holder on a complex element", lambda r: r.update(_subject={"id": "x"}), "only primitive elements"),
]


@pytest.mark.parametrize(("what", "change", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_structural_error_fails(what: str, change: Callable[[dict[str, Any]], Any], expected: str) -> None:
    result = judge(exchange(with_agreement(change)))
    assert result.outcome is Outcome.FAIL, result.messages
    failures = [m for m in result.messages if m.startswith("fail: ")]
    assert any(expected in m for m in failures), failures
    assert all(m.startswith("fail: entry[0] MedicationRequest/") for m in failures), failures
    assert any(m.startswith("omit: conformance") for m in result.messages)  # still said, next to the failure
    assert not any(m.startswith("error: ") for m in result.messages)


def test_a_structural_error_is_reported_once_though_both_judges_see_it() -> None:
    result = judge(exchange(with_agreement(lambda r: r.update(status=5))))
    assert len([m for m in result.messages if m.startswith("fail: ")]) == 1


def test_errors_in_the_bundle_shell_are_named_as_such() -> None:
    body = bundle()
    body["total"] = "1"
    body["entry"][0]["search"]["rank"] = 1
    result = judge(exchange(body))
    failures = [m for m in result.messages if m.startswith("fail: ")]
    assert "fail: Bundle total: unsignedInt must be a JSON integer, found str '1'" in failures
    assert any("Bundle entry[0].search.rank: Bundle.entry.search has no element 'rank'" in m for m in failures)


def test_unknown_elements_in_xml_make_the_body_unreadable_as_r4() -> None:
    xml = dumps(bundle(), "xml").replace(b"<status ", b'<colour value="red"/><status ', 1)
    result = judge(exchange(xml, "xml"))
    assert result.outcome is Outcome.FAIL
    assert "unknown element 'colour' in MedicationRequest" in result.messages[0]


R4_BUT_NOT_R4B: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "Extension.valueMeta",
        lambda r: r["extension"].append({"url": "http://example.org/m", "valueMeta": {"versionId": "1"}}),
        "R4B does not know MedicationRequest.extension[1].valueMeta, which R4 has",
    ),
    (
        "Extension._valueString",
        lambda r: r["extension"][0].update(
            _valueString={"extension": [{"url": "http://example.org/t", "valueString": "x"}]}
        ),
        "R4B does not know MedicationRequest.extension[0]._valueString, which R4 has",
    ),
]


@pytest.mark.parametrize(("what", "change", "note"), R4_BUT_NOT_R4B, ids=[c[0] for c in R4_BUT_NOT_R4B])
def test_r4_content_r4b_does_not_know_is_no_failure_but_is_noted(
    what: str, change: Callable[[dict[str, Any]], Any], note: str
) -> None:
    result = judge(exchange(with_agreement(change)))
    assert result.outcome is Outcome.OMIT, result.messages
    assert note in result.messages[1]


def test_an_r4_only_resource_type_is_judged_by_the_table_alone_and_said_so() -> None:
    product = {"resourceType": "MedicinalProduct", "id": "p1", "name": [{"productName": "PARACETAMOL"}]}
    result = judge(exchange(bundle(product)))
    assert result.outcome is Outcome.OMIT
    assert "no R4B model for MedicinalProduct: judged by the R4 element table alone" in result.messages[1]
    broken = dict(product, colour="red")
    assert judge(exchange(bundle(broken))).outcome is Outcome.FAIL


def test_repeating_primitives_may_pair_null_with_an_extension() -> None:
    patient = {
        "resourceType": "Patient",
        "id": "p",
        "name": [{"given": ["Jan", None], "_given": [None, {"extension": [{"url": "u", "valueCode": "x"}]}]}],
    }
    assert r4_problems(patient) == []
    patient["name"][0]["_given"] = [None, None]
    assert r4_problems(patient) == [("name[0].given[1]", "null without an extension in the paired '_' array")]


def test_an_unreadable_body_fails() -> None:
    result = judge(exchange(b'{"resourceType": "Bundle", '))
    assert result.outcome is Outcome.FAIL and "cannot be read as a FHIR R4 resource" in result.messages[0]


def test_an_operation_outcome_answer_is_validated_too() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    result = judge(exchange(outcome))
    assert result.outcome is Outcome.OMIT and "none declared" in result.messages[0]
    outcome["issue"][0].pop("code")
    assert judge(exchange(outcome)).outcome is Outcome.FAIL


def test_every_resource_of_the_project_dataset_is_structurally_valid_r4() -> None:
    """All resources of fixtures/mp9 (expanded for a date T), each alone: no structural error, no R4B note."""
    from mock_providers.his.dataset import load_builtin

    store = load_builtin(date(2026, 11, 23))
    assert len(store) > 100
    for resource in store.all():
        problems, notes, harness, _ = structure(resource)
        assert (problems, notes, harness) == ([], [], []), (resource["resourceType"], resource["id"])
