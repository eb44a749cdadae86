"""An MP9 search answer as the checks read it: the Bundle's entries, and which dataset resource each one is.

A vendor's DVA that loaded our dataset may give the resources ids of its own, so an entry is matched to the
dataset (the Store in ``ctx.dataset``, dates expanded at T) in this order:

1. by id: the dataset has a resource of the same type and id;
2. by business identifier: an ``identifier`` (system and value) that one dataset resource of the type carries;
3. by reference: an entry that an already matched entry references at the same place (``subject``,
   ``medicationReference``, ``requester``, …) is the resource the dataset's counterpart references there,
   repeated until nothing new is found (this finds Medication, PractitionerRole and Location, which carry no
   identifier, and whatever a PractitionerRole points to);
4. a Patient, by identity: a BSN value that a test patient has, else family name and birth date.

Nothing here judges; the checks in ``fhir_search`` and ``content`` do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.searchparams import INCLUDES
from validatiestraat.fhir.store import Key, Resource, Store, reference_key
from validatiestraat.medmij.mp9 import Block
from validatiestraat.results import Finding, skipped

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Entry:
    """One Bundle entry with a resource (``outcome`` entries are left out)."""

    index: int
    resource: Resource
    full_url: str
    mode: str | None

    @property
    def type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def id(self) -> str:
        return str(self.resource.get("id", ""))

    @property
    def label(self) -> str:
        return f"{self.type}/{self.id}" if self.id else f"{self.type} (entry {self.index}, no id)"


def label(key: Key) -> str:
    return f"{key[0]}/{key[1]}"


def scrub(text: str, dataset: Store) -> str:
    """``text`` with every test patient's BSN masked: a message may quote what the SUT returned."""
    for p in dataset.patients:
        if p.bsn:
            text = text.replace(p.bsn, "[BSN]")
    return text


