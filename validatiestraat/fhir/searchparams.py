"""The search parameters and _include paths the DVA's FHIR server supports, as data.

Written from the R4 core SearchParameters and the MP9 3.0 custom ones (package
``nictiz.fhir.nl.r4.medicationprocess9`` 2.0.0-rc.7): for each parameter its kind and, per resource type, the
FHIRPath that yields the values it searches on. Only the shapes the MedMij MP9 serving queries use (plus
``_id`` and ``status``) are here; anything else in a query is ignored, as R4 lenient handling allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NICTIZ_SD = "http://nictiz.nl/fhir/StructureDefinition/"
EXT_PERIOD = NICTIZ_SD + "ext-TimeInterval.Period"
EXT_DURATION = NICTIZ_SD + "ext-TimeInterval.Duration"
EXT_TREATMENT_ID = NICTIZ_SD + "ext-PharmaceuticalTreatment.Identifier"

MR, MD, MS, MA = "MedicationRequest", "MedicationDispense", "MedicationStatement", "MedicationAdministration"
SEARCHABLE_TYPES: tuple[str, ...] = (MR, MD, MS, MA)

ParamKind = Literal["token", "date", "period"]


@dataclass(frozen=True)
class ParamDef:
    """One search parameter. ``kind`` ``period`` is MP9's special period-of-use: a date search on a Period
    whose missing end (or start) is derived from the TimeInterval.Duration extension. ``chain`` names the
    FHIRPath evaluated on the resource a reference points to (``medication.code``)."""

    name: str
    kind: ParamKind
    paths: dict[str, str]
    chain: str | None = None


def _each(template: str, types: tuple[str, ...] = SEARCHABLE_TYPES) -> dict[str, str]:
    return {t: template.format(t=t) for t in types}


_PARAMS = (
    ParamDef("_id", "token", _each("{t}.id")),
    ParamDef("status", "token", _each("{t}.status")),
    ParamDef("category", "token", _each("{t}.category")),
    ParamDef("identifier", "token", _each("{t}.identifier")),
    ParamDef("medication.code", "token", _each("{t}.medication"), chain="Medication.code"),
    ParamDef(
        "pharmaceutical-treatment-identifier",
        "token",
        _each("{t}.extension('" + EXT_TREATMENT_ID + "').value"),
    ),
    ParamDef(
        "period-of-use",
        "period",
        {
            MR: f"{MR}.extension('{EXT_PERIOD}').value",
            MD: f"{MD}.extension('{EXT_PERIOD}').value",
            MS: f"{MS}.effective.ofType(Period)",
        },
    ),
    ParamDef("whenhandedover", "date", {MD: f"{MD}.whenHandedOver"}),
    ParamDef("effective-time", "date", {MA: f"{MA}.effective"}),
)
SEARCH_PARAMS: dict[str, ParamDef] = {p.name: p for p in _PARAMS}

# (source type, include name) -> FHIRPath to the References it follows.
INCLUDES: dict[tuple[str, str], str] = {
    (MR, "medication"): f"{MR}.medication",
    (MR, "subject"): f"{MR}.subject",
    (MR, "reason"): f"{MR}.reasonReference",
    (MR, "next-practitioner"): f"{MR}.extension('{NICTIZ_SD}ext-MedicationAgreement.NextPractitioner').value",
    (MR, "requester"): f"{MR}.requester",
    (MR, "dispense-location"): (
        f"{MR}.dispenseRequest.extension('{NICTIZ_SD}ext-DispenseRequest.DispenseLocation').value"
    ),
    (MD, "medication"): f"{MD}.medication",
    (MD, "subject"): f"{MD}.subject",
    (MD, "performer"): f"{MD}.performer.actor",
    (MD, "destination"): f"{MD}.destination",
    (MD, "location"): f"{MD}.location",
    (MS, "medication"): f"{MS}.medication",
    (MS, "subject"): f"{MS}.subject",
    (MS, "author"): f"{MS}.extension('{NICTIZ_SD}ext-MedicationUse2.Author').value",
    (MS, "prescriber"): f"{MS}.extension('{NICTIZ_SD}ext-MedicationUse2.Prescriber').value",
    (MS, "source"): f"{MS}.informationSource",
    (MA, "medication"): f"{MA}.medication",
    (MA, "subject"): f"{MA}.subject",
    (MA, "performer"): f"{MA}.performer.actor",
    ("PractitionerRole", "organization"): "PractitionerRole.organization",
    ("PractitionerRole", "practitioner"): "PractitionerRole.practitioner",
    ("PractitionerRole", "location"): "PractitionerRole.location",
}

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


def params_for(resource_type: str) -> list[ParamDef]:
    return [p for p in _PARAMS if resource_type in p.paths]


def includes_for(resource_type: str) -> list[str]:
    return [name for (src, name) in INCLUDES if src == resource_type]
