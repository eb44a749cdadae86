"""Hand-made invalid variants of valid resources: each breaks one rule and must be caught with that rule.

The originals are the straat's own MP9 dataset (fixtures/mp9/resources, CC0, Nictiz MP9 and nl-core profiles in
``meta.profile``) and small Bundles built from it; every original validates without errors. Each variant is a deep
copy of one original with one small change (a required element removed, a max-1 element repeated, a category code
changed, a wrong type, a bad date, a reference to the wrong kind of resource ...), and the test asserts that the
validator reports an error with the rule id the change breaks (and, where given, at the element it breaks).
When written, every variant was an error for the HL7 validator 6.0.21 too (``-tx n/a``, config B) and every
original was clean there; where HL7 names the problem differently (a choice element with a type its base element
does not have is an "Unrecognized property" for HL7), the variant expects the HL7 kind.

The validator is the default one (``defaults.plugins``: terminology and FHIRPath) over the packages the wheel carries.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from validatiestraat.fhir.defaults import plugins
from validatiestraat.fhir.packages import BundledPackages
from validatiestraat.fhir.tdates import expand
from validatiestraat.fhir.validator import Issue, Validator

RESOURCES = Path(__file__).resolve().parents[1] / "fixtures" / "mp9" / "resources"
T = date(2025, 1, 1)
NICTIZ = "http://nictiz.nl/fhir/StructureDefinition/"


# ---------------------------------------------------------------------- the validator


@cache
def validator() -> Validator:
    """The default validator over the packages the wheel carries: these tests need nothing outside the repo."""
    packages = BundledPackages()
    bindings, invariants = plugins(packages)
    return Validator(packages, bindings=bindings, invariants=invariants)


# ---------------------------------------------------------------------- the originals

MA = "MedicationRequest-vs-ma-visser-metformine.json"
MA_REASON = "MedicationRequest-vs-ma-verhoeven-metformine.json"  # has a reasonCode
MA_PERIOD = "MedicationRequest-vs-ma-hendriks-levothyroxine-25.json"  # periodOfUse with start and end
VV = "MedicationRequest-vs-vv-verhoeven-metformine.json"
TA = "MedicationDispense-vs-ta-visser-metformine.json"
TA_AMOX = "MedicationDispense-vs-ta-verhoeven-amoxicilline.json"
MVE = "MedicationDispense-vs-mve-visser-metformine-1.json"
MGB = "MedicationStatement-vs-mgb-visser-metformine.json"
MGB_VH = "MedicationStatement-vs-mgb-verhoeven-metformine.json"
MTD = "MedicationAdministration-vs-mtd-visser-metformine.json"
MED = "Medication-vs-med-metformine-500-accord.json"
PAT = "Patient-vs-patient-visser.json"
PAT_VH = "Patient-vs-patient-verhoeven.json"
PRAC = "Practitioner-vs-practitioner-ahmadi.json"
ROLE = "PractitionerRole-vs-practitionerrole-ahmadi.json"
ORG = "Organization-vs-org-apotheek-wilg.json"
LOC = "Location-vs-location-apotheek-wilg.json"

PRESCRIPTION = "Bundle:prescription"  # a transaction Bundle of mp-MedicationPrescription-Bundle
SEARCHSET = "Bundle:searchset"  # a searchset around one MedicationStatement (references resolved in the Bundle)
BASE = "https://example.org/fhir/"


@cache
def _file(name: str) -> str:
    return expand((RESOURCES / name).read_text(encoding="utf-8"), T)


def _entry(name: str, kind: str = "transaction", first: bool = False) -> dict[str, Any]:
    res = json.loads(_file(name))
    entry: dict[str, Any] = {"fullUrl": f"{BASE}{res['resourceType']}/{res['id']}", "resource": res}
    if kind == "transaction":
        entry["request"] = {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"}
    else:
        entry["search"] = {"mode": "match" if first else "include"}
    return entry


def _bundle(kind: str, names: list[str], profile: str | None) -> dict[str, Any]:
    entries = [_entry(name, kind, n == 0) for n, name in enumerate(names)]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": f"vs-bundle-{kind}", "type": kind, "entry": entries}
    if profile:
        bundle["meta"] = {"profile": [profile]}
    if kind == "searchset":
        bundle["total"] = 1
    return bundle


BUNDLES: dict[str, Callable[[], dict[str, Any]]] = {
    PRESCRIPTION: lambda: _bundle(
        "transaction",
        [
            "MedicationRequest-vs-ma-verhoeven-metformine.json",
            VV,
            PAT_VH,
            "Medication-vs-med-metformine-500.json",
            ROLE,
            PRAC,
            "Organization-vs-org-lindehof.json",
            ORG,
            LOC,
        ],
        NICTIZ + "mp-MedicationPrescription-Bundle",
    ),
    SEARCHSET: lambda: _bundle(
        "searchset",
        [
            MGB_VH,
            PAT_VH,
            "MedicationDispense-vs-ta-verhoeven-metformine.json",
            "MedicationDispense-vs-mve-verhoeven-metformine-1.json",
            "Medication-vs-med-metformine-500-accord.json",
            ROLE,
            PRAC,
        ],
        None,
    ),
}


def original(name: str) -> dict[str, Any]:
    """A fresh copy of an original (a dataset file, or a Bundle built from dataset files)."""
    build = BUNDLES.get(name)
    return build() if build is not None else json.loads(_file(name))


# ---------------------------------------------------------------------- mutations

Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Url:
    """A path step: the extension (in the list at hand) whose url ends with ``suffix``."""

    suffix: str


@dataclass(frozen=True)
class Entry:
    """A path step from a Bundle: the resource of the entry whose resource has this id."""

    id: str


Step = str | int | Url | Entry


def _walk(obj: Any, steps: tuple[Step, ...]) -> Any:
    for step in steps:
        if isinstance(step, Url):
            obj = next(e for e in obj if e["url"] == step.suffix or e["url"].endswith("/" + step.suffix))
        elif isinstance(step, Entry):
            obj = next(e["resource"] for e in obj["entry"] if e["resource"]["id"] == step.id)
        else:
            obj = obj[step]
    return obj


def _parent(res: dict[str, Any], steps: tuple[Step, ...]) -> tuple[Any, Any]:
    *head, last = steps
    parent = _walk(res, tuple(head))
    if isinstance(last, Url):
        return parent, parent.index(_walk(parent, (last,)))
    return parent, last


def put(*steps: Step, value: Any) -> Mutation:
    """Set the element at ``steps`` (a new key, or a replaced value)."""

    def run(res: dict[str, Any]) -> None:
        parent, key = _parent(res, steps)
        parent[key] = copy.deepcopy(value)

    return run


def drop(*steps: Step) -> Mutation:
    def run(res: dict[str, Any]) -> None:
        parent, key = _parent(res, steps)
        del parent[key]

    return run


_SAME = object()


def rename(*steps: Step, to: str, value: Any = _SAME) -> Mutation:
    """The element under another key (``valueDateTime`` -> ``valueString``), in place in the key order; with the
    same value, or with ``value``."""

    def run(res: dict[str, Any]) -> None:
        parent, key = _parent(res, steps)
        items = [(to, v if value is _SAME else copy.deepcopy(value)) if k == key else (k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)

    return run


def add(*steps: Step, value: Any) -> Mutation:
    """Append ``value`` to the list at ``steps``."""

    def run(res: dict[str, Any]) -> None:
        _walk(res, steps).append(copy.deepcopy(value))

    return run


def repeat(*steps: Step) -> Mutation:
    """Append a copy of the list's first item (a second note, reasonCode, performer ...)."""

    def run(res: dict[str, Any]) -> None:
        items = _walk(res, steps)
        items.append(copy.deepcopy(items[0]))

    return run


