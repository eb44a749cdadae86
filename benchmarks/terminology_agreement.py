"""How often does ``Terminology`` say what HL7 6.0.21 said? For every binding and display issue in the cached HL7
verdicts (``benchmarks/.cache/hl7-verdicts.json``), find the coded element in the fixture (read at run time from
``../shared/fixtures-nictiz``), ask ``Terminology.check``/``validate_code`` and compare:

- "None of the codings provided are in the value set ..."                  -> every coding "not-in"
- "Unable to check whether the code is in the value set ..." (CodeableConcept),
  "Could not confirm that the codes provided are in the value set ..." (Coding/Quantity, extensible),
  "The code provided (...) is not in the value set ...: Unable to check ..." (Coding/Quantity, required),
  "Unable to validate code without using server because: Resolved system ..." (code, units-of-time)
                                                                            -> none "in", one "unknown"
- "Wrong Display Name ..." / "No valid Display Names ..."                   -> a display issue (same text)

    .venv/bin/python benchmarks/terminology_agreement.py
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from validatiestraat.fhir.formats import from_xml
from validatiestraat.fhir.packages import PackageSet
from validatiestraat.fhir.terminology import Terminology

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
VERDICTS = REPO / "benchmarks" / ".cache" / "hl7-verdicts.json"
ROOTS = [
    "nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7",
    "hl7.terminology#7.0.1",
    "hl7.fhir.uv.extensions#5.3.0-ballot-tc1",
]
UNITS_OF_TIME = "http://hl7.org/fhir/ValueSet/units-of-time"
KINDS: list[tuple[str, re.Pattern[str], str]] = [
    ("not-in", re.compile(r"^None of the codings provided are in the value set"), "not-in"),
    ("unable (CodeableConcept)", re.compile(r"^Unable to check whether the code is in the value set (\S+)"), "unknown"),
    ("could not confirm (extensible)", re.compile(r"^Could not confirm that the codes provided"), "unknown"),
    (
        "unable (required Coding)",
        re.compile(r"^The code provided \(.*\) is not in the value set .*Unable to check"),
        "unknown",
    ),
    (
        "incomplete system (code)",
        re.compile(r"^Unable to validate code without using server because: Resolved"),
        "unknown",
    ),
]
_URL = re.compile(r"\((http[^)|]+)(?:\|[^)]*)?\)")
_STEP = re.compile(r"^([A-Za-z_]+)(?:\[(\d+)\])?$")
_DISPLAY = re.compile(r"^Wrong Display Name '(.*)' for (\S+)#(\S+) - should be")
_NO_DISPLAY = re.compile(r"^No valid Display Names found for (\S+)#(\S+) in the languages (.*?)( for '.*')?$")


def navigate(resource: dict[str, Any], location: str) -> Any:
    """The element at an HL7 issue location (``Bundle.entry[0].resource/*T/id*/.x[0].value.ofType(Quantity)``)."""
    parts = [p for p in re.sub(r"/\*[^*]*\*/", "", location).split(".") if p][1:]
    node: Any = resource
    i = 0
    while i < len(parts):
        step = parts[i]
        if i + 1 < len(parts) and parts[i + 1].startswith("ofType("):
            kind = parts[i + 1][7:-1]
            step, i = step + kind[0].upper() + kind[1:], i + 1
        m = _STEP.match(step)
        if not m or not isinstance(node, dict):
            return None
        value = node.get(m.group(1))
        first = value[0] if isinstance(value, list) and value else value
        if i + 1 < len(parts) and not isinstance(first, dict):
            value = node.get("_" + m.group(1))  # a primitive's extensions
        if isinstance(value, list):
            index = int(m.group(2) or 0)
            value = value[index] if index < len(value) else None
        node, i = value, i + 1
        if node is None:
            return None
    return node


def codings(element: Any) -> list[tuple[str | None, str]]:
    if isinstance(element, str):
        return [(None, element)]
    if not isinstance(element, dict):
        return []
    if "coding" in element:
        return [(c.get("system"), c["code"]) for c in element["coding"] if isinstance(c.get("code"), str)]
    return [(element.get("system"), element["code"])] if isinstance(element.get("code"), str) else []


def main() -> int:
    if not VERDICTS.is_file() or not (SHARED / "fixtures-nictiz").is_dir():
        print(f"needs {VERDICTS} and {SHARED / 'fixtures-nictiz'}")
        return 2
    files = json.loads(VERDICTS.read_text(encoding="utf-8"))["files"]
    tx = Terminology(PackageSet.load(ROOTS, [SHARED / "fhir-packages"]).get)
    counts: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], str] = {}
    started = time.perf_counter()
    for name, verdict in files.items():
        resource: dict[str, Any] | None = None
        for issue in verdict["issues"]:
            message, location = issue["message"], issue["location"]
            if m := _DISPLAY.match(message) or _NO_DISPLAY.match(message):
                system, code, display = (m[2], m[3], m[1]) if message.startswith("Wrong") else (m[1], m[2], m[3])
                mine = tx.validate_code(system, code, display).display_issue
                same = mine is not None and (message.startswith(mine) or not message.startswith("Wrong"))
                counts[("display", "agree" if same else "differ")] += 1
                continue
            kind = next(((k, rx.search(message), want) for k, rx, want in KINDS if rx.search(message)), None)
            if kind is None:
                continue
            label, match, want = kind
            if label.startswith("unable (CodeableConcept)"):
                vs: str | None = match[1].split("|")[0]
            elif label.startswith("incomplete"):
                vs = UNITS_OF_TIME if location.endswith(("periodUnit", "durationUnit")) else None
            else:
                vs = m[1] if (m := _URL.search(message)) else None
            if resource is None:
                path = SHARED / "fixtures-nictiz" / name
                resource = json.loads(path.read_bytes()) if path.suffix == ".json" else from_xml(path.read_bytes())
            codes = codings(navigate(resource, location))
            if vs is None or not codes:
                counts[(label, "not found")] += 1
                continue
            statuses = {tx.check(vs, s, c).status for s, c in codes}
            if want == "not-in":
                got = "not-in" if statuses == {"not-in"} else "in" if "in" in statuses else "unknown"
            else:
                got = "in" if "in" in statuses else "unknown" if "unknown" in statuses else "not-in"
            counts[(label, "agree" if got == want else "differ")] += 1
            if got != want:
                examples.setdefault((label, vs), f"{name} {location}: HL7 {want}, ours {got}")
    for (label, outcome), n in sorted(counts.items()):
        print(f"{label:34} {outcome:9} {n:6}")
    for example in list(examples.values())[:20]:
        print("  ", example)
    print(f"{time.perf_counter() - started:.1f} s, {tx.stats}")
    return 1 if any(outcome == "differ" for _, outcome in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
