"""Build ``r4_elements.json``: the element table of FHIR R4 4.0.1 that the JSON ⇄ XML converter needs.

Run once against the (CC0) package ``hl7.fhir.r4.core#4.0.1``::

    python -m validatiestraat.fhir.build_r4_elements <path to hl7.fhir.r4.core#4.0.1/package>

For every resource, complex data type and backbone element it records its child elements in definition
order (XML needs that order): the JSON name (choice types expanded), the type (a backbone element is named
by its path), whether it repeats and whether XML writes it as an attribute.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).with_name("r4_elements.json")
_FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
_JSON_KIND = {"boolean": "bool", "integer": "int", "positiveInt": "int", "unsignedInt": "int", "decimal": "dec"}


def _type_code(t: dict) -> str:
    code = t["code"]
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext["url"] == _FHIR_TYPE_EXT:
                return ext["valueUrl"]
        return "string"
    return code


def _elements(sd: dict) -> dict[str, list[list]]:
    elements = sd["snapshot"]["element"]
    paths = [e["path"] for e in elements]
    table: dict[str, list[list]] = {}
    for e in elements:
        path = e["path"]
        if "." not in path:
            continue
        parent, name = path.rsplit(".", 1)
        repeats = 1 if e.get("max") != "1" else 0
        attr = 1 if "xmlAttr" in e.get("representation", []) else 0
        rows = table.setdefault(parent, [])
        if "contentReference" in e:
            rows.append([name, e["contentReference"].lstrip("#"), repeats, attr])
            continue
        codes = [_type_code(t) for t in e.get("type", [])]
        has_children = any(p.startswith(path + ".") for p in paths)
        if has_children and codes in (["BackboneElement"], ["Element"]):
            rows.append([name, path, repeats, attr])
        elif name.endswith("[x]"):
            for code in codes:
                rows.append([name[:-3] + code[0].upper() + code[1:], code, repeats, attr])
        else:
            rows.append([name, codes[0], repeats, attr])
    return table


def build(package: Path) -> dict:
    types: dict[str, list[list]] = {}
    primitives: dict[str, str] = {}
    resources: list[str] = []
    for f in sorted(package.glob("StructureDefinition-*.json")):
        sd = json.loads(f.read_text(encoding="utf-8"))
        if sd.get("derivation") == "constraint" or sd.get("kind") == "logical":
            continue
        if sd["kind"] == "primitive-type":
            primitives[sd["type"]] = _JSON_KIND.get(sd["type"], "str")
            continue
        if sd["kind"] == "resource" and not sd.get("abstract"):
            resources.append(sd["type"])
        types.update(_elements(sd))
    return {
        "source": "hl7.fhir.r4.core#4.0.1 (CC0), StructureDefinition snapshots",
        "primitives": primitives,
        "resources": sorted(resources),
        "types": types,
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(Path(sys.argv[1])), separators=(",", ":")), encoding="utf-8")
    print(f"wrote {OUT}")
