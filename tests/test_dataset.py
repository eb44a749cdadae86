"""The project's own MP9 3.0 dataset (fixtures/mp9): structure, profiles, references, BSN hygiene, filters."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from validatiestraat.fhir.tdates import expand, has_placeholders

DATASET = Path(__file__).resolve().parent.parent / "fixtures" / "mp9"
RESOURCES = DATASET / "resources"
SD = "http://nictiz.nl/fhir/StructureDefinition/"
SCT = "http://snomed.info/sct"
BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
ZIB_VALUESET_OID = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.2"
ID_PATTERN = re.compile(r"^vs-[a-z0-9-]+$")
# Two dates T far apart, one in winter time and one in summer time, one in a leap year on the 29th of February.
T_VALUES = (date(2024, 2, 29), date(2031, 7, 15))

# Category code -> (resource type, profile) for the seven MP9 building blocks.
BLOCKS = {
    "33633005": ("MedicationRequest", "mp-MedicationAgreement"),
    "52711000146108": ("MedicationRequest", "mp-DispenseRequest"),
    "395067002": ("MedicationRequest", "mp-VariableDosingRegimen"),
    "422037009": ("MedicationDispense", "mp-AdministrationAgreement"),
    "373784005": ("MedicationDispense", "mp-MedicationDispense"),
    "422979000": ("MedicationStatement", "mp-MedicationUse2"),
    "18629005": ("MedicationAdministration", "mp-MedicationAdministration2"),
}
FIXED_PROFILES = {
    "Medication": "mp-PharmaceuticalProduct",
    "Patient": "nl-core-Patient",
    "Practitioner": "nl-core-HealthProfessional-Practitioner",
    "PractitionerRole": "nl-core-HealthProfessional-PractitionerRole",
    "Organization": "nl-core-HealthcareProvider-Organization",
    "Location": "nl-core-HealthcareProvider",
}
CLINICAL = {"MedicationRequest", "MedicationDispense", "MedicationStatement", "MedicationAdministration"}


def _raw_files() -> list[Path]:
    return sorted(RESOURCES.glob("*.json"))


def _load(t: date) -> dict[str, dict]:
    """All resources expanded against T, keyed by 'Type/id'."""
    out = {}
    for path in _raw_files():
        res = json.loads(expand(path.read_text(encoding="utf-8"), t))
        out[f"{res['resourceType']}/{res['id']}"] = res
    return out


@pytest.fixture(scope="module", params=T_VALUES, ids=lambda t: f"T={t}")
def dataset(request) -> dict[str, dict]:
    return _load(request.param)


@pytest.fixture(scope="module")
def patients() -> list[dict]:
    return json.loads((DATASET / "patients.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def filters() -> dict:
    return json.loads((DATASET / "filters.json").read_text(encoding="utf-8"))


def walk(node, path: str = "") -> Iterator[tuple[str, str, object]]:
    """Yield (path, key, value) for every key of every object in a JSON tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}[{i}]")


def objects(node) -> Iterator[tuple[str, dict]]:
    """Yield (path, object) for every JSON object in a tree, the root included."""
    if isinstance(node, dict):
        yield "", node
    for path, key, value in walk(node):
        if isinstance(value, dict):
            yield f"{path}.{key}", value
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield f"{path}.{key}[{i}]", item


def category_code(res: dict) -> str | None:
    cat = res.get("category")
    if isinstance(cat, list):
        cat = cat[0] if cat else None
    if not cat:
        return None
    codes = [c["code"] for c in cat.get("coding", []) if c.get("system") == SCT]
    return codes[0] if codes else None


def references(res: dict) -> Iterator[tuple[str, dict]]:
    for path, obj in objects(res):
        if "reference" in obj or ("identifier" in obj and isinstance(obj.get("identifier"), dict) and "type" in obj):
            yield path, obj


# --------------------------------------------------------------------------- files and parsing


def test_layout_and_ids():
    files = _raw_files()
    assert len(files) >= 50, "the dataset should have a substantial number of resources"
    for path in files:
        res = json.loads(path.read_text(encoding="utf-8"))
        rtype, rid = res["resourceType"], res["id"]
        assert path.name == f"{rtype}-{rid}.json", path.name
        assert ID_PATTERN.match(rid), f"{path.name}: id {rid!r} is not ours ([a-z0-9-], prefix vs-)"
        assert path.read_text(encoding="utf-8") == json.dumps(res, indent=2, ensure_ascii=False) + "\n", (
            f"{path.name} is not pretty-printed with a 2-space indent"
        )
        assert "text" not in res, f"{path.name}: no narrative expected"


