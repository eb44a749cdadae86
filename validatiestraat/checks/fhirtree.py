"""A typed walk over a FHIR R4 resource in its JSON form: every object with its FHIR type and where it sits.

The content checks need to know which objects are Codings, CodeableConcepts, References or Identifiers, the way
FHIRPath's ``descendants().where($this.is(Coding))`` does. The type of each element comes from the R4 element
table (``validatiestraat/fhir/r4_elements.json``, via :mod:`validatiestraat.fhir.formats`), so a ``valueCoding``
inside an extension, ``Meta.tag`` or a Coding inside a contained resource are found, and a key that merely
happens to be called ``coding`` in an unknown element is not.

Presence follows FHIRPath on FHIR data: a primitive element *exists* when it has a value **or** only extensions
(JSON ``"_value": {"extension": [...]}``). This is how the Nictiz qualification asserts evaluate ``value.exists()``
(checked with fhirpathpy on the R4 model), and it is what lets a masked BSN identifier — no value, a
``data-absent-reason`` extension in its place — satisfy "every Identifier has a value".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from validatiestraat.fhir.formats import _table, is_resource_type


@dataclass(frozen=True)
class Node:
    """One FHIR object: its type (``Coding``, ``Bundle.entry``, a resource type, ``Element`` for the extension
    holder of a primitive), the object, the resource it belongs to (``MedicationRequest/abc``) and the path
    inside that resource (``dosageInstruction[0].route.coding[0]``; empty for the resource itself)."""

    type: str
    value: dict[str, Any]
    resource: str
    path: str

    @property
    def where(self) -> str:
        return f"{self.resource} {self.path}" if self.path else self.resource


def label(resource: dict[str, Any]) -> str:
    """``Type/id``, or the type alone when the resource has no id."""
    rt, rid = resource.get("resourceType", "?"), resource.get("id")
    return f"{rt}/{rid}" if isinstance(rid, str) and rid else str(rt)


def is_primitive(type_name: str) -> bool:
    return type_name in _table().primitives


#: the last few walks, by the identity of the walked object: the checks of one case walk the same parsed answer
_WALKED: list[tuple[dict[str, Any], list[Node]]] = []


def walk(resource: dict[str, Any]) -> list[Node]:
    """:func:`walk_uncached`, remembered for the last few objects (the answer of a case is walked by several
    checks; a parsed answer is never changed after parsing)."""
    for obj, nodes in _WALKED:
        if obj is resource:
            return nodes
    nodes = walk_uncached(resource)
    _WALKED.insert(0, (resource, nodes))
    del _WALKED[4:]
    return nodes


#: the walks of entry resources, by content: a run returns the same Medication or MedicationRequest in many answers
_ENTRY_WALKS: dict[str, list[Node]] = {}


#: content keys of the objects keyed lately, by identity (each object is held, so its id is not reused)
_KEYS: dict[int, tuple[Any, str]] = {}


def content_key(obj: Any) -> str:
    """A key that is equal for objects of equal JSON content: lets a check remember what it judged of a resource
    that many answers repeat. Computed once per object (the checks of a case share it)."""
    known = _KEYS.get(id(obj))
    if known is not None and known[0] is obj:
        return known[1]
    if len(_KEYS) > 8192:
        _KEYS.clear()
    key = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    _KEYS[id(obj)] = (obj, key)
    return key


def _entry_walk(resource: dict[str, Any]) -> list[Node]:
    """The walk of a Bundle entry's resource, remembered by content. Its nodes do not depend on where the entry
    sits (an entry resource is labelled by itself, its paths start at it); their ``value`` objects are those of
    the first answer that held it, equal in content (the checks only read them)."""
    key = content_key(resource)
    nodes = _ENTRY_WALKS.get(key)
    if nodes is None:
        if len(_ENTRY_WALKS) > 4096:
            _ENTRY_WALKS.clear()
        nodes = _ENTRY_WALKS[key] = walk_uncached(resource)
    return nodes


_ENTRY = "@entry"  # a stack mark: an entry resource, walked (and remembered) on its own


def walk_uncached(resource: dict[str, Any]) -> list[Node]:
    """Every typed object of ``resource`` in document order: the resource itself, each complex element, each
    ``_x`` extension holder, and likewise inside contained resources and Bundle entries (an entry resource gets
    its own label; a contained one is reported under its container)."""
    table = _table()
    primitives, by_name = table.primitives, table.by_name
    found: list[Node] = []
    # (object, its type, resource label, path); a resource's type is read from the object itself
    stack: list[tuple[dict[str, Any], str | None, str, str]] = [(resource, None, label(resource), "")]
    while stack:
        obj, type_name, where, path = stack.pop()
        if type_name == _ENTRY:
            found += _entry_walk(obj)
            continue
        if type_name is None:
            rt = obj.get("resourceType")
            if not isinstance(rt, str) or not is_resource_type(rt):
                continue
            type_name = rt
        found.append(Node(type_name, obj, where, path))
        defs = by_name.get(type_name, {})
        children: list[tuple[dict[str, Any], str | None, str, str]] = []
        for key, value in obj.items():
            holder = key.startswith("_")
            element = defs.get(key[1:] if holder else key)
            if element is None:
                continue  # resourceType, or an element R4 does not know (the structural check reports those)
            if holder:
                if element.type not in primitives:
                    continue
                child_type: str | None = "Element"
            elif element.type in primitives:
                continue
            else:
                child_type = None if element.type == "Resource" else element.type
            many = isinstance(value, list)
            for i, item in enumerate(value if many else (value,)):
                if not isinstance(item, dict):
                    continue
                step = f"{key}[{i}]" if many else key
                child_path = f"{path}.{step}" if path else step
                if child_type is None and type_name == "Bundle.entry" and key == "resource":
                    children.append((item, _ENTRY, "", ""))
                else:
                    children.append((item, child_type, where, child_path))
        stack.extend(reversed(children))
    return found


def present(obj: dict[str, Any], name: str) -> bool:
    """FHIRPath ``name.exists()`` for a primitive element: a non-empty value, or an extension in its place."""
    value = obj.get(name)
    if isinstance(value, list):
        if any(v not in (None, "") for v in value):
            return True
    elif value not in (None, "", {}):
        return True
    holder = obj.get(f"_{name}")
    if isinstance(holder, list):
        return any(isinstance(h, dict) and h for h in holder)
    return isinstance(holder, dict) and bool(holder)


def has_value(obj: dict[str, Any], name: str) -> bool:
    """A real value (not just an extension) for primitive element ``name``."""
    value = obj.get(name)
    if isinstance(value, list):
        return any(v not in (None, "") for v in value)
    return value not in (None, "")


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every scalar in a JSON value as ``(path, text)`` (numbers too, as text), for plain-text searches."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield path, str(value)
