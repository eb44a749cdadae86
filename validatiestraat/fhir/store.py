"""An in-memory store of FHIR resources (JSON form) with its test patients.

The store is filled at load time and then only read. Everything a request needs (which resources belong to
which patient, what a patient's data can reach) is indexed once, lazily, and rebuilt only after a change;
other modules hang their own load-time indexes on :meth:`Store.derived`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

Resource = dict[str, Any]
Key = tuple[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class PatientEntry:
    """A test patient: the Patient resource id, a (fake) BSN, a display name, the bearer token that stands
    for it (without ``Bearer ``), and what the patient is for in the test set."""

    id: str
    bsn: str
    name: str
    token: str | None = None
    purpose: str = ""


@dataclass(frozen=True)
class Grant:
    """What an access token allows: one patient's data, for these data services."""

    patient_id: str
    service_ids: frozenset[str]


def reference_key(reference: str | None) -> Key | None:
    """``Type/id`` (relative, or the tail of an absolute URL, ``/_history`` dropped) as a store key."""
    if not reference or reference.startswith("#") or reference.startswith("urn:"):
        return None
    parts = reference.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2 or not parts[-2][:1].isupper():
        return None
    return parts[-2], parts[-1]


def _references(value: Any) -> Iterator[str]:
    """Every ``reference`` string anywhere in a JSON value (contained resources included)."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield ref
        for k, v in value.items():
            if k != "reference":
                yield from _references(v)
    elif isinstance(value, list):
        for v in value:
            yield from _references(v)


class Store:
    """Resources indexed by (type, id), plus the test patients."""

    def __init__(self, resources: Iterable[Resource] = (), patients: Iterable[PatientEntry] = ()) -> None:
        self._resources: dict[Key, Resource] = {}
        self._patients: dict[str, PatientEntry] = {}
        self._derived: dict[str, Any] = {}
        for r in resources:
            self.add(r)
        for p in patients:
            self.add_patient(p)

    # ------------------------------------------------------------------ filling
    def add(self, resource: Resource) -> None:
        rt, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(rt, str) or not isinstance(rid, str) or not rid:
            raise ValueError("a stored resource needs a resourceType and an id")
        self._resources[(rt, rid)] = resource
        self._derived.clear()

    def add_patient(self, entry: PatientEntry) -> None:
        self._patients[entry.id] = entry
        self._derived.clear()

    # ------------------------------------------------------------------ lookups
    def get(self, resource_type: str, resource_id: str) -> Resource | None:
        return self._resources.get((resource_type, resource_id))

    def resolve(self, reference: str | None) -> Resource | None:
        key = reference_key(reference)
        return self._resources.get(key) if key else None

    def all(self, resource_type: str | None = None) -> list[Resource]:
        return [r for (t, _), r in self._resources.items() if resource_type is None or t == resource_type]

    def __len__(self) -> int:
        return len(self._resources)

    @property
    def patients(self) -> list[PatientEntry]:
        return list(self._patients.values())

    def patient(self, patient_id: str) -> PatientEntry | None:
        return self._patients.get(patient_id)

    def by_bsn(self, bsn: str) -> PatientEntry | None:
        return self.derived("patients_by_bsn", lambda: {p.bsn: p for p in self._patients.values()}).get(bsn)

    def by_token(self, token: str) -> PatientEntry | None:
        """The patient of a bearer token (with or without the ``Bearer `` prefix)."""
        if token[:7].lower() == "bearer ":
            token = token[7:]
        table = self.derived("patients_by_token", lambda: {p.token: p for p in self._patients.values() if p.token})
        return table.get(token.strip())

    @staticmethod
    def patient_of(resource: Resource) -> str | None:
        """The Patient id a resource belongs to: itself for a Patient, else its subject/patient reference."""
        if resource.get("resourceType") == "Patient":
            return resource.get("id")
        for field in ("subject", "patient"):
            ref = resource.get(field)
            if isinstance(ref, dict):
                key = reference_key(ref.get("reference"))
                if key and key[0] == "Patient":
                    return key[1]
        return None

    # ------------------------------------------------------------------ load-time indexes
    def derived(self, name: str, factory: Callable[[], T]) -> T:
        """A value computed from the store once and cached until the store changes."""
        try:
            return self._derived[name]
        except KeyError:
            value = self._derived[name] = factory()
            return value

    def resources_of(self, patient_id: str, resource_type: str) -> list[Resource]:
        """The patient's own resources of one type, in load order."""
        return self.derived("by_patient", self._by_patient).get((patient_id, resource_type), [])

    def _by_patient(self) -> dict[Key, list[Resource]]:
        table: dict[Key, list[Resource]] = {}
        for (rt, _), r in self._resources.items():
            pid = self.patient_of(r)
            if pid is not None:
                table.setdefault((pid, rt), []).append(r)
        return table

    def reachable(self, patient_id: str) -> frozenset[Key]:
        """Keys of the patient's own resources and of everything they reference, transitively, that is not
        another patient's."""
        return self.derived("reachable", self._reachable).get(patient_id, frozenset())

    def allowed_for(self, resource: Resource, patient_id: str) -> bool:
        """False when the resource is (or belongs to) another patient."""
        owner = self.patient_of(resource)
        return owner is None or owner == patient_id

    def _reachable(self) -> dict[str, frozenset[Key]]:
        out: dict[str, frozenset[Key]] = {}
        own: dict[str, list[Key]] = {}
        for key, r in self._resources.items():
            pid = self.patient_of(r)
            if pid is not None:
                own.setdefault(pid, []).append(key)
        for pid in set(own) | set(self._patients):
            seen: set[Key] = set()
            todo = list(own.get(pid, []))
            while todo:
                key = todo.pop()
                r = self._resources.get(key)
                if key in seen or r is None or not self.allowed_for(r, pid):
                    continue
                seen.add(key)
                todo.extend(k for k in map(reference_key, _references(r)) if k and k not in seen)
            out[pid] = frozenset(seen)
        return out