def test_every_date_is_relative_to_t():
    """Every date or dateTime is written with a ${DATE, T, ...} placeholder, except none (no fixed dates)."""
    iso = re.compile(r"^\d{4}-\d{2}(-\d{2})?")
    for path in _raw_files():
        for p, key, value in walk(json.loads(path.read_text(encoding="utf-8"))):
            if isinstance(value, str) and iso.match(value):
                pytest.fail(f"{path.name}{p}.{key}: fixed date {value!r}, use a placeholder")
            if isinstance(value, str) and has_placeholders(value):
                assert re.fullmatch(r"\$\{DATE, T, [YMD], [+-]\d+\}(T\d{2}:\d{2}:\d{2}\+01:00)?", value), (
                    f"{path.name}{p}.{key}: {value!r} (times must carry +01:00)"
                )


def test_parses_with_fhir_models(dataset):
    for key, res in dataset.items():
        model = get_fhir_model_class(res["resourceType"])
        model.model_validate(res)  # raises on any structural error
        assert not has_placeholders(json.dumps(res)), key


def test_meta_profile_matches_kind(dataset):
    for key, res in dataset.items():
        profiles = res.get("meta", {}).get("profile", [])
        rtype = res["resourceType"]
        if rtype in FIXED_PROFILES:
            expected = SD + FIXED_PROFILES[rtype]
        else:
            assert rtype in CLINICAL, f"{key}: unexpected resource type"
            code = category_code(res)
            assert code in BLOCKS, f"{key}: category {code!r} is not an MP9 block"
            assert BLOCKS[code][0] == rtype, f"{key}: category {code} does not belong on {rtype}"
            expected = SD + BLOCKS[code][1]
        assert profiles == [expected], f"{key}: meta.profile {profiles} != [{expected}]"


def test_all_seven_blocks_present(dataset):
    counts = {code: 0 for code in BLOCKS}
    for res in dataset.values():
        code = category_code(res)
        if code in counts:
            counts[code] += 1
    missing = [BLOCKS[c][1] for c, n in counts.items() if n == 0]
    assert not missing, f"blocks without resources: {missing}"


# --------------------------------------------------------------------------- references


def test_references_resolve_and_have_display(dataset):
    for key, res in dataset.items():
        for path, ref in references(res):
            assert ref.get("display"), f"{key}{path}: Reference without display"
            if "reference" in ref:
                target = ref["reference"]
                assert re.fullmatch(r"[A-Za-z]+/vs-[a-z0-9-]+", target), f"{key}{path}: not relative: {target}"
                assert target in dataset, f"{key}{path}: {target} does not resolve"
                if "type" in ref:
                    assert target.split("/")[0] == ref["type"], f"{key}{path}: type {ref['type']} != {target}"


def test_identifier_references_point_at_existing_resources(dataset):
    """basedOn / authorizingPrescription / derivedFrom / request by identifier match a resource in the set."""
    index = {
        (res["resourceType"], i.get("system"), i.get("value"))
        for res in dataset.values()
        for i in res.get("identifier", [])
    }
    for key, res in dataset.items():
        for path, ref in references(res):
            if "reference" not in ref:
                ident = ref["identifier"]
                assert (ref["type"], ident.get("system"), ident.get("value")) in index, (
                    f"{key}{path}: identifier reference {ident} matches no {ref['type']}"
                )


def test_clinical_resources_have_a_patient_subject(dataset):
    for key, res in dataset.items():
        if res["resourceType"] in CLINICAL:
            subject = res.get("subject", {}).get("reference", "")
            assert subject.startswith("Patient/") and subject in dataset, f"{key}: subject {subject!r}"


# --------------------------------------------------------------------------- MedMij content rules


def test_medmij_content_rules(dataset):
    for key, res in dataset.items():
        for path, obj in objects(res):
            if "coding" in obj and isinstance(obj["coding"], list):  # CodeableConcept
                assert obj.get("text") or any(c.get("display") for c in obj["coding"]), (
                    f"{key}{path}: CodeableConcept without display or text"
                )
                for c in obj["coding"]:
                    assert c.get("system") and c.get("code"), f"{key}{path}: Coding without system+code"
                    assert not c["system"].startswith(ZIB_VALUESET_OID), f"{key}{path}: value-set OID as system"
        for path, key2, value in walk(res):
            if key2 == "identifier" or (key2 == "valueIdentifier"):
                for ident in value if isinstance(value, list) else [value]:
                    assert ident.get("system") or ident.get("type"), f"{key}{path}: Identifier without system/type"
                    masked = ident.get("system") == BSN_SYSTEM and "_value" in ident
                    assert ident.get("value") or masked, f"{key}{path}: Identifier without value"
        if res["resourceType"] in CLINICAL:
            for ident in res["identifier"]:
                assert ident["system"].startswith("urn:oid:"), f"{key}: identifier system not urn:oid"
            treatment = [
                e["valueIdentifier"]
                for e in res.get("extension", [])
                if e["url"] == SD + "ext-PharmaceuticalTreatment.Identifier"
            ]
            assert len(treatment) == 1, f"{key}: needs exactly one pharmaceutical treatment identifier"
            assert treatment[0]["system"].startswith("urn:oid:"), f"{key}: treatment id system not urn:oid"


