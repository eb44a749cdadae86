"""How a differential element constrains the element it applies to (a part of :mod:`validatiestraat.fhir.snapshot`).

FHIR R4 profiling.html: the snapshot element is the base element with the differential's values laid over it.
A value the differential gives replaces the base's, except for the lists that accumulate: ``constraint`` (a new
key is added; the same key replaces), ``mapping``, ``condition`` and ``alias`` (added when not there yet).
``binding`` and ``slicing`` are merged field by field, so a differential may tighten only the strength or only the
rules. ``id``, ``path`` and ``base`` always come from the base: they say where the element is and where it came
from, which a profile cannot change.
"""

from __future__ import annotations

from typing import Any

from validatiestraat.fhir.snapshot_tree import Element

#: the fields a differential cannot set on the snapshot element
_KEEP = frozenset({"id", "path", "base"})
#: the value[x] families that hold a single fixed/pattern value: a new one replaces the base's
_VALUE_PREFIXES = ("fixed", "pattern", "defaultValue", "minValue", "maxValue")


def _by_key(items: list[Any], key: str) -> dict[Any, int]:
    return {item.get(key): i for i, item in enumerate(items) if isinstance(item, dict) and item.get(key) is not None}


def merge_constraints(first: list[Any], then: list[Any]) -> list[Any]:
    """``first`` followed by the constraints of ``then`` whose key it does not have (the same key: replaced)."""
    out = list(first)
    keys = _by_key(out, "key")
    for c in then:
        k = c.get("key") if isinstance(c, dict) else None
        if k is not None and k in keys:
            out[keys[k]] = c
        else:
            keys[k] = len(out)
            out.append(c)
    return out


def _union(base: list[Any], extra: list[Any]) -> list[Any]:
    out = list(base)
    out += [x for x in extra if x not in out]
    return out


def apply_differential(el: Element, diff: Element) -> None:
    """Lay the differential element ``diff`` over the snapshot element ``el`` (changed in place; nested values are
    replaced, never changed)."""
    for key, value in diff.items():
        if key in _KEEP or key.startswith("_"):
            continue
        if key == "constraint":
            el[key] = merge_constraints(el.get(key) or [], value)
        elif key in ("mapping", "condition", "alias"):
            el[key] = _union(el.get(key) or [], value)
        elif key in ("binding", "slicing") and isinstance(value, dict) and isinstance(el.get(key), dict):
            el[key] = {**el[key], **value}
        elif key.startswith(_VALUE_PREFIXES):
            prefix = next(p for p in _VALUE_PREFIXES if key.startswith(p))
            for old in [k for k in el if k.startswith(prefix) and k != key]:
                del el[old]
            el[key] = value
        else:
            el[key] = value