def point(*steps: Step, to: str) -> Mutation:
    """Make the Reference at ``steps`` point at ``to`` (``Type/id`` or a full URL), its ``type`` along with it."""

    def run(res: dict[str, Any]) -> None:
        ref = _walk(res, steps)
        ref["reference"] = to
        if "type" in ref:
            ref["type"] = to.rstrip("/").split("/")[-2]

    return run


def both(*mutations: Mutation) -> Mutation:
    def run(res: dict[str, Any]) -> None:
        for m in mutations:
            m(res)

    return run


# ---------------------------------------------------------------------- the variants


@dataclass(frozen=True)
class Variant:
    name: str
    original: str
    mutate: Mutation
    rule: str
    where: str = ""  # a substring of the issue's location
    says: str = ""  # a substring of the issue's message (the slice, for slicing rules reported on the parent)

    @property
    def category(self) -> str:
        return self.rule.split(":", 1)[0].split(".", 1)[0]


V = Variant
REF = "http://hl7.org/fhir/StructureDefinition/"
DOSE = ("dosageInstruction", 0, "doseAndRate", 0)
NULLFLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
NOTE = {"text": "Let op: innemen bij de maaltijd."}
CONTAINED_MED = {
    "resourceType": "Medication",
    "id": "med1",
    "code": {"text": "METFORMINE HCL TABLET 500MG"},
}

