"""FHIR search over a Store, restricted to one patient.

The patient comes from the access token only; ``patient``/``subject`` parameters are ignored like any other
unknown parameter (R4 lenient handling: ignored and left out of the self link). At load time every
searchable resource gets its search values (tokens, date ranges) and its _include targets extracted once
with compiled FHIRPath (:class:`SearchIndex`); a request then only compares precomputed values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models

from validatiestraat.fhir import daterange
from validatiestraat.fhir.daterange import DateRange
from validatiestraat.fhir.searchparams import (
    DATE_PREFIXES,
    EXT_DURATION,
    INCLUDES,
    SEARCH_PARAMS,
    SEARCHABLE_TYPES,
    ParamDef,
)
from validatiestraat.fhir.store import Key, Resource, Store, reference_key

Token = tuple[str, str]  # (system or "", code or "")


class SearchError(Exception):
    """A search or read the server refuses: HTTP status, OperationOutcome issue code, diagnostics."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@cache
def _compiled(expression: str) -> Any:
    return fhirpath_compile(expression, models["r4"])


def _eval(expression: str, resource: Resource) -> list[Any]:
    return _compiled(expression)(resource)


# --------------------------------------------------------------------------- load-time index


def _tokens(values: Iterable[Any]) -> frozenset[Token]:
    out: set[Token] = set()
    for v in values:
        if isinstance(v, str | bool | int):
            out.add(("", str(v).lower() if isinstance(v, bool) else str(v)))
        elif isinstance(v, dict):
            if "coding" in v or "text" in v:  # CodeableConcept
                out.update((c.get("system", ""), c.get("code", "")) for c in v.get("coding", []))
            elif "value" in v:  # Identifier
                out.add((v.get("system", ""), str(v["value"])))
            elif "code" in v:  # Coding
                out.add((v.get("system", ""), v["code"]))
    return frozenset(out)


def _period_range(period: dict[str, Any], derive_end: bool = True) -> DateRange:
    length = None
    for ext in period.get("extension", []):
        if ext.get("url") == EXT_DURATION:
            length = daterange.duration(ext.get("valueDuration"))
    if not derive_end and "end" not in period:  # a deliberately wrong server (the fault catalogue)
        length = None
    return daterange.of_period(period, length)


@dataclass(frozen=True, slots=True)
class Indexed:
    """What search needs of one resource: values per parameter, include targets per include name."""

    values: dict[str, Any]
    includes: dict[str, tuple[Key, ...]]


class SearchIndex:
    """Search values and include targets of every searchable resource of a Store."""

    def __init__(self, store: Store, derive_end: bool = True) -> None:
        self.store = store
        self.derive_end = derive_end  # False: a period-of-use without end stays open (fault switch only)
        self.entries: dict[Key, Indexed] = {}
        include_types = {src for src, _ in INCLUDES}
        for r in store.all():
            rt = r["resourceType"]
            if rt in SEARCHABLE_TYPES or rt in include_types:
                self.entries[(rt, r["id"])] = self._index(r)

    def _index(self, r: Resource) -> Indexed:
        rt = r["resourceType"]
        values: dict[str, Any] = {}
        for p in SEARCH_PARAMS.values():
            path = p.paths.get(rt)
            if path is None:
                continue
            found = _eval(path, r)
            if p.chain:
                found = [
                    v
                    for ref in found
                    if isinstance(ref, dict) and (target := self.store.resolve(ref.get("reference")))
                    for v in _eval(p.chain, target)
                ]
            if p.kind == "token":
                values[p.name] = _tokens(found)
            elif p.kind == "period":
                values[p.name] = tuple(_period_range(v, self.derive_end) for v in found if isinstance(v, dict))
            else:
                values[p.name] = tuple(dr for v in found if (dr := daterange.of_value(v)) is not None)
        includes: dict[str, tuple[Key, ...]] = {}
        for (src, name), path in INCLUDES.items():
            if src == rt:
                refs = [v.get("reference") for v in _eval(path, r) if isinstance(v, dict)]
                includes[name] = tuple(k for k in map(reference_key, refs) if k)
        return Indexed(values, includes)


def index_of(store: Store, derive_end: bool = True) -> SearchIndex:
    """The store's search index, built on first use and cached until the store changes."""
    if not derive_end:
        return store.derived("search_index:end-not-derived", lambda: SearchIndex(store, derive_end=False))
    return store.derived("search_index", lambda: SearchIndex(store))


# --------------------------------------------------------------------------- query parsing


