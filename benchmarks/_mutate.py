"""One random, typed change to a FHIR resource in JSON: the mutation catalogue of mutation_agreement.py.

A mutant is a deep copy of a valid original with exactly one change, chosen by a seeded ``random.Random`` so that a
seed gives the same mutants on every machine. The changes are typed: the walk over the resource knows the FHIR type
of every element (from the R4 element table ``validatiestraat/fhir/r4_elements.json``, built from the CC0 core
package), so "an invalid value" is invalid *for that type* (a 30 February for a date, 0 for a positiveInt, a space
in a code), and a choice element is renamed to another type its base element allows.

The catalogue (``KINDS``) is meant to hit every rule family the validator has: structure (unknown or misshapen
elements, JSON types), primitives (formats), cardinality, fixed and pattern values, bindings, slicing, extensions,
references and profiles. Many mutants stay valid (an optional element deleted, a free-text string emptied to another
string); that is fine: a benchmark of agreement counts those too.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ELEMENTS = Path(__file__).resolve().parent.parent / "validatiestraat" / "fhir" / "r4_elements.json"
Step = str | int


@cache
def _table() -> dict[str, Any]:
    return json.loads(ELEMENTS.read_text(encoding="utf-8"))


@cache
def children(type_name: str) -> dict[str, tuple[str, bool]]:
    """{JSON key: (FHIR type, repeats)} of a complex type, resource or backbone element ("" when unknown)."""
    rows = _table()["types"].get(type_name) or []
    return {row[0]: (row[1], bool(row[2])) for row in rows}


@cache
def choice_groups(type_name: str) -> dict[str, list[tuple[str, str]]]:
    """{choice base ("value"): [(JSON key, type)]} for the choice elements ``[x]`` of a type."""
    rows = children(type_name)
    groups: dict[str, list[tuple[str, str]]] = {}
    for key, (typ, _) in rows.items():
        suffix = typ[0].upper() + typ[1:]
        if key.endswith(suffix) and key != suffix and key[: -len(suffix)]:
            groups.setdefault(key[: -len(suffix)], []).append((key, typ))
    return {base: keys for base, keys in groups.items() if len(keys) > 1}


def is_primitive(type_name: str | None) -> bool:
    return type_name is not None and type_name in _table()["primitives"]


# ---------------------------------------------------------------------------------------------------- the walk


@dataclass(frozen=True)
class Site:
    """One element of a resource: where it is, its FHIR type (None when the table does not know it)."""

    path: tuple[Step, ...]
    fhir_type: str | None
    owner: str  # resourceType of the nearest enclosing resource
    parent_type: str | None  # FHIR type of the object holding the element
    item: bool  # an item of a JSON array (path ends with an index)
    value: Any = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        """The JSON key of the element (of its array, for an item)."""
        steps = [s for s in self.path if isinstance(s, str)]
        return steps[-1] if steps else ""


def walk(resource: dict[str, Any]) -> list[Site]:
    """Every element of ``resource`` below the root, arrays and their items both, depth first in document order."""
    found: list[Site] = []

    def visit(value: Any, typ: str | None, path: tuple[Step, ...], owner: str) -> None:
        if not isinstance(value, dict):
            return
        if typ in ("Resource", "DomainResource") or (typ is None and "resourceType" in value):
            typ = value.get("resourceType") if isinstance(value.get("resourceType"), str) else None
            owner = typ or owner
        table = children(typ) if typ else {}
        for key, child in value.items():
            if key == "resourceType":
                continue
            ctyp, _ = table.get(key.lstrip("_"), (None, False))
            if key.startswith("_"):
                ctyp = "Element"
            here = (*path, key)
            found.append(Site(here, ctyp, owner, typ, False, child))
            if isinstance(child, list):
                for n, item in enumerate(child):
                    found.append(Site((*here, n), ctyp, owner, typ, True, item))
                    visit(item, ctyp, (*here, n), owner)
            else:
                visit(child, ctyp, here, owner)

    visit(resource, resource.get("resourceType"), (), str(resource.get("resourceType", "")))
    return found


def fhir_path(resource: dict[str, Any], path: tuple[Step, ...]) -> str:
    """``MedicationRequest.dosageInstruction[0].timing`` for a JSON path (Bundle entries keep their index)."""
    text = str(resource.get("resourceType", ""))
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}"
    return text


def get(resource: Any, path: tuple[Step, ...]) -> Any:
    for step in path:
        resource = resource[step]
    return resource


def short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------------------------------- pools


@dataclass
class Pools:
    """Plausible replacement values, gathered from all originals (and the packages, for profiles)."""

    codings: list[tuple[str, str]] = field(default_factory=list)  # (system, code)
    codes: dict[str, list[str]] = field(default_factory=dict)  # JSON key of a code element: values seen
    extension_urls: list[str] = field(default_factory=list)
    profiles: dict[str, list[str]] = field(default_factory=dict)  # resourceType: profile canonicals

    def learn(self, resource: dict[str, Any]) -> None:
        codings, codes, urls = set(self.codings), {k: set(v) for k, v in self.codes.items()}, set(self.extension_urls)
        profiles = {k: set(v) for k, v in self.profiles.items()}
        for site in walk(resource):
            v = site.value
            if site.fhir_type == "Coding" and isinstance(v, dict) and isinstance(v.get("code"), str):
                codings.add((str(v.get("system", "")), v["code"]))
            elif site.fhir_type == "code" and isinstance(v, str) and not site.item:
                codes.setdefault(site.key, set()).add(v)
            elif site.fhir_type == "Extension" and isinstance(v, dict) and isinstance(v.get("url"), str):
                urls.add(v["url"])
            elif site.key == "profile" and site.item and site.parent_type == "Meta" and isinstance(v, str):
                profiles.setdefault(site.owner, set()).add(v)
        self.codings = sorted(codings)
        self.codes = {k: sorted(v) for k, v in sorted(codes.items())}
        self.extension_urls = sorted(urls)
        self.profiles = {k: sorted(v) for k, v in sorted(profiles.items())}

    def add_profiles(self, by_type: dict[str, list[str]]) -> None:
        for typ, urls in by_type.items():
            self.profiles[typ] = sorted(set(self.profiles.get(typ, [])) | set(urls))


# ---------------------------------------------------------------------------------------------------- mutations


@dataclass(frozen=True)
class Mutation:
    kind: str
    path: str  # FHIR-style path of the changed element
    description: str


Mutator = Callable[[random.Random, dict[str, Any], list[Site], Pools], Mutation | None]
KINDS: dict[str, Mutator] = {}


def kind(name: str) -> Callable[[Mutator], Mutator]:
    def register(fn: Mutator) -> Mutator:
        KINDS[name] = fn
        return fn

    return register


def _set(resource: dict[str, Any], path: tuple[Step, ...], value: Any) -> None:
    get(resource, path[:-1])[path[-1]] = value


def _rename(resource: dict[str, Any], path: tuple[Step, ...], to: str, value: Any) -> None:
    """Key ``path[-1]`` becomes ``to`` in the same place of the key order."""
    parent = get(resource, path[:-1])
    items = [(to, value) if k == path[-1] else (k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(items)


def _pick(rng: random.Random, sites: list[Site]) -> Site | None:
    return rng.choice(sites) if sites else None


@kind("delete")
def delete(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """Remove one element at any depth: a key, or one item of an array of several."""
    cands = [s for s in sites if not s.item or len(get(res, s.path[:-1])) > 1]
    s = _pick(rng, cands)
    if s is None:
        return None
    parent = get(res, s.path[:-1])
    del parent[s.path[-1]]
    what = "array item" if s.item else "element"
    return Mutation("delete", fhir_path(res, s.path), f"deleted {what} {short(s.value, 50)}")


@kind("duplicate")
def duplicate(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A single-valued element (not an array in the JSON) becomes an array of two copies."""
    cands = [s for s in sites if not s.item and not isinstance(s.value, list)]
    s = _pick(rng, cands)
    if s is None:
        return None
    _set(res, s.path, [s.value, copy.deepcopy(s.value)])
    return Mutation("duplicate", fhir_path(res, s.path), f"single value {short(s.value, 40)} -> array of two copies")


