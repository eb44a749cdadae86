"""Native FHIR R4 validation against StructureDefinitions from FHIR packages (no Java).

    validator = Validator(packages)
    issues = validator.validate(resource)                    # base R4 + every profile in meta.profile
    issues = validator.validate(resource, ["http://..."])    # and the one asked for

One pass over the instance per StructureDefinition: first the base definition of the resource type (known
elements, JSON shape, primitive formats, cardinality, base bindings and invariants, every extension against its own
definition), then each profile (cardinality, fixed and pattern values, slicing, type and reference-target profiles,
bindings, invariants). Bundle entries and contained resources are validated as resources of their own, entries also
against their own ``meta.profile``; references are resolved inside the Bundle.

Terminology and FHIRPath are plugged in (:class:`Bindings`, :class:`InvariantEvaluator`): without them, bindings
and invariants are not judged, and the report says so once (``rule`` ``validator.not-checked``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from validatiestraat.fhir.packages import PackageSet
from validatiestraat.fhir.primitives import is_primitive, problem
from validatiestraat.fhir.profiles import CORE, Element, Profiles, Tree, TypeRef

ERROR, WARNING, INFORMATION = "error", "warning", "information"
MAX_BYTES = 20 * 1024 * 1024
_ID = re.compile(r"^[A-Za-z0-9\-\.]{1,64}$")  # R4 Resource.id is typed string; the id rule holds all the same
_IN_EXTENSION = re.compile(r"[xX]tension\[\d+\]\.(?:modifierE|e)xtension\[\d+\]$")
_EXAMPLE_URL = re.compile(r"^https?://(?:[^/]*\.)?example\.(?:org|com|net)(?:[:/]|$)")
_REF = re.compile(r"^(?:(?P<base>.*)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-\.]{1,64})(?:/_history/.*)?$")


@dataclass(frozen=True)
class Issue:
    severity: str  # fatal | error | warning | information
    location: str  # FHIRPath of the element: Bundle.entry[2].resource.ofType(MedicationRequest).status
    message: str
    rule: str  # what kind of rule: cardinality, fixed, slicing.closed, binding.required, invariant:ele-1, ...

    def as_dict(self) -> dict[str, str]:
        return {"severity": self.severity, "location": self.location, "message": self.message, "rule": self.rule}


class Bindings(Protocol):
    """Terminology: is a coded value in a value set?"""

    def judge(self, strength: str, value_set: str, type_code: str, value: Any) -> list[tuple[str, str, str]]:
        """(severity, message, rule) for each problem of ``value`` (a code, Coding, CodeableConcept, Quantity...)."""
        ...

    def coding(self, value: Any) -> list[tuple[str, str, str]]:
        """The problems of a Coding against its own code system (unknown code, wrong display), bound or not."""
        ...


class InvariantEvaluator(Protocol):
    def judge(
        self,
        key: str,
        expression: str,
        focus: Any,
        type_code: str,
        resource: dict[str, Any],
        root: dict[str, Any],
        *,
        holder: Any = None,
        path: str | None = None,
    ) -> bool | str:
        """True when the invariant holds, False when it fails, a message when it cannot be evaluated. ``holder``:
        a primitive's ``_x`` object; ``path``: the element's path (the type of a BackboneElement)."""
        ...


@dataclass
class _Run:
    """One validation: the issues found, the resources by reference, what was judged already."""

    issues: list[Issue] = field(default_factory=list)
    root: dict[str, Any] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # fullUrl and Type/id -> resource
    conforms: dict[tuple[int, str], bool] = field(default_factory=dict)
    base_pass: bool = True
    profile: Tree | None = None
    #: invariant outcomes per (object, key, expression): a profile repeats its base's constraints (ele-1, dom-3 ...)
    outcomes: dict[tuple[int, str, str], bool | str] = field(default_factory=dict)

    def add(self, severity: str, location: str, message: str, rule: str) -> None:
        self.issues.append(Issue(severity, location, message, rule))


class Validator:
    def __init__(
        self,
        packages: PackageSet,
        profiles: Profiles | None = None,
        bindings: Bindings | None = None,
        invariants: InvariantEvaluator | None = None,
    ) -> None:
        self.packages = packages
        self.profiles = profiles or Profiles(packages)
        self.bindings = bindings
        self.invariants = invariants
        self._needed_memo: dict[int, tuple[dict[str, Element], dict[str, None]]] = {}

    # ------------------------------------------------------------------ entry points

    def validate_bytes(self, data: bytes, name: str = "", profiles: Sequence[str] = ()) -> list[Issue]:
        """Parse (JSON, or XML when it starts with ``<``) and validate; what cannot be read is an error issue."""
        if len(data) > MAX_BYTES:
            return [Issue(ERROR, "(file)", f"the file is {len(data)} bytes, more than {MAX_BYTES}", "input.size")]
        text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
        try:
            if text.startswith(b"<"):
                from validatiestraat.fhir.formats import from_xml

                resource: Any = from_xml(text)
            else:
                resource = json.loads(text)
        except RecursionError:
            return [Issue(ERROR, "(file)", "the content is nested too deeply to read", "input.nesting")]
        except Exception as exc:  # any parser complaint (lxml's syntax errors are not ValueErrors) means: unreadable
            kind = "XML" if text.startswith(b"<") else "JSON"
            return [Issue(ERROR, "(file)", f"not FHIR {kind}: {exc}"[:500], "input.syntax")]
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            return [Issue(ERROR, "(file)", "not a FHIR resource: no resourceType", "input.resource")]
        return self.validate(resource, profiles)

    def validate(self, resource: dict[str, Any], profiles: Sequence[str] = ()) -> list[Issue]:
        run = _Run(root=resource)
        _index(run, resource)
        try:
            self._resource(run, resource, str(resource.get("resourceType")), list(profiles))
        except RecursionError:
            run.add(ERROR, str(resource.get("resourceType")), "the resource is nested too deeply", "input.nesting")
        plugs = ((self.bindings, "bindings (no terminology)"), (self.invariants, "invariants (no FHIRPath)"))
        for missing, what in plugs:
            if missing is None:
                run.add(INFORMATION, str(resource.get("resourceType")), f"{what} not judged", "validator.not-checked")
        return _unique(run.issues)

    # ------------------------------------------------------------------ resources

    def _resource(self, run: _Run, res: dict[str, Any], loc: str, asked: list[str]) -> None:
        rt = res.get("resourceType")
        base = self.profiles.core(rt) if isinstance(rt, str) else None
        if base is None or base.kind != "resource":
            run.add(ERROR, loc, f"unknown resource type {rt!r}", "structure.resource-type")
            return
        rid = res.get("id")
        if isinstance(rid, str) and not _ID.match(rid):
            run.add(ERROR, f"{loc}.id", f"invalid resource id {rid!r}: 1 to 64 of A-Z a-z 0-9 - .", "type.primitive")
        saved = run.base_pass, run.profile
        run.base_pass, run.profile = True, base
        self._complex(run, res, base.root, base, loc, res, base.type)
        if rt == "Bundle":
            _full_urls(run, res, loc)
        meta = res.get("meta")
        declared = meta.get("profile") if isinstance(meta, dict) else None
        urls = [u for u in (declared if isinstance(declared, list) else []) if isinstance(u, str)] + asked
        for url in dict.fromkeys(urls):
            tree = self.profiles.tree(url)
            if tree is None:
                why = self.profiles.problems.get(url.split("|", 1)[0])
                run.add(
                    WARNING,
                    loc,
                    f"profile {url} has not been checked: {why or 'it is unknown (not in the loaded packages)'}",
                    "profile.unknown",
                )
                continue
            if tree.type != rt:
                run.add(ERROR, loc, f"profile {url} is for {tree.type}, not {rt}", "profile.type")
                continue
            if tree.is_core:
                continue
            run.base_pass, run.profile = False, tree
            self._complex(run, res, tree.root, tree, loc, res, tree.type)
        run.base_pass, run.profile = saved

    def conforms(self, run: _Run, res: dict[str, Any], url: str) -> bool:
        """Does ``res`` meet profile ``url`` (no errors against it)? Remembered per resource and profile."""
        key = (id(res), url)
        if key not in run.conforms:
            run.conforms[key] = False  # a reference cycle counts as not conforming while it is being judged
            tree = self.profiles.tree(url)
            if tree is None or tree.type != res.get("resourceType"):
                run.conforms[key] = tree is not None and tree.type == "Resource"
                return run.conforms[key]
            sub = _Run(
                root=run.root,
                entries=run.entries,
                conforms=run.conforms,
                base_pass=False,
                profile=tree,
                outcomes=run.outcomes,
            )
            self._complex(sub, res, tree.root, tree, str(res.get("resourceType")), res, tree.type)
            run.conforms[key] = not any(i.severity in (ERROR, "fatal") for i in sub.issues)
        return run.conforms[key]

    # ------------------------------------------------------------------ elements

    def _children_for(self, elem: Element, tree: Tree, type_ref: TypeRef | None) -> tuple[dict[str, Element], Tree]:
        """The definitions of the children of a value of ``elem`` (of type ``type_ref``)."""
        if elem.children:
            return elem.children, tree
        if elem.content_reference:
            target = tree.by_id.get(elem.content_reference.split("#", 1)[-1])
            if target is None:
                core = self.profiles.core(tree.type)
                target = core.by_id.get(elem.content_reference.split("#", 1)[-1]) if core else None
            if target is not None:
                return target.children, tree
        if type_ref is not None:
            for url in type_ref.profiles:
                other = self.profiles.tree(url)
                if other is not None:
                    return other.root.children, other
            core = self.profiles.core(type_ref.code)
            if core is not None:
                return core.root.children, core
        return {}, tree

    def _complex(
        self, run: _Run, obj: dict[str, Any], elem: Element, tree: Tree, loc: str, res: dict[str, Any], type_code: str
    ) -> None:
        """``obj`` (a resource or complex value) against the children of ``elem``."""
        if elem is tree.root:
            children, owner = elem.children, tree
            self._invariants(run, elem, obj, type_code, loc, res)
        else:
            children, owner = self._children_for(elem, tree, elem.type_of(type_code))
            if owner.is_core and not run.base_pass:
                return  # the profile does not constrain this value's content: the base pass judged it against core
        found: dict[str, list[tuple[Any, Any, str]]] = {}  # child name -> [(value, extension holder, type)]
        for key, value in obj.items():
            if key == "resourceType" or (key == "fhir_comments"):
                continue
            holder = key.startswith("_")
            name = key[1:] if holder else key
            child, code = _child(children, name, strict=owner.is_core)
            if child is None:
                if run.base_pass:
                    run.add(ERROR, loc, f"unrecognized property {key!r}", "structure.unknown-element")
                continue
            if holder and not is_primitive(code):
                if run.base_pass:
                    run.add(
                        ERROR, f"{loc}.{key}", f"{key!r}: only a primitive element has a '_' form", "structure.json"
                    )
                continue
            self._collect(run, found, child, code, key, name, value, holder, loc)
        needed = self._needed(children)
        for name in {**dict.fromkeys(found), **needed} if needed else found:
            child = children[name]
            values = found.get(name, [])
            here = f"{loc}.{name}"
            if child.slicing is not None and child.slices:
                self._sliced(run, values, child, owner, loc, res)  # also with no values: the slice minimums
            else:
                for i, (value, holder, code) in enumerate(values):
                    self._value(run, value, holder, code, child, owner, _at(loc, child, code, i, len(values)), res)
            self._cardinality(run, child, len(values), here)

    def _needed(self, children: dict[str, Element]) -> dict[str, None]:
        """The children that must be looked at even when absent: a minimum, or slices with one."""
        known = self._needed_memo.get(id(children))
        if known is None or known[0] is not children:
            names = dict.fromkeys(
                name
                for name, c in children.items()
                if c.min > 0 or (c.slicing is not None and any(sl.min > 0 for sl in c.slices))
            )
            known = self._needed_memo[id(children)] = (children, names)
        return known[1]

    def _collect(
        self,
        run: _Run,
        found: dict[str, list[tuple[Any, Any, str]]],
        child: Element,
        code: str,
        key: str,
        name: str,
        value: Any,
        holder: bool,
        loc: str,
    ) -> None:
        slot = found.setdefault(child.name, [])
        many = isinstance(value, list)
        if run.base_pass:
            if child.base_max == 1 and many:
                run.add(ERROR, f"{loc}.{key}", f"{key!r} must be a single value, not an array", "structure.json")
            elif child.base_max != 1 and not many:
                run.add(ERROR, f"{loc}.{key}", f"{key!r} must be an array", "structure.json")
        if many and not value and run.base_pass:  # HL7 6.0.21: an error for objects, nothing for primitives
            if holder or is_primitive(code):
                run.add(WARNING, f"{loc}.{key}", f"{key!r}: an empty array (leave the element out)", "structure.json")
            else:
                run.add(
                    ERROR,
                    f"{loc}.{key}",
                    f"{key!r}: an array cannot be empty (leave the element out)",
                    "structure.json",
                )
        items = value if many else [value]
        if holder:
            # extensions of primitives: pair with the values (same positions), or stand alone
            for i, extra in enumerate(items):
                if i < len(slot) and slot[i][1] is None and slot[i][2] == code:
                    slot[i] = (slot[i][0], extra, code)
                elif extra is not None:
                    slot.append((None, extra, code))
            return
        for i, item in enumerate(items):
            if i < len(slot) and slot[i][0] is None and slot[i][1] is not None:
                slot[i] = (item, slot[i][1], code)
            else:
                slot.append((item, None, code))

    def _cardinality(self, run: _Run, child: Element, count: int, here: str) -> None:
        if count < child.min:
            run.add(
                ERROR,
                here,
                f"{child.id}: minimum required = {child.min}, but only found {count}{_src(run)}",
                "cardinality.min",
            )
        if child.max is not None and count > child.max:
            run.add(
                ERROR, here, f"{child.id}: max allowed = {child.max}, but found {count}{_src(run)}", "cardinality.max"
            )

    def _value(
        self,
        run: _Run,
        value: Any,
        holder: Any,
        code: str,
        elem: Element,
        tree: Tree,
        loc: str,
        res: dict[str, Any],
    ) -> None:
        if value is None and holder is None:
            if run.base_pass:
                run.add(ERROR, loc, "null is not a value (leave the element out)", "structure.json")
            return
        if code not in elem.type_codes and elem.types:
            run.add(
                ERROR,
                loc,
                f"type {code} is not allowed here (allowed: {', '.join(elem.type_codes)}){_src(run)}",
                "type.not-allowed",
            )
            return
        if is_primitive(code) or code == "xhtml":
            if value == "" and isinstance(holder, dict) and holder:  # HL7 6.0.21: no value, only extensions
                if run.base_pass:
                    run.add(WARNING, loc, f"{code}: an empty value beside extensions (leave it out)", "type.primitive")
            elif value is not None and run.base_pass:
                wrong = problem(code, value)
                if wrong is not None:
                    run.add(ERROR, loc, f"{code}: {wrong}", "type.primitive")
                    return
            required = elem.binding is not None and elem.binding[0] == "required" and self.bindings is not None
            if value is None and holder is not None and required:  # only extensions: the required code is missing
                assert elem.binding is not None
                run.add(
                    ERROR,
                    loc,
                    f"no code given, and a code from {elem.binding[1]} is required{_src(run)}",
                    "binding.required",
                )
            if holder is not None:
                if not isinstance(holder, dict):
                    if run.base_pass:
                        run.add(ERROR, loc, "the extension holder of a primitive must be an object", "structure.json")
                else:
                    element = self.profiles.core("Element")
                    if element is not None and run.base_pass:
                        self._complex(run, holder, element.root, element, loc, res, "Element")
            if elem.children and not run.base_pass:
                # a profile that constrains the primitive's extensions (given.extension:givenOrInitial)
                self._complex(run, holder if isinstance(holder, dict) else {}, elem, tree, loc, res, code)
            self._fixed_pattern(run, elem, value, loc)
            self._binding(run, elem, code, value, loc)
            self._invariants(run, elem, value, code, loc, res, holder)
            return
        if not isinstance(value, dict):
            if run.base_pass:
                run.add(ERROR, loc, f"{code} must be a JSON object", "structure.json")
            return
        if code in ("Resource", "DomainResource") or (
            self.profiles.core(code) is not None and self.profiles.core(code).kind == "resource"  # type: ignore[union-attr]
        ):
            self._inner_resource(run, value, elem, loc)
            return
        self._fixed_pattern(run, elem, value, loc)
        self._binding(run, elem, code, value, loc)
        if code == "Coding" and run.base_pass and self.bindings is not None:
            for severity, message, rule in self.bindings.coding(value):
                run.add(severity, loc, message, rule)
        self._complex(run, value, elem, tree, loc, res, code)
        self._invariants(run, elem, value, code, loc, res)
        if code == "Reference":
            self._reference(run, elem, value, loc, res)
        if code == "Extension" and run.base_pass and not elem.children:
            self._extension(run, value, loc, res)

    def _inner_resource(self, run: _Run, value: dict[str, Any], elem: Element, loc: str) -> None:
        """A contained resource or Bundle entry: validated on its own in the base pass; in a profile pass only
        against the type profiles the profile gives it (``Bundle.entry:x.resource`` of type ``nl-core-Patient``)."""
        rt = value.get("resourceType")
        here = f"{loc}.ofType({rt})" if isinstance(rt, str) else loc
        if run.base_pass:
            self._resource(run, value, here, [])
            return
        type_ref = elem.types[0] if elem.types else None
        wanted = [p for t in elem.types for p in t.profiles] if type_ref else []
        if wanted and not any(self.conforms(run, value, url) for url in wanted):
            names = ", ".join(wanted)
            run.add(ERROR, here, f"the resource does not conform to {names}{_src(run)}", "profile.type")

    # ------------------------------------------------------------------ values

    def _fixed_pattern(self, run: _Run, elem: Element, value: Any, loc: str) -> None:
        if elem.fixed is not None and value is not None and not _equal(value, elem.fixed[1]):
            run.add(
                ERROR,
                loc,
                f"value is {_show(value)}, but must be exactly {_show(elem.fixed[1])} ({elem.fixed[0]}){_src(run)}",
                "fixed",
            )
        if elem.pattern is not None and value is not None and not _matches(elem.pattern[1], value):
            run.add(
                ERROR,
                loc,
                f"value {_show(value)} does not match the pattern {_show(elem.pattern[1])} "
                f"({elem.pattern[0]}){_src(run)}",
                "pattern",
            )

    def _binding(self, run: _Run, elem: Element, code: str, value: Any, loc: str) -> None:
        if self.bindings is None or elem.binding is None or value is None:
            return
        strength, value_set = elem.binding
        if strength not in ("required", "extensible") or not value_set:
            return
        if code not in ("code", "Coding", "CodeableConcept", "Quantity", "string", "uri"):
            return
        for severity, message, rule in self.bindings.judge(strength, value_set, code, value):
            run.add(severity, loc, message + _src(run), rule)

    def _invariants(
        self,
        run: _Run,
        elem: Element,
        value: Any,
        code: str,
        loc: str,
        res: dict[str, Any],
        holder: Any = None,
    ) -> None:
        """The element's constraints on one value; in the base pass also those of the value's type itself (ref-1,
        per-1, qty-3 ... stand on the root of Reference, Period, Quantity, not on the elements typed with them)."""
        if self.invariants is None:
            return
        constraints = elem.constraints
        if run.base_pass and not is_primitive(code):
            own = self.profiles.core(code)
            if own is not None and own.root.constraints:
                keys = {c.key for c in constraints}
                constraints = constraints + tuple(c for c in own.root.constraints if c.key not in keys)
        path = elem.path if code in ("BackboneElement", "Element") else None
        for c in constraints:
            if c.best_practice:
                continue  # HL7 6.0.21 does not report best-practice rules (dom-6) unless asked to
            if value.__class__ is dict:  # the same object in the base pass and in each profile pass: judged once
                memo = (id(value), c.key, c.expression)
                outcome = run.outcomes.get(memo)
                if outcome is None:
                    outcome = run.outcomes[memo] = self.invariants.judge(
                        c.key, c.expression, value, code, res, run.root, holder=holder, path=path
                    )
            else:
                outcome = self.invariants.judge(
                    c.key, c.expression, value, code, res, run.root, holder=holder, path=path
                )
            if outcome is True:
                continue
            rule = f"invariant:{c.key}"
            if outcome is False and c.key == "ele-1" and value.__class__ is dict and [] in value.values():
                continue  # HL7 6.0.21 counts an empty array as content (the array itself is reported above)
            if outcome is False:
                severity = ERROR if c.severity == "error" else WARNING
                run.add(severity, loc, f"constraint failed: {c.key}: {c.human}{_src(run)}", rule)
            else:  # HL7 reports an expression it cannot evaluate as an error too
                run.add(ERROR, loc, f"constraint {c.key} could not be evaluated: {outcome}{_src(run)}", rule)

    def _reference(self, run: _Run, elem: Element, value: dict[str, Any], loc: str, res: dict[str, Any]) -> None:
        ref = value.get("reference")
        declared = value.get("type")
        type_ref = elem.type_of("Reference")
        if type_ref is None or not type_ref.target_profiles or not isinstance(ref, str):
            return  # a logical reference (identifier only) is not checked against the targets, as HL7 6.0.21 does
        target = _resolve(run, ref, res) if isinstance(ref, str) else None
        m = _REF.match(ref) if isinstance(ref, str) else None
        rtype = target.get("resourceType") if target is not None else (m["type"] if m else None)
        if isinstance(declared, str):
            if isinstance(rtype, str) and declared != rtype:
                run.add(
                    ERROR,
                    f"{loc}.type",
                    f"the reference says its target is a {declared}, but it points at a {rtype} ({ref}){_src(run)}",
                    "reference.target-type",
                )
                return
            rtype = declared
        if not isinstance(rtype, str):
            return
        allowed: dict[str, list[str]] = {}
        for url in type_ref.target_profiles:
            tree = self.profiles.tree(url)
            t = tree.type if tree is not None else (url[len(CORE) :] if url.startswith(CORE) else None)
            if t is not None:
                allowed.setdefault(t, []).append(url)
        if not allowed or "Resource" in allowed:
            return
        if rtype not in allowed:
            run.add(
                ERROR,
                f"{loc}.reference",
                f"the type {rtype!r} of the reference is not a valid target (must be one of "
                f"{', '.join(sorted(allowed))}){_src(run)}",
                "reference.target-type",
            )
            return
        if target is None:
            return
        profiles = [u for u in allowed[rtype] if u != CORE + rtype]
        conforming = any(self.conforms(run, target, u) for u in profiles)
        if profiles and len(profiles) == len(allowed[rtype]) and not conforming:
            run.add(
                ERROR,
                f"{loc}.reference",
                f"the referenced {rtype} ({ref}) does not conform to {' or '.join(profiles)}{_src(run)}",
                "reference.target-profile",
            )

    def _extension(self, run: _Run, ext: dict[str, Any], loc: str, res: dict[str, Any]) -> None:
        """An extension against its own definition (in the base pass: every extension is seen there once)."""
        url = ext.get("url")
        if not isinstance(url, str) or not url:
            run.add(ERROR, loc, "an extension must have a url", "extension.url")
            return
        if ":" not in url:  # a relative url names a part of a complex extension: its definition judges it
            if not _IN_EXTENSION.search(loc):
                run.add(ERROR, f"{loc}.url", f"an extension url must be absolute ({url!r})", "extension.url")
            return
        if _EXAMPLE_URL.match(url):
            run.add(ERROR, f"{loc}.url", f"an example URL is not an extension's identity ({url})", "extension.url")
        tree = self.profiles.tree(url)
        if tree is None:  # as HL7 6.0.21 does: an extension nobody can look up is not allowed
            run.add(
                ERROR,
                loc,
                f"the extension {url} is unknown (no loaded package defines it), so not allowed here",
                "extension.unknown",
            )
            return
        if tree.type != "Extension":
            run.add(ERROR, loc, f"{url} is not an extension definition", "extension.url")
            return
        if tree.contexts:
            stack = self._element_stack(loc)
            if stack is not None and not _context_allows(tree.contexts, stack):
                allowed = ", ".join(f"{t}:{e}" for t, e in tree.contexts)
                host = loc.rsplit(".", 1)[0]
                run.add(
                    ERROR,
                    host,
                    f"the extension {url} is not allowed here (allowed: {allowed}; this element is "
                    f"[{', '.join(stack)}])",
                    "extension.context",
                )
        saved = run.base_pass, run.profile
        run.base_pass, run.profile = False, tree
        self._complex(run, ext, tree.root, tree, loc, res, "Extension")
        run.base_pass, run.profile = saved

    def _element_stack(self, loc: str) -> list[str] | None:
        """What the element holding the extension at ``loc`` is, as extension contexts name it (HL7's "this element
        is"): its path from the resource, its path inside the innermost datatype, its type -- ``Patient.name.family,
        HumanName.family, string``. None when it cannot be told (an extension on an extension; an unknown path)."""
        path = re.sub(r"\[\d+\]", "", loc)
        if ".ofType(" in path:
            _, _, tail = path.rpartition(".ofType(")
            rt, _, rest = tail.partition(")")
            path = rt + rest
        steps = path.split(".")[:-1]  # without the final extension/modifierExtension
        if not steps or steps[-1] in ("extension", "modifierExtension"):
            return None
        tree = self.profiles.core(steps[0])
        if tree is None:
            return None
        if len(steps) == 1:
            return [steps[0]]
        elem, owner, names, inner, code = tree.root, tree, [steps[0]], [], ""
        for step in steps[1:]:
            children, into = self._children_for(elem, owner, elem.types[0] if elem.types else None)
            child, code = _child(children, step)
            if child is None:
                return None
            names.append(child.name)
            if into is not owner and into.kind != "resource":  # into a datatype: its own path starts here
                inner = [into.type]
            if inner:
                inner.append(child.name)
            elem, owner = child, into
        stack = [".".join(names)]
        if inner:
            stack.append(".".join(inner))
        stack.append(code)
        return stack

    # ------------------------------------------------------------------ slicing

    def _sliced(
        self, run: _Run, values: list[tuple[Any, Any, str]], entry: Element, tree: Tree, loc: str, res: dict[str, Any]
    ) -> None:
        slicing = entry.slicing
        assert slicing is not None
        counts = dict.fromkeys(range(len(entry.slices)), 0)
        last = -1
        for i, (value, holder, code) in enumerate(values):
            here = _at(loc, entry, code, i, len(values))
            chosen = next(
                (n for n, s in enumerate(entry.slices) if self._in_slice(run, value, code, s, tree, slicing, res)),
                None,
            )
            if chosen is None:
                if slicing.rules == "closed":
                    run.add(
                        ERROR,
                        here,
                        f"this element does not match any known slice of {entry.id} "
                        f"and the slicing is closed{_src(run)}",
                        "slicing.closed",
                    )
                elif slicing.rules == "openAtEnd" and last >= 0:
                    last = len(entry.slices)
                self._value(run, value, holder, code, entry, tree, here, res)
                continue
            if slicing.ordered and chosen < last:
                run.add(ERROR, here, f"the slices of {entry.id} are out of order{_src(run)}", "slicing.order")
            last = max(last, chosen)
            counts[chosen] += 1
            self._value(run, value, holder, code, entry.slices[chosen], tree, here, res)
        for n, s in enumerate(entry.slices):
            if counts[n] < s.min:
                run.add(
                    ERROR,
                    loc,
                    f"{_slice_label(entry, s)}: minimum required = {s.min}, but only found {counts[n]}{_src(run)}",
                    "slicing.min",
                )
            if s.max is not None and counts[n] > s.max:
                run.add(
                    ERROR,
                    loc,
                    f"{_slice_label(entry, s)}: max allowed = {s.max}, but found {counts[n]}{_src(run)}",
                    "slicing.max",
                )

    def _in_slice(
        self, run: _Run, value: Any, code: str, s: Element, tree: Tree, slicing: Any, res: dict[str, Any]
    ) -> bool:
        if not slicing.discriminators:
            return False
        for kind, path in slicing.discriminators:
            if not self._discriminated(run, value, code, s, tree, kind, path, res):
                return False
        return True

    def _discriminated(
        self, run: _Run, value: Any, code: str, s: Element, tree: Tree, kind: str, path: str, res: dict[str, Any]
    ) -> bool:
        steps = _steps(path)
        if kind in ("value", "pattern"):
            target = self._definition_at(s, tree, code, steps)
            if target is None:
                return False
            expected = target.fixed or target.pattern
            if expected is None:
                if target.binding is not None and self.bindings is not None:
                    actual = _navigate(run, value, steps, res)
                    _, vs = target.binding
                    return bool(vs) and any(
                        not self.bindings.judge("required", vs, t, a) for a, t in _typed(actual, target)
                    )
                return False
            actual = _navigate(run, value, steps, res)
            if target.fixed is not None:
                return any(_equal(a, expected[1]) for a in actual)
            return any(_matches(expected[1], a) for a in actual)
        if kind == "exists":
            target = self._definition_at(s, tree, code, steps)
            if target is None:
                return False
            present = bool(_navigate(run, value, steps, res))
            if target.min > 0:
                return present
            if target.max == 0:
                return not present
            return False
        if kind == "type":
            if steps == ["$this"]:
                return code in s.type_codes
            actual = _navigate(run, value, steps, res)
            target = self._definition_at(s, tree, code, steps)
            if target is None:
                return False
            return any(isinstance(a, dict) and a.get("resourceType") in target.type_codes for a in actual)
        if kind == "profile":
            target = self._definition_at(s, tree, code, steps)
            if target is None:
                return False
            urls = [p for t in target.types for p in t.profiles]
            actual = _navigate(run, value, steps, res)
            return bool(urls) and any(
                isinstance(a, dict) and any(self.conforms(run, a, u) for u in urls) for a in actual
            )
        return False

    def _definition_at(self, s: Element, tree: Tree, code: str, steps: list[str]) -> Element | None:
        """The element definition at discriminator ``steps`` below slice ``s``."""
        elem, owner = s, tree
        for step in steps:
            if step == "$this":
                continue
            if step.startswith("resolve()") or step.startswith("ofType("):
                continue
            if step.startswith("extension("):
                url = step[len("extension(") :].strip("')\"")
                children, owner = self._children_for(elem, owner, elem.types[0] if elem.types else None)
                ext = children.get("extension")
                if ext is None:
                    return None
                found = next(
                    (x for x in ext.slices if any(url in t.profiles for t in x.types) or _fixed_url(x) == url), None
                )
                if found is None:
                    return None
                elem = found
                continue
            children, owner = self._children_for(elem, owner, elem.types[0] if elem.types else None)
            child = children.get(f"{step}[x]") or _child(children, step)[0]  # "value" names value[x]
            if child is None:
                return None
            # a path through a sliced element with one slice means that slice (extension.value: the one extension
            # the profile defines there)
            elem = child.slices[0] if len(child.slices) == 1 else child
        return elem


# ---------------------------------------------------------------------- helpers


def _child(children: dict[str, Element], name: str, *, strict: bool = False) -> tuple[Element | None, str]:
    """The definition of instance key ``name`` (``valueQuantity`` → ``value[x]``) and the value's type. A choice
    key with a type the element does not have is no element at all for the core definition (``strict``: HL7's
    "unrecognized property"), and a type the profile does not allow otherwise."""
    child = children.get(name)
    if child is not None and not child.is_choice:
        return child, child.types[0].code if child.types else "Element"
    for c in children.values():
        if c.is_choice:
            prefix = c.name[:-3]
            if name.startswith(prefix) and len(name) > len(prefix) and name[len(prefix)].isupper():
                suffix = name[len(prefix) :]
                for t in c.types:
                    if t.code[0].upper() + t.code[1:] == suffix:
                        return c, t.code
                if strict:
                    return None, ""
                # a type the profile does not allow: reported by the type check
                return c, suffix[0].lower() + suffix[1:] if suffix not in _COMPLEX_NAMES else suffix
    return None, ""


_COMPLEX_NAMES = {
    "Address", "Age", "Annotation", "Attachment", "CodeableConcept", "Coding", "ContactPoint", "Count", "Distance",
    "Duration", "HumanName", "Identifier", "Money", "Period", "Quantity", "Range", "Ratio", "Reference",
    "SampledData", "Signature", "Timing", "ContactDetail", "Contributor", "DataRequirement", "Expression",
    "ParameterDefinition", "RelatedArtifact", "TriggerDefinition", "UsageContext", "Dosage", "Meta",
}  # fmt: skip


def _at(loc: str, elem: Element, code: str, i: int, n: int) -> str:
    name = elem.name[:-3] + code[0].upper() + code[1:] if elem.is_choice else elem.name
    return f"{loc}.{name}[{i}]" if elem.base_max != 1 else f"{loc}.{name}"


def _slice_label(entry: Element, s: Element) -> str:
    return f"{entry.id}:{s.slice_name}"


def _src(run: _Run) -> str:
    tree = run.profile
    if tree is None or tree.is_core or run.base_pass:
        return ""
    return f" (from {tree.url})"


_REQUESTS = ("transaction", "batch", "transaction-response", "batch-response")


def _full_urls(run: _Run, bundle: dict[str, Any], loc: str) -> None:
    """Every entry's identity, as HL7 6.0.21 requires it: a fullUrl on each entry with a resource, except in
    transactions and batches, where an entry needs one only when its resource refers to others (they are resolved
    relative to it)."""
    requests = bundle.get("type") in _REQUESTS
    for i, entry in enumerate(bundle.get("entry") or ()):
        if not isinstance(entry, dict) or "fullUrl" in entry or not isinstance(entry.get("resource"), dict):
            continue
        if not requests:
            message = (
                "except for transactions and batches, each entry in a Bundle must have a fullUrl, the identity of "
                "its resource"
            )
        elif _refers(entry["resource"]):
            message = "Bundle entry missing fullUrl: its resource refers to others, resolved relative to it"
        else:
            continue
        run.add(ERROR, f"{loc}.entry[{i}]", message, "bundle.full-url")


def _refers(value: Any) -> bool:
    if isinstance(value, dict):
        ref = value.get("reference")
        if isinstance(ref, str) and not ref.startswith("#"):
            return True
        return any(_refers(v) for k, v in value.items() if k != "contained")
    if isinstance(value, list):
        return any(_refers(v) for v in value)
    return False


_QUANTITIES = {"Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"}


def _context_allows(contexts: tuple[tuple[str, str], ...], stack: list[str]) -> bool:
    """Whether an extension with these contexts may stand on the element ``stack`` describes. Contexts of kinds
    other than "element" (another extension, a FHIRPath expression) are not judged here: they allow."""
    kinds = set(stack)
    if len(stack) == 1:
        kinds |= {"Resource", "DomainResource"}
    if stack[-1] in _QUANTITIES:
        kinds.add("Quantity")
    kinds.add("BackboneElement" if stack[-1] in ("BackboneElement", "") else "Element")
    kinds.add("Element")
    return any(kind != "element" or expression in kinds for kind, expression in contexts)


def _fixed_url(e: Element) -> str | None:
    url = e.children.get("url")
    return url.fixed[1] if url is not None and url.fixed is not None else None


def _steps(path: str) -> list[str]:
    out: list[str] = []
    depth = 0
    current = ""
    for ch in path:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "." and depth == 0:
            out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


def _navigate(run: _Run, value: Any, steps: list[str], res: dict[str, Any]) -> list[Any]:
    """The values at a discriminator path (``url``, ``coding.system``, ``resource``, ``reference.resolve()``)."""
    current = [value]
    for step in steps:
        nxt: list[Any] = []
        for v in current:
            if step == "$this":
                nxt.append(v)
            elif step == "resolve()":
                if isinstance(v, dict) and isinstance(v.get("reference"), str):
                    target = _resolve(run, v["reference"], res)
                    if target is not None:
                        nxt.append(target)
            elif step.startswith("ofType("):
                t = step[len("ofType(") : -1]
                if isinstance(v, dict) and v.get("resourceType", t) == t:
                    nxt.append(v)
            elif step.startswith("extension("):
                url = step[len("extension(") :].strip("')\"")
                if isinstance(v, dict):
                    nxt += [e for e in v.get("extension") or [] if isinstance(e, dict) and e.get("url") == url]
            elif isinstance(v, dict):
                if step in v:
                    got = v[step]
                    nxt += got if isinstance(got, list) else [got]
                else:  # a choice element named without its type: valueCoding for value
                    for key, got in v.items():
                        if key.startswith(step) and len(key) > len(step) and key[len(step)].isupper():
                            nxt += got if isinstance(got, list) else [got]
        current = nxt
    return current


def _typed(values: list[Any], elem: Element) -> list[tuple[Any, str]]:
    code = elem.types[0].code if elem.types else "code"
    return [(v, code) for v in values]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _matches(pattern: Any, value: Any) -> bool:
    """Does ``value`` hold everything ``pattern`` has (FHIR pattern[x] semantics)?"""
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            return False
        return all(k in value and _matches(v, value[k]) for k, v in pattern.items())
    if isinstance(pattern, list):
        items = value if isinstance(value, list) else [value]
        return all(any(_matches(p, v) for v in items) for p in pattern)
    return _equal(value, pattern)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 120 else text[:117] + "..."


def _index(run: _Run, resource: dict[str, Any]) -> None:
    """The Bundle's resources by fullUrl and Type/id, for resolving references."""
    if resource.get("resourceType") != "Bundle":
        return
    for entry in resource.get("entry") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        r = entry["resource"]
        full = entry.get("fullUrl")
        if isinstance(full, str) and full:
            run.entries[full] = r
        rt, rid = r.get("resourceType"), r.get("id")
        if isinstance(rt, str) and isinstance(rid, str):
            run.entries.setdefault(f"{rt}/{rid}", r)


def _resolve(run: _Run, ref: str, res: dict[str, Any]) -> dict[str, Any] | None:
    if ref.startswith("#"):
        for c in res.get("contained") or []:
            if isinstance(c, dict) and c.get("id") == ref[1:]:
                return c
        return None
    found = run.entries.get(ref)
    if found is not None:
        return found
    m = _REF.match(ref)
    if m:
        return run.entries.get(f"{m['type']}/{m['id']}")
    return None


_FROM = re.compile(r" \(from [^ ()]+\)$")


def _unique(issues: list[Issue]) -> list[Issue]:
    """Each issue once: a profile repeats the rules of its base (``intent`` min 1), said first by the base pass."""
    seen: dict[tuple[str, str, str, str], Issue] = {}
    for issue in issues:
        seen.setdefault((issue.severity, issue.location, issue.rule, _FROM.sub("", issue.message)), issue)
    return list(seen.values())


def counts(issues: Sequence[Issue]) -> tuple[int, int]:
    """(errors, warnings) — fatal counts as an error."""
    errors = sum(1 for i in issues if i.severity in (ERROR, "fatal"))
    return errors, sum(1 for i in issues if i.severity == WARNING)


Loader = Callable[[], Validator]