def _split_unescaped(value: str, sep: str) -> list[str]:
    parts, cur, i = [], [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            cur.append(value[i + 1])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


@dataclass(frozen=True, slots=True)
class TokenQuery:
    system: str | None  # None: any system; "": no system
    code: str | None  # None: any code in the system

    def matches(self, tokens: frozenset[Token]) -> bool:
        if self.system is not None and self.code is not None:
            return (self.system, self.code) in tokens
        if self.system is None:
            return any(c == self.code for _, c in tokens)
        return any(s == self.system for s, _ in tokens)


def _token_query(name: str, value: str) -> TokenQuery:
    parts = _split_unescaped(value, "|")
    if len(parts) == 1 and parts[0]:
        return TokenQuery(None, parts[0])
    if len(parts) == 2 and (parts[0] or parts[1]):
        return TokenQuery(parts[0], parts[1] or None)
    raise SearchError(400, "invalid", f"bad token value for {name}: {value!r} (expected [system|]code)")


def _date_query(name: str, value: str) -> tuple[str, DateRange]:
    prefix, rest = "eq", value
    if value[:2].isalpha():
        prefix, rest = value[:2], value[2:]
        if prefix not in DATE_PREFIXES:
            raise SearchError(400, "invalid", f"unknown prefix {prefix!r} in {name}={value}")
    try:
        return prefix, daterange.parse(rest)
    except ValueError:
        raise SearchError(400, "invalid", f"bad date value for {name}: {value!r}") from None


@dataclass(frozen=True, slots=True)
class Condition:
    """One occurrence of a parameter: the resource matches when any alternative (comma = OR) matches."""

    param: ParamDef
    alternatives: tuple[Any, ...]

    def matches(self, indexed: Indexed) -> bool:
        values = indexed.values.get(self.param.name)
        if not values:
            return False
        if self.param.kind == "token":
            return any(q.matches(values) for q in self.alternatives)
        return any(daterange.matches(prefix, dr, v) for prefix, dr in self.alternatives for v in values)


def _condition(p: ParamDef, value: str) -> Condition:
    alternatives = _split_unescaped(value, ",") if p.kind == "token" else value.split(",")
    if p.kind == "token":
        return Condition(p, tuple(_token_query(p.name, a) for a in alternatives))
    return Condition(p, tuple(_date_query(p.name, a) for a in alternatives))


@dataclass(frozen=True, slots=True)
class Include:
    source: str
    name: str
    target: str | None
    iterate: bool


def _include(value: str, iterate: bool) -> Include | None:
    parts = value.split(":")
    if len(parts) not in (2, 3) or (parts[0], parts[1]) not in INCLUDES:
        return None
    return Include(parts[0], parts[1], parts[2] if len(parts) == 3 else None, iterate)


@dataclass(frozen=True)
class ParsedQuery:
    conditions: tuple[Condition, ...]
    includes: tuple[Include, ...]
    applied: tuple[tuple[str, str], ...]


def parse_query(resource_type: str, params: Iterable[tuple[str, str]]) -> ParsedQuery:
    """Sort the query into conditions and includes; unknown parameters are dropped (and not applied)."""
    conditions: list[Condition] = []
    includes: list[Include] = []
    applied: list[tuple[str, str]] = []
    for raw_name, value in params:
        name, _, modifier = raw_name.partition(":")
        if name == "_include":
            if modifier not in ("", "iterate", "recurse"):
                raise SearchError(400, "invalid", f"unknown modifier :{modifier} on _include")
            inc = _include(value, iterate=bool(modifier))
            if inc and (inc.iterate or inc.source == resource_type):
                includes.append(inc)
                applied.append((raw_name, value))
            continue
        p = SEARCH_PARAMS.get(name)
        if p is None or resource_type not in p.paths:
            continue
        if modifier:
            raise SearchError(400, "invalid", f"modifier :{modifier} is not supported on {name}")
        conditions.append(_condition(p, value))
        applied.append((raw_name, value))
    return ParsedQuery(tuple(conditions), tuple(includes), tuple(applied))


# --------------------------------------------------------------------------- search and read


def _entry(base: str, r: Resource, mode: str) -> dict[str, Any]:
    return {
        "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
        "resource": r,
        "search": {"mode": mode},
    }


def _follow(index: SearchIndex, resources: Sequence[Resource], includes: Sequence[Include]) -> Iterable[Key]:
    for r in resources:
        indexed = index.entries.get((r["resourceType"], r["id"]))
        if indexed is None:
            continue
        for inc in includes:
            if inc.source == r["resourceType"]:
                for key in indexed.includes.get(inc.name, ()):
                    if inc.target is None or key[0] == inc.target:
                        yield key


def search(
    store: Store,
    resource_type: str,
    params: Iterable[tuple[str, str]] | Mapping[str, str],
    patient_id: str,
    base_url: str,
    *,
    derive_end: bool = True,
) -> dict[str, Any]:
    """Search one resource type within one patient's data; a ``searchset`` Bundle (JSON form). ``derive_end``
    False leaves a period-of-use without end open instead of ending it at start + duration: a wrong server,
    for the reference DVA's fault switch only."""
    if resource_type not in SEARCHABLE_TYPES:
        raise SearchError(404, "not-supported", f"search on {resource_type} is not supported")
    pairs = params.items() if isinstance(params, Mapping) else params
    query = parse_query(resource_type, pairs)
    index = index_of(store, derive_end)
    base = base_url.rstrip("/")

    matches = [
        r
        for r in store.resources_of(patient_id, resource_type)
        if all(c.matches(index.entries[(resource_type, r["id"])]) for c in query.conditions)
    ]
    seen: set[Key] = {(resource_type, r["id"]) for r in matches}
    included: list[Resource] = []

    def add(keys: Iterable[Key]) -> list[Resource]:
        new: list[Resource] = []
        for key in keys:
            if key in seen:
                continue
            seen.add(key)
            r = store.get(*key)
            if r is not None and store.allowed_for(r, patient_id):
                new.append(r)
        included.extend(new)
        return new

    add(_follow(index, matches, [i for i in query.includes if not i.iterate]))
    iterate = [i for i in query.includes if i.iterate]
    frontier: list[Resource] = matches + included
    while iterate and frontier:
        frontier = add(_follow(index, frontier, iterate))

    self_url = f"{base}/{resource_type}" + (f"?{urlencode(query.applied)}" if query.applied else "")
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": self_url}],
    }
    entries = [_entry(base, r, "match") for r in matches] + [_entry(base, r, "include") for r in included]
    if entries:  # FHIR JSON has no empty arrays
        bundle["entry"] = entries
    return bundle


def read(store: Store, resource_type: str, resource_id: str, patient_id: str) -> Resource:
    """A resource of the patient's own data or reachable from it; anything else is 404 ``not-found``."""
    r = store.get(resource_type, resource_id)
    if r is None or (resource_type, resource_id) not in store.reachable(patient_id):
        raise SearchError(404, "not-found", f"{resource_type}/{resource_id} is not known")
    return r
