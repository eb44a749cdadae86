"""The MP9 3.0 medication data service as the MedMij network knows it: building blocks and their queries.

The seven building blocks a DVA serves (system role MP-MGB) and a PGO retrieves (MP-MGR), each with its
FHIR resource type, profile, SNOMED category and the base query of the MedMij qualification (category plus
the ``_include`` set that brings the secondary resources along), per medmij-protocol.md §3.2.
"""

from __future__ import annotations

from dataclasses import dataclass

SNOMED = "http://snomed.info/sct"
PROFILE_BASE = "http://nictiz.nl/fhir/StructureDefinition/"
ITERATE = ("PractitionerRole:organization", "PractitionerRole:practitioner", "PractitionerRole:location")

#: Straat-local GegevensdienstId for "Medicatiegegevens MP9 3.0". The Catalogus id was not retrievable
#: (medmij-protocol.md §6.9); a vendor's configuration can replace it.
SERVICE_ID = "990003"
SERVICE_NAME = "Medicatiegegevens (MP9 3.0)"
ROLE_SERVE = "MP-MGB"
ROLE_RETRIEVE = "MP-MGR"


@dataclass(frozen=True)
class Block:
    """One MP9 building block."""

    code: str
    name: str
    resource_type: str
    profile: str
    category: str
    includes: tuple[str, ...]
    iterate: tuple[str, ...] = ITERATE

    @property
    def category_token(self) -> str:
        return f"{SNOMED}|{self.category}"

    def query(self, *filters: tuple[str, str]) -> list[tuple[str, str]]:
        """The block's search parameters, category first, then ``filters``, then the includes."""
        params = [("category", self.category_token), *filters]
        params += [("_include", f"{self.resource_type}:{inc}") for inc in self.includes]
        params += [("_include:iterate", it) for it in self.iterate]
        return params


BLOCKS: tuple[Block, ...] = (
    Block(
        "MA",
        "MedicatieAfspraak",
        "MedicationRequest",
        PROFILE_BASE + "mp-MedicationAgreement",
        "33633005",
        ("medication", "subject", "reason", "next-practitioner", "requester"),
    ),
    Block(
        "VV",
        "VerstrekkingsVerzoek",
        "MedicationRequest",
        PROFILE_BASE + "mp-DispenseRequest",
        "52711000146108",
        ("medication", "subject", "requester", "dispense-location"),
    ),
    Block(
        "WDS",
        "WisselendDoseerSchema",
        "MedicationRequest",
        PROFILE_BASE + "mp-VariableDosingRegimen",
        "395067002",
        ("medication", "subject"),
        (),
    ),
    Block(
        "TA",
        "ToedieningsAfspraak",
        "MedicationDispense",
        PROFILE_BASE + "mp-AdministrationAgreement",
        "422037009",
        ("medication", "subject", "performer"),
    ),
    Block(
        "MVE",
        "MedicatieVerstrekking",
        "MedicationDispense",
        PROFILE_BASE + "mp-MedicationDispense",
        "373784005",
        ("medication", "subject", "performer", "destination"),
    ),
    Block(
        "MGB",
        "MedicatieGebruik",
        "MedicationStatement",
        PROFILE_BASE + "mp-MedicationUse2",
        "422979000",
        ("medication", "subject", "author", "prescriber", "source"),
    ),
    Block(
        "MTD",
        "MedicatieToediening",
        "MedicationAdministration",
        PROFILE_BASE + "mp-MedicationAdministration2",
        "18629005",
        ("medication", "subject", "performer"),
    ),
)

BLOCKS_BY_CODE = {b.code: b for b in BLOCKS}


def block_of(resource: dict) -> Block | None:
    """The building block a clinical resource belongs to, by resource type and category code."""
    codes = {
        c.get("code")
        for cat in _as_list(resource.get("category"))
        for c in cat.get("coding", [])
        if c.get("system") == SNOMED
    }
    for block in BLOCKS:
        if block.resource_type == resource.get("resourceType") and block.category in codes:
            return block
    return None


def _as_list(value: object) -> list[dict]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]  # type: ignore[return-value]