VARIANTS: list[Variant] = [
    # --- cardinality: a required element removed
    V("ma-status-removed", MA, drop("status"), "cardinality.min", "MedicationRequest.status"),
    V("ma-subject-removed", MA, drop("subject"), "cardinality.min", "MedicationRequest.subject"),
    V("vv-intent-removed", VV, drop("intent"), "cardinality.min", "MedicationRequest.intent"),
    V("mve-category-removed", MVE, drop("category"), "cardinality.min", "MedicationDispense.category"),
    V("mgb-category-removed", MGB, drop("category"), "cardinality.min", "MedicationStatement.category"),
    V("mtd-actor-removed", MTD, drop("performer", 0, "actor"), "cardinality.min", "performer[0].actor"),
    V(
        "ta-substitution-without-wasSubstituted",
        TA,
        put("substitution", value={"type": {"text": "generiek"}}),
        "cardinality.min",
        "substitution.wasSubstituted",
    ),
    V("ma-note-without-text", MA, put("note", value=[{"authorString": "Ahmadi"}]), "cardinality.min", "note"),
    V(
        "practitioner-qualification-without-code",
        PRAC,
        put("qualification", value=[{"period": {"start": "2010-01-01"}}]),
        "cardinality.min",
        "qualification",
    ),
    V(
        "medication-ingredient-without-item",
        MED,
        put("ingredient", value=[{"isActive": True}]),
        "cardinality.min",
        "ingredient[0]",
    ),
    # --- cardinality: a base-repeating element that the profile limits to one, given twice
    V("ma-two-reasonCodes", MA_REASON, repeat("reasonCode"), "cardinality.max", "MedicationRequest.reasonCode"),
    V("mgb-two-notes", MGB, put("note", value=[NOTE, NOTE]), "cardinality.max", "MedicationStatement.note"),
    V("mve-two-performers", MVE, repeat("performer"), "cardinality.max", "MedicationDispense.performer"),
    V("ta-two-prescriptions", TA, repeat("authorizingPrescription"), "cardinality.max", "authorizingPrescription"),
    V("mtd-two-notes", MTD, put("note", value=[NOTE, NOTE]), "cardinality.max", "MedicationAdministration.note"),
    V("mve-quantity-comparator", MVE, put("quantity", "comparator", value="<"), "cardinality.max", "comparator"),
    # --- fixed values (Bundle.type is fixed to transaction in the MP9 prescription Bundle)
    V("bundle-type-collection", PRESCRIPTION, put("type", value="collection"), "fixed", "Bundle.type"),
    V("bundle-type-batch", PRESCRIPTION, put("type", value="batch"), "fixed", "Bundle.type"),
    V(
        "extension-url-with-version",
        MA,
        put("extension", Url("ext-RegistrationDateTime"), "url", value=NICTIZ + "ext-RegistrationDateTime|1.0"),
        "fixed",
        "extension[0]",
    ),
    # --- pattern values applied directly (a max-1 category with patternCodeableConcept)
    V("ta-category-code", TA, put("category", "coding", 0, "code", value="373784005"), "pattern", "category"),
    V("mve-category-code", MVE, put("category", "coding", 0, "code", value="422037009"), "pattern", "category"),
    V(
        "mgb-category-system",
        MGB,
        put("category", "coding", 0, "system", value="http://loinc.org"),
        "pattern",
        "MedicationStatement.category",
    ),
    V("mtd-category-code", MTD, put("category", "coding", 0, "code", value="18629006"), "pattern", "category"),
    V("ta-category-without-code", TA, drop("category", "coding", 0, "code"), "pattern", "category"),
    # --- slice minimum (reported on the element that holds the slices, naming the slice)
    V(
        "ma-category-code",
        MA,
        put("category", 0, "coding", 0, "code", value="16076005"),
        "slicing.min",
        "MedicationRequest",
        "category:medicationAgreementCode",
    ),
    V(
        "vv-category-code",
        VV,
        put("category", 0, "coding", 0, "code", value="33633005"),
        "slicing.min",
        "MedicationRequest",
        "category:dispenseRequestCode",
    ),
    V(
        "ma-medication-as-codeableconcept",
        MA,
        rename("medicationReference", to="medicationCodeableConcept", value={"text": "METFORMINE HCL TABLET 500MG"}),
        "slicing.min",
        "MedicationRequest",
        "medication[x]:medicationReference",
    ),
    V(
        "mtd-effective-as-period",
        MTD,
        rename("effectiveDateTime", to="effectivePeriod", value={"start": "2024-12-31T08:00:00+01:00"}),
        "slicing.min",
        "MedicationAdministration",
        "effective[x]:effectiveDateTime",
    ),
    V(
        "medication-ingredient-as-reference",
        MED,
        put("ingredient", value=[{"itemReference": {"display": "METFORMINE"}, "isActive": True}]),
        "slicing.min",
        "ingredient[0]",
        "item[x]:itemCodeableConcept",
    ),
    V(
        "patient-given-without-qualifier",
        PAT,
        drop("name", 0, "_given"),
        "slicing.min",
        "given",
        "extension:givenOrInitial",
    ),
    V(
        "bundle-without-medicationagreement",
        PRESCRIPTION,
        drop("entry", 0),
        "slicing.min",
        "Bundle",
        "entry:medicationAgreement",
    ),
    # --- slice maximum
    V(
        "ma-two-registration-datetimes",
        MA,
        repeat("extension"),
        "slicing.max",
        "MedicationRequest",
        "extension:registrationDateTime",
    ),
    V(
        "patient-three-official-names",
        PAT,
        both(repeat("name"), repeat("name")),
        "slicing.max",
        "Patient",
        "name:nameInformation",
    ),
    V(
        "bundle-two-patients",
        PRESCRIPTION,
        add("entry", value=_entry(PAT)),
        "slicing.max",
        "Bundle",
        "entry:patient",
    ),
    # --- closed slicing (address-official: value[x] sliced by type, closed)
    V(
        "patient-address-official-as-string",
        PAT,
        add("address", 0, "extension", value={"url": REF + "address-official", "valueString": "ja"}),
        "slicing.closed",
        "address[0].extension[1]",
    ),
    V(
        "organization-address-official-as-coding",
        ORG,
        add("address", 0, "extension", value={"url": REF + "address-official", "valueCoding": {"code": "NL"}}),
        "slicing.closed",
        "address[0].extension[1]",
    ),
    V(
        "location-address-official-as-code",
        LOC,
        add("address", "extension", value={"url": REF + "address-official", "valueCode": "true"}),
        "slicing.closed",
        "address.extension[1]",
    ),
    # --- unknown elements (also a choice name with a type the base element never has: HL7 "Unrecognized property")
    V(
        "ma-unknown-root-element",
        MA,
        put("dosering", value="2x daags"),
        "structure.unknown-element",
        "MedicationRequest",
    ),
    V(
        "patient-unknown-name-part",
        PAT,
        put("name", 0, "firstName", value="Gerrit"),
        "structure.unknown-element",
        "name[0]",
    ),
    V(
        "mve-unknown-in-performer",
        MVE,
        put("performer", 0, "role", value={"text": "apotheker"}),
        "structure.unknown-element",
        "performer[0]",
    ),
    V(
        "medication-unknown-in-coding",
        MED,
        put("code", "coding", 0, "codeSystem", value="G-Standaard"),
        "structure.unknown-element",
        "coding[0]",
    ),
    V(
        "mtd-dose-as-choice-name",
        MTD,
        rename("dosage", "dose", to="doseQuantity"),
        "structure.unknown-element",
        "dosage",
    ),
    V(
        "ma-dose-with-a-type-dose-never-has",
        MA,
        rename(*DOSE, "doseQuantity", to="doseString", value="1 stuk"),
        "structure.unknown-element",
        "doseAndRate[0]",
    ),
    V(
        "patient-deceased-with-a-type-deceased-never-has",
        PAT,
        put("deceasedString", value="nee"),
        "structure.unknown-element",
        "Patient",
    ),
    V(
        "mgb-effective-with-a-type-effective-never-has",
        MGB,
        rename("effectivePeriod", to="effectiveDate", value="2024-12-01"),
        "structure.unknown-element",
        "MedicationStatement",
    ),
    V("organization-capitalised-name", ORG, rename("name", to="Name"), "structure.unknown-element", "Organization"),
    V(
        "bundle-entry-unknown-element",
        PRESCRIPTION,
        put("entry", 0, "resource", "voorschrijver", value="Ahmadi"),
        "structure.unknown-element",
        "entry[0]",
    ),
    # --- wrong JSON types
    V("ma-status-as-number", MA, put("status", value=1), "type.primitive", "MedicationRequest.status"),
    V(
        "mgb-boolean-as-string",
        MGB,
        put("extension", Url("ext-AsAgreedIndicator"), "valueBoolean", value="true"),
        "type.primitive",
        "extension[2]",
    ),
    V(
        "ma-frequency-as-string",
        MA,
        put("dosageInstruction", 0, "timing", "repeat", "frequency", value="2"),
        "type.primitive",
        "frequency",
    ),
    V("mve-decimal-as-string", MVE, put("quantity", "value", value="14"), "type.primitive", "quantity.value"),
    V("patient-birthdate-as-number", PAT, put("birthDate", value=19370101), "type.primitive", "Patient.birthDate"),
    V("ma-subject-as-string", MA, put("subject", value="Patient/vs-patient-visser"), "structure.json", "subject"),
    V(
        "mgb-category-as-array",
        MGB,
        put("category", value=[{"text": "medicatiegebruik"}]),
        "structure.json",
        "category",
    ),
    V("ma-category-as-object", MA, put("category", value={"text": "medicatieafspraak"}), "structure.json", "category"),
    # --- bad dates
    V(
        "ma-registration-30-february",
        MA,
        put("extension", Url("ext-RegistrationDateTime"), "valueDateTime", value="2023-02-30T09:00:00+01:00"),
        "type.primitive",
        "extension[0]",
    ),
    V("patient-birthdate-month-13", PAT, put("birthDate", value="2023-13-01"), "type.primitive", "birthDate"),
    V("mgb-time-without-zone", MGB, put("dateAsserted", value="2024-06-01T10:00:00"), "type.primitive", "dateAsserted"),
    V(
        "mtd-29-february-2023",
        MTD,
        put("effectiveDateTime", value="2023-02-29T08:00:00+01:00"),
        "type.primitive",
        "effective",
    ),
    V(
        "mve-unpadded-date",
        MVE,
        put("whenHandedOver", value="2024-1-5T13:00:00+01:00"),
        "type.primitive",
        "whenHandedOver",
    ),
    V(
        "vv-dutch-date-order",
        VV,
        put("dispenseRequest", "validityPeriod", "start", value="01-02-2024"),
        "type.primitive",
        "validityPeriod",
    ),
    V("mgb-31-june", MGB, put("effectivePeriod", "start", value="2024-06-31"), "type.primitive", "effectivePeriod"),
    V(
        "ta-hour-24",
        TA,
        put("extension", Url("ext-RegistrationDateTime"), "valueDateTime", value="2024-12-02T24:00:00+01:00"),
        "type.primitive",
        "extension[0]",
    ),
    # --- wrong reference targets
    V(
        "ma-subject-practitioner",
        MA,
        point("subject", to="Practitioner/vs-practitioner-ahmadi"),
        "reference.target-type",
        "subject",
    ),
    V(
        "ma-medication-patient",
        MA,
        point("medicationReference", to="Patient/vs-patient-visser"),
        "reference.target-type",
        "medicationReference",
    ),
    V(
        "mve-performer-medication",
        MVE,
        point("performer", 0, "actor", to="Medication/vs-med-metformine-500"),
        "reference.target-type",
        "performer[0].actor",
    ),
    V(
        "mgb-prescriber-practitioner",
        MGB,
        point(
            "extension",
            Url("ext-MedicationUse2.Prescriber"),
            "valueReference",
            to="Practitioner/vs-practitioner-ahmadi",
        ),
        "reference.target-type",
        "extension[1]",
    ),
    V(
        "mtd-subject-organization",
        MTD,
        point("subject", to="Organization/vs-org-apotheek-wilg"),
        "reference.target-type",
        "subject",
    ),
    V(
        "role-practitioner-patient",
        ROLE,
        point("practitioner", to="Patient/vs-patient-visser"),
        "reference.target-type",
        "practitioner",
    ),
    V(
        "ma-subject-type-disagrees-with-reference",
        MA,
        put("subject", "type", value="Group"),
        "reference.target-type",
        "subject",
    ),
    V(
        "searchset-author-practitioner-by-fullurl",
        SEARCHSET,
        point(
            Entry("vs-mgb-verhoeven-metformine"),
            "extension",
            Url("ext-MedicationUse2.Author"),
            "valueReference",
            to=BASE + "Practitioner/vs-practitioner-ahmadi",
        ),
        "reference.target-type",
        "entry[0]",
    ),
    V(
        "searchset-author-patient-not-nl-core",
        SEARCHSET,
        both(repeat(Entry("vs-patient-verhoeven"), "name"), repeat(Entry("vs-patient-verhoeven"), "name")),
        "reference.target-profile",
        "entry[0]",
    ),
    V(
        "searchset-derivedfrom-ta-is-a-mve",
        SEARCHSET,
        put(
            Entry("vs-mgb-verhoeven-metformine"),
            "derivedFrom",
            0,
            "reference",
            value="MedicationDispense/vs-mve-verhoeven-metformine-1",
        ),
        "reference.target-profile",
        "derivedFrom[0]",
    ),
    # --- extensions with a value type their definition does not allow
    V(
        "ma-registration-as-string",
        MA,
        rename("extension", Url("ext-RegistrationDateTime"), "valueDateTime", to="valueString"),
        "type.not-allowed",
        "extension[0]",
    ),
    V(
        "ta-distributionform-as-coding",
        TA,
        rename(
            "extension",
            Url("ext-MedicationDispense.DistributionForm"),
            "valueCodeableConcept",
            to="valueCoding",
            value={"system": "urn:oid:2.16.840.1.113883.2.4.3.11.60.20.77.5.3.8", "code": "1", "display": "GDS"},
        ),
        "type.not-allowed",
        "extension[4]",
    ),
    V(
        "mgb-asagreed-as-string",
        MGB,
        rename("extension", Url("ext-AsAgreedIndicator"), "valueBoolean", to="valueString", value="ja"),
        "type.not-allowed",
        "extension[2]",
    ),
    V(
        "ma-treatment-identifier-as-string",
        MA,
        put(
            "extension",
            Url("ext-PharmaceuticalTreatment.Identifier"),
            value={
                "url": NICTIZ + "ext-PharmaceuticalTreatment.Identifier",
                "valueString": "PB-0071",
            },
        ),
        "type.not-allowed",
        "extension[3]",
    ),
    V(
        "patient-addresstype-as-code",
        PAT,
        put(
            "address",
            0,
            "extension",
            0,
            value={"url": NICTIZ + "ext-AddressInformation.AddressType", "valueCode": "HP"},
        ),
        "type.not-allowed",
        "address[0].extension[0]",
    ),
    V(
        "patient-given-qualifier-as-string",
        PAT,
        rename("name", 0, "_given", 0, "extension", 0, "valueCode", to="valueString"),
        "type.not-allowed",
        "given",
    ),
    V(
        "mve-pq-translation-as-string",
        MVE,
        put("quantity", "extension", 0, value={"url": REF + "iso21090-PQ-translation", "valueString": "14 stuk"}),
        "type.not-allowed",
        "quantity.extension[0]",
    ),
    # --- required bindings (terminology plug-in)
    V("ma-status-foo", MA, put("status", value="foo"), "binding.required", "MedicationRequest.status"),
    V("ma-intent-dutch", MA, put("intent", value="bestelling"), "binding.required", "MedicationRequest.intent"),
    V("vv-priority-dutch", VV, put("priority", value="hoog"), "binding.required", "MedicationRequest.priority"),
    V("mve-status-dutch", MVE, put("status", value="klaar"), "binding.required", "MedicationDispense.status"),
    V("mgb-status-dutch", MGB, put("status", value="gebruikt"), "binding.required", "MedicationStatement.status"),
    V("mtd-status-dutch", MTD, put("status", value="gegeven"), "binding.required", "MedicationAdministration.status"),
    V("medication-status-x", MED, put("status", value="x"), "binding.required", "Medication.status"),
    V("patient-gender-dutch", PAT, put("gender", value="man"), "binding.required", "Patient.gender"),
    V("patient-telecom-use-dutch", PAT, put("telecom", 0, "use", value="thuis"), "binding.required", "telecom[0]"),
    V(
        "mtd-reason-for-deviation-not-in-nictiz-valueset",
        MTD,
        add(
            "extension",
            value={
                "url": NICTIZ + "ext-MedicationAdministration2.ReasonForDeviation",
                "valueCodeableConcept": {"coding": [{"system": NULLFLAVOR, "code": "UNK"}]},
            },
        ),
        "binding.required",
        "extension[2]",
    ),
    V(
        "ma-additional-information-not-in-nictiz-valueset",
        MA,
        add(
            "extension",
            value={
                "url": NICTIZ + "ext-MedicationAgreement.MedicationAgreementAdditionalInformation",
                "valueCodeableConcept": {"coding": [{"system": NULLFLAVOR, "code": "NI"}]},
            },
        ),
        "binding.required",
        "extension[4]",
    ),
    V(
        "patient-name-assembly-order-unknown-code",
        PAT,
        put("name", 0, "extension", value=[{"url": REF + "humanname-assembly-order", "valueCode": "NL9"}]),
        "binding.required",
        "name[0].extension[0]",
    ),
    V(
        "patient-maritalstatus-not-in-nictiz-valueset",
        PAT,
        put(
            "maritalStatus",
            value={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "P"}]},
        ),
        "binding.required",
        "maritalStatus",
    ),
    # --- invariants (FHIRPath plug-in)
    V(
        "vv-validity-start-after-end",
        VV,
        put("dispenseRequest", "validityPeriod", "end", value="2024-01-01"),
        "invariant:per-1",
        "validityPeriod",
    ),
    V(
        "ma-periodofuse-start-after-end",
        MA_PERIOD,
        put("extension", Url("ext-TimeInterval.Period"), "valuePeriod", "start", value="2030-01-01"),
        "invariant:per-1",
        "extension[2]",
    ),
    V("ma-empty-dispenserequest", MA, put("dispenseRequest", value={}), "invariant:ele-1", "dispenseRequest"),
    V("mve-quantity-code-without-system", MVE, drop("quantity", "system"), "invariant:qty-3", "quantity"),
    V("mtd-dose-code-without-system", MTD, drop("dosage", "dose", "system"), "invariant:qty-3", "dosage.dose"),
    V(
        "ma-duration-without-unit",
        MA,
        put("dosageInstruction", 0, "timing", "repeat", "duration", value=10),
        "invariant:tim-1",
        "repeat",
    ),
    V("mtd-dosage-without-dose", MTD, drop("dosage", "dose"), "invariant:mad-1", "dosage"),
    V(
        "mve-prepared-after-handover",
        MVE,
        put("whenPrepared", value="2030-01-01T10:00:00+01:00"),
        "invariant:mdd-1",
        "MedicationDispense",
    ),
    V(
        "patient-contact-without-details",
        PAT,
        put("contact", value=[{"gender": "female"}]),
        "invariant:pat-1",
        "contact",
    ),
    V(
        "organization-without-name-or-identifier",
        ORG,
        both(drop("name"), drop("identifier")),
        "invariant:org-1",
        "Organization",
    ),
    V("organization-home-address", ORG, put("address", 0, "use", value="home"), "invariant:org-2", "address"),
    V("ma-unreferenced-contained", MA, put("contained", value=[CONTAINED_MED]), "invariant:dom-3", "MedicationRequest"),
    V(
        "ma-contained-with-versionid",
        MA,
        both(
            put("contained", value=[{**CONTAINED_MED, "meta": {"versionId": "1"}}]),
            put("medicationReference", value={"reference": "#med1"}),
        ),
        "invariant:dom-4",
        "MedicationRequest",
    ),
    V(
        "ta-local-reference-not-contained",
        TA,
        put("medicationReference", "reference", value="#med1"),
        "invariant:ref-1",
        "medicationReference",
    ),
    V(
        "mgb-information-source-not-contained",
        MGB,
        put("informationSource", value={"reference": "#bron"}),
        "invariant:ref-1",
        "informationSource",
    ),
    V(
        "practitioner-qualification-period-reversed",
        PRAC,
        put(
            "qualification", value=[{"code": {"text": "arts"}, "period": {"start": "2020-01-01", "end": "2010-01-01"}}]
        ),
        "invariant:per-1",
        "qualification[0].period",
    ),
    V("mve-dayssupply-code-without-system", MVE, drop("daysSupply", "system"), "invariant:qty-3", "daysSupply"),
    V(
        "mgb-extension-value-and-extensions",
        MGB,
        put("extension", Url("ext-RenderedDosageInstruction"), "extension", value=[{"url": "x", "valueString": "y"}]),
        "invariant:ext-1",
        "extension[0]",
    ),
]