class Answer:
    """The entries of one search answer, matched to the dataset."""

    def __init__(self, exchange: Exchange, bundle: Resource, dataset: Store) -> None:
        self.exchange = exchange
        self.bundle = bundle
        self.dataset = dataset
        self.entries: list[Entry] = []
        for i, e in enumerate(bundle.get("entry") or []):
            r = e.get("resource") if isinstance(e, dict) else None
            mode = (e.get("search") or {}).get("mode") if isinstance(e, dict) else None
            if isinstance(r, dict) and mode != "outcome" and r.get("resourceType") != "OperationOutcome":
                self.entries.append(Entry(i, r, str(e.get("fullUrl") or ""), mode))
        self._by_url = {e.full_url: e for e in self.entries if e.full_url}
        self._by_key = {(e.type, e.id): e for e in self.entries if e.id}
        self.matched: dict[int, Key] = {}  # entry index -> dataset key
        self.how: dict[int, str] = {}  # entry index -> "id" | "identifier" | "reference" | "identity"
        self._match()

    # ------------------------------------------------------------------ lookups
    def key(self, entry: Entry) -> Key | None:
        """The dataset resource this entry is, if known."""
        return self.matched.get(entry.index)

    def expected(self, entry: Entry) -> Resource | None:
        key = self.key(entry)
        return self.dataset.get(*key) if key else None

    def resolve(self, reference: str | None) -> Entry | None:
        """The entry a reference points to inside the Bundle (by fullUrl, else by type and id)."""
        if not reference:
            return None
        if reference in self._by_url:
            return self._by_url[reference]
        key = reference_key(reference)
        return self._by_key.get(key) if key else None

    def target_key(self, reference: str | None) -> Key | None:
        """The dataset resource a reference in the answer points to: through the entry it resolves to, or, when
        the target is not in the Bundle, the dataset resource of that type and id."""
        target = self.resolve(reference)
        if target is not None:
            return self.key(target)
        key = reference_key(reference)
        return key if key and self.dataset.get(*key) is not None else None

    def of_type(self, resource_type: str) -> list[Entry]:
        return [e for e in self.entries if e.type == resource_type]

    def owners(self, entry: Entry) -> tuple[set[str], list[str]]:
        """The dataset patients an entry belongs to, and the patient references that could not be identified.
        A Patient belongs to itself; anything else to its ``subject``/``patient`` and, when matched, to the
        patient its dataset counterpart belongs to."""
        found: set[str] = set()
        unknown: list[str] = []
        if entry.type == "Patient":
            key = self.key(entry)
            if key:
                found.add(key[1])
            else:
                unknown.append(entry.label)
            return found, unknown
        for field in ("subject", "patient"):
            ref = entry.resource.get(field)
            if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
                continue
            target = self.target_key(ref["reference"])
            if target and target[0] == "Patient":
                found.add(target[1])
            elif (reference_key(ref["reference"]) or ("",))[0] == "Patient":
                unknown.append(f"{field} {ref['reference']}")
        counterpart = self.expected(entry)
        if counterpart is not None and (owner := Store.patient_of(counterpart)):
            found.add(owner)
        return found, unknown

    # ------------------------------------------------------------------ matching
    def _match(self) -> None:
        identifiers = identifier_index(self.dataset)
        for e in self.entries:
            if e.id and self.dataset.get(e.type, e.id) is not None:
                self._take(e, (e.type, e.id), "id")
                continue
            for ident in _as_list(e.resource.get("identifier")):
                key = identifiers.get((e.type, ident.get("system"), ident.get("value")))
                if key is not None:
                    self._take(e, key, "identifier")
                    break
        self._follow_references()
        for e in self.entries:
            if e.type == "Patient" and e.index not in self.matched:
                key = self._patient_by_identity(e.resource)
                if key:
                    self._take(e, key, "identity")
        self._follow_references()

    def _take(self, entry: Entry, key: Key, how: str) -> None:
        self.matched[entry.index] = key
        self.how[entry.index] = how

    def _follow_references(self) -> None:
        todo = [e for e in self.entries if e.index in self.matched]
        while todo and len(self.matched) < len(self.entries):  # only unmatched entries can be matched this way
            new: list[Entry] = []
            for e in todo:
                counterpart = self.expected(e)
                if counterpart is None:
                    continue
                wanted = dict(references(counterpart))
                for path, ref in references(e.resource):
                    target = self.resolve(ref)
                    if target is None or target.index in self.matched or path not in wanted:
                        continue
                    key = reference_key(wanted[path])
                    if key and key[0] == target.type and self.dataset.get(*key) is not None:
                        self._take(target, key, "reference")
                        new.append(target)
            todo = new

    def _patient_by_identity(self, patient: Resource) -> Key | None:
        for ident in _as_list(patient.get("identifier")):
            if ident.get("system") == BSN_SYSTEM and ident.get("value"):
                entry = self.dataset.by_bsn(str(ident["value"]))
                if entry is not None:
                    return ("Patient", entry.id)
        wanted = _identity(patient)
        if wanted is None:
            return None
        hits = [p["id"] for p in self.dataset.all("Patient") if _identity(p) == wanted]
        return ("Patient", hits[0]) if len(hits) == 1 else None


def _identity(patient: Resource) -> tuple[str, str] | None:
    names = _as_list(patient.get("name"))
    family = next((n.get("family") for n in names if n.get("family")), None)
    birth = patient.get("birthDate")
    return (str(family).strip().lower(), str(birth)) if family and birth else None


def identifier_index(dataset: Store) -> dict[tuple[str, Any, Any], Key]:
    """(type, system, value) -> the one dataset resource carrying that identifier (ambiguous ones left out)."""

    def build() -> dict[tuple[str, Any, Any], Key]:
        seen: dict[tuple[str, Any, Any], Key | None] = {}
        for r in dataset.all():
            for ident in _as_list(r.get("identifier")):
                if ident.get("value") is None:
                    continue
                k = (r["resourceType"], ident.get("system"), ident.get("value"))
                seen[k] = None if k in seen else (r["resourceType"], r["id"])
        return {k: v for k, v in seen.items() if v is not None}

    return dataset.derived("checks.identifier_index", build)


