"""The project's own MP9 dataset, taken out of the straat: exported as files, or loaded into a vendor's DVA.

A vendor certifying an external DVA must serve exactly this dataset, expanded at the run's date T:

    export_dataset(store, t, "json", out_dir=Path("dataset"))        # resources/, transaction-bundle, patients
    rows = await load_dataset(client, "https://dva.example.nl/fhir", store, "json")   # one transaction
    rows = await load_dataset(client, base, store, "json", per_resource=True)        # PUT Type/id, one by one

The transaction Bundle has one ``PUT Type/id`` entry per resource, so the server keeps the ids the scenarios
expect; resources come in dependency order (what is referenced before what references it), which also suits a
server that checks references on every PUT. The patients file lists the test persons (name, fake BSN, Patient
id) so that the vendor can map the DigiD test logins to the patients. The BSNs are fake test numbers; they are
in that file on purpose, never in anything printed while loading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import httpx

from validatiestraat.fhir.formats import dumps, from_json, from_xml, media_type
from validatiestraat.fhir.store import Resource, Store, _references, reference_key

Format = Literal["json", "xml"]
FORMATS: tuple[Format, ...] = ("json", "xml")
BUNDLE_NAME = "transaction-bundle"
PATIENTS_NAME = "patients.json"
DATASET_NOTE = (
    "validatiestraat MP9 3.0 test dataset (fixtures/mp9, CC0), dates expanded at T. The BSNs are fake test "
    "numbers of fictional persons, for mapping DigiD test logins to the Patient resources."
)


# ---------------------------------------------------------------------------------------------- building
def ordered_resources(store: Store) -> list[Resource]:
    """Every resource of the store, each after the resources it references (depth first, stable order)."""
    keys = sorted((r["resourceType"], r["id"]) for r in store.all())
    done: set[tuple[str, str]] = set()
    out: list[Resource] = []

    def visit(key: tuple[str, str], path: frozenset[tuple[str, str]]) -> None:
        resource = store.get(*key)
        if resource is None or key in done or key in path:  # absent, placed, or a reference cycle
            return
        for ref in _references(resource):
            dep = reference_key(ref)
            if dep is not None and dep != key:
                visit(dep, path | {key})
        done.add(key)
        out.append(resource)

    for key in keys:
        visit(key, frozenset())
    return out


def transaction_bundle(resources: Iterable[Resource]) -> dict[str, Any]:
    """A FHIR transaction Bundle that PUTs every resource at ``Type/id`` (ids kept)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in resources
        ],
    }


def patients_document(store: Store, t: date) -> dict[str, Any]:
    """The test persons for the vendor: Patient id, name, fake BSN, purpose, and how many resources are theirs."""
    counts: dict[str, int] = {}
    for r in store.all():
        owner = Store.patient_of(r)
        if owner is not None:
            counts[owner] = counts.get(owner, 0) + 1
    return {
        "note": DATASET_NOTE,
        "t": t.isoformat(),
        "patients": [
            {"id": p.id, "name": p.name, "bsn": p.bsn, "purpose": p.purpose, "resources": counts.get(p.id, 0)}
            for p in store.patients
        ],
    }


# ---------------------------------------------------------------------------------------------- export
@dataclass
class Exported:
    resources: list[Path] = field(default_factory=list)
    bundle: Path | None = None
    patients: Path | None = None


def export_dataset(
    store: Store,
    t: date,
    fmt: Format = "json",
    *,
    out_dir: Path | None = None,
    bundle_file: Path | None = None,
) -> Exported:
    """Write the dataset. ``out_dir``: ``resources/<Type>-<id>.<fmt>``, ``transaction-bundle.<fmt>`` and
    ``patients.json`` in it. ``bundle_file``: only the Bundle there, with ``<stem>.patients.json`` beside it."""
    if (out_dir is None) == (bundle_file is None):
        raise ValueError("give exactly one of out_dir and bundle_file")
    resources = ordered_resources(store)
    bundle = transaction_bundle(resources)
    done = Exported()
    if out_dir is not None:
        folder = out_dir / "resources"
        folder.mkdir(parents=True, exist_ok=True)
        for r in resources:
            path = folder / f"{r['resourceType']}-{r['id']}.{fmt}"
            path.write_bytes(_pretty(r, fmt))
            done.resources.append(path)
        bundle_file = out_dir / f"{BUNDLE_NAME}.{fmt}"
        patients_file = out_dir / PATIENTS_NAME
    else:
        assert bundle_file is not None
        bundle_file.parent.mkdir(parents=True, exist_ok=True)
        patients_file = bundle_file.with_name(f"{bundle_file.name.split('.')[0]}.{PATIENTS_NAME}")
    bundle_file.write_bytes(_pretty(bundle, fmt))
    patients_file.write_text(json.dumps(patients_document(store, t), indent=2, ensure_ascii=False) + "\n", "utf-8")
    done.bundle, done.patients = bundle_file, patients_file
    return done


