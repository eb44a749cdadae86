"""Structural validation of every returned resource against FHIR R4, and the honest state of profile validation.

Two independent judges, because neither alone is R4 and neither alone is complete:

* **The R4 element table** (``validatiestraat/fhir/r4_elements.json``, built from the CC0 R4 4.0.1 core package):
  every element name must exist in R4 for its type (this is the *R4 guard*: R4B-only elements such as
  ``Extension.valueCodeableReference`` are rejected, R4-only ones such as ``Extension.valueMeta`` accepted), an
  element that repeats must be a JSON array and one that does not must not be, primitives must have their JSON
  type (a string is not a positiveInt, ``1`` is not a boolean), complex values must be objects, and FHIR JSON
  allows no empty objects, arrays or strings and no ``null`` outside the paired arrays of repeating primitives.
* **fhir.resources R4B models** (fhir.resources 8.x has no plain R4 models; R4B is field-for-field R4 for every
  MedMij resource, see ../shared/docs/dependencies.md §3.1): required elements (1..1), exactly one choice
  ``[x]``, primitive formats (dateTime, id, …). Their ``extra_forbidden`` complaints are not used — which
  elements exist is the R4 table's call — so an R4 element that R4B lacks (``Extension.valueMeta``, the legal
  ``Extension._valueString``) is never a false failure; such cases are noted in the pass message. An R4 resource
  type R4B has no model for is judged by the table alone, and said so.

No R4 JSON schema (``fhir.schema.json``) is available offline (none in ../shared/fhir-packages*), so none is used.

Conformance to the profiles the resources declare in ``meta.profile`` (slicing, bindings, invariants) needs the
native validator (issue 5): the check always adds an ``omit`` finding naming those profiles, so a structurally
sound answer comes out ``omit``, never a silent ``pass``; a structural error is a ``fail``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from pydantic import ValidationError

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.checks.fhir_generic import listed, safe
from validatiestraat.checks.fhirtree import content_key, label
from validatiestraat.checks.registry import check
from validatiestraat.fhir.formats import _table, is_resource_type
from validatiestraat.results import Finding, errored, failed, omitted, passed

Problem = tuple[str, str]  # (path inside the resource, what is wrong)
T = TypeVar("T")


# --------------------------------------------------------------------------- the R4 element table


def r4_problems(resource: dict[str, Any]) -> list[Problem]:
    """Structural problems of ``resource`` against the R4 element table; paths like ``dosageInstruction[0].x``."""
    out: list[Problem] = []
    _resource(resource, "", out)
    return out


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path and not step.startswith("[") else f"{path}{step}"


def _resource(value: Any, path: str, out: list[Problem]) -> None:
    if not isinstance(value, dict):
        out.append((path, "a resource must be a JSON object"))
        return
    rt = value.get("resourceType")
    if not isinstance(rt, str) or not is_resource_type(rt):
        out.append((path, f"resourceType {rt!r} is not a FHIR R4 resource type"))
        return
    _object(value, rt, path, out, resource=True)


def _object(obj: dict[str, Any], type_name: str, path: str, out: list[Problem], resource: bool = False) -> None:
    table = _table()
    defs = table.by_name[type_name]
    if not obj or (resource and len(obj) == 1):
        out.append((path, f"empty {type_name} (FHIR JSON has no empty objects)"))
        return
    for key, value in obj.items():
        if resource and key == "resourceType":
            continue
        here = _join(path, key)
        holder = key.startswith("_")
        element = defs.get(key[1:] if holder else key)
        if element is None:
            out.append((here, f"{type_name} has no element {key!r} in FHIR R4"))
            continue
        primitive = element.type in table.primitives and element.type != "xhtml"
        if holder:
            if not primitive:
                out.append((here, f"{key!r}: only primitive elements have a '_' extension holder"))
                continue
            _values(value, element.repeats, "Element", here, out, holder=True)
            continue
        if element.repeats and primitive and isinstance(value, list) and value:
            partner = obj.get(f"_{key}")
            partners = partner if isinstance(partner, list) else []
            for i, item in enumerate(value):
                if item is not None:
                    _value(item, element.type, _join(here, f"[{i}]"), out)
                elif not (i < len(partners) and isinstance(partners[i], dict)):
                    out.append((_join(here, f"[{i}]"), "null without an extension in the paired '_' array"))
            continue
        _values(value, element.repeats, element.type, here, out)


def _values(value: Any, repeats: bool, type_name: str, path: str, out: list[Problem], holder: bool = False) -> None:
    if repeats:
        if not isinstance(value, list):
            out.append((path, "repeats: must be a JSON array"))
            return
        if not value:
            out.append((path, "empty array (FHIR JSON has no empty arrays)"))
            return
        for i, item in enumerate(value):
            if item is None and holder:
                continue  # a null in a '_' array: this occurrence has a value but no extension
            _value(item, type_name, _join(path, f"[{i}]"), out)
    elif isinstance(value, list):
        out.append((path, "does not repeat: must not be a JSON array"))
    else:
        _value(value, type_name, path, out)


_KIND_TEST = {
    "str": lambda v: isinstance(v, str) and v != "",
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "dec": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}
_KIND_NAME = {
    "str": "a non-empty JSON string",
    "bool": "true or false",
    "int": "a JSON integer",
    "dec": "a JSON number",
}


def _value(value: Any, type_name: str, path: str, out: list[Problem]) -> None:
    table = _table()
    if value is None:
        out.append((path, "null is not a FHIR value"))
    elif type_name == "Resource":
        _resource(value, path, out)
    elif type_name in table.primitives:
        kind = table.primitives[type_name]
        if not _KIND_TEST[kind](value):
            out.append((path, f"{type_name} must be {_KIND_NAME[kind]}, found {type(value).__name__} {value!r}"[:200]))
    elif not isinstance(value, dict):
        out.append((path, f"{type_name} must be a JSON object, found {type(value).__name__}"))
    else:
        _object(value, type_name, path, out)


# --------------------------------------------------------------------------- fhir.resources R4B models


@cache
def _model(resource_type: str) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return None


def _loc(loc: tuple[Any, ...]) -> str:
    path = ""
    for step in loc:
        path = _join(path, f"[{step}]" if isinstance(step, int) else str(step))
    return path


def _covered(path: str, known: list[Problem]) -> bool:
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p, _ in known)


def r4b_problems(
    resource: dict[str, Any], known: list[Problem], model: Any = None, rt: str | None = None
) -> tuple[list[Problem], list[str], str | None]:
    """What the R4B model finds beyond ``known`` (the table's problems): (problems, notes, harness error).
    ``model`` (with ``rt``, its name) judges an element rather than a resource, such as a Bundle entry."""
    if model is None:
        rt = resource.get("resourceType")
        model = _model(rt) if isinstance(rt, str) else None
    if model is None:
        return [], [f"no R4B model for {rt}: judged by the R4 element table alone"], None
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        problems: list[Problem] = []
        notes: list[str] = []
        for err in exc.errors():
            path = _loc(tuple(err.get("loc", ())))
            if err.get("type") == "extra_forbidden":
                if not _covered(path, known):  # R4 has it (the table accepted it), R4B does not
                    notes.append(f"R4B does not know {rt}.{path}, which R4 has: not counted")
                continue
            if _covered(path, known):
                continue
            problems.append((path, str(err.get("msg", err.get("type")))))
        return problems, notes, None
    except Exception as exc:  # fhir.resources raises KeyError & co. on some malformed input
        if known:
            return [], [], None
        return [], [], f"fhir.resources could not read {label(resource)}: {type(exc).__name__}: {exc}"
    return [], [], None


# --------------------------------------------------------------------------- the check


_ENTRY = re.compile(r"^entry\[(\d+)\]\.resource(?:\.|\[|$)")


def _parts(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The resources the R4B models judge one by one, with their path in the answer: a Bundle's shell (entry
    resources taken out) and each entry resource; any other answer as it is."""
    entries = body.get("entry")
    if body.get("resourceType") != "Bundle" or not isinstance(entries, list):
        return [("", body)]
    shell = dict(body)
    shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e for e in entries]
    parts = [("", shell)]
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict):
            parts.append((f"entry[{i}].resource", resource))
    return parts


