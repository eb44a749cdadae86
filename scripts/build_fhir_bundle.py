"""Build the compact, compiled form of the FHIR packages that the wheel carries (run by hand, output committed).

    .venv/bin/python scripts/build_fhir_bundle.py [--packages DIR ...]

Loads the default package set of the validator (validatiestraat.fhir.defaults.DEFAULT_ROOTS: MP9 3.0 rc.7 with
nl-core, zib2020 and R4 core, plus hl7.terminology and hl7.fhir.uv.extensions) from the package caches (the
``--packages`` folders first; the committed bundle is made from ../shared/fhir-packages, whose Nictiz packages carry
differentials only, so every Nictiz snapshot in it is made by validatiestraat.fhir.snapshot), and writes
``validatiestraat/fhir/bundled/packages.bin`` (a compressed index of canonical URLs, then each resource compressed
on its own and read on demand; see ``packages.BundledPackages``):

- every StructureDefinition of the Nictiz packages and every R4 core StructureDefinition (resources, datatypes,
  extensions), and the extension definitions of the other packages, each with a snapshot (taken from the package,
  or generated from the differential) cut down to what validation reads: ids, paths, cardinality, types, fixed and
  pattern values, bindings, constraints, slicing;
- every ValueSet bound (required or extensible) by one of them, the value sets those import, the CodeSystems
  they draw on, and every CodeSystem a package has whole (content complete or fragment: any Coding of it is
  checked); narratives left out;
- a manifest: each source package's id, version, licence and the SHA-256 of its folder.

All these packages are CC0 (HL7 and Nictiz publish them under CC0-1.0).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from validatiestraat.fhir.defaults import DEFAULT_ROOTS  # noqa: E402
from validatiestraat.fhir.packages import BUNDLE, PackageSet, search_dirs, sha256_of, write_bundle  # noqa: E402

USABLE = ("complete", "fragment")
BEST_PRACTICE = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
FHIR_TYPE = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
OUT = BUNDLE
ELEMENT_KEYS = ("id", "path", "sliceName", "min", "max", "type", "binding", "slicing", "contentReference")


def _constraint(c: dict[str, Any]) -> dict[str, Any]:
    """What validation reads of a constraint; of its extensions only the best-practice flag."""
    out = {k: c[k] for k in ("key", "severity", "human", "expression") if k in c}
    flags = [x for x in c.get("extension") or () if x.get("url") == BEST_PRACTICE]
    if flags:
        out["extension"] = flags
    return out


def _type(t: dict[str, Any]) -> dict[str, Any]:
    """What validation reads of a type; of its extensions only the FHIR type of a FHIRPath system type."""
    out = {k: v for k, v in t.items() if k in ("code", "profile", "targetProfile")}
    named = [x for x in t.get("extension") or () if x.get("url") == FHIR_TYPE]
    if named:
        out["extension"] = named
    return out


def slim_element(e: dict[str, Any]) -> dict[str, Any]:
    out = {k: e[k] for k in ELEMENT_KEYS if k in e}
    if "base" in e:
        out["base"] = {"max": e["base"].get("max")}
    if "binding" in out:
        out["binding"] = {k: v for k, v in out["binding"].items() if k in ("strength", "valueSet")}
    if "type" in out:
        out["type"] = [_type(t) for t in out["type"]]
    if "constraint" in e:
        out["constraint"] = [_constraint(c) for c in e["constraint"]]
    for k, v in e.items():
        if k.startswith("fixed") or k.startswith("pattern"):
            out[k] = v
    return out


def slim_sd(sd: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "resourceType", "id", "url", "version", "name", "type", "kind", "abstract", "derivation", "baseDefinition",
        "context",  # where an extension may be used
    )  # fmt: skip
    out = {k: sd[k] for k in keep if k in sd}
    out["snapshot"] = {"element": [slim_element(e) for e in sd["snapshot"]["element"]]}
    return out


def slim_terminology(r: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in r.items() if k not in ("text", "contact", "description", "purpose", "copyright")}


def parsed_constraints(resources: Any) -> dict[str, Any]:
    """The parsed FHIRPath of every constraint in the bundled StructureDefinitions (as HL7 fixes them), so that a
    cold start does not parse them again (about 5 ms each); with the fhirpathpy version they were parsed with."""
    from importlib.metadata import version

    from validatiestraat.fhir.fhirpath import InvariantSyntaxError, fix_expression, parse

    asts: dict[str, Any] = {}
    for r in resources:
        for e in (r.get("snapshot") or {}).get("element") or ():
            for c in e.get("constraint") or ():
                if isinstance(c.get("expression"), str):
                    fixed = fix_expression(c["expression"], c.get("key"))
                    with contextlib.suppress(InvariantSyntaxError):  # unevaluable: judged so at run time
                        asts.setdefault(fixed, parse(fixed))
    return {"fhirpathpy": version("fhirpathpy"), "asts": asts}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=Path, action="append", default=[])
    args = ap.parse_args()
    packages = PackageSet.load(list(DEFAULT_ROOTS), search_dirs(args.packages))
    from validatiestraat.fhir.profiles import Profiles
    from validatiestraat.fhir.snapshot import with_snapshot

    profiles = Profiles(packages, with_snapshot)
    nictiz = {p.key for p in packages.packages if p.name.startswith("nictiz.")}
    wanted: list[str] = []
    for url in packages.urls("StructureDefinition"):
        source = packages.source(url)
        sd = packages.get(url)
        if source is None or sd is None:
            continue
        if source.key in nictiz or source.name == "hl7.fhir.r4.core" or sd.get("type") == "Extension":
            wanted.append(url)
    resources: dict[str, dict[str, Any]] = {}
    bound: set[str] = set()
    for url in wanted:
        sd = packages.get(url)
        assert sd is not None
        if not (sd.get("snapshot") or {}).get("element"):
            if profiles.tree(url) is None:
                print(f"skipped {url}: {profiles.problems.get(url)}")
                continue
            sd = with_snapshot(url, packages, profiles._snapshots) or sd  # remembered: not made twice
            if not (sd.get("snapshot") or {}).get("element"):
                print(f"skipped {url}: no snapshot")
                continue
        resources[url] = slim_sd(sd)
        for e in sd["snapshot"]["element"]:
            b = e.get("binding") or {}
            if b.get("strength") in ("required", "extensible") and isinstance(b.get("valueSet"), str):
                bound.add(b["valueSet"].split("|", 1)[0])
    # and every code system a package has whole: any Coding of it is checked, bound or not (as HL7 6.0.21 does)
    bound.update(u for u in packages.urls("CodeSystem") if (packages.get(u) or {}).get("content") in USABLE)
    queue = sorted(bound)
    seen: set[str] = set()
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        r = packages.get(url)
        if r is None:
            continue
        resources[url] = slim_terminology(r)
        if r.get("resourceType") == "ValueSet":
            compose = r.get("compose") or {}
            for part in (compose.get("include") or []) + (compose.get("exclude") or []):
                queue += [v.split("|", 1)[0] for v in part.get("valueSet") or []]
                if isinstance(part.get("system"), str):
                    queue.append(part["system"])
    manifest = [
        {
            "id": p.name,
            "version": p.version,
            "license": p.manifest.get("license", "CC0-1.0"),
            "sha256": sha256_of(p.folder),
        }
        for p in packages.packages
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    size = write_bundle(OUT, manifest, resources, parsed_constraints(resources.values()))
    kinds: dict[str, int] = {}
    for r in resources.values():
        kinds[r["resourceType"]] = kinds.get(r["resourceType"], 0) + 1
    print(
        f"{OUT.relative_to(ROOT)}: {len(resources)} resources {kinds}, {size} bytes of JSON, "
        f"{OUT.stat().st_size} compressed"
    )


if __name__ == "__main__":
    main()