@kind("repeat-item")
def repeat_item(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """An array gets a copy of one of its items appended (cardinality max, slice max, ordered slicing)."""
    s = _pick(rng, [s for s in sites if s.item])
    if s is None:
        return None
    items = get(res, s.path[:-1])
    items.append(copy.deepcopy(s.value))
    return Mutation("repeat-item", fhir_path(res, s.path), f"item {short(s.value, 50)} appended again")


def _other_json_type(rng: random.Random, v: Any) -> Any:
    if isinstance(v, bool):
        return rng.choice([str(v).lower(), int(v)])
    if isinstance(v, int | float):
        return rng.choice([str(v), True])
    if re.fullmatch(r"-?(0|[1-9]\d*)(\.\d+)?", v):  # a JSON number (leading zeros are not)
        return json.loads(v)
    return rng.choice([1, True, False])


@kind("json-type")
def json_type(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A primitive's JSON type changes: string <-> number <-> boolean (the value kept where it can be)."""
    s = _pick(rng, [s for s in sites if isinstance(s.value, str | int | float | bool) and s.key != "div"])
    if s is None:
        return None
    new = _other_json_type(rng, s.value)
    _set(res, s.path, new)
    return Mutation("json-type", fhir_path(res, s.path), f"{s.fhir_type}: {short(s.value, 40)} -> {short(new, 40)}")


BAD_VALUES: dict[str, list[Any]] = {
    "date": ["2025-02-30", "2025-13-01", "01-01-2025", "2025-1-1", "2025-01-01T10:00:00+01:00"],
    "dateTime": ["2025-01-01T10:00:00", "2025-01-01T25:00:00+01:00", "2025-02-30", "2025-01-01 10:00", "2025-1-1"],
    "instant": ["2025-01-01", "2025-01-01T10:00:00"],
    "time": ["25:00:00", "10:00", "10:00:00+01:00"],
    "code": ["bad code", " active", "active ", "a\tb"],
    "id": ["bad_id!", "x" * 65, "a b"],
    "uri": ["has space", "http://exa mple.org/x"],
    "url": ["has space", "http://exa mple.org/x"],
    "canonical": ["has space", "http://exa mple.org/x"],
    "oid": ["urn:oid:2.16.abc", "2.16.840.1", "urn:oid:02.16"],
    "uuid": ["urn:uuid:not-a-uuid", "urn:uuid:1234"],
    "positiveInt": [0, -1, 1.5],
    "unsignedInt": [-1, 1.5],
    "integer": [1.5, 2147483648],
    "decimal": ["1.5", "one"],
    "boolean": ["yes", 1],
    "string": ["\u0001control", "   "],
    "markdown": ["\u0001control", "   "],
    "base64Binary": ["not base64!!"],
    "xhtml": ["plain text, no div", '<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>'],
}
URI_SPECIAL = {"urn:oid:": ["urn:oid:2.16.abc", "urn:oid:"], "urn:uuid:": ["urn:uuid:not-a-uuid", "urn:uuid:1234"]}


@kind("bad-value")
def bad_value(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A primitive gets a value that is invalid for its FHIR type (format, range, JSON type of a number)."""
    cands = [s for s in sites if is_primitive(s.fhir_type) and not isinstance(s.value, dict | list)]
    s = _pick(rng, cands)
    if s is None:
        return None
    options = list(BAD_VALUES.get(str(s.fhir_type), ["\u0001control"]))
    if isinstance(s.value, str):
        for prefix, bad in URI_SPECIAL.items():
            if s.value.startswith(prefix):
                options = bad
    options = [o for o in options if o != s.value] or ["\u0001control"]
    new = rng.choice(options)
    _set(res, s.path, new)
    return Mutation("bad-value", fhir_path(res, s.path), f"{s.fhir_type}: {short(s.value, 40)} -> {short(new, 40)}")


@kind("swap-coding")
def swap_coding(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A Coding gets another code of its system, another system for its code, or another coding altogether (all
    taken from the originals)."""
    cands = [s for s in sites if s.fhir_type == "Coding" and not isinstance(s.value, list)]
    cands = [s for s in cands if isinstance(s.value, dict) and "code" in s.value]
    s = _pick(rng, cands)
    if s is None:
        return None
    system, code = str(s.value.get("system", "")), s.value.get("code")
    same_system = [c for sy, c in pools.codings if sy == system and c != code]
    systems = sorted({sy for sy, _ in pools.codings if sy != system and sy})
    how = rng.choice(["code", "system", "both"])
    if how == "code" and same_system:
        new = rng.choice(same_system)
        s.value["code"] = new
        desc = f"code {code!r} -> {new!r} (same system {system})"
    elif how == "system" and systems:
        new = rng.choice(systems)
        s.value["system"] = new
        desc = f"system {system} -> {new} (code {code!r} kept)"
    else:
        nsys, ncode = rng.choice([c for c in pools.codings if c != (system, code)])
        s.value["system"], s.value["code"] = nsys, ncode
        desc = f"{system}|{code} -> {nsys}|{ncode}"
    return Mutation("swap-coding", fhir_path(res, s.path), desc)


@kind("swap-code")
def swap_code(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A primitive code (status, intent, use, gender, unit code ...) gets another code seen under the same key."""
    cands = [s for s in sites if s.fhir_type == "code" and isinstance(s.value, str) and not s.item]
    cands = [s for s in cands if any(c != s.value for c in pools.codes.get(s.key, []))]
    s = _pick(rng, cands)
    if s is None:
        return None
    new = rng.choice([c for c in pools.codes[s.key] if c != s.value])
    _set(res, s.path, new)
    return Mutation("swap-code", fhir_path(res, s.path), f"{s.key}: {s.value!r} -> {new!r}")


EXAMPLES: dict[str, Any] = {
    "string": "tekst",
    "boolean": True,
    "integer": 2,
    "positiveInt": 2,
    "unsignedInt": 2,
    "decimal": 1.5,
    "date": "2024-12-01",
    "dateTime": "2024-12-01T10:00:00+01:00",
    "instant": "2024-12-01T10:00:00+01:00",
    "time": "10:00:00",
    "code": "abc",
    "uri": "http://example.org/x",
    "canonical": "http://example.org/x",
    "Quantity": {"value": 1, "unit": "stuk"},
    "Duration": {"value": 1, "unit": "d", "system": "http://unitsofmeasure.org", "code": "d"},
    "Age": {"value": 40, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
    "CodeableConcept": {"text": "iets"},
    "Coding": {"system": "http://example.org/cs", "code": "x"},
    "Reference": {"display": "iets"},
    "Period": {"start": "2024-12-01"},
    "Range": {"low": {"value": 1}, "high": {"value": 2}},
    "Ratio": {"numerator": {"value": 1}, "denominator": {"value": 2}},
    "Identifier": {"system": "urn:oid:2.999.1", "value": "x"},
    "Timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    "Annotation": {"text": "x"},
}
FOREIGN_TYPES = ["String", "Boolean", "Quantity", "CodeableConcept", "Reference", "Period", "DateTime", "Integer"]


@kind("choice-rename")
def choice_rename(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A choice element changes type (valueQuantity -> valueString): to another type of its base element (with a
    valid value of that type, or the old value), or sometimes to a type the base element does not have."""
    cands = []
    for s in sites:
        if s.item or s.parent_type is None:
            continue
        for base, keys in choice_groups(s.parent_type).items():
            if any(k == s.key for k, _ in keys):
                cands.append((s, base, keys))
    if not cands:
        return None
    s, base, keys = rng.choice(cands)
    options = [(k, t) for k, t in keys if k != s.key]
    if rng.random() < 0.2:
        suffix = rng.choice([t for t in FOREIGN_TYPES if base + t not in {k for k, _ in keys}] or ["Foo"])
        options = [(base + suffix, suffix[0].lower() + suffix[1:])]
    to, typ = rng.choice(options)
    keep = typ not in EXAMPLES or rng.random() < 0.3
    value = s.value if keep else copy.deepcopy(EXAMPLES[typ])
    if to in get(res, s.path[:-1]):
        return None
    _rename(res, s.path, to, value)
    how = "value kept" if keep else f"value {short(value, 40)}"
    return Mutation("choice-rename", fhir_path(res, s.path), f"{s.key} -> {to} ({how})")


UNKNOWN_EXTENSION = "http://example.org/fhir/StructureDefinition/unknown-extension"


@kind("extension-url")
def extension_url(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """An extension's url is dropped, made unknown, made relative, or replaced by another extension's url."""
    cands = [s for s in sites if s.fhir_type == "Extension" and s.item and isinstance(s.value, dict)]
    cands = [s for s in cands if isinstance(s.value.get("url"), str)]
    s = _pick(rng, cands)
    if s is None:
        return None
    old = s.value["url"]
    how = rng.choice(["drop", "unknown", "relative", "other", "other"])
    others = [u for u in pools.extension_urls if u != old]
    if how == "drop":
        del s.value["url"]
        return Mutation("extension-url", fhir_path(res, (*s.path, "url")), f"url {old} removed")
    if how == "unknown":
        new = UNKNOWN_EXTENSION
    elif how == "relative" or not others:
        new = old.rsplit("/", 1)[-1]
    else:
        new = rng.choice(others)
    s.value["url"] = new
    return Mutation("extension-url", fhir_path(res, (*s.path, "url")), f"url {old} -> {new}")


REFERENCE_TYPES = [
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Medication",
    "MedicationRequest",
    "RelatedPerson",
    "Observation",
    "Device",
]


@kind("reference-target")
def reference_target(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A Reference points at another resource type: its ``reference`` and ``type`` both, or only one of them."""
    cands = [s for s in sites if s.fhir_type == "Reference" and isinstance(s.value, dict)]
    cands = [s for s in cands if isinstance(s.value.get("reference"), str) or isinstance(s.value.get("type"), str)]
    s = _pick(rng, cands)
    if s is None:
        return None
    ref, typ = s.value.get("reference"), s.value.get("type")
    m = re.match(r"^(.*?)([A-Z][A-Za-z]+)/([^/]+)$", ref) if isinstance(ref, str) else None
    current = m[2] if m else typ
    new = rng.choice([t for t in REFERENCE_TYPES if t != current])
    how = rng.choice(["both", "reference", "type"]) if m else "type"
    if how == "reference" and not m:
        how = "type"
    parts = []
    if how in ("both", "reference") and m:
        s.value["reference"] = f"{m[1]}{new}/{m[3]}"
        parts.append(f"reference {ref} -> {s.value['reference']}")
    if how in ("both", "type") and (typ is not None or how == "type"):
        s.value["type"] = new
        parts.append(f"type {typ} -> {new}")
    return Mutation("reference-target", fhir_path(res, s.path), "; ".join(parts))


UNKNOWN_KEYS = ["foo", "extensions", "Status", "valueStrin", "comment"]


@kind("unknown-element")
def unknown_element(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """An object (the resource itself or any complex element) gets a key its type does not define."""
    objects = [s for s in sites if isinstance(s.value, dict)]
    roots = [Site((), res.get("resourceType"), str(res.get("resourceType")), None, False, res)]
    s = _pick(rng, roots + objects)
    if s is None:
        return None
    known = children(s.fhir_type) if s.fhir_type else {}
    keys = [k for k in UNKNOWN_KEYS if k not in known and k not in s.value]
    if not keys:
        return None
    key = rng.choice(keys)
    value = rng.choice(["x", {"text": "x"}])
    s.value[key] = value
    return Mutation("unknown-element", fhir_path(res, (*s.path, key)), f"added {key}: {short(value)}")


@kind("empty")
def empty(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """An object becomes {}, an array [], a string "" (elements must have a value or children)."""
    cands = [s for s in sites if isinstance(s.value, dict | list | str) and s.value not in ({}, [], "")]
    s = _pick(rng, cands)
    if s is None:
        return None
    new: Any = {} if isinstance(s.value, dict) else [] if isinstance(s.value, list) else ""
    _set(res, s.path, new)
    return Mutation("empty", fhir_path(res, s.path), f"{short(s.value, 50)} -> {json.dumps(new)}")


@kind("profile-swap")
def profile_swap(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """A meta.profile becomes another profile of the same resource type (from the packages)."""
    cands = [s for s in sites if s.key == "profile" and s.item and s.parent_type == "Meta"]
    cands = [s for s in cands if any(p != s.value for p in pools.profiles.get(s.owner, []))]
    s = _pick(rng, cands)
    if s is None:
        return None
    new = rng.choice([p for p in pools.profiles[s.owner] if p != s.value])
    _set(res, s.path, new)
    return Mutation("profile-swap", fhir_path(res, s.path), f"{s.value} -> {new}")


@kind("reorder")
def reorder(rng: random.Random, res: dict[str, Any], sites: list[Site], pools: Pools) -> Mutation | None:
    """An array of distinct items is reversed (slice order, ordered slicing, position-based rules)."""
    cands = [s for s in sites if isinstance(s.value, list) and len(s.value) > 1]
    cands = [s for s in cands if list(reversed(s.value)) != s.value]
    s = _pick(rng, cands)
    if s is None:
        return None
    s.value.reverse()
    return Mutation("reorder", fhir_path(res, s.path), f"array of {len(s.value)} items reversed")


# ---------------------------------------------------------------------------------------------------- generator


@dataclass(frozen=True)
class Mutant:
    name: str  # file name in the mutant folder
    original: str  # label of the original
    mutation: Mutation
    text: str  # the mutant as JSON text


def generate(
    originals: dict[str, dict[str, Any]], count: int, seed: int, pools: Pools, kinds: list[str] | None = None
) -> Iterator[Mutant]:
    """``count`` distinct mutants: each a random original with one change of a kind drawn uniformly (a kind that
    does not apply to the drawn original is drawn again)."""
    rng = random.Random(seed)
    labels = sorted(originals)
    names = sorted(kinds or KINDS)
    seen = {json.dumps(originals[label], sort_keys=True) for label in labels}
    made = tries = 0
    while made < count:
        tries += 1
        if tries > count * 50:
            raise RuntimeError(f"only {made} distinct mutants after {tries} tries")
        label = rng.choice(labels)
        name = rng.choice(names)
        res = copy.deepcopy(originals[label])
        mutation = KINDS[name](rng, res, walk(res), pools)
        if mutation is None:
            continue
        key = json.dumps(res, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        made += 1
        text = json.dumps(res, ensure_ascii=False, indent=2) + "\n"
        yield Mutant(f"m{made:04d}-{name}.json", label, mutation, text)
