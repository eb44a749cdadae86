"""Value-set membership and code-system lookups for binding checks, offline, decided as HL7's validator does.

    terminology = Terminology(packages.get)
    terminology.check("http://hl7.org/fhir/ValueSet/administrative-gender", None, "male")
    -> Membership(status="in", ...)        # None: a bare code; the system comes from the value set

The reference is the HL7 validator 6.0.21 run with ``-tx n/a`` (no terminology server): its ``ValueSetValidator``
decides membership from the loaded packages alone and answers yes, no or "cannot tell". :meth:`Terminology.check`
gives the same three answers, with the reason, so that a binding check can turn them into the issues HL7 reports.
The rules (R4 ``ValueSet.compose``, http://hl7.org/fhir/R4/valueset.html#compositions) as 6.0.21 applies them:

- A value set with an ``expansion`` is decided by the expansion alone (``contains``, nested too).
- Otherwise the includes are tried in order: one "in" decides "in"; if none does and one could not be decided, the
  answer is "unknown". A matching exclude turns the answer into "not-in"; an exclude that cannot be decided only
  turns a "not-in" into "unknown".
- An include names a ``system`` (all its codes, or its ``concept`` list, or the codes that pass every ``filter``)
  and/or ``valueSet`` imports, which must all contain the code (intersection).
- A code system is usable when a package defines it with ``content`` complete (or fragment). One that no package
  defines (SNOMED CT, LOINC, UCUM, the G-Standaard ``urn:oid:2.16.840.1.113883.2.4.4.*``, ATC, GTIN ...) or only
  as a stub (``content`` not-present/example) makes an include on it "unknown" -- even when the include lists its
  codes explicitly: 6.0.21 does not trust an enumeration of a code system it cannot see (so UCUM ``cm`` in the
  core "Body Length Units" value set is "unknown" too).
- Quirk kept on purpose: an *imported* value set that cannot be decided counts as "not-in" for the importer
  (6.0.21's ``inImport`` maps "cannot tell" to false). This is why codes from the Nictiz ``*Codelijsten`` value sets,
  which only import one value set per G-Standaard/ATC/GTIN system, are reported as not in the value set. Such
  answers have ``cause="import"``: certain for HL7, not for the code.
- Filters are evaluated on code systems we have: ``concept`` is-a / descendent-of / is-not-a (hierarchy from nested
  concepts and from a property with uri ``...concept-properties#parent``), ``code`` regex, and =, exists, regex on a
  property the code system declares. 6.0.21 throws on any other filter (``concept`` in/=, undeclared properties,
  other operators); those give "unknown" with ``cause="filter"``.
- An include's ``version`` only picks the code system when the packages hold that version; otherwise the version
  we have is used (the CLI's resource locator falls back to the unversioned URL the same way).
- Codes are case-sensitive unless the code system says ``caseSensitive: false``; ``concept`` lists compare exactly.

How 6.0.21 reports the answers (what a binding check should do with them; severities for config B):

- "not-in": required -> error, extensible -> warning ("None of the codings provided are in the value set ...",
  "The value provided ('x') is not in the value set ...").
- "unknown" with ``cause="code-system"``: a CodeableConcept -> warning ("Unable to check whether the code is in the
  value set ..."); a code/string/uri -> warning ("... could not be validated because the code system ... is not
  known"); but a Coding or Quantity with a *required* binding -> error ("The code provided (system#code) is not in
  the value set ..., and a code from this value set is required: Unable to check whether the code is in the value
  set ..."), extensible -> warning.
- "unknown" with ``cause="filter"``: CodeableConcept -> hint only; Coding/Quantity/code required -> error.
- ``display_issue``: 6.0.21's "Wrong Display Name 'x' for system#code - should be one of 1 choices: 'y' (for the
  language(s) 'en')", word for word; an error by default, a warning with ``-display-issues-are-warnings``
  (config B). A code system whose own language is not accepted gives "No valid Display Names found ..." (a warning).
  6.0.21 checks displays of every Coding with a code system it has, binding or not: use :meth:`validate_code`.

Everything is memoized: per (value set, system, code), per code system an index of its concepts, and per filter
root its descendants; a repeat :meth:`~Terminology.check` is one dict lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

Status = Literal["in", "not-in", "unknown"]
Cause = Literal["", "code-system", "filter", "value-set", "import", "no-system"]

# code systems that only a terminology server knows (for the wording of reasons; any system no package defines
# completely is treated the same way)
SERVER_SYSTEMS = frozenset(
    {
        "http://snomed.info/sct",
        "http://loinc.org",
        "http://unitsofmeasure.org",
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://hl7.org/fhir/sid/ndc",
        "urn:ietf:bcp:47",
        "urn:ietf:bcp:13",
        "urn:iso:std:iso:3166",
        "urn:iso:std:iso:4217",
    }
)
G_STANDAARD_PREFIX = "urn:oid:2.16.840.1.113883.2.4.4."
PARENT_PROPERTY_URI = "http://hl7.org/fhir/concept-properties#parent"
USABLE_CONTENT = frozenset({"complete", "fragment"})


@dataclass(frozen=True, slots=True)
class Membership:
    """The answer for one code: ``status`` "in", "not-in" or "unknown"; ``reason`` says why (empty for a plain "in");
    ``display_issue`` is the HL7 wording of a wrong display, when a display was given and the code system is known;
    ``cause`` tells the kinds of "unknown"/"not-in" apart (see the module text); ``systems`` are the code systems
    that could not be used (HL7 names them in its messages)."""

    status: Status
    reason: str = ""
    display_issue: str | None = None
    cause: Cause = ""
    systems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "in"


class _Verdict(NamedTuple):
    value: bool | None  # True in, False not in, None cannot tell
    reason: str = ""
    cause: Cause = ""
    systems: tuple[str, ...] = ()


_IN = _Verdict(True)
_OUT = _Verdict(False)


def _merge_systems(*groups: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in groups:
        for s in group:
            seen[s] = None
    return tuple(seen)


def unavailable_reason(system: str, resource: Mapping[str, Any] | None) -> str:
    """Why membership in ``system`` cannot be decided offline (``resource``: its CodeSystem, if a package has one)."""
    kind = " (G-Standaard)" if system.startswith(G_STANDAARD_PREFIX) else ""
    if resource is not None:
        content = resource.get("content")
        if content == "supplement":
            return f"code system {system} is only a supplement in the loaded packages"
        return (
            f"code system {system}{kind} is only a stub in the loaded packages (content={content}): its codes are "
            "not available without a terminology server"
        )
    if system in SERVER_SYSTEMS or kind:
        return f"code system {system}{kind} is not available without a terminology server"
    return f"code system {system} is not defined by the loaded packages (it needs a terminology server)"


class CodeSystemIndex:
    """One CodeSystem's concepts by code, its hierarchy (nested concepts plus a ``parent`` property) and its
    declared properties: what membership, filters and displays need, built once per code system."""

    __slots__ = (
        "_descendants",
        "case_sensitive",
        "children",
        "concepts",
        "content",
        "folded",
        "language",
        "property_codes",
        "resource",
        "url",
        "version",
    )

    def __init__(self, resource: Mapping[str, Any]) -> None:
        self.resource = resource
        self.url: str = str(resource.get("url") or "")
        self.version: str | None = resource.get("version")
        self.content: str = str(resource.get("content") or "")
        self.language: str | None = resource.get("language")
        self.case_sensitive = resource.get("caseSensitive") is not False
        self.concepts: dict[str, Mapping[str, Any]] = {}
        self.children: dict[str, list[str]] = {}
        self.property_codes = frozenset(
            str(p.get("code")) for p in resource.get("property", []) if isinstance(p, Mapping) and p.get("code")
        )
        self._walk(resource.get("concept", []), None)
        parent_codes = [
            str(p["code"])
            for p in resource.get("property", [])
            if isinstance(p, Mapping) and p.get("uri") == PARENT_PROPERTY_URI and p.get("code")
        ]
        if parent_codes:
            for code, concept in self.concepts.items():
                for prop in concept.get("property", []):
                    if isinstance(prop, Mapping) and prop.get("code") in parent_codes:
                        parent = _primitive(prop)
                        if parent is not None:
                            self.children.setdefault(parent, []).append(code)
        self.folded: dict[str, str] | None = (
            None if self.case_sensitive else {c.lower(): c for c in reversed(list(self.concepts))}
        )
        self._descendants: dict[str, frozenset[str]] = {}

    def _walk(self, concepts: Any, parent: str | None) -> None:
        for concept in concepts if isinstance(concepts, list) else ():
            code = concept.get("code") if isinstance(concept, Mapping) else None
            if not isinstance(code, str):
                continue
            self.concepts.setdefault(code, concept)
            if parent is not None:
                self.children.setdefault(parent, []).append(code)
            self._walk(concept.get("concept"), code)

    @property
    def usable(self) -> bool:
        return self.content in USABLE_CONTENT

    def find(self, code: str) -> Mapping[str, Any] | None:
        """The concept for ``code`` (case-insensitively when the code system says so)."""
        concept = self.concepts.get(code)
        if concept is None and self.folded is not None:
            real = self.folded.get(code.lower())
            concept = self.concepts.get(real) if real is not None else None
        return concept

    def descendants(self, code: str) -> frozenset[str]:
        """Every code below ``code`` (not ``code`` itself)."""
        found = self._descendants.get(code)
        if found is None:
            seen: set[str] = set()
            stack = list(self.children.get(code, ()))
            while stack:
                c = stack.pop()
                if c not in seen:
                    seen.add(c)
                    stack.extend(self.children.get(c, ()))
            seen.discard(code)
            found = self._descendants[code] = frozenset(seen)
        return found

    def property_value(self, code: str, name: str) -> str | None:
        """The first value of property ``name`` on ``code``, as text (None if absent or not a primitive)."""
        concept = self.find(code)
        for prop in concept.get("property", []) if concept else ():
            if isinstance(prop, Mapping) and prop.get("code") == name:
                return _primitive(prop)
        return None


def _primitive(prop: Mapping[str, Any]) -> str | None:
    for key, value in prop.items():
        if key.startswith("value") and not isinstance(value, Mapping | list):
            if isinstance(value, bool):
                return "true" if value else "false"
            return str(value)
    return None


class Terminology:
    """Membership of codes in value sets, and of codes in code systems, from the resources ``resolve`` returns
    (``PackageSet.get``: canonical URL, or ``url|version``, to a ValueSet/CodeSystem dict or None)."""

    def __init__(
        self,
        resolve: Callable[[str], Mapping[str, Any] | None],
        display_languages: Sequence[str] | None = ("en",),
    ) -> None:
        """``display_languages``: the languages whose displays and designations count as valid (6.0.21 checks
        displays for "en" when the resource has no ``language``: a display or designation without a language, or
        in one of these, is accepted). None accepts every language."""
        self._resolve = resolve
        self._languages: tuple[str, ...] | None = tuple(display_languages) if display_languages is not None else None
        self._lang_summary = "|".join(sorted(self._languages)) if self._languages else "--"
        self._code_systems: dict[str, CodeSystemIndex | None] = {}
        self._value_sets: dict[str, Mapping[str, Any] | None] = {}
        self._members: dict[tuple[str, str | None, str], _Verdict] = {}
        self._checks: dict[tuple[str, str | None, str, str | None], Membership] = {}
        self._codes: dict[tuple[str, str, str | None], Membership] = {}
        self._displays: dict[tuple[str, str, str], str | None] = {}
        self._expansions: dict[str, frozenset[tuple[str, str]] | None] = {}
        self._active: set[str] = set()  # value sets being evaluated (import cycles)

    # ------------------------------------------------------------------ public

    def check(self, value_set: str, system: str | None, code: str, display: str | None = None) -> Membership:
        """Is ``system#code`` in ``value_set``? (``system`` None: a bare code, as in a ``code`` element; the system
        is inferred from the value set the way 6.0.21 does.) ``display`` is checked against the code system."""
        key = (value_set, system, code, display)
        found = self._checks.get(key)
        if found is not None:
            return found
        vs = self._value_set(value_set)
        if vs is None:
            result = Membership("unknown", f"value set {value_set} not found", cause="value-set")
        else:
            if system is None:
                system, problem = self._infer_system(vs, value_set, code)
                if system is None:
                    result = Membership("not-in", problem, cause="no-system")
                    self._checks[key] = result
                    return result
            verdict = self._member(value_set, system, code)
            status: Status = "in" if verdict.value else "not-in" if verdict.value is False else "unknown"
            issue = self.display_issue(system, code, display) if display is not None else None
            result = Membership(status, verdict.reason, issue, verdict.cause, verdict.systems)
        self._checks[key] = result
        return result

    def validate_code(self, system: str, code: str, display: str | None = None) -> Membership:
        """Is ``code`` a code of ``system`` at all? "unknown" when no package defines the code system completely
        (a fragment's missing code is "unknown" too); "not-in" is 6.0.21's "Unknown Code 'x' in the system 'y'"."""
        key = (system, code, display)
        found = self._codes.get(key)
        if found is not None:
            return found
        cs = self.code_system(system)
        if cs is None or not cs.usable:
            resource = cs.resource if cs is not None else None
            result = Membership("unknown", unavailable_reason(system, resource), cause="code-system", systems=(system,))
        elif cs.find(code) is None:
            if cs.content == "fragment":
                result = Membership(
                    "unknown",
                    f"Unknown Code '{code}' in the system '{system}' - note that the code system is labeled as a "
                    "fragment, so the code may be valid in some other fragment",
                    cause="code-system",
                )
            else:
                result = Membership("not-in", f"Unknown Code '{code}' in the system '{system}'")
        else:
            issue = self.display_issue(system, code, display) if display is not None else None
            result = Membership("in", "", issue)
        self._codes[key] = result
        return result

    def display_issue(self, system: str, code: str, display: str) -> str | None:
        """6.0.21's message when ``display`` is not a valid display of ``system#code`` (compared case-insensitively
        to the concept's display and designations in the accepted languages); None when it is valid or when the code
        system or code is not known."""
        key = (system, code, display)
        if key in self._displays:
            return self._displays[key]
        issue: str | None = None
        cs = self.code_system(system)
        concept = cs.find(code) if cs is not None and cs.usable else None
        if cs is not None and concept is not None:
            choices: list[str] = []
            wanted = display.lower()
            ok = False
            own = concept.get("display")
            if isinstance(own, str) and self._language_ok(cs.language):
                choices.append(own)
                ok = own.lower() == wanted
            for d in concept.get("designation", []) if not ok else ():
                value = d.get("value") if isinstance(d, Mapping) else None
                if isinstance(value, str) and self._language_ok(d.get("language")):
                    choices.append(value)
                    if value.lower() == wanted:
                        ok = True
                        break
            if not ok:
                issue = self._display_message(system, code, display, choices)
        self._displays[key] = issue
        return issue

    def code_system(self, url: str) -> CodeSystemIndex | None:
        """The indexed CodeSystem ``url`` (``url|version`` falls back to the unversioned one), or None."""
        if url in self._code_systems:
            return self._code_systems[url]
        resource = self._resolve(url)
        index = (
            CodeSystemIndex(resource)
            if isinstance(resource, Mapping) and resource.get("resourceType") == "CodeSystem"
            else None
        )
        self._code_systems[url] = index
        return index

    def expand(self, value_set: str) -> frozenset[tuple[str, str]] | None:
        """Every (system, code) of ``value_set``, or None when it cannot be enumerated offline (a code system
        that is not available, a filter that cannot be evaluated, a missing import)."""
        if value_set in self._expansions:
            return self._expansions[value_set]
        self._expansions[value_set] = None  # cycle guard
        vs = self._value_set(value_set)
        result = self._expand(vs) if vs is not None else None
        self._expansions[value_set] = result
        return result

    @property
    def stats(self) -> dict[str, int]:
        """How much is cached: value sets and code systems read, memoized checks."""
        return {
            "value_sets": sum(1 for v in self._value_sets.values() if v is not None),
            "code_systems": sum(1 for v in self._code_systems.values() if v is not None),
            "memberships": len(self._members),
            "checks": len(self._checks),
            "expansions": sum(1 for v in self._expansions.values() if v is not None),
        }

    # ------------------------------------------------------------------ membership

    def _value_set(self, url: str) -> Mapping[str, Any] | None:
        if url in self._value_sets:
            return self._value_sets[url]
        resource = self._resolve(url)
        vs = resource if isinstance(resource, Mapping) and resource.get("resourceType") == "ValueSet" else None
        self._value_sets[url] = vs
        return vs

    def _member(self, url: str, system: str | None, code: str) -> _Verdict:
        key = (url, system, code)
        found = self._members.get(key)
        if found is None:
            vs = self._value_set(url)
            if vs is None:
                found = _Verdict(None, f"value set {url} not found", "value-set")
            elif url in self._active:
                found = _Verdict(False, f"value set {url} imports itself")
            else:
                self._active.add(url)
                try:
                    found = self._in_value_set(vs, url, system, code)
                finally:
                    self._active.discard(url)
            self._members[key] = found
        return found

    def _in_value_set(self, vs: Mapping[str, Any], url: str, system: str | None, code: str) -> _Verdict:
        expansion = vs.get("expansion")
        if isinstance(expansion, Mapping):
            if _in_contains(expansion.get("contains"), system, code):
                return _IN
            return _Verdict(False, f"{_label(system, code)} is not in the expansion of {url}")
        compose = vs.get("compose")
        if not isinstance(compose, Mapping):
            return _Verdict(False, f"value set {url} has neither compose nor expansion")
        includes = [i for i in compose.get("include", []) if isinstance(i, Mapping)]
        only = len(includes) == 1
        result = _Verdict(False, f"{_label(system, code)} is not in the value set {url}")
        for include in includes:
            ok = self._in_component(include, system, code, only)
            if ok.value is None and result.value is False:
                result = ok
            elif ok.value:
                result = ok
                break
            elif ok.value is False and ok.cause == "import" and result.value is False and result.cause != "import":
                result = ok  # keep the more telling reason
        for exclude in compose.get("exclude", []):
            if not isinstance(exclude, Mapping):
                continue
            nok = self._in_component(exclude, system, code, only)
            if nok.value is None and result.value is False:
                result = nok
            elif nok.value:
                result = _Verdict(False, f"{_label(system, code)} is excluded from the value set {url}")
        return result

    def _in_component(self, inc: Mapping[str, Any], system: str | None, code: str, only: bool) -> _Verdict:
        """One include/exclude, as 6.0.21's ``inComponent``."""
        imports = [u for u in inc.get("valueSet", []) if isinstance(u, str)]
        ok = _IN
        if imports:
            for u in imports:
                sub = self._member(u, system, code)
                if sub.value is None:
                    ok = _Verdict(
                        False,
                        f"the imported value set {u} cannot be checked ({sub.reason}); HL7 6.0.21 counts a code it "
                        "cannot check in an imported value set as not in it",
                        "import",
                        sub.systems,
                    )
                    break
                if not sub.value:
                    ok = sub if sub.cause == "import" else _Verdict(False, sub.reason)
                    break
        inc_system = inc.get("system")
        if not isinstance(inc_system, str) or not inc_system or ok.value is False:
            return ok
        concepts = [c.get("code") for c in inc.get("concept", []) if isinstance(c, Mapping)]
        if only and system is None and code in concepts:
            return _IN
        if system is None or system != inc_system:
            return _OUT
        version = inc.get("version")
        cs = self.code_system(f"{system}|{version}") if isinstance(version, str) and version else None
        if cs is None:
            cs = self.code_system(system)
        if cs is None or not cs.usable:
            resource = cs.resource if cs is not None else None
            return _Verdict(None, unavailable_reason(system, resource), "code-system", (system,))
        for f in inc.get("filter", []):
            if not isinstance(f, Mapping):
                continue
            passed = self._filter(cs, f, code)
            if passed is None:
                return _Verdict(
                    None,
                    f"the filter {f.get('property')} {f.get('op')} {f.get('value')!r} on {system} cannot be "
                    "evaluated offline (HL7 6.0.21 does not handle it)",
                    "filter",
                )
            if not passed:
                return _OUT
        if cs.find(code) is None:
            return _OUT
        if concepts:
            return _IN if code in concepts else _OUT
        return _IN

    def _filter(self, cs: CodeSystemIndex, f: Mapping[str, Any], code: str) -> bool | None:
        """Does ``code`` pass filter ``f`` of code system ``cs``? None: a filter 6.0.21 cannot evaluate."""
        prop, op, value = f.get("property"), f.get("op"), f.get("value")
        if not isinstance(value, str):
            value = None
        if prop == "concept":
            if op in ("is-a", "is-not-a", "descendent-of") and value is not None:
                below = code in cs.descendants(value) if value in cs.concepts else False
                if op == "is-a":
                    return code == value or below
                if op == "is-not-a":
                    return not (code == value or below)
                return below
            return None
        if prop == "code" and op == "regex":
            return value is not None and _regex(value).fullmatch(code) is not None
        if isinstance(prop, str) and prop in cs.property_codes:
            actual = cs.property_value(code, prop)
            if op == "=":
                return value is not None and actual == value
            if op == "exists":
                return actual is not None
            if op == "regex":
                return value is not None and actual is not None and _regex(value).fullmatch(actual) is not None
        return None

    def _infer_system(self, vs: Mapping[str, Any], url: str, code: str) -> tuple[str | None, str]:
        """The system of a bare code, as 6.0.21 infers it (``getValueSetSystemOrNull``, then a scan of the value
        set for the code); (None, why) when it cannot tell, which 6.0.21 reports as not in the value set."""
        compose = vs.get("compose") if isinstance(vs.get("compose"), Mapping) else {}
        includes = [i for i in compose.get("include", []) if isinstance(i, Mapping)]
        if not includes:
            systems = {s for s, _ in _walk_contains((vs.get("expansion") or {}).get("contains"))}
            if len(systems) == 1:
                return systems.pop(), ""
        elif len(includes) == 1 and not includes[0].get("valueSet") and isinstance(includes[0].get("system"), str):
            return includes[0]["system"], ""
        found: set[str] = set()
        problem = self._scan_for_code(vs, url, code, found, set())
        if problem:
            return None, problem
        if len(found) != 1:
            which = ", ".join(sorted(found)) if found else "none"
            return None, f"Unable to resolve system for code '{code}' in value set {url} - matching systems: {which}"
        return found.pop(), ""

    def _scan_for_code(self, vs: Mapping[str, Any], url: str, code: str, found: set[str], seen: set[str]) -> str:
        if url in seen:
            return ""
        seen.add(url)
        compose = vs.get("compose")
        if not isinstance(compose, Mapping):
            found.update(s for s, c in _walk_contains((vs.get("expansion") or {}).get("contains")) if c == code)
            return ""
        for i, inc in enumerate(i for i in compose.get("include", []) if isinstance(i, Mapping)):
            for u in inc.get("valueSet", []):
                sub = self._value_set(u) if isinstance(u, str) else None
                if sub is None:
                    return f"Unable to resolve system: value set {u} imported by {url} not found"
                problem = self._scan_for_code(sub, u, code, found, seen)
                if problem:
                    return problem
            system = inc.get("system")
            if not isinstance(system, str):
                if not inc.get("valueSet"):
                    return f"Unable to resolve system - value set {url} include #{i} has no system"
                continue
            if inc.get("filter"):
                return f"Unable to resolve system - value set {url} include #{i} has a filter on system {system}"
            cs = self.code_system(system)
            concepts = [c.get("code") for c in inc.get("concept", []) if isinstance(c, Mapping)]
            if cs is not None and cs.content == "complete":
                if concepts:
                    if any(isinstance(c, str) and _same_code(c, code, cs.case_sensitive) for c in concepts):
                        found.add(system)
                elif cs.find(code) is not None:
                    found.add(system)
            elif concepts:
                if code in concepts:
                    found.add(system)
            else:
                return (
                    f"Unable to resolve system - value set {url} include #{i} has system {system} which cannot be "
                    f"expanded ({unavailable_reason(system, cs.resource if cs else None)})"
                )
        return ""

    # ------------------------------------------------------------------ expansion

    def _expand(self, vs: Mapping[str, Any]) -> frozenset[tuple[str, str]] | None:
        expansion = vs.get("expansion")
        if isinstance(expansion, Mapping):
            return frozenset(_walk_contains(expansion.get("contains")))
        compose = vs.get("compose")
        if not isinstance(compose, Mapping):
            return frozenset()
        codes: set[tuple[str, str]] = set()
        for inc in compose.get("include", []):
            part = self._expand_component(inc) if isinstance(inc, Mapping) else None
            if part is None:
                return None
            codes |= part
        for exc in compose.get("exclude", []):
            part = self._expand_component(exc) if isinstance(exc, Mapping) else None
            if part is None:
                return None
            codes -= part
        return frozenset(codes)

    def _expand_component(self, inc: Mapping[str, Any]) -> set[tuple[str, str]] | None:
        imported: set[tuple[str, str]] | None = None
        for u in inc.get("valueSet", []):
            part = self.expand(u) if isinstance(u, str) else None
            if part is None:
                return None
            imported = set(part) if imported is None else imported & part
        system = inc.get("system")
        if not isinstance(system, str):
            return imported if imported is not None else None
        cs = self.code_system(system)
        if cs is None or cs.content != "complete":
            return None
        concepts = [c.get("code") for c in inc.get("concept", []) if isinstance(c, Mapping)]
        candidates = [c for c in concepts if isinstance(c, str) and c in cs.concepts] if concepts else cs.concepts
        own: set[tuple[str, str]] = set()
        for c in candidates:
            passed = True
            for f in inc.get("filter", []):
                ok = self._filter(cs, f, c) if isinstance(f, Mapping) else None
                if ok is None:
                    return None
                if not ok:
                    passed = False
                    break
            if passed:
                own.add((system, c))
        return own & imported if imported is not None else own

    # ------------------------------------------------------------------ displays

    def _language_ok(self, language: Any) -> bool:
        if self._languages is None:
            return True
        return language is None or language in self._languages

    def _display_message(self, system: str, code: str, display: str, choices: list[str]) -> str:
        langs = self._lang_summary
        if not choices:
            return f"No valid Display Names found for {system}#{code} in the language {langs}"
        # 6.0.21 words it in the plural form even for one choice ("should be one of 1 choices: 'x'")
        quoted = [f"'{c}'" for c in choices]
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        return (
            f"Wrong Display Name '{display}' for {system}#{code} - should be one of {len(quoted)} choices: {listed} "
            f"(for the language(s) '{langs}')"
        )


# ---------------------------------------------------------------------- helpers

_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        try:
            compiled = re.compile(pattern)
        except re.error:
            compiled = re.compile(re.escape(pattern))
        _REGEX_CACHE[pattern] = compiled
    return compiled


def _same_code(a: str, b: str, case_sensitive: bool) -> bool:
    return a == b if case_sensitive else a.lower() == b.lower()


def _label(system: str | None, code: str) -> str:
    return f"{system}#{code}" if system else f"'{code}'"


def _walk_contains(contains: Any) -> Iterable[tuple[str, str]]:
    for c in contains if isinstance(contains, list) else ():
        if not isinstance(c, Mapping):
            continue
        if isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
            yield c["system"], c["code"]
        yield from _walk_contains(c.get("contains"))


def _in_contains(contains: Any, system: str | None, code: str) -> bool:
    return any(s == system and c == code for s, c in _walk_contains(contains))
