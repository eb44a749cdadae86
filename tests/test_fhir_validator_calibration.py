"""Edge cases where the validator follows what HL7 validator 6.0.21 (``-tx n/a``, config B) says: each case was run
through it when written, and the expected rules are its errors (or: no error where it passes the file)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from validatiestraat.fhir.defaults import plugins
from validatiestraat.fhir.packages import BundledPackages
from validatiestraat.fhir.validator import Validator


@cache
def validator() -> Validator:
    packages = BundledPackages()
    bindings, invariants = plugins(packages)
    return Validator(packages, bindings=bindings, invariants=invariants)


ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
MARITAL = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
ADDRESS_LINE_EXT = "http://hl7.org/fhir/StructureDefinition/iso21090-ADXP-buildingNumberSuffix"
BODY_POSITION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"
NATIONALITY = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
CONCEPT = {"text": "NL"}


def patient(**extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", **extra}


def ext(url: str) -> list[dict[str, Any]]:
    return [{"url": url, "valueString": "a"}]


CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    # (what, resource, the errors HL7 reports as (rule, location))
    (
        "an extension no package defines",
        patient(extension=ext("http://acme.nl/fhir/StructureDefinition/x")),
        [("extension.unknown", "Patient.extension[0]")],
    ),
    (
        "an unknown modifier extension",
        patient(modifierExtension=ext("http://acme.nl/fhir/StructureDefinition/x")),
        [("extension.unknown", "Patient.modifierExtension[0]")],
    ),
    (
        "an unknown extension under the Nictiz domain",
        patient(extension=ext("http://nictiz.nl/fhir/StructureDefinition/ext-Bogus")),
        [("extension.unknown", "Patient.extension[0]")],
    ),
    (
        "an example URL as the extension's identity",
        patient(extension=ext("http://example.org/fhir/StructureDefinition/x")),
        [("extension.url", "Patient.extension[0].url"), ("extension.unknown", "Patient.extension[0]")],
    ),
    (
        "a UUID URN that is not a UUID",
        patient(extension=ext("urn:uuid:1234")),
        [("type.primitive", "Patient.extension[0].url"), ("extension.unknown", "Patient.extension[0]")],
    ),
    ("a resource id with a space", patient(id="p 1", active=True), [("type.primitive", "Patient.id")]),
    (
        "an unknown code of a complete code system, no binding",
        patient(meta={"tag": [{"system": ACT_REASON, "code": "BOGUSCODE"}]}),
        [("terminology.code", "Patient.meta.tag[0]")],
    ),
    (
        "a wrong display (a warning only)",
        patient(meta={"tag": [{"system": ACT_REASON, "code": "HTEST", "display": "Not the display"}]}),
        [],
    ),
    (
        "an unknown code under an extensible binding",
        patient(maritalStatus={"coding": [{"system": MARITAL, "code": "ZZ"}]}),
        [("terminology.code", "Patient.maritalStatus.coding[0]")],
    ),
    (
        "an extension outside its context (an element)",
        patient(name=[{"family": "Jansen", "_family": {"extension": ext(ADDRESS_LINE_EXT)}}]),
        [("extension.context", "Patient.name[0].family")],
    ),
    (
        "an extension in its context",
        patient(address=[{"line": ["Straat 1"], "_line": [{"extension": ext(ADDRESS_LINE_EXT)}]}]),
        [],
    ),
    (
        "an extension outside its context (a resource)",
        patient(extension=[{"url": BODY_POSITION, "valueCodeableConcept": {"text": "x"}}]),
        [("extension.context", "Patient")],
    ),
    (
        "a relative extension url at the top",
        patient(extension=ext("code")),
        [("extension.url", "Patient.extension[0].url")],
    ),
    (
        "a complex extension and its parts",
        patient(extension=[{"url": NATIONALITY, "extension": [{"url": "code", "valueCodeableConcept": CONCEPT}]}]),
        [],
    ),
    (
        "a part of a complex extension with the wrong type",
        patient(extension=[{"url": NATIONALITY, "extension": [{"url": "code", "valueString": "NL"}]}]),
        [("type.not-allowed", "Patient.extension[0].extension[0].valueString")],
    ),
    ("an empty array (HL7 passes it; a warning here)", patient(name=[{"family": "X", "given": []}]), []),
]


def bundle(kind: str, resource: dict[str, Any], **entry: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "id": "b1", "type": kind, "entry": [{"resource": resource, **entry}]}


POST = {"request": {"method": "POST", "url": "Patient"}}
REFERRING = patient(generalPractitioner=[{"reference": "Practitioner/pr1"}])
CASES += [
    (
        "a searchset entry without fullUrl",
        bundle("searchset", patient(), search={"mode": "match"}),
        [("bundle.full-url", "Bundle.entry[0]")],
    ),
    ("a collection entry without fullUrl", bundle("collection", patient()), [("bundle.full-url", "Bundle.entry[0]")]),
    ("a transaction entry without fullUrl that refers to nothing", bundle("transaction", patient(), **POST), []),
    (
        "a transaction entry without fullUrl that refers to others",
        bundle("transaction", REFERRING, **POST),
        [("bundle.full-url", "Bundle.entry[0]")],
    ),
]


@pytest.mark.parametrize(("what", "resource", "expected"), CASES, ids=[c[0] for c in CASES])
def test_errors_as_hl7_reports_them(what: str, resource: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    issues = validator().validate(resource)
    errors = sorted((i.rule, i.location) for i in issues if i.severity in ("error", "fatal"))
    assert errors == sorted(expected), issues


def test_the_empty_array_is_named_in_a_warning() -> None:
    issues = validator().validate(patient(name=[{"family": "X", "given": []}]))
    assert [(i.severity, i.rule, i.location) for i in issues] == [
        ("warning", "structure.json", "Patient.name[0].given")
    ]