def test_patient_bsn_is_masked(dataset):
    for key, res in dataset.items():
        if res["resourceType"] != "Patient":
            continue
        bsn = [i for i in res.get("identifier", []) if i.get("system") == BSN_SYSTEM]
        assert len(bsn) == 1, f"{key}: needs one BSN identifier"
        assert "value" not in bsn[0], f"{key}: BSN carries a value"
        ext = bsn[0]["_value"]["extension"]
        assert ext == [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "masked"}]


# --------------------------------------------------------------------------- patients.json


def elfproef(bsn: str) -> bool:
    if not re.fullmatch(r"\d{9}", bsn):
        return False
    digits = [int(c) for c in bsn]
    return (sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]) % 11 == 0


def test_elfproef_helper_rejects_bad_numbers():
    assert elfproef("999950010")
    assert not elfproef("999950011")
    assert not elfproef("99995001")


def test_patients_json(dataset, patients):
    assert len(patients) >= 8
    ids = [p["id"] for p in patients]
    assert len(set(ids)) == len(ids), "duplicate patient ids"
    bsns = [p["bsn"] for p in patients]
    assert len(set(bsns)) == len(bsns), "duplicate BSNs"
    for p in patients:
        assert set(p) == {"id", "bsn", "name", "purpose"}, p
        assert f"Patient/{p['id']}" in dataset, f"no Patient resource for {p['id']}"
        assert p["bsn"].startswith("9999") and elfproef(p["bsn"]), f"{p['id']}: BSN {p['bsn']} fails the 11-proef"
        assert p["name"] and p["purpose"]
    patient_resources = {k for k, r in dataset.items() if r["resourceType"] == "Patient"}
    assert patient_resources == {f"Patient/{i}" for i in ids}, "Patient resources and patients.json differ"


def test_no_bsn_value_anywhere(patients):
    for path in [*_raw_files(), DATASET / "filters.json", DATASET / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for p in patients:
            assert p["bsn"] not in text, f"BSN of {p['id']} occurs in {path.name}"


def test_exactly_one_patient_without_data_and_it_is_unreferenced(dataset, patients):
    referenced = {ref["reference"] for res in dataset.values() for _, ref in references(res) if "reference" in ref}
    empty = [p["id"] for p in patients if f"Patient/{p['id']}" not in referenced]
    assert len(empty) == 1, f"expected exactly one patient without data, got {empty}"
    assert "no medication data" in next(p["purpose"] for p in patients if p["id"] == empty[0])


def test_every_patient_with_data_has_clinical_resources(dataset, patients):
    subjects = {res["subject"]["reference"] for res in dataset.values() if res["resourceType"] in CLINICAL}
    with_data = [p["id"] for p in patients if f"Patient/{p['id']}" in subjects]
    assert len(with_data) == len(patients) - 1


# --------------------------------------------------------------------------- filters.json


def test_filters_json(dataset, filters):
    patient = f"Patient/{filters['patient']}"
    assert patient in dataset
    queries = filters["queries"]
    assert len(queries) >= 20
    seen_params = set()
    for q in queries:
        rtype = q["resourceType"]
        assert rtype in CLINICAL, q
        assert q["query"] == "&".join(f"{k}={v}" for k, v in q["params"]), q["query"]
        for name, _ in q["params"]:
            seen_params.add(name)
        for rid in q["expected"]:
            key = f"{rtype}/{rid}"
            assert key in dataset, f"{q['query']}: {key} not in the dataset"
            assert dataset[key]["subject"]["reference"] == patient, f"{key} is not the filter patient's"
    wanted = {
        "identifier",
        "medication.code",
        "period-of-use",
        "whenhandedover",
        "effective-time",
        "pharmaceutical-treatment-identifier",
    }
    assert wanted <= seen_params, f"filters.json misses {wanted - seen_params}"