_SEEN: dict[str, Any] = {}


def _remembered(kind: str, obj: dict[str, Any], judge: Callable[[], T]) -> T:
    """``judge()`` of ``obj``, remembered by content: a run returns the same Medication or Practitioner, and the
    same entry of it, in many answers, and JSON and XML answers parse alike."""
    key = kind + content_key(obj)
    if key not in _SEEN:
        if len(_SEEN) > 8192:
            _SEEN.clear()
        _SEEN[key] = judge()
    return _SEEN[key]


def _judged(resource: dict[str, Any]) -> tuple[list[Problem], list[Problem], list[str], str | None]:
    """(table problems, R4B problems, notes, harness error) of one resource."""

    def judge() -> tuple[list[Problem], list[Problem], list[str], str | None]:
        table = r4_problems(resource)
        return (table, *r4b_problems(resource, table))

    return _remembered("resource", resource, judge)


def _under(prefix: str, problems: list[Problem]) -> list[Problem]:
    """The problems inside ``prefix``, with paths relative to it."""
    return [(p[len(prefix) :].lstrip("."), m) for p, m in problems if p == prefix or _covered(p, [(prefix, "")])]


def _shell(shell: dict[str, Any]) -> tuple[list[Problem], list[Problem], list[str], str | None]:
    """A Bundle's shell (entry resources taken out): the R4 table on the whole, the R4B models on its pieces that
    repeat across answers (the Bundle without entries, each entry without its resource), each remembered."""
    table = r4_problems(shell)
    entries = shell.get("entry")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        return (table, *r4b_problems(shell, table))
    top = {k: v for k, v in shell.items() if k != "entry"}
    top_known = [(p, m) for p, m in table if not p.startswith("entry")]
    found, notes, broken = _remembered("bundle-top", top, lambda: r4b_problems(top, top_known))
    found, notes = list(found), list(notes)
    for i, entry in enumerate(entries):
        if not entry:
            continue
        prefix = f"entry[{i}]"
        known = _under(prefix, table)
        more, more_notes, more_broken = _remembered(
            "bundle-entry", entry, lambda e=entry, k=known: r4b_problems(e, k, _entry_model(), "Bundle.entry")
        )
        found += [(_join(prefix, p) if p else prefix, m) for p, m in more]
        notes += more_notes
        broken = broken or more_broken
    return table, found, notes, broken


