import json
from datetime import date
from pathlib import Path

import pytest
from conftest import nictiz_paths
from fhir.resources.R4B import get_fhir_model_class

from mock_providers.his.dataset import load_dataset
from validatiestraat.fhir.formats import (
    JSON_MEDIA_TYPE,
    XML_MEDIA_TYPE,
    from_json,
    from_xml,
    media_type,
    negotiate,
    to_json,
    to_xml,
)
from validatiestraat.fhir.tdates import expand

MINI = Path(__file__).parent / "data" / "mini"
T = date(2025, 3, 14)


@pytest.fixture(scope="module")
def resources() -> list[dict]:
    return load_dataset(MINI, T).all()


def test_round_trip_every_resource(resources: list[dict]) -> None:
    for r in resources:
        assert from_xml(to_xml(r)) == r, r["id"]
        assert from_json(to_json(r)) == r
        get_fhir_model_class(r["resourceType"]).model_validate(r)  # the test data itself is valid R4(B)


def test_bundle_round_trip_and_element_order(resources: list[dict]) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "link": [{"relation": "self", "url": "https://x.test/fhir/MedicationRequest?a=b"}],
        "entry": [{"fullUrl": f"https://x.test/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    xml = to_xml(bundle)
    assert xml.startswith(b"<?xml")
    assert from_xml(xml) == bundle
    # XML follows definition order, whatever the JSON key order
    shuffled = dict(reversed(list(resources[0].items())))
    assert to_xml(shuffled) == to_xml(resources[0])


def test_remembered_inner_resources_read_alike_and_are_shared(resources: list[dict]) -> None:
    entries = [{"fullUrl": f"https://x.test/{r['resourceType']}/{r['id']}", "resource": r} for r in resources]
    first = to_xml({"resourceType": "Bundle", "id": "a", "type": "searchset", "entry": entries})
    second = to_xml({"resourceType": "Bundle", "id": "b", "type": "searchset", "entry": entries[::-1]})
    read_first, read_second = from_xml(first, remember=True), from_xml(second, remember=True)
    assert read_first == from_xml(first) and read_second == from_xml(second)
    assert read_first["id"] == "a" and read_second["id"] == "b"  # the Bundles themselves are read afresh
    # the same entry resource in two answers: read once, the same object in both
    assert read_first["entry"][0]["resource"] is read_second["entry"][-1]["resource"]
    assert from_xml(first)["entry"][0]["resource"] is not read_first["entry"][0]["resource"]


def test_primitive_extensions_types_and_narrative() -> None:
    xml = b"""<Patient xmlns="http://hl7.org/fhir"><id value="p"/>
      <text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml"><p>Hi &amp; bye</p></div></text>
      <active value="true"/>
      <name><family value="Bos"><extension url="http://x/own"><valueString value="Bos"/></extension></family>
        <given value="A."/><given><extension url="http://x/q"><valueCode value="IN"/></extension></given></name>
      <multipleBirthInteger value="2"/></Patient>"""
    r = from_xml(xml)
    assert r["active"] is True and r["multipleBirthInteger"] == 2
    assert r["name"][0]["given"] == ["A.", None]
    assert r["name"][0]["_given"] == [None, {"extension": [{"url": "http://x/q", "valueCode": "IN"}]}]
    assert r["name"][0]["_family"]["extension"][0]["valueString"] == "Bos"
    assert r["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml"><p>Hi &amp; bye')
    assert from_xml(to_xml(r)) == r
    get_fhir_model_class("Patient").model_validate(r)  # our JSON is valid for fhir.resources too


def test_decimals_keep_integers_integral() -> None:
    xml = (
        b'<Medication xmlns="http://hl7.org/fhir"><amount><numerator><value value="4"/></numerator>'
        b'<denominator><value value="0.5"/></denominator></amount></Medication>'
    )
    r = from_xml(xml)
    assert r["amount"]["numerator"]["value"] == 4 and isinstance(r["amount"]["numerator"]["value"], int)
    assert r["amount"]["denominator"]["value"] == 0.5
    assert b'<value value="4"/>' in to_xml(r)


@pytest.mark.parametrize(
    "bad",
    [
        b'<Patient xmlns="http://hl7.org/fhir"><bogus value="1"/></Patient>',
        b'<Nonsense xmlns="http://hl7.org/fhir"/>',
        b'<Patient xmlns="http://hl7.org/fhir"><active value="yes"/></Patient>',
        b"<Patient/>",
    ],
)
def test_from_xml_rejects_non_fhir(bad: bytes) -> None:
    with pytest.raises(ValueError):
        from_xml(bad)


def test_to_xml_rejects_unknown_elements() -> None:
    with pytest.raises(ValueError):
        to_xml({"resourceType": "Patient", "id": "p", "bogus": 1})


@pytest.mark.parametrize(
    ("fmt", "accept", "expected"),
    [
        (None, None, "json"),
        ("xml", None, "xml"),
        ("application/fhir+xml", "application/fhir+json", "xml"),
        ("text/xml", None, "xml"),
        ("application/json", "application/fhir+xml", "json"),
        ("nonsense", "application/fhir+xml", "xml"),
        (None, "application/fhir+xml", "xml"),
        (None, "application/xml;q=0.5, application/fhir+json", "json"),
        (None, "text/html, application/xml", "xml"),
        (None, "*/*", "json"),
    ],
)
def test_negotiate(fmt: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(fmt, accept) == expected


def test_media_types() -> None:
    assert media_type("json") == JSON_MEDIA_TYPE == "application/fhir+json; charset=utf-8"
    assert media_type("xml") == XML_MEDIA_TYPE == "application/fhir+xml; charset=utf-8"


@pytest.mark.nictiz
def test_nictiz_fixtures_round_trip_and_validate() -> None:
    fixtures, _, _ = nictiz_paths()
    files = sorted(fixtures.glob("*.xml"))
    assert files
    for path in files:
        r = from_xml(expand(path.read_text(encoding="utf-8"), T).encode())
        assert from_xml(to_xml(r)) == r, path.name
        assert json.loads(to_json(r)) == r
        get_fhir_model_class(r["resourceType"]).model_validate(r)