def _described(issues: list[Issue]) -> str:
    return "\n".join(f"  {i.severity} {i.rule} @ {i.location}: {i.message}" for i in issues) or "  (no issues)"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_variant_is_caught_with_its_rule(variant: Variant) -> None:
    v = validator()
    resource = original(variant.original)
    variant.mutate(resource)
    issues = v.validate(resource)
    hits = [
        i for i in issues if i.severity in ("error", "fatal") and i.rule == variant.rule and variant.where in i.location
    ]
    assert hits, f"expected an error {variant.rule} at ...{variant.where}..., got:\n{_described(issues)}"


def test_the_variants_cover_every_kind_of_rule() -> None:
    kinds = {v.rule for v in VARIANTS}
    for rule in (
        "cardinality.min",
        "cardinality.max",
        "fixed",
        "pattern",
        "slicing.min",
        "slicing.closed",
        "binding.required",
        "structure.unknown-element",
        "type.primitive",
        "type.not-allowed",
        "reference.target-type",
        "reference.target-profile",
    ):
        assert rule in kinds
    assert sum(v.rule.startswith("invariant:") for v in VARIANTS) >= 10
    assert len(VARIANTS) >= 60
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)


ORIGINALS = sorted({v.original for v in VARIANTS})


@pytest.mark.parametrize("name", ORIGINALS)
def test_the_original_gives_no_error(name: str) -> None:
    issues = validator().validate(original(name))
    errors = [i for i in issues if i.severity in ("error", "fatal")]
    assert not errors, _described(errors)


def test_every_mutation_changes_its_original() -> None:
    for variant in VARIANTS:
        resource = original(variant.original)
        variant.mutate(resource)
        assert resource != original(variant.original), variant.name