@cache
def _entry_model() -> Any:
    from fhir.resources.R4B.bundle import BundleEntry

    return BundleEntry


def structure(body: dict[str, Any]) -> tuple[list[Problem], list[str], list[str], int]:
    """Structural problems of an answer (paths inside the answer), notes, harness errors, resources judged: the
    Bundle's shell and each entry resource on its own (see :func:`_parts`)."""
    problems: list[Problem] = []
    notes: list[str] = []
    harness: list[str] = []
    parts = _parts(body)
    bundle = body.get("resourceType") == "Bundle" and len(parts) > 0
    for prefix, resource in parts:
        table, found, more, broken = _shell(resource) if bundle and prefix == "" else _judged(resource)
        problems += [(_join(prefix, p) if p else prefix, m) for p, m in (*table, *found)]
        notes += more
        harness += [broken] if broken else []
    return problems, notes, harness, len(parts)


def _where(body: dict[str, Any], path: str) -> str:
    """``entry[3] MedicationRequest/x: dosageInstruction[0]`` for a path inside an entry resource."""
    m = _ENTRY.match(path)
    if not m:
        return f"{label(body)} {path}" if path else label(body)
    entry = body["entry"][int(m[1])]
    rest = path[len(f"entry[{m[1]}].resource") :].lstrip(".")
    return f"entry[{m[1]}] {label(entry['resource'])}: {rest or '(resource)'}"


def declared_profiles(body: dict[str, Any]) -> list[str]:
    found: set[str] = set()
    for _, resource in _parts(body):
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        found.update(p for p in profiles or [] if isinstance(p, str))
    return sorted(found)


@check(
    "fhir.profile",
    "Every returned resource is structurally valid FHIR R4 (declared profiles: not validated yet)",
    ["nictiz.mp9.profile"],
)
def profile(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    try:
        body = ctx.resource(x)
    except BadBody as exc:
        return [failed(safe(ctx, f"the answer cannot be read as a FHIR R4 resource: {exc}"), x.id)]
    problems, notes, harness, judged = structure(body)
    findings = [errored(safe(ctx, h), x.id) for h in harness]
    if problems:
        findings += listed(ctx, [f"{_where(body, p)}: {m}" for p, m in problems], x, "structural errors")
    else:
        note = f" ({'; '.join(sorted(set(notes)))})" if notes else ""
        findings.append(
            passed(
                f"{judged} resources structurally valid FHIR R4: R4 element table (names, arrays, JSON types) "
                f"and R4B models (required elements, choice types, formats){note}",
                x.id,
            )
        )
    profiles = declared_profiles(body)
    named = ", ".join(profiles) if profiles else "none declared"
    findings.append(
        omitted(
            f"conformance to the declared profiles ({named}) and the FHIR invariants is not validated: "
            "that needs the native FHIR validator (issue 5)",
            x.id,
        )
    )
    return findings
