"""Test helper: every element instance of a resource against the *core* R4 invariants of its type.

A deliberately simple walk (no profiles, no slicing) for measuring :mod:`validatiestraat.fhir.fhirpath` on real
data: for each element in the instance it finds the ElementDefinition in the core snapshot by path (choice types:
``valueQuantity`` is ``value[x]`` with type Quantity; ``contentReference`` is followed), takes that element's
constraints plus those of its datatype's root element (a type profile such as SimpleQuantity when the element
names one), and descends into complex datatypes through their own StructureDefinitions, into a primitive's
``_x`` companion, into contained resources (root = the container) and Bundle entries (root = the entry, as HL7
does). Constraints are deduplicated per element by expression, as HL7 does.

    python tests/fhirpath_fixture_walk.py            # all Nictiz fixtures: counts, failures, errors, timing
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from validatiestraat.fhir.fhirpath import Context, Invariants, Outcome, fix_expression, focus_node
from validatiestraat.fhir.formats import from_json, from_xml
from validatiestraat.fhir.packages import PackageSet
from validatiestraat.fhir.tdates import expand

CORE = "hl7.fhir.r4.core#4.0.1"
SD = "http://hl7.org/fhir/StructureDefinition/"
T_DATE = date(2025, 1, 1)  # the reference date of the HL7 reference verdicts


@dataclass(frozen=True)
class Check:
    """One invariant on one element instance, as the walk hands it to :meth:`Invariants.evaluate`."""

    key: str
    severity: str
    expression: str
    location: str
    context: Context
    focus_path: tuple[str | int, ...]
    focus_type: str
    focus: Any  # the focus node, made once per element as a validator would

    def run(self, invariants: Invariants) -> Outcome:
        """Through the path API (:meth:`Invariants.evaluate`)."""
        cx = self.context
        return invariants.evaluate(
            self.expression, cx.root, cx.resource, list(self.focus_path), self.focus_type, key=self.key,
            bundle=cx.bundle, full_url=cx.full_url,
        )  # fmt: skip

    def check(self, invariants: Invariants) -> Outcome:
        """Through the node API (:meth:`Invariants.check`): what a validator walking the instance calls."""
        return invariants.check(invariants.compile(self.expression, self.key), self.focus, self.context)


@dataclass
class _Definition:
    """A StructureDefinition's snapshot, indexed: element by path, JSON key -> (element, type) by parent path."""

    sd: Mapping[str, Any]
    by_path: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, tuple[Mapping[str, Any], str | None]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ed in self.sd.get("snapshot", {}).get("element", []):
            if "sliceName" in ed or ed["path"] in self.by_path:
                continue
            self.by_path[ed["path"]] = ed
            parent, _, name = ed["path"].rpartition(".")
            if not parent:
                continue
            types = [t["code"] for t in ed.get("type", [])]
            slot = self.keys.setdefault(parent, {})
            if name.endswith("[x]"):
                for code in types:
                    slot[name[:-3] + code[0].upper() + code[1:]] = (ed, code)
            else:
                slot[name] = (ed, types[0] if len(types) == 1 else None)


