"""The project's own MP9 dataset (``fixtures/mp9``) as a Store.

``fixtures/mp9/resources/*.json`` holds one FHIR JSON resource per file, its dates written as
``${DATE, T, D, -20}`` placeholders; ``fixtures/mp9/patients.json`` lists the test patients as
``[{"id", "bsn", "name", "purpose"}]``. Tokens are not part of the dataset: the DVA hands them out.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from validatiestraat.fhir.formats import from_json
from validatiestraat.fhir.store import PatientEntry, Store
from validatiestraat.fhir.tdates import expand

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "mp9"


def load_dataset(folder: Path, t: date) -> Store:
    """Load a dataset folder laid out like ``fixtures/mp9``."""
    store = Store()
    for path in sorted((folder / "resources").glob("*.json")):
        try:
            store.add(from_json(expand(path.read_text(encoding="utf-8"), t)))
        except ValueError as e:
            raise ValueError(f"{path.name}: {e}") from e
    patients_file = folder / "patients.json"
    if patients_file.exists():
        for p in json.loads(patients_file.read_text(encoding="utf-8")):
            store.add_patient(
                PatientEntry(id=p["id"], bsn=p["bsn"], name=p["name"], token=None, purpose=p.get("purpose", ""))
            )
    return store


def load_builtin(t: date) -> Store:
    """The built-in dataset shipped in ``fixtures/mp9``, dates relative to ``t``."""
    return load_dataset(BUILTIN_DIR, t)
