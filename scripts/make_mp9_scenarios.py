"""Generate fixtures/scenarios/dva/10-mp9.json: the 95 MP9 serving scenarios, written for our own dataset.

    .venv/bin/python scripts/make_mp9_scenarios.py            # (re)write the file
    .venv/bin/python scripts/make_mp9_scenarios.py --check    # exit 1 when the file is not what this script makes

The official MedMij qualification for MP9 3.0 (Nictiz, serving role) has 95 scenarios: per building block the
filter scenarios "0.x" on one filter patient and the patient scenarios "1..n" (medmij-protocol.md §3.2, §4.3).
This script mirrors their *shapes* on the project's own dataset (fixtures/mp9, CC0); nothing is taken from the
Nictiz material but the number of scenarios per block and which filter each "0.x" exercises.

- Filter scenarios run on the filter patient with one query of fixtures/mp9/filters.json each; the expected
  focal ids are that file's hand-worked ``expected``.
- Patient scenarios run the block's plain query (category + includes) for one patient each. Their expected
  focal ids come from the dataset's structure only: every resource of the block's type whose SNOMED category
  is the block's and whose ``subject`` is the patient. The search engine is never called.
- The Medication count of every scenario is the number of distinct Medication resources the expected focal
  resources reference (``medicationReference``), which the ``_include=…:medication`` must bring along.

Which patients get a patient scenario, per block, in this order until the block's number is reached:
(1) every patient other than the filter patient that has data of the block, (2) the empty patient, (3) the
other patients without data of the block (they must get 0), (4) the filter patient (whose plain query is
already scenario 0.1). Patients keep the order of fixtures/mp9/patients.json within each group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATASET = REPO / "fixtures" / "mp9"
OUT = REPO / "fixtures" / "scenarios" / "dva" / "10-mp9.json"
SNOMED = "http://snomed.info/sct"
EMPTY_PATIENT = "vs-patient-peeters"

# block: (resource type, SNOMED category, number of patient scenarios in the qualification)
BLOCKS: dict[str, tuple[str, str, int]] = {
    "MA": ("MedicationRequest", "33633005", 10),
    "VV": ("MedicationRequest", "52711000146108", 8),
    "WDS": ("MedicationRequest", "395067002", 3),
    "MGB": ("MedicationStatement", "422979000", 6),
    "TA": ("MedicationDispense", "422037009", 8),
    "MVE": ("MedicationDispense", "373784005", 8),
    "MTD": ("MedicationAdministration", "18629005", 6),
}
NAMES = {
    "MA": "medication agreements",
    "VV": "dispense requests",
    "WDS": "variable dosing regimens",
    "MGB": "medication use statements",
    "TA": "administration agreements",
    "MVE": "medication dispenses",
    "MTD": "medication administrations",
}


# The filter scenarios "0.x" per block: (number, what the qualification filters on, the query of
# filters.json that mirrors it, as its non-category parameters). Dates stay placeholders.
FILTER_SCENARIOS: dict[str, list[tuple[str, str, list[list[str]]]]] = {
    "MA": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.33633005|MA-0002"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|118427"]]),
        ("0.4", "period-of-use=ge", [["period-of-use", "ge${DATE, T, D, -7}"]]),
        ("0.5", "period-of-use=lt", [["period-of-use", "lt${DATE, T, D, -7}"]]),
        (
            "0.6",
            "period-of-use=ge&period-of-use=le",
            [["period-of-use", "ge${DATE, T, D, -50}"], ["period-of-use", "le${DATE, T, D, -35}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0001"]],
        ),
    ],
    "VV": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.52711000146108|VV-0002"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|146323"]]),
        (
            "0.4",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0001"]],
        ),
    ],
    "WDS": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.395067002|WDS-0002"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|108170"]]),
        ("0.4", "period-of-use=ge", [["period-of-use", "ge${DATE, T, D, +10}"]]),
        ("0.5", "period-of-use=lt", [["period-of-use", "lt${DATE, T, D, -33}"]]),
        (
            "0.6",
            "period-of-use=ge&period-of-use=le",
            [["period-of-use", "ge${DATE, T, D, -60}"], ["period-of-use", "le${DATE, T, D, -45}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0005"]],
        ),
    ],
    "MGB": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.422979000|MGB-0003"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|191981"]]),
        ("0.4", "period-of-use=ge", [["period-of-use", "ge${DATE, T, D, -7}"]]),
        ("0.5", "period-of-use=lt", [["period-of-use", "lt${DATE, T, D, -15}"]]),
        (
            "0.6",
            "period-of-use=ge&period-of-use=le",
            [["period-of-use", "ge${DATE, T, D, -110}"], ["period-of-use", "le${DATE, T, D, -50}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0004"]],
        ),
    ],
    "TA": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.422037009|TA-0002"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|118427"]]),
        ("0.4", "period-of-use=ge", [["period-of-use", "ge${DATE, T, D, +27}"]]),
        ("0.5", "period-of-use=lt", [["period-of-use", "lt${DATE, T, D, -38}"]]),
        (
            "0.6",
            "period-of-use=ge&period-of-use=le",
            [["period-of-use", "ge${DATE, T, D, -36}"], ["period-of-use", "le${DATE, T, D, -20}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0002"]],
        ),
    ],
    "MVE": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.373784005|MVE-0004"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.7|2203456"]]),
        ("0.4", "whenhandedover=ge", [["whenhandedover", "ge${DATE, T, D, -10}"]]),
        ("0.5", "whenhandedover=le", [["whenhandedover", "le${DATE, T, D, -100}"]]),
        (
            "0.6",
            "whenhandedover=ge&whenhandedover=le",
            [["whenhandedover", "ge${DATE, T, D, -60}"], ["whenhandedover", "le${DATE, T, D, -30}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0001"]],
        ),
    ],
    "MTD": [
        ("0.1", "no filter", []),
        ("0.2", "identifier", [["identifier", "urn:oid:2.999.7731.1.18629005|MTD-0002"]]),
        ("0.3", "medication.code", [["medication.code", "urn:oid:2.16.840.1.113883.2.4.4.10|201545"]]),
        ("0.4", "effective-time=ge", [["effective-time", "ge${DATE, T, D, -10}"]]),
        ("0.5", "effective-time=le", [["effective-time", "le${DATE, T, D, -35}"]]),
        (
            "0.6",
            "effective-time=ge&effective-time=le",
            [["effective-time", "ge${DATE, T, D, -45}"], ["effective-time", "le${DATE, T, D, -36}"]],
        ),
        (
            "0.7",
            "pharmaceutical-treatment-identifier",
            [["pharmaceutical-treatment-identifier", "urn:oid:2.999.7731.2|PB-0002"]],
        ),
    ],
}


# --------------------------------------------------------------------------- the dataset, read as plain JSON


def load_dataset() -> tuple[dict[tuple[str, str], dict[str, Any]], list[str]]:
    """Every resource of fixtures/mp9 by (type, id) — dates stay placeholders, the structure does not need
    them — and the patient ids in the order of patients.json."""
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((DATASET / "resources").glob("*.json")):
        r = json.loads(path.read_text("utf-8"))
        resources[(r["resourceType"], r["id"])] = r
    patients = [p["id"] for p in json.loads((DATASET / "patients.json").read_text("utf-8"))]
    return resources, patients


def _categories(r: dict[str, Any]) -> set[str]:
    cats = r.get("category")
    cats = cats if isinstance(cats, list) else [cats] if isinstance(cats, dict) else []
    return {c.get("code", "") for cat in cats for c in cat.get("coding", []) if c.get("system") == SNOMED}


def _target(ref: dict[str, Any] | None, resource_type: str) -> str | None:
    """The id a relative reference ``Type/id`` names, when it is of ``resource_type``."""
    value = (ref or {}).get("reference") or ""
    kind, _, rid = value.partition("/")
    return rid if kind == resource_type and rid else None


def focal_of(resources: dict[tuple[str, str], dict[str, Any]], block: str, patient: str) -> list[str]:
    """The ids of ``patient``'s resources of ``block``: type, category and subject, nothing else."""
    rtype, category, _ = BLOCKS[block]
    return sorted(
        rid
        for (t, rid), r in resources.items()
        if t == rtype and category in _categories(r) and _target(r.get("subject"), "Patient") == patient
    )


