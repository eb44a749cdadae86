"""The binding plug-in: which terminology answer becomes which issue (HL7 6.0.21, ``-tx n/a``, config B)."""

from __future__ import annotations

from typing import Any

import pytest

from validatiestraat.fhir.bindings import TerminologyBindings
from validatiestraat.fhir.terminology import Terminology

EX = "http://example.org/fhir"
COLOURS = f"{EX}/CodeSystem/colours"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
RESOURCES: dict[str, dict[str, Any]] = {
    COLOURS: {
        "resourceType": "CodeSystem",
        "url": COLOURS,
        "content": "complete",
        "concept": [{"code": "red", "display": "Red"}, {"code": "blue", "display": "Blue"}],
    },
    f"{EX}/ValueSet/colours": {
        "resourceType": "ValueSet",
        "url": f"{EX}/ValueSet/colours",
        "compose": {"include": [{"system": COLOURS}]},
    },
    f"{EX}/ValueSet/findings": {
        "resourceType": "ValueSet",
        "url": f"{EX}/ValueSet/findings",
        "compose": {"include": [{"system": SNOMED, "concept": [{"code": "22298006"}]}]},
    },
    f"{EX}/ValueSet/units": {
        "resourceType": "ValueSet",
        "url": f"{EX}/ValueSet/units",
        "compose": {"include": [{"system": UCUM, "concept": [{"code": "cm"}]}]},
    },
}
RESOURCES[f"{EX}/ValueSet/importing"] = {
    "resourceType": "ValueSet",
    "url": f"{EX}/ValueSet/importing",
    "compose": {"include": [{"valueSet": [f"{EX}/ValueSet/findings"]}]},
}
COLOUR_VS, FINDINGS_VS, UNITS_VS, IMPORTING_VS = (
    f"{EX}/ValueSet/{n}" for n in ("colours", "findings", "units", "importing")
)
QUANTITY = {"value": 180, "unit": "cm", "system": UCUM, "code": "cm"}


@pytest.fixture(scope="module")
def bindings() -> TerminologyBindings:
    return TerminologyBindings(Terminology(RESOURCES.get))


@pytest.fixture(scope="module")
def hl7() -> TerminologyBindings:
    return TerminologyBindings(Terminology(RESOURCES.get), hl7_offline=True)


