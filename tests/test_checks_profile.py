"""The check ``fhir.profile`` (validatiestraat/checks/profile.py): every answer through the native validator.

A sound answer of the project's own MP9 data passes and names the profiles it conforms to (JSON and XML alike);
each kind of break, structural (R4) or of a declared profile (slices, bindings, invariants), fails with the
location and the rule; what cannot be read fails; a validator that breaks is a harness error, not a verdict.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

import pytest

from validatiestraat.checks import profile as profile_check
from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import all_checks, evaluate
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.formats import dumps, media_type
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import Scenario

NICTIZ = "http://nictiz.nl/fhir/StructureDefinition/"
BASE = "https://dva.example.test/fhir"
T = date(2026, 11, 23)
SCENARIO = Scenario(id="unit", kind="mp9-search", title="unit", variants=("json", "xml"), block="MA", patient="pat-1")


@cache
def dataset() -> Store:
    from mock_providers.his.dataset import load_builtin

    return load_builtin(T)


def store() -> Store:
    bsn = next(p.bsn for p in dataset().patients if p.bsn)
    return Store(patients=[PatientEntry("pat-1", bsn, "Test Patiënt")])


def resource(rid: str) -> dict[str, Any]:
    return copy.deepcopy(next(r for r in dataset().all() if r.get("id") == rid))


def agreement() -> dict[str, Any]:
    return resource("vs-ma-visser-metformine")


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    resources = resources or (agreement(),)
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": f"{BASE}/MedicationRequest"}],
        "entry": [
            {
                "fullUrl": f"{BASE}/{r['resourceType']}/{r.get('id', 'x')}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
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
    return evaluate(all_checks()["fhir.profile"], CheckContext(SCENARIO, "json", [x], store()))


def with_agreement(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    ma = agreement()
    change(ma)
    return bundle(ma)


def failures(result: Result) -> list[str]:
    return [m for m in result.messages if m.startswith("fail: ")]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_sound_answer_passes_and_names_its_profiles(fmt: str) -> None:
    result = judge(exchange(bundle(), fmt))
    assert result.outcome is Outcome.PASS, result.messages
    (message,) = result.messages
    assert message.startswith("pass: Bundle with 1 entry resource conforms to FHIR R4 and to 1 declared profile")
    assert NICTIZ + "mp-MedicationAgreement" in message


def _category(ma: dict[str, Any]) -> None:
    ma["category"][0]["coding"][0]["code"] = "16076005"  # a prescription, not a medication agreement


def _period_backwards(ma: dict[str, Any]) -> None:
    ma["extension"][2]["valuePeriod"]["end"] = "2001-01-01"  # the period of use starts T-400 days


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str, str]] = [
    # (what, change, rule, where)
    ("unknown element", lambda r: r.update(colour="red"), "structure.unknown-element", "MedicationRequest)"),
    (
        "R4B-only element (the R4 guard)",
        lambda r: r.setdefault("extension", []).append({"url": "http://example.org/x", "valueCodeableReference": {}}),
        "structure.unknown-element",
        "extension[",
    ),
    ("number for a code", lambda r: r.update(status=5), "type.primitive", ".status"),
    ("boolean as a number", lambda r: r.update(doNotPerform=1), "type.primitive", ".doNotPerform"),
    ("required element missing", lambda r: r.pop("intent"), "cardinality.min", ".intent"),
    ("impossible dateTime", lambda r: r.update(authoredOn="2026-13-45"), "type.primitive", ".authoredOn"),
    ("id with a space", lambda r: r.update(id="ma 1"), "type.primitive", ".id"),
    ("object where an array belongs", lambda r: r.update(identifier={"value": "x"}), "structure.json", "identifier"),
    ("empty string", lambda r: r.update(authoredOn=""), "type.primitive", ".authoredOn"),
    ("empty object", lambda r: r.update(note=[{}]), "invariant:ele-1", ".note[0]"),
    (
        "contained resource of an unknown type",
        lambda r: r.update(contained=[{"resourceType": "Foo", "id": "x"}]),
        "structure.resource-type",
        "contained[0]",
    ),
    ("'_' holder on a complex element", lambda r: r.update(_subject={"id": "x"}), "structure.json", "_subject"),
    ("profile: slice minimum (the MA category code)", _category, "slicing.min", "MedicationRequest)"),
    ("profile: required binding", lambda r: r.update(status="bogus"), "binding.required", ".status"),
    ("invariant: period ends before it starts", _period_backwards, "invariant:per-1", "extension[2].valuePeriod"),
]


@pytest.mark.parametrize(("what", "change", "rule", "where"), BROKEN, ids=[b[0] for b in BROKEN])
def test_each_break_fails_with_its_rule_and_place(
    what: str, change: Callable[[dict[str, Any]], Any], rule: str, where: str
) -> None:
    result = judge(exchange(with_agreement(change)))
    assert result.outcome is Outcome.FAIL, result.messages
    hits = [m for m in failures(result) if m.endswith(f"[{rule}]") and where in m.split(": ", 2)[1]]
    assert hits, failures(result)
    assert all(m.startswith("fail: Bundle.entry[0].resource.ofType(MedicationRequest)") for m in hits)
    assert not any(m.startswith("error: ") for m in result.messages)


def test_errors_in_the_bundle_itself_are_named_there() -> None:
    body = bundle()
    body["total"] = "1"
    body["entry"][0]["search"]["rank"] = 1
    found = failures(judge(exchange(body)))
    assert any(m.startswith("fail: Bundle.total: ") and m.endswith("[type.primitive]") for m in found), found
    assert any(m.startswith("fail: Bundle.entry[0].search") and "'rank'" in m for m in found), found


def test_unknown_elements_in_xml_make_the_body_unreadable_as_r4() -> None:
    xml = dumps(bundle(), "xml").replace(b"<status ", b'<colour value="red"/><status ', 1)
    result = judge(exchange(xml, "xml"))
    assert result.outcome is Outcome.FAIL
    assert "unknown element 'colour' in MedicationRequest" in result.messages[0]


def test_an_unreadable_body_fails() -> None:
    result = judge(exchange(b'{"resourceType": "Bundle", '))
    assert result.outcome is Outcome.FAIL and "cannot be read as a FHIR R4 resource" in result.messages[0]


def test_an_operation_outcome_answer_is_validated_too() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "exception"}]}
    result = judge(exchange(outcome))
    assert result.outcome is Outcome.PASS and "0 declared profiles (none)" in result.messages[0]
    outcome["issue"][0].pop("code")
    assert judge(exchange(outcome)).outcome is Outcome.FAIL


def test_warnings_are_counted_by_rule_in_the_pass() -> None:
    """A code from a system only a terminology server knows cannot be checked offline: a warning, not a failure."""
    medication = resource("vs-med-zinkoxide-smeersel-magistraal")
    result = judge(exchange(bundle(agreement(), medication)))
    assert result.outcome is Outcome.PASS, result.messages
    assert "warnings (" in result.messages[0] and "binding.required" in result.messages[0]
    assert ", e.g. Bundle.entry[" in result.messages[0] and "terminology server" in result.messages[0]


def test_a_bsn_in_a_message_is_blanked() -> None:
    bsn = next(p.bsn for p in dataset().patients if p.bsn)
    result = judge(exchange(with_agreement(lambda r: r.update(authoredOn=bsn))))
    assert result.outcome is Outcome.FAIL
    assert all(bsn not in m for m in result.messages) and any("[BSN]" in m for m in result.messages)


def test_a_validator_that_breaks_is_a_harness_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(resource: dict[str, Any]) -> list[Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(profile_check, "validate", broken)
    result = judge(exchange(bundle()))
    assert result.outcome is Outcome.ERROR and "could not judge the answer: RuntimeError: boom" in result.messages[0]


def test_an_answer_is_validated_once_per_content() -> None:
    body = bundle()
    first = profile_check.validate(body)
    assert profile_check.validate(copy.deepcopy(body)) is first  # JSON and XML variants of a case share it


def test_every_resource_of_the_project_dataset_conforms_to_its_profiles() -> None:
    """All resources of fixtures/mp9 (expanded for a date T), each alone: no error."""
    assert len(dataset()) > 100
    for r in dataset().all():
        errors = [i for i in profile_check.validate(r) if i.severity in ("error", "fatal")]
        assert not errors, (r["resourceType"], r["id"], errors[:3])
