"""The generic MP9 response checks, the no-BSN rule and the format checks (validatiestraat/checks/fhir_generic.py).

Unit tests judge hand-built exchanges (JSON, and the same answers as FHIR XML): each check passes a good answer
and fails each breakage it exists for. The last test runs every check of this module and ``fhir.profile`` on
real answers of the reference straat: all seven blocks for every test patient, JSON and XML.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import all_checks, evaluate
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.formats import dumps, media_type
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario

BSN = "999911120"  # a fake test BSN (passes the elfproef), known to the dataset of these tests
OTHER_BSN = "999922242"
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
DAR = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
NULLFLAVOR = "http://hl7.org/fhir/StructureDefinition/iso21090-nullFlavor"
NICTIZ = "http://nictiz.nl/fhir/StructureDefinition/"
BASE = "https://dva.example.test/fhir"
QUERY = "category=http%3A%2F%2Fsnomed.info%2Fsct%7C33633005&_include=MedicationRequest%3Amedication"
URL = f"{BASE}/MedicationRequest?{QUERY}"
STORE = Store(patients=[PatientEntry("pat-1", BSN, "Test Patiënt")])
SCENARIO = Scenario(id="unit", kind="mp9-search", title="unit", variants=("json", "xml"), block="MA", patient="pat-1")
GENERIC = (
    "fhir.fullurl",
    "fhir.meta-profile",
    "fhir.total",
    "fhir.self-link",
    "fhir.self-link-params",
    "fhir.coding",
    "fhir.codeableconcept",
    "fhir.reference-display",
    "fhir.identifier",
    "fhir.no-bsn",
    "fhir.content-type",
    "fhir.well-formed",
)


def good_bundle() -> dict[str, Any]:
    """A small, correct MA answer: one agreement, its Medication and the (masked) Patient."""
    patient = {
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": {"profile": [NICTIZ + "nl-core-Patient"]},
        "identifier": [{"system": BSN_SYSTEM, "_value": {"extension": [{"url": DAR, "valueCode": "masked"}]}}],
        "name": [{"text": "Test Patiënt"}],
    }
    medication = {
        "resourceType": "Medication",
        "id": "med-1",
        "meta": {"profile": [NICTIZ + "mp-PharmaceuticalProduct"]},
        "code": {
            "coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.4.10", "code": "12345", "display": "PARACETAMOL"}]
        },
    }
    agreement = {
        "resourceType": "MedicationRequest",
        "id": "ma-1",
        "meta": {"profile": [NICTIZ + "mp-MedicationAgreement"]},
        "extension": [
            {
                "url": NICTIZ + "ext-PharmaceuticalTreatment.Identifier",
                "valueIdentifier": {"system": "urn:oid:2.999.2", "value": "PB-1"},
            }
        ],
        "identifier": [{"system": "urn:oid:2.999.1", "value": "MA-1"}],
        "status": "active",
        "intent": "order",
        "category": [
            {"coding": [{"system": "http://snomed.info/sct", "code": "33633005", "display": "voorschrijven"}]}
        ],
        "medicationReference": {"reference": "Medication/med-1", "display": "PARACETAMOL"},
        "subject": {"reference": "Patient/pat-1", "display": "Test Patiënt"},
        "dosageInstruction": [
            {
                "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.4.9", "code": "9", "display": "oraal"}]},
                "doseAndRate": [
                    {"doseQuantity": {"value": 1, "unit": "stuk", "system": "http://unitsofmeasure.org", "code": "1"}}
                ],
            }
        ],
    }
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{"relation": "self", "url": URL}],
        "entry": [
            {"fullUrl": f"{BASE}/MedicationRequest/ma-1", "resource": agreement, "search": {"mode": "match"}},
            {"fullUrl": f"{BASE}/Medication/med-1", "resource": medication, "search": {"mode": "include"}},
            {"fullUrl": f"{BASE}/Patient/pat-1", "resource": patient, "search": {"mode": "include"}},
        ],
    }


def exchange(
    body: dict[str, Any] | bytes,
    fmt: str = "json",
    *,
    status: int | None = 200,
    content_type: str | None = None,
    accept: str | None = None,
    url: str = URL,
    headers: tuple[tuple[str, str], ...] = (),
) -> Exchange:
    raw = body if isinstance(body, bytes) else dumps(body, fmt)  # type: ignore[arg-type]
    response_headers = [("content-type", content_type or media_type(fmt))] if content_type != "" else []
    return Exchange(
        id="x00001",
        case=f"unit[{fmt}]",
        step="search",
        sender="harness",
        receiver="dva",
        method="GET",
        url=url,
        request_headers=[("accept", accept or f"application/fhir+{fmt}")],
        request_body=b"",
        status=status,
        response_headers=[*response_headers, *headers],
        response_body=raw if status is not None else b"",
        error=None if status is not None else "ConnectError: refused",
    )


def judge(check_id: str, x: Exchange, dataset: Store = STORE) -> Result:
    ctx = CheckContext(SCENARIO, x.case.split("[")[1].rstrip("]"), [x], dataset)
    return evaluate(all_checks()[check_id], ctx)


def mutated(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    bundle = copy.deepcopy(good_bundle())
    change(bundle)
    return bundle


def ma(b: dict[str, Any]) -> dict[str, Any]:
    return b["entry"][0]["resource"]


def patient(b: dict[str, Any]) -> dict[str, Any]:
    return b["entry"][2]["resource"]


FORMATS = pytest.mark.parametrize("fmt", ["json", "xml"])


# --------------------------------------------------------------------------- the good answer


@FORMATS
def test_good_answer_passes_every_check_with_a_message_saying_what_was_checked(fmt: str) -> None:
    x = exchange(good_bundle(), fmt)
    results = {c: judge(c, x) for c in GENERIC}
    assert {c: r.outcome for c, r in results.items()} == dict.fromkeys(GENERIC, Outcome.PASS)
    assert all(r.messages and r.messages[0].startswith("pass: ") for r in results.values())
    assert "3 Codings checked" in results["fhir.coding"].messages[0]
    assert "3 CodeableConcepts checked" in results["fhir.codeableconcept"].messages[0]
    assert "2 References checked" in results["fhir.reference-display"].messages[0]
    identifier = results["fhir.identifier"].messages[0]
    assert "3 Identifiers checked" in identifier and "1 with an extension in place of the value" in identifier
    assert "1 BSN identifier masked" in results["fhir.no-bsn"].messages[0]


# --------------------------------------------------------------------------- breakages, JSON and XML

BREAKAGES: list[tuple[str, str, Callable[[dict[str, Any]], Any], str]] = [
    # (check, what, mutation, a piece of the expected message)
    ("fhir.fullurl", "no fullUrl", lambda b: b["entry"][0].pop("fullUrl"), "has no fullUrl"),
    (
        "fhir.fullurl",
        "relative fullUrl",
        lambda b: b["entry"][0].update(fullUrl="MedicationRequest/ma-1"),
        "not an absolute",
    ),
    (
        "fhir.fullurl",
        "fullUrl with another id",
        lambda b: b["entry"][0].update(fullUrl=f"{BASE}/MedicationRequest/not-ma-1"),
        "does not end with 'MedicationRequest/ma-1'",
    ),
    (
        "fhir.fullurl",
        "fullUrl ending in the id under another type",
        lambda b: b["entry"][0].update(fullUrl=f"{BASE}/Medication/ma-1"),
        "does not end with",
    ),
    (
        "fhir.fullurl",
        "fullUrl only ending in the id's characters",
        lambda b: b["entry"][0].update(fullUrl=f"{BASE}/MedicationRequest/xma-1"),
        "does not end with",
    ),
    (
        "fhir.fullurl",
        "version-specific fullUrl",
        lambda b: b["entry"][0].update(fullUrl=f"{BASE}/MedicationRequest/ma-1/_history/2"),
        "version-specific",
    ),
    ("fhir.fullurl", "malformed urn:uuid", lambda b: b["entry"][0].update(fullUrl="urn:uuid:1234"), "neither"),
    ("fhir.fullurl", "resource without id", lambda b: ma(b).pop("id"), "has no id"),
    ("fhir.meta-profile", "no meta", lambda b: ma(b).pop("meta"), "entry[0] (MedicationRequest/ma-1) has no meta"),
    ("fhir.coding", "Coding without system", lambda b: ma(b)["category"][0]["coding"][0].pop("system"), "system"),
    ("fhir.coding", "Coding without code", lambda b: ma(b)["category"][0]["coding"][0].pop("code"), "without code"),
    (
        "fhir.coding",
        "zib value-set OID as system",
        lambda b: ma(b)["dosageInstruction"][0]["route"]["coding"][0].update(
            system="urn:oid:2.16.840.1.113883.2.4.3.11.60.40.2.9.12.2"
        ),
        "zib value-set OID",
    ),
    (
        "fhir.coding",
        "Meta.tag Coding without code",
        lambda b: ma(b)["meta"].update(tag=[{"system": "http://example.org/tags"}]),
        "meta.tag[0]: Coding without code",
    ),
    (
        "fhir.coding",
        "valueCoding in an extension without system",
        lambda b: ma(b)["extension"].append({"url": "http://example.org/x", "valueCoding": {"code": "x"}}),
        "extension[1].valueCoding: Coding without system",
    ),
    (
        "fhir.coding",
        "Coding in a contained resource",
        lambda b: ma(b).update(
            contained=[{"resourceType": "Medication", "id": "c1", "code": {"coding": [{"code": "x"}], "text": "x"}}]
        ),
        "MedicationRequest/ma-1 contained[0].code.coding[0]",
    ),
    (
        "fhir.codeableconcept",
        "no display, no text",
        lambda b: ma(b)["category"][0]["coding"][0].pop("display"),
        "category[0]: CodeableConcept without",
    ),
    ("fhir.reference-display", "no display", lambda b: ma(b)["subject"].pop("display"), "subject: Reference"),
    (
        "fhir.reference-display",
        "a data-absent-reason does not replace the display",
        lambda b: (
            ma(b)["subject"].pop("display"),
            ma(b)["subject"].update(extension=[{"url": DAR, "valueCode": "unknown"}]),
        ),
        "subject: Reference without display",
    ),
    (
        "fhir.identifier",
        "no system",
        lambda b: ma(b)["identifier"][0].pop("system"),
        "identifier[0]: Identifier without system (or type)",
    ),
    (
        "fhir.identifier",
        "no value and no extension in its place",
        lambda b: patient(b)["identifier"][0].pop("_value"),
        "Patient/pat-1 identifier[0]: Identifier without value",
    ),
    (
        "fhir.identifier",
        "Identifier in an extension",
        lambda b: ma(b)["extension"][0]["valueIdentifier"].pop("value"),
        "extension[0].valueIdentifier",
    ),
    ("fhir.total", "total above the matches", lambda b: b.update(total=2), "only 1 match entry"),
    ("fhir.self-link", "no link", lambda b: b.pop("link"), "no link with relation 'self'"),
    ("fhir.self-link", "only a next link", lambda b: b["link"][0].update(relation="next"), "no link"),
]


@FORMATS
@pytest.mark.parametrize(("check_id", "what", "change", "expected"), BREAKAGES, ids=[b[1] for b in BREAKAGES])
def test_each_breakage_fails_its_check(
    fmt: str, check_id: str, what: str, change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    result = judge(check_id, exchange(mutated(change), fmt))
    assert result.outcome is Outcome.FAIL, result.messages
    assert any(expected in m for m in result.messages), result.messages


TOLERATED: list[tuple[str, str, Callable[[dict[str, Any]], Any]]] = [
    (
        "fhir.fullurl",
        "urn:uuid fullUrl, resource without id",
        lambda b: (b["entry"][0].update(fullUrl="urn:uuid:4a7c9d1e-0b7e-4f3e-9d0a-8c5b2f1e6a37"), ma(b).pop("id")),
    ),
    ("fhir.fullurl", "urn:oid fullUrl", lambda b: b["entry"][1].update(fullUrl="urn:oid:2.999.1.2.3")),
    (
        "fhir.meta-profile",
        "OperationOutcome without meta",
        lambda b: b["entry"].append(
            {
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "information", "code": "informational"}],
                },
                "search": {"mode": "outcome"},
                "fullUrl": "urn:uuid:0c3d6c55-2f0b-4b5c-9f3b-8e0f1f2f3a4b",
            }
        ),
    ),
    (
        "fhir.coding",
        "zib code-system OID (not a value set)",
        lambda b: ma(b)["dosageInstruction"][0]["route"]["coding"][0].update(
            system="urn:oid:2.16.840.1.113883.2.4.3.11.60.40.4.16.1"
        ),
    ),
    (
        "fhir.coding",
        "Quantity without system is no Coding",
        lambda b: ma(b)["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"].pop("system"),
    ),
    (
        "fhir.codeableconcept",
        "text instead of display",
        lambda b: (ma(b)["category"][0]["coding"][0].pop("display"), ma(b)["category"][0].update(text="voorschrijven")),
    ),
    (
        "fhir.codeableconcept",
        "nullFlavor extension instead of a coding",
        lambda b: ma(b).update(statusReason={"extension": [{"url": NULLFLAVOR, "valueCode": "UNK"}]}),
    ),
    (
        "fhir.identifier",
        "type instead of system",
        lambda b: (ma(b)["identifier"][0].pop("system"), ma(b)["identifier"][0].update(type={"text": "lokaal nummer"})),
    ),
    ("fhir.total", "no total", lambda b: b.pop("total")),
    (
        "fhir.total",
        "entries without search count as matches",
        lambda b: (b.update(total=3), [e.pop("search") for e in b["entry"]]),
    ),
]


@FORMATS
@pytest.mark.parametrize(("check_id", "what", "change"), TOLERATED, ids=[t[1] for t in TOLERATED])
def test_what_the_qualification_allows_passes(
    fmt: str, check_id: str, what: str, change: Callable[[dict[str, Any]], Any]
) -> None:
    result = judge(check_id, exchange(mutated(change), fmt))
    assert result.outcome is Outcome.PASS, result.messages


# --------------------------------------------------------------------------- self-link parameters (warning level)


@FORMATS
def test_a_parameter_missing_from_the_self_link_is_a_warning_never_a_failure(fmt: str) -> None:
    x = exchange(good_bundle(), fmt, url=URL + "&period-of-use=ge2026-01-01")
    result = judge("fhir.self-link-params", x)
    assert result.outcome is Outcome.OMIT
    assert result.messages[0].startswith("omit: warning-level in the qualification: 1 request parameter not in")
    assert "period-of-use=ge2026-01-01" in result.messages[0]


def test_self_link_parameters_compare_decoded_and_in_any_order() -> None:
    reordered = (
        f"{BASE}/MedicationRequest?_include=MedicationRequest:medication&category=http://snomed.info/sct|33633005"
    )
    result = judge("fhir.self-link-params", exchange(mutated(lambda b: b["link"][0].update(url=reordered))))
    assert result.outcome is Outcome.PASS
    assert result.messages == ["pass: all 2 request parameters reappear in the self link"]


def test_no_self_link_leaves_the_parameter_check_nothing_to_compare() -> None:
    assert judge("fhir.self-link-params", exchange(mutated(lambda b: b.pop("link")))).outcome is Outcome.SKIP


# --------------------------------------------------------------------------- no BSN


BSN_LEAKS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "unmasked BSN identifier",
        lambda b: patient(b)["identifier"][0].update(value=BSN),
        "Patient/pat-1 identifier[0].value",
    ),
    ("BSN in a text", lambda b: patient(b)["name"][0].update(text=f"Test Patiënt ({BSN})"), "name[0].text"),
    ("BSN in the self link", lambda b: b["link"][0].update(url=URL + f"&patient.identifier={BSN}"), "Bundle link[0]"),
    ("BSN in a fullUrl", lambda b: b["entry"][2].update(fullUrl=f"{BASE}/Patient/{BSN}"), "entry[2].fullUrl"),
    (
        "a BSN identifier with another person's number",
        lambda b: patient(b)["identifier"][0].update(value=OTHER_BSN),
        "carries a value instead of being masked",
    ),
]


@FORMATS
@pytest.mark.parametrize(("what", "change", "where"), BSN_LEAKS, ids=[leak[0] for leak in BSN_LEAKS])
def test_a_bsn_in_the_answer_fails_and_the_message_names_the_place_not_the_number(
    fmt: str, what: str, change: Callable[[dict[str, Any]], Any], where: str
) -> None:
    result = judge("fhir.no-bsn", exchange(mutated(change), fmt))
    assert result.outcome is Outcome.FAIL
    assert any(where in m for m in result.messages), result.messages
    assert not any(BSN in m or OTHER_BSN in m for m in result.messages)


def test_a_bsn_in_a_response_header_fails() -> None:
    result = judge("fhir.no-bsn", exchange(good_bundle(), headers=(("X-Patient", f"bsn={BSN}"),)))
    assert result.outcome is Outcome.FAIL
    assert "response header X-Patient" in result.messages[0] and BSN not in result.messages[0]


def test_a_bsn_outside_any_value_is_still_found_in_the_raw_body() -> None:
    body = dumps(good_bundle(), "xml").replace(b"<type", f"<!-- {BSN} --><type".encode(), 1)
    result = judge("fhir.no-bsn", exchange(body, "xml"))
    assert result.outcome is Outcome.FAIL
    assert "in the response body (character offset" in result.messages[0] and BSN not in result.messages[0]


def test_a_bsn_as_part_of_a_longer_number_is_not_a_bsn() -> None:
    x = exchange(mutated(lambda b: ma(b)["identifier"][0].update(value=f"1{BSN}0")))
    assert judge("fhir.no-bsn", x).outcome is Outcome.PASS


# --------------------------------------------------------------------------- content type and well-formedness


@pytest.mark.parametrize(
    ("fmt", "content_type", "accept", "outcome"),
    [
        ("json", "application/fhir+json", None, Outcome.PASS),
        ("json", "application/fhir+json;charset=UTF-8", None, Outcome.PASS),
        ("json", "application/json; charset=utf-8", None, Outcome.FAIL),
        ("json", "application/fhir+xml", None, Outcome.FAIL),
        ("xml", "application/fhir+json", None, Outcome.FAIL),
        ("xml", "application/xml", None, Outcome.FAIL),
        ("xml", "application/fhir+xml; charset=iso-8859-1", None, Outcome.FAIL),
        ("json", "", None, Outcome.FAIL),
        ("xml", "application/fhir+xml", "application/fhir+json;q=0.5, application/fhir+xml", Outcome.PASS),
    ],
)
def test_content_type_must_be_the_fhir_format_asked_for(
    fmt: str, content_type: str, accept: str | None, outcome: Outcome
) -> None:
    result = judge("fhir.content-type", exchange(good_bundle(), fmt, content_type=content_type, accept=accept))
    assert result.outcome is outcome, result.messages


def test_format_parameter_wins_over_accept() -> None:
    x = exchange(good_bundle(), "xml", accept="application/fhir+json", url=URL + "&_format=xml")
    assert judge("fhir.content-type", x).outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b'{"resourceType": "Bundle", "type": "searchset"', "application/fhir+json", "not well-formed JSON"),
        (b'[{"resourceType": "Bundle"}]', "application/fhir+json", "not an object"),
        (b'{"type": "searchset"}', "application/fhir+json", "no FHIR R4 resourceType"),
        (b'{"resourceType": "Bundle", "type": "a", "type": "b"}', "application/fhir+json", "type occurs twice"),
        (b'<Bundle xmlns="http://hl7.org/fhir"><type value="searchset"/>', "application/fhir+xml", "not well-formed"),
        (b'<Bundle><type value="searchset"/></Bundle>', "application/fhir+xml", "not in the FHIR namespace"),
        (b'<Bundel xmlns="http://hl7.org/fhir"/>', "application/fhir+xml", "not a FHIR R4 resource"),
        ('{"resourceType": "Bundle", "id": "é"}'.encode("latin-1"), "application/fhir+json", "not UTF-8"),
        (b'{"resourceType": "Bundle", "type": "searchset"}', "application/fhir+xml", "not well-formed XML"),
    ],
)
def test_a_body_that_is_not_what_it_claims_fails(body: bytes, content_type: str, expected: str) -> None:
    result = judge("fhir.well-formed", exchange(body, content_type=content_type))
    assert result.outcome is Outcome.FAIL
    assert expected in result.messages[0], result.messages


def test_without_a_usable_content_type_the_asked_format_is_the_claim() -> None:
    x = exchange(good_bundle(), "xml", content_type="text/plain")
    result = judge("fhir.well-formed", x)
    assert result.outcome is Outcome.PASS and "FHIR XML" in result.messages[0]


# --------------------------------------------------------------------------- what the checks cannot judge


def test_an_error_answer_is_skipped_by_the_bundle_checks_but_judged_for_format_and_bsn() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    x = exchange(outcome, status=500)
    results = {c: judge(c, x).outcome for c in GENERIC}
    format_and_bsn = ("fhir.no-bsn", "fhir.content-type", "fhir.well-formed")
    assert {c: o for c, o in results.items() if c in format_and_bsn} == dict.fromkeys(format_and_bsn, Outcome.PASS)
    assert {o for c, o in results.items() if c not in format_and_bsn} == {Outcome.SKIP}


def test_an_unreadable_body_is_skipped_by_the_content_checks_and_failed_by_well_formed() -> None:
    x = exchange(b"<Bundle", "xml")
    outcomes = {c: judge(c, x).outcome for c in GENERIC}
    assert outcomes["fhir.well-formed"] is Outcome.FAIL
    assert outcomes["fhir.coding"] is Outcome.SKIP and outcomes["fhir.fullurl"] is Outcome.SKIP


def test_no_response_at_all_is_an_environment_error_never_a_failure() -> None:
    x = exchange(good_bundle(), status=None)
    assert {judge(c, x).outcome for c in GENERIC} == {Outcome.ERROR}


def test_many_problems_are_listed_up_to_ten_and_counted() -> None:
    def many(b: dict[str, Any]) -> None:
        ma(b)["identifier"] = [{"value": f"v{i}"} for i in range(14)]

    result = judge("fhir.identifier", exchange(mutated(many)))
    assert result.outcome is Outcome.FAIL
    assert len(result.messages) == 11 and result.messages[-1] == "fail: … and 4 more Identifier problems"


def test_messages_never_quote_a_test_bsn_even_when_the_sut_builds_urls_from_it() -> None:
    x = exchange(mutated(lambda b: b["entry"][0].update(fullUrl=f"{BASE}/MedicationRequest/{BSN}")))
    result = judge("fhir.fullurl", x)
    assert result.outcome is Outcome.FAIL
    assert "[BSN]" in result.messages[0] and BSN not in json.dumps(result.to_json())


# --------------------------------------------------------------------------- against the reference straat


def test_every_answer_of_the_reference_straat_passes() -> None:
    """All seven blocks for every test patient of the project's dataset in JSON (so every resource a search can
    reach), and in XML for the filter patient and the patient whose treatment runs through all blocks, over real
    TLS: the generic checks pass, and ``fhir.profile`` finds every answer conformant to R4 and its profiles."""
    from mock_providers.his.dataset import load_builtin
    from mock_providers.straat import Straat
    from validatiestraat import engine
    from validatiestraat.evidence.recorder import Recorder
    from validatiestraat.medmij.mp9 import BLOCKS
    from validatiestraat.session import DvaSession

    t = date(2026, 11, 23)
    store = load_builtin(t)
    mine = (*GENERIC, "fhir.profile")
    scenarios = [
        Scenario(
            id=f"generic-{block.code}-{p.id}",
            kind="mp9-search",
            title=f"{block.name} of {p.id}",
            variants=("json", "xml") if p.id in ("vs-patient-verhoeven", "vs-patient-brouwer") else ("json",),
            block=block.code,
            patient=p.id,
            checks=mine,
        )
        for p in store.patients
        for block in BLOCKS
    ]
    recorder = Recorder()
    with Straat(store, recorder=recorder) as straat:
        session = DvaSession(straat, recorder, store, way="preshared", t=t.isoformat())
        session.preshare_tokens()
        results = engine.run(session, scenarios).results
    assert len(results) == sum(len(s.variants) for s in scenarios) * len(mine)
    profile = [r for r in results if r.check == "fhir.profile"]
    not_passed = [r for r in results if r.outcome is not Outcome.PASS]
    assert not not_passed, [(r.id, r.outcome.value, r.messages[:2]) for r in not_passed[:5]]
    assert all("conforms to FHIR R4 and to" in r.messages[0] for r in profile)
    assert sum(NICTIZ in r.messages[0] for r in profile) > len(profile) / 2  # most answers declare profiles
    # the answers were substantial: many Codings, and the masked BSN identifiers were seen and tolerated
    codings = sum(int(r.messages[0].split()[1]) for r in results if r.check == "fhir.coding")
    assert codings > 500
    masked = [r for r in results if r.check == "fhir.identifier" and "in place of the value" in r.messages[0]]
    assert masked
    assert not any(p.bsn in m for r in results for m in r.messages for p in store.patients)


@pytest.mark.nictiz
def test_the_qualifications_own_reference_fixtures_pass_every_check() -> None:
    """The 191 MP9 MedMij cert fixtures of the Nictiz qualification (read at run time from ../shared, never
    copied), served as one searchset Bundle: they satisfy every generic check and have no structural error, so
    the checks are no stricter than the qualification where they mean to follow it (all 191 pass HL7 6.0.21 too)."""
    from conftest import nictiz_paths

    from mock_providers.his.nictiz import load_nictiz

    fixtures, tokens, _ = nictiz_paths()
    store = load_nictiz(fixtures, tokens, date(2026, 11, 23))
    resources = store.all()
    assert len(resources) > 150
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": URL}],
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }
    results = {c: judge(c, exchange(body), store) for c in (*GENERIC, "fhir.profile")}
    expected = dict.fromkeys((*GENERIC, "fhir.profile"), Outcome.PASS)
    assert {c: r.outcome for c, r in results.items()} == expected, {
        c: r.messages[:2] for c, r in results.items() if r.outcome is not expected[c]
    }
    assert f"{len(store.all('Patient'))} BSN identifiers masked" in results["fhir.no-bsn"].messages[0]


def test_entry_walks_are_remembered_by_content_and_match_a_fresh_walk() -> None:
    from validatiestraat.checks import fhirtree

    fhirtree._ENTRY_WALKS.clear()
    fresh = [(n.type, n.where, n.value) for n in fhirtree.walk_uncached(good_bundle())]
    again = [(n.type, n.where, n.value) for n in fhirtree.walk_uncached(good_bundle())]  # entries from the cache
    assert again == fresh
    assert (
        "Coding",
        "MedicationRequest/ma-1 category[0].coding[0]",
        ma(good_bundle())["category"][0]["coding"][0],
    ) in fresh
    changed = mutated(lambda b: ma(b)["category"][0]["coding"][0].pop("system"))
    walked = {n.where: n.value for n in fhirtree.walk_uncached(changed)}
    assert "system" not in walked["MedicationRequest/ma-1 category[0].coding[0]"]  # new content, walked anew
