"""The requirement catalogue (``fixtures/requirements/*.json``): every rule a verdict can cite.

An entry holds the id, the source (an Afsprakenstelsel clause such as ``core.tknint.204``, a Nictiz assert,
a FHIR or RFC section), a paraphrase in our own words, and the checks that verify it. The checks are not
written in the file: a check names its requirements where it is registered, and the catalogue collects them
from the registry, so the link exists once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

from validatiestraat.scenarios import FIXTURES


@dataclass(frozen=True)
class Requirement:
    id: str
    source: str
    text: str
    checks: tuple[str, ...]


@cache
def catalogue() -> dict[str, Requirement]:
    from validatiestraat.checks.registry import all_checks

    verifying: dict[str, list[str]] = {}
    for chk in all_checks().values():
        for req in chk.requirements:
            verifying.setdefault(req, []).append(chk.id)
    found: dict[str, Requirement] = {}
    for path in sorted((FIXTURES / "requirements").glob("*.json")):
        for entry in json.loads(path.read_text("utf-8"))["requirements"]:
            if entry["id"] in found:
                raise ValueError(f"requirement {entry['id']} listed twice ({path.name})")
            found[entry["id"]] = Requirement(
                entry["id"], entry["source"], entry["text"], tuple(verifying.get(entry["id"], ()))
            )
    return found


def problems() -> list[str]:
    """What is wrong with the catalogue against the registry: unknown requirement ids cited by checks, and
    requirements no check verifies."""
    from validatiestraat.checks.registry import all_checks

    known = catalogue()
    issues = [
        f"check {c.id} cites unknown requirement {r}"
        for c in all_checks().values()
        for r in c.requirements
        if r not in known
    ]
    issues += [f"requirement {r.id} is verified by no check" for r in known.values() if not r.checks]
    return issues
