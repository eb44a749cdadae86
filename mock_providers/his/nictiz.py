"""Load the Nictiz MP9 3.0 MedMij qualification fixtures as a Store.

The fixtures (FHIR XML with ``${DATE, T, …}`` placeholders) and the token table
(``QualificationTokens.json``) have no licence: they are read at run time from a path given by the caller
(``../shared`` in a checkout) and never copied into the project.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from validatiestraat.fhir.formats import from_xml
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.fhir.tdates import expand


def _display_name(patient: dict) -> str:
    for name in patient.get("name", []):
        if name.get("text"):
            return name["text"]
        if name.get("family"):
            return " ".join([*name.get("given", []), name["family"]])
    return patient["id"]


def load_nictiz(fixtures_dir: Path, tokens_json: Path, t: date) -> Store:
    """Every ``*.xml`` fixture of ``fixtures_dir`` (dates expanded against ``t``) plus one PatientEntry per
    token-table entry whose Patient is among the fixtures (token without ``Bearer ``)."""
    store = Store()
    for path in sorted(Path(fixtures_dir).glob("*.xml")):
        try:
            store.add(from_xml(expand(path.read_text(encoding="utf-8"), t).encode("utf-8")))
        except ValueError as e:
            raise ValueError(f"{path.name}: {e}") from e
    for entry in json.loads(Path(tokens_json).read_text(encoding="utf-8")):
        patient = store.get("Patient", entry.get("resourceId", ""))
        if patient is None or store.patient(patient["id"]) is not None:
            continue
        token = entry.get("accessToken", "")
        store.add_patient(
            PatientEntry(
                id=patient["id"],
                bsn=entry.get("bsn", ""),
                name=_display_name(patient),
                token=token[7:] if token.lower().startswith("bearer ") else token or None,
                purpose=entry.get("qualificationScript", ""),
            )
        )
    return store
