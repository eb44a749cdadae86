from datetime import date, timedelta
from pathlib import Path

from fhirpathpy import evaluate as fhirpath
from fhirpathpy.models import models

from mock_providers.his.dataset import load_dataset
from validatiestraat.fhir.search import search
from validatiestraat.fhir.tdates import expand
from validatiestraat.fhir.testscript import (
    PROFILE_SKIP_REASON,
    Assert,
    evaluate,
    load_testscript,
)

DATA = Path(__file__).parent / "data"
T = date(2025, 3, 14)


def test_load_substitutes_variables_dates_and_headers() -> None:
    case = load_testscript(DATA / "testscripts" / "search-example.xml", T)
    op = case.operation
    assert (case.id, op.resource, op.accept, op.token) == ("example-search", "MedicationRequest", "xml", "tok-a")
    assert dict(op.params)["period-of-use"] == f"ge{T - timedelta(days=7)}"
    assert dict(op.params)["pharmaceutical-treatment-identifier"].endswith("|T1")
    assert len(op.headers["MedMij-Request-ID"]) == 36
    kinds = [a.kind for a in case.asserts]
    assert kinds == ["responseCode", "resource", "expression", "expression", "expression", "validateProfileId"]
    assert case.asserts[0].stop_on_fail and case.asserts[4].warning_only


def test_expand_dates_accepts_spacing_variants() -> None:
    assert expand("${DATE, T, D,-1} ${DATE,T,M,+1} ${DATE, T, Y, -1}", T) == "2025-03-13 2025-04-14 2024-03-14"


def test_evaluate_against_our_search() -> None:
    case = load_testscript(DATA / "testscripts" / "search-example.xml", T)
    store = load_dataset(DATA / "mini", T)
    body = search(store, case.operation.resource, case.operation.params, "pat-a", "https://x.test/fhir")
    outcomes = [r.outcome for r in evaluate(case.asserts, 200, body)]
    assert outcomes == ["passed"] * 5 + ["skipped"]
    assert evaluate(case.asserts, 200, body)[-1].message == PROFILE_SKIP_REASON
    # a 401 stops the test: everything after the responseCode assert is skipped
    stopped = evaluate(case.asserts, 401, None)
    assert [r.outcome for r in stopped] == ["failed"] + ["skipped"] * 5


def test_descendants_are_typed_on_plain_dicts() -> None:
    store = load_dataset(DATA / "mini", T)
    body = search(store, "MedicationRequest", [("_include", "MedicationRequest:requester")], "pat-a", "https://x")
    count = {
        t: fhirpath(body, f"Bundle.descendants().where($this.is({t})).count()", {}, models["r4"])[0]
        for t in ("Coding", "Reference", "CodeableConcept", "Identifier", "Period")
    }
    # 3 MedicationRequests (category, medication, subject, identifier, treatment id), ma-1's requester + period,
    # ma-2's period, the PractitionerRole's 3 references
    assert count == {"Coding": 3, "Reference": 10, "CodeableConcept": 3, "Identifier": 6, "Period": 2}
    no_display = Assert(
        kind="expression", expression="Bundle.descendants().where($this.is(Reference)).all(display.exists())"
    )
    assert evaluate([no_display], 200, body)[0].outcome == "passed"
    del body["entry"][0]["resource"]["subject"]["display"]
    assert evaluate([no_display], 200, body)[0].outcome == "failed"


def test_operators() -> None:
    body = {"resourceType": "Bundle", "type": "searchset", "total": 3}

    def one(**kw) -> str:
        return evaluate([Assert(kind="expression", **kw)], 200, body)[0].outcome

    assert one(expression="Bundle.type", operator="equals", value="searchset") == "passed"
    assert one(expression="Bundle.type", operator="notEquals", value="searchset") == "failed"
    assert one(expression="Bundle.total", operator="greaterThan", value="2") == "passed"
    assert one(expression="Bundle.entry", operator="empty") == "passed"
    assert one(expression="Bundle.total = 4") == "failed"
    assert one(expression="Bundle.nonsense(") == "failed"
