"""StructureDefinitions compiled for validation: each snapshot as a tree of element definitions.

    profiles = Profiles(packages)
    tree = profiles.tree("http://nictiz.nl/fhir/StructureDefinition/mp-MedicationAgreement")
    tree.root.children["status"].min  # 1

The tree follows the element ids of the snapshot: an element's ``children`` are the elements one ``.step`` below
it; a slicing entry (``MedicationRequest.extension``) holds its ``slices`` (``MedicationRequest.extension:stopType``),
each with its own children. A StructureDefinition without a snapshot gets one from
:mod:`validatiestraat.fhir.snapshot` when that module can make it (the Nictiz packages carry differentials only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from validatiestraat.fhir.packages import PackageSet

CORE = "http://hl7.org/fhir/StructureDefinition/"
BEST_PRACTICE = CORE + "elementdefinition-bestpractice"
FHIR_TYPE = CORE + "structuredefinition-fhir-type"
#: the FHIRPath system types a snapshot uses for ``id``, ``url`` and the value of primitives
SYSTEM_TYPES = {
    "http://hl7.org/fhirpath/System.String": "string",
    "http://hl7.org/fhirpath/System.Boolean": "boolean",
    "http://hl7.org/fhirpath/System.Integer": "integer",
    "http://hl7.org/fhirpath/System.Decimal": "decimal",
    "http://hl7.org/fhirpath/System.Date": "date",
    "http://hl7.org/fhirpath/System.DateTime": "dateTime",
    "http://hl7.org/fhirpath/System.Time": "time",
}


@dataclass(frozen=True)
class TypeRef:
    code: str
    profiles: tuple[str, ...] = ()
    target_profiles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Slicing:
    discriminators: tuple[tuple[str, str], ...]  # (type, path)
    rules: str  # closed | open | openAtEnd
    ordered: bool


@dataclass(frozen=True)
class Constraint:
    key: str
    severity: str
    human: str
    expression: str
    best_practice: bool = False  # flagged elementdefinition-bestpractice: not judged (HL7's default)


@dataclass(eq=False)
class Element:
    """One element definition of a snapshot, with its children and slices."""

    id: str
    path: str
    name: str  # the last path step: "status", "value[x]"
    min: int
    max: int | None  # None: unbounded
    base_max: int | None  # the core element's max: decides whether JSON holds an array
    types: tuple[TypeRef, ...]
    fixed: tuple[str, Any] | None = None  # ("fixedUri", value)
    pattern: tuple[str, Any] | None = None
    binding: tuple[str, str | None] | None = None  # (strength, value set)
    constraints: tuple[Constraint, ...] = ()
    slicing: Slicing | None = None
    slice_name: str | None = None
    content_reference: str | None = None
    children: dict[str, Element] = field(default_factory=dict)
    slices: list[Element] = field(default_factory=list)

    @property
    def is_choice(self) -> bool:
        return self.name.endswith("[x]")

    @property
    def type_codes(self) -> list[str]:
        return [t.code for t in self.types]

    def type_of(self, code: str) -> TypeRef | None:
        return next((t for t in self.types if t.code == code), None)


@dataclass(eq=False)
class Tree:
    """A compiled StructureDefinition."""

    url: str
    name: str
    type: str
    kind: str
    derivation: str | None
    root: Element
    by_id: dict[str, Element]
    contexts: tuple[tuple[str, str], ...] = ()  # an extension's (type, expression): where it may be used

    @property
    def is_core(self) -> bool:
        return self.url == CORE + self.type


def _max(value: Any) -> int | None:
    if value in (None, "*"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _prefixed(e: dict[str, Any], prefix: str) -> tuple[str, Any] | None:
    for key, value in e.items():
        if key.startswith(prefix) and len(key) > len(prefix) and key[len(prefix)].isupper():
            return key, value
    return None


def _element(e: dict[str, Any]) -> Element:
    path = str(e.get("path", ""))
    types = []
    for t in e.get("type") or []:
        code = t.get("code")
        if not isinstance(code, str):
            continue
        if code in SYSTEM_TYPES:  # the FHIR type it stands for (Resource.id: id, Extension.url: uri), else its own
            named = [x.get("valueUrl") for x in t.get("extension") or () if x.get("url") == FHIR_TYPE]
            code = named[0] if named and isinstance(named[0], str) else SYSTEM_TYPES[code]
        types.append(TypeRef(code, tuple(t.get("profile") or ()), tuple(t.get("targetProfile") or ())))
    binding = e.get("binding")
    slicing = e.get("slicing")
    base = e.get("base") or {}
    return Element(
        id=str(e.get("id") or path),
        path=path,
        name=path.rsplit(".", 1)[-1],
        min=int(e.get("min") or 0),
        max=_max(e.get("max")),
        base_max=_max(base.get("max", e.get("max"))),
        types=tuple(types),
        fixed=_prefixed(e, "fixed"),
        pattern=_prefixed(e, "pattern"),
        binding=(str(binding.get("strength")), binding.get("valueSet")) if isinstance(binding, dict) else None,
        constraints=tuple(
            Constraint(
                str(c.get("key")),
                str(c.get("severity", "error")),
                str(c.get("human", "")),
                c["expression"],
                any(x.get("url") == BEST_PRACTICE and x.get("valueBoolean") for x in c.get("extension") or ()),
            )
            for c in e.get("constraint") or []
            if isinstance(c, dict) and isinstance(c.get("expression"), str)
        ),
        slicing=Slicing(
            tuple((str(d.get("type")), str(d.get("path"))) for d in slicing.get("discriminator") or []),
            str(slicing.get("rules", "open")),
            bool(slicing.get("ordered", False)),
        )
        if isinstance(slicing, dict)
        else None,
        slice_name=e.get("sliceName"),
        content_reference=e.get("contentReference"),
    )


def _parent_id(element_id: str) -> tuple[str, str]:
    """(parent id, last step) of an element id; the step may carry ``:slice`` (slice names hold no dots: eld-16)."""
    parent, _, step = element_id.rpartition(".")
    return parent, step


def compile_tree(sd: dict[str, Any]) -> Tree:
    """The element tree of a StructureDefinition that has a snapshot."""
    elements = (sd.get("snapshot") or {}).get("element") or []
    if not elements:
        raise ValueError(f"{sd.get('url')}: no snapshot")
    by_id: dict[str, Element] = {}
    root: Element | None = None
    for raw in elements:
        e = _element(raw)
        by_id[e.id] = e
        parent_id, step = _parent_id(e.id)
        if not parent_id and ":" not in step:
            root = root or e
            continue
        name, _, slice_name = step.partition(":")
        if slice_name:
            entry_id = f"{parent_id}.{name}" if parent_id else name
            if "/" in slice_name:  # a re-slice: slice of the slice
                entry_id = f"{entry_id}:{slice_name.rsplit('/', 1)[0]}"
            entry = by_id.get(entry_id)
            if entry is not None:
                entry.slices.append(e)
            continue
        parent = by_id.get(parent_id)
        if parent is not None:
            parent.children[name] = e
    if root is None:
        raise ValueError(f"{sd.get('url')}: snapshot has no root element")
    return Tree(
        url=str(sd.get("url")),
        name=str(sd.get("name") or sd.get("id")),
        type=str(sd.get("type")),
        kind=str(sd.get("kind")),
        derivation=sd.get("derivation"),
        root=root,
        by_id=by_id,
        contexts=tuple(
            (str(c.get("type")), str(c.get("expression")))
            for c in sd.get("context") or ()
            if isinstance(c, dict) and isinstance(c.get("expression"), str)
        ),
    )


SnapshotMaker = Callable[[str, PackageSet, dict[str, Any]], dict[str, Any] | None]


class Profiles:
    """Compiled StructureDefinitions of a package set, made on first use."""

    def __init__(self, packages: PackageSet, make_snapshot: SnapshotMaker | None = None) -> None:
        self.packages = packages
        self._make_snapshot = make_snapshot
        self._trees: dict[str, Tree | None] = {}
        self._snapshots: dict[str, Any] = {}
        self.problems: dict[str, str] = {}  # url -> why it could not be compiled

    def tree(self, url: str) -> Tree | None:
        url = url.split("|", 1)[0]
        if url not in self._trees:
            self._trees[url] = self._compile(url)
        return self._trees[url]

    def core(self, type_code: str) -> Tree | None:
        return self.tree(CORE + type_code)

    def _compile(self, url: str) -> Tree | None:
        sd = self.packages.get(url)
        if sd is None or sd.get("resourceType") != "StructureDefinition":
            return None
        if not (sd.get("snapshot") or {}).get("element"):
            made = None
            if self._make_snapshot is not None:
                try:
                    made = self._make_snapshot(url, self.packages, self._snapshots)
                except Exception as exc:  # a broken differential: the profile cannot be used, said once
                    self.problems[url] = f"no snapshot could be generated: {type(exc).__name__}: {exc}"
                    return None
            if made is None:
                self.problems.setdefault(url, "the package has no snapshot and none could be generated")
                return None
            sd = made
        try:
            return compile_tree(sd)
        except (ValueError, TypeError, KeyError) as exc:
            self.problems[url] = f"unusable snapshot: {exc}"
            return None