def _severities(problems: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    return [(severity, rule) for severity, _, rule in problems]


def test_codes_in_the_value_set_give_nothing(bindings: TerminologyBindings) -> None:
    assert bindings.judge("required", COLOUR_VS, "code", "red") == []
    assert bindings.judge("required", COLOUR_VS, "Coding", {"system": COLOURS, "code": "blue"}) == []
    concept = {"coding": [{"system": SNOMED, "code": "1"}, {"system": COLOURS, "code": "red"}]}
    assert bindings.judge("required", COLOUR_VS, "CodeableConcept", concept) == []


def test_not_in_is_an_error_when_required_and_a_warning_when_extensible(bindings: TerminologyBindings) -> None:
    assert _severities(bindings.judge("required", COLOUR_VS, "code", "green")) == [("error", "binding.required")]
    assert _severities(bindings.judge("extensible", COLOUR_VS, "code", "green")) == [("warning", "binding.extensible")]
    concept = {"coding": [{"system": COLOURS, "code": "green"}]}
    problems = bindings.judge("required", COLOUR_VS, "CodeableConcept", concept)
    assert _severities(problems) == [("error", "binding.required")]
    assert f"{COLOURS}#green" in problems[0][1] and COLOUR_VS in problems[0][1]


def test_a_code_system_only_a_server_knows_is_a_warning_by_default(bindings: TerminologyBindings) -> None:
    """Offline, a code of SNOMED CT or UCUM cannot be checked: a warning that says why, never a failure."""
    concept = {"coding": [{"system": SNOMED, "code": "22298006"}]}
    assert _severities(bindings.judge("required", FINDINGS_VS, "CodeableConcept", concept)) == [
        ("warning", "binding.required")
    ]
    problems = bindings.judge("required", UNITS_VS, "Quantity", QUANTITY)
    assert _severities(problems) == [("warning", "binding.required")]
    assert "terminology server" in problems[0][1]
    imported = {"coding": [{"system": SNOMED, "code": "22298006"}]}
    problems = bindings.judge("required", IMPORTING_VS, "CodeableConcept", imported)
    assert _severities(problems) == [("warning", "binding.required")]
    assert "HL7 validator 6.0.21 without a terminology server reports it as not in the value set" in problems[0][1]


def test_hl7_offline_judges_them_as_hl7_6_0_21_with_tx_na(hl7: TerminologyBindings) -> None:
    """A Coding or Quantity under a required binding is an error, a warning when extensible; a CodeableConcept
    stays a warning, unless its code is in an imported value set that cannot be checked: then it is not in."""
    concept = {"coding": [{"system": SNOMED, "code": "22298006"}]}
    assert _severities(hl7.judge("required", FINDINGS_VS, "CodeableConcept", concept)) == [
        ("warning", "binding.required")
    ]
    assert _severities(hl7.judge("required", UNITS_VS, "Quantity", QUANTITY)) == [("error", "binding.required")]
    assert _severities(hl7.judge("extensible", UNITS_VS, "Quantity", QUANTITY)) == [("warning", "binding.extensible")]
    problems = hl7.judge("required", IMPORTING_VS, "CodeableConcept", concept)
    assert _severities(problems) == [("error", "binding.required")]


def test_no_coding_at_all(bindings: TerminologyBindings) -> None:
    assert _severities(bindings.judge("required", COLOUR_VS, "CodeableConcept", {"text": "reddish"})) == [
        ("error", "binding.required")
    ]
    assert _severities(bindings.judge("extensible", COLOUR_VS, "CodeableConcept", {"text": "reddish"})) == [
        ("warning", "binding.extensible")
    ]


def test_any_coding_against_its_code_system(bindings: TerminologyBindings) -> None:
    """Bound or not: a code the (complete) code system lacks is an error, a wrong display a warning; a code system
    only a server knows is not judged here (the binding says so where there is one)."""
    problems = bindings.coding({"system": COLOURS, "code": "red", "display": "Rood"})
    assert _severities(problems) == [("warning", "terminology.display")] and "Rood" in problems[0][1]
    problems = bindings.coding({"system": COLOURS, "code": "purple"})
    assert _severities(problems) == [("error", "terminology.code")] and "purple" in problems[0][1]
    assert bindings.coding({"system": COLOURS, "code": "blue", "display": "Blue"}) == []
    assert bindings.coding({"system": SNOMED, "code": "22298006", "display": "anything"}) == []
    assert _severities(bindings.coding({"code": "red"})) == [("warning", "terminology.system")]
    # the binding check does not repeat the display
    assert bindings.judge("required", COLOUR_VS, "Coding", {"system": COLOURS, "code": "red", "display": "Rood"}) == []


def test_codings_without_a_system_or_a_code(bindings: TerminologyBindings) -> None:
    """As HL7 6.0.21 judges them: a code without a system is in no value set; a system without a code is not in one
    that can be checked, and undecided (a warning) when its code system needs a server."""
    assert _severities(bindings.judge("required", COLOUR_VS, "Coding", {"code": "red"})) == [
        ("error", "binding.required")
    ]
    concept = {"coding": [{"code": "red"}]}
    assert _severities(bindings.judge("required", COLOUR_VS, "CodeableConcept", concept)) == [
        ("error", "binding.required")
    ]
    assert _severities(bindings.judge("required", COLOUR_VS, "Coding", {"system": COLOURS})) == [
        ("error", "binding.required")
    ]
    concept = {"coding": [{"system": SNOMED, "display": "a finding"}]}
    assert _severities(bindings.judge("required", FINDINGS_VS, "CodeableConcept", concept)) == [
        ("warning", "binding.required")
    ]


def test_values_that_are_not_coded_are_left_to_the_structure_checks(bindings: TerminologyBindings) -> None:
    assert bindings.judge("required", COLOUR_VS, "code", 42) == []
    assert bindings.judge("required", COLOUR_VS, "Coding", {"display": "Red"}) == []
    assert bindings.judge("required", COLOUR_VS, "Identifier", {"value": "x"}) == []