def references(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every ``reference`` string of a resource with the path it sits at (contained resources left out)."""
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str):
            yield path, ref
        for k, v in value.items():
            if k not in ("reference", "contained"):
                yield from references(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from references(v, (*path, i))


def _as_list(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return [value] if isinstance(value, dict) else []


# --------------------------------------------------------------------------- what the includes must bring


@cache
def _compiled(expression: str) -> Any:
    return fhirpath_compile(expression, models["r4"])


def include_targets(dataset: Store, resource: Resource, source: str, name: str) -> list[Key]:
    """The dataset resources that ``_include=<source>:<name>`` brings for ``resource`` (the SearchParameter
    paths of MP9 3.0 and R4, as listed in ``fhir.searchparams.INCLUDES``), worked out once per dataset."""
    if resource.get("resourceType") != source:
        return []
    return dataset.derived("checks.include_targets", lambda: _all_include_targets(dataset)).get(
        (source, str(resource.get("id")), name), []
    )


def _all_include_targets(dataset: Store) -> dict[tuple[str, str, str], list[Key]]:
    table: dict[tuple[str, str, str], list[Key]] = {}
    for (source, name), path in INCLUDES.items():
        for r in dataset.all(source):
            keys = [reference_key(v.get("reference")) for v in _compiled(path)(r) if isinstance(v, dict)]
            table[(source, r["id"], name)] = [k for k in keys if k and dataset.get(*k) is not None]
    return table


def required_secondaries(
    dataset: Store, block: Block, focal: list[Resource], patient: str
) -> tuple[dict[Key, str], dict[Key, str]]:
    """What the block's query must bring along for these (dataset) focal resources: {key: the _include that
    brings it} for the plain includes and for the ``:iterate`` ones. Another patient's resources never count."""
    done: set[Key] = {(r["resourceType"], r["id"]) for r in focal}
    direct: dict[Key, str] = {}
    for r in focal:
        for name in block.includes:
            for key in include_targets(dataset, r, block.resource_type, name):
                target = dataset.get(*key)
                if key not in done and target is not None and dataset.allowed_for(target, patient):
                    direct.setdefault(key, f"_include={block.resource_type}:{name}")
    done |= set(direct)
    iterated: dict[Key, str] = {}
    frontier = [*focal, *(dataset.get(*k) for k in direct)]
    while frontier and block.iterate:
        new: list[Resource] = []
        for r in frontier:
            if r is None:
                continue
            for it in block.iterate:
                source, _, name = it.partition(":")
                for key in include_targets(dataset, r, source, name):
                    target = dataset.get(*key)
                    if key not in done and target is not None and dataset.allowed_for(target, patient):
                        done.add(key)
                        iterated[key] = f"_include:iterate={it}"
                        new.append(target)
        frontier = new
    return direct, iterated


# --------------------------------------------------------------------------- reading the answer


def read_answer(ctx: CheckContext) -> Answer | Finding:
    """The search answer, or a ``skip`` finding when there is no Bundle to judge (the status and searchset
    checks report that failure; the content checks do not repeat it)."""
    x = ctx.response("search")
    if x.status not in (200, 201):
        return skipped(f"no search answer to judge: HTTP {x.status} (see search.status)", x.id)
    try:
        body = ctx.resource(x)
    except BadBody:
        return skipped("the answer is not a FHIR resource (see search.searchset)", x.id)
    if body.get("resourceType") != "Bundle":
        return skipped(f"the answer is {body.get('resourceType')}, not a Bundle (see search.searchset)", x.id)
    return ctx.memo(f"{x.id}#mp9-answer", lambda: Answer(x, body, ctx.dataset))  # one for all checks of the case