class CoreWalk:
    """Yields the :class:`Check` of every element instance against the core invariants (see the module doc)."""

    def __init__(self, packages: PackageSet, invariants: Invariants) -> None:
        self.packages = packages
        self.invariants = invariants
        self._definitions: dict[str, _Definition | None] = {}

    def definition(self, url: str) -> _Definition | None:
        if url not in self._definitions:
            sd = self.packages.get(url)
            self._definitions[url] = _Definition(sd) if sd and sd.get("snapshot") else None
        return self._definitions[url]

    def checks(self, resource: Mapping[str, Any]) -> Iterator[Check]:
        yield from self._resource(resource, resource, None, None, resource.get("resourceType", "?"))

    def _resource(
        self,
        resource: Mapping[str, Any],
        root: Mapping[str, Any],
        bundle: Mapping[str, Any] | None,
        full_url: str | None,
        location: str,
    ) -> Iterator[Check]:
        rtype = str(resource.get("resourceType"))
        definition = self.definition(SD + rtype)
        if definition is None:
            return
        context = self.invariants.context(root, resource, bundle=bundle, full_url=full_url)
        ed = definition.by_path[rtype]
        yield from self._constraints([ed], context, (), rtype, location)
        yield from self._complex(definition, rtype, resource, (), context, location)

    def _constraints(
        self,
        eds: list[Mapping[str, Any]],
        context: Context,
        path: tuple[str | int, ...],
        type_name: str,
        location: str,
    ) -> Iterator[Check]:
        focus = focus_node(context.resource, path, type_name)
        seen: set[str] = set()
        for ed in eds:
            for c in ed.get("constraint", []):
                expression = c.get("expression")
                if expression and fix_expression(expression, c["key"]) not in seen:  # HL7 runs each once
                    seen.add(fix_expression(expression, c["key"]))
                    yield Check(
                        c["key"], c.get("severity", "error"), expression, location, context, path, type_name, focus
                    )

    def _complex(
        self,
        definition: _Definition,
        base: str,
        data: Mapping[str, Any],
        path: tuple[str | int, ...],
        context: Context,
        location: str,
    ) -> Iterator[Check]:
        children = definition.keys.get(base, {})
        done: set[str] = set()
        for json_key in data:
            name = json_key[1:] if json_key.startswith("_") else json_key
            if name in done or name == "resourceType":
                continue
            done.add(name)
            if name not in children:
                continue  # unknown element: the structural check's business, not ours
            ed, type_code = children[name]
            value, ext = data.get(name), data.get(f"_{name}")
            if isinstance(value, list) or isinstance(ext, list):
                values = value if isinstance(value, list) else []
                exts = ext if isinstance(ext, list) else []
                for i in range(max(len(values), len(exts))):
                    v = values[i] if i < len(values) else None
                    e = exts[i] if i < len(exts) else None
                    if v is not None or e is not None:
                        here = (*path, name, i)
                        yield from self._element(
                            definition, ed, type_code, v, e, here, context, f"{location}.{name}[{i}]"
                        )
            else:
                yield from self._element(
                    definition, ed, type_code, value, ext, (*path, name), context, f"{location}.{name}"
                )

    def _element(
        self,
        definition: _Definition,
        ed: Mapping[str, Any],
        type_code: str | None,
        value: Any,
        ext: Any,
        path: tuple[str | int, ...],
        context: Context,
        location: str,
    ) -> Iterator[Check]:
        resource, bundle = context.resource, context.bundle
        if "contentReference" in ed:
            target = definition.by_path.get(ed["contentReference"].lstrip("#"))
            if target is None:
                return
            yield from self._constraints([ed], context, path, "BackboneElement", location)
            if isinstance(value, Mapping):
                yield from self._complex(definition, target["path"], value, path, context, location)
            return
        code = (type_code or "").rsplit("/", 1)[-1]
        if code in ("Resource", "DomainResource") or (isinstance(value, Mapping) and "resourceType" in value):
            if not isinstance(value, Mapping):
                return
            if path[:1] == ("contained",):
                yield from self._resource(value, resource, bundle, None, location)
            elif resource.get("resourceType") == "Bundle" and path[:1] == ("entry",):
                entry = resource["entry"][path[1]]
                yield from self._resource(value, value, resource, entry.get("fullUrl"), location)
            else:
                yield from self._resource(value, value, bundle, None, location)
            return
        if code in ("BackboneElement", "Element") or not code:
            yield from self._constraints([ed], context, path, "BackboneElement", location)
            if isinstance(value, Mapping):
                yield from self._complex(definition, ed["path"], value, path, context, location)
            return
        profiles = next((t.get("profile", []) for t in ed.get("type", []) if t["code"] == type_code), [])
        type_definition = (self.definition(profiles[0]) if len(profiles) == 1 else None) or self.definition(SD + code)
        eds = [ed]
        if type_definition is not None:
            eds.append(type_definition.by_path[type_definition.sd["type"]])
        yield from self._constraints(eds, context, path, code, location)
        if type_definition is None:
            return
        holder = value if isinstance(value, Mapping) else ext if isinstance(ext, Mapping) else None
        if holder is not None:
            yield from self._complex(type_definition, type_definition.sd["type"], holder, path, context, location)


def fixture_files(shared: Path) -> list[Path]:
    root = shared / "fixtures-nictiz"
    return sorted(p for p in root.rglob("*") if p.suffix in (".xml", ".json") and p.name != "MANIFEST.md")


def read_fixture(path: Path) -> dict[str, Any]:
    text = expand(path.read_text(encoding="utf-8-sig"), T_DATE)
    return from_json(text) if path.suffix == ".json" else from_xml(text)


def core_packages(shared: Path) -> PackageSet:
    return PackageSet.load([CORE], [shared / "fhir-packages"])


def main() -> None:  # pragma: no cover - a measuring tool
    """Every core invariant on every fixture: counts per key, failures and errors, evaluation time."""
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    invariants = Invariants()
    walk = CoreWalk(core_packages(shared), invariants)
    files = fixture_files(shared)
    checks = [(path, check) for path in files for check in walk.checks(read_fixture(path))]
    gc.freeze()  # half a million objects in hand: keep the collector from rescanning them while timing
    start = time.perf_counter()
    outcomes = [(path, check, check.check(invariants)) for path, check in checks]
    elapsed = time.perf_counter() - start
    print(
        f"{len(files)} files, {len(checks)} evaluations in {elapsed:.2f} s ({elapsed / len(checks) * 1e6:.1f} µs each)"
    )
    print("by key:", dict(Counter(check.key for _, check in checks).most_common()))
    failed = [(path, check, outcome) for path, check, outcome in outcomes if not outcome.passed]
    errors = sum(1 for *_, outcome in failed if outcome.error)
    print(f"{len(failed) - errors} failures, {errors} errors")
    for path, check, outcome in failed:
        where = f"{path.relative_to(shared)} @ {check.location}"
        print(f"  {check.key} ({check.severity}) {where}: {outcome.error or 'false'}")


if __name__ == "__main__":  # pragma: no cover
    main()