def medication_count(resources: dict[tuple[str, str], dict[str, Any]], block: str, focal: list[str]) -> int:
    """Distinct Medication resources (present in the dataset) that the focal resources reference."""
    rtype = BLOCKS[block][0]
    meds = {_target(resources[(rtype, rid)].get("medicationReference"), "Medication") for rid in focal}
    return len({m for m in meds if m and ("Medication", m) in resources})


# --------------------------------------------------------------------------- scenarios


def filter_scenarios(resources: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    table = json.loads((DATASET / "filters.json").read_text("utf-8"))
    patient = table["patient"]
    out = []
    for block, rows in FILTER_SCENARIOS.items():
        category = f"{SNOMED}|{BLOCKS[block][1]}"
        for number, shape, filters in rows:
            wanted = [["category", category], *filters]
            found = [q for q in table["queries"] if q["block"] == block and q["params"] == wanted]
            if len(found) != 1:
                raise SystemExit(f"{block} {number}: filters.json has {len(found)} queries {wanted}")
            query = found[0]
            focal = sorted(query["expected"])
            shown = "&".join(f"{k}={v}" for k, v in filters) or "category only"
            out.append(
                {
                    "id": f"{block}-{number}",
                    "kind": "mp9-search",
                    "title": f"{block} {number}: {NAMES[block]} of the filter patient, {shown} ({query['why']})",
                    "variants": ["json", "xml"],
                    "block": block,
                    "patient": patient,
                    "filters": filters,
                    "expect": {
                        "focal": focal,
                        "match": "exact",
                        "medication": medication_count(resources, block, focal),
                    },
                    "source": (
                        f"Nictiz MP9 3.0 MedMij serving {block} {number} shape ({shape}); "
                        "query and expected ids from fixtures/mp9/filters.json"
                    ),
                    "tags": ["mp9", block, "filter"],
                }
            )
    return out


def patient_order(resources: dict[tuple[str, str], dict[str, Any]], block: str, patients: list[str]) -> list[str]:
    """The patients of the block's patient scenarios (see the module docstring for the order)."""
    filter_patient = json.loads((DATASET / "filters.json").read_text("utf-8"))["patient"]
    others = [p for p in patients if p not in (filter_patient, EMPTY_PATIENT)]
    holders = [p for p in others if focal_of(resources, block, p)]
    without = [p for p in others if p not in holders]
    ordered = [*holders, EMPTY_PATIENT, *without, filter_patient]
    count = BLOCKS[block][2]
    if count > len(ordered):
        raise SystemExit(f"{block}: {count} patient scenarios wanted, the dataset has {len(ordered)} patients")
    return ordered[:count]


def patient_scenarios(resources: dict[tuple[str, str], dict[str, Any]], patients: list[str]) -> list[dict[str, Any]]:
    out = []
    for block, (_, _, count) in BLOCKS.items():
        for n, patient in enumerate(patient_order(resources, block, patients), start=1):
            focal = focal_of(resources, block, patient)
            why = (
                f"all {len(focal)} of them"
                if focal
                else "none: the patient has no data at all"
                if patient == EMPTY_PATIENT
                else "none: the patient has no data of this block"
            )
            out.append(
                {
                    "id": f"{block}-{n}",
                    "kind": "mp9-search",
                    "title": f"{block} {n}: the {NAMES[block]} of {patient} ({why})",
                    "variants": ["json", "xml"],
                    "block": block,
                    "patient": patient,
                    "filters": [],
                    "expect": {
                        "focal": focal,
                        "match": "exact",
                        "medication": medication_count(resources, block, focal),
                    },
                    "source": (
                        f"Nictiz MP9 3.0 MedMij serving {block} 1-{count} shape (no filter, one patient each); "
                        "patients: those with the block, then the empty patient, then those without it, then the "
                        "filter patient; expected ids from the dataset structure (category, subject)"
                    ),
                    "tags": ["mp9", block, "patient"],
                }
            )
    return out


def build() -> str:
    resources, patients = load_dataset()
    scenarios = filter_scenarios(resources) + patient_scenarios(resources, patients)
    by_block = {b: [s for s in scenarios if s["block"] == b] for b in BLOCKS}
    ordered = [s for b in BLOCKS for s in by_block[b]]
    lines = ",\n".join("    " + json.dumps(s, ensure_ascii=False) for s in ordered)
    note = (
        "Generated by scripts/make_mp9_scenarios.py from fixtures/mp9 (dataset structure and filters.json); "
        "do not edit by hand."
    )
    return f'{{\n  "generated": {json.dumps(note)},\n  "scenarios": [\n{lines}\n  ]\n}}\n'


def main(argv: list[str]) -> int:
    text = build()
    if "--check" in argv:
        current = OUT.read_text("utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(REPO)} is not what scripts/make_mp9_scenarios.py makes; run it", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {text.count(chr(10) + '    {')} scenarios")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