def _pretty(resource: Resource, fmt: Format) -> bytes:
    if fmt == "json":
        return (json.dumps(resource, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    from validatiestraat.fhir.formats import to_xml

    return to_xml(resource, pretty=True)


# ---------------------------------------------------------------------------------------------- load
@dataclass(frozen=True)
class LoadRow:
    """What the target said about one resource."""

    resource: str  # Type/id
    status: int | None  # HTTP status of the resource (transaction: the entry's response.status)
    message: str = ""  # a short reason when not stored (BSNs of the dataset redacted)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def load_dataset(
    client: httpx.AsyncClient,
    fhir_base: str,
    store: Store,
    fmt: Format = "json",
    *,
    per_resource: bool = False,
    headers: dict[str, str] | None = None,
) -> list[LoadRow]:
    """Load the dataset into the FHIR server at ``fhir_base``: one transaction (POST to the base), or a PUT per
    resource in dependency order. Transport failures propagate (``httpx.TransportError``): the target was not
    reached, which is not the same thing as a refusal."""
    resources = ordered_resources(store)
    base = fhir_base.rstrip("/")
    sent = {"Content-Type": f"{media_type(fmt)}; charset=utf-8", "Accept": media_type(fmt), **(headers or {})}
    secrets = [p.bsn for p in store.patients]
    if per_resource:
        rows = []
        for r in resources:
            key = f"{r['resourceType']}/{r['id']}"
            response = await client.put(f"{base}/{key}", content=dumps(r, fmt), headers=sent)
            rows.append(LoadRow(key, response.status_code, "" if response.is_success else _reason(response, secrets)))
        return rows
    bundle = transaction_bundle(resources)
    keys = [e["request"]["url"] for e in bundle["entry"]]
    response = await client.post(base, content=dumps(bundle, fmt), headers=sent)
    if not response.is_success:
        reason = f"the transaction was refused: HTTP {response.status_code} {_reason(response, secrets)}".strip()
        return [LoadRow(k, None, reason) for k in keys]
    try:
        answer = _parse(response)
    except ValueError as exc:
        return [LoadRow(k, None, f"the transaction response is not a FHIR Bundle: {exc}") for k in keys]
    entries = answer.get("entry", []) if answer.get("resourceType") == "Bundle" else []
    rows = []
    for i, key in enumerate(keys):
        entry_response = entries[i].get("response", {}) if i < len(entries) else {}
        status = _status(entry_response.get("status"))
        message = ""
        if status is None:
            message = "no entry for this resource in the transaction-response"
        elif not 200 <= status < 300:
            message = _redact(
                _outcome_text(entry_response.get("outcome")) or str(entry_response.get("status")), secrets
            )
        rows.append(LoadRow(key, status, message))
    return rows


def _parse(response: httpx.Response) -> dict[str, Any]:
    if "xml" in response.headers.get("content-type", ""):
        return from_xml(response.content)
    return from_json(response.content)


def _status(value: Any) -> int | None:
    """``"201 Created"`` → 201."""
    if not isinstance(value, str) or not value.split():
        return None
    head = value.split()[0]
    return int(head) if head.isdigit() else None


def _outcome_text(outcome: Any) -> str:
    if not isinstance(outcome, dict):
        return ""
    parts = []
    for issue in outcome.get("issue", []):
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code")
        if text:
            parts.append(str(text))
    return "; ".join(parts)


def _reason(response: httpx.Response, secrets: list[str]) -> str:
    try:
        text = _outcome_text(_parse(response))
    except ValueError:
        text = ""
    text = text or response.text[:200].replace("\n", " ")
    return _redact(text[:300], secrets)


def _redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "[bsn]")
    return text
