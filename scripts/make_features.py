"""Generate the Gherkin features (features/<role>/*.feature, in Dutch) from the scenario data.

    .venv/bin/python scripts/make_features.py            # (re)write the feature files
    .venv/bin/python scripts/make_features.py --check    # exit 1 when a feature file is not what this script makes

A scenario is defined once, as data (fixtures/scenarios/<role>/*.json). The features only list its cases, so
that behave runs exactly the cases pytest runs (tests/test_frontends.py checks this). One feature per scenario
kind (``mp9-search`` -> mp9.feature, ``probe`` -> protocol.feature); one ``Abstract Scenario`` (Scenario Outline)
per feature for the cases with a variant and one for those without; one ``Voorbeelden`` section per MP9 block
or probe family, tagged with it (``behave features/dva --tags=@MA``, ``--tags=@tls``).
"""

from __future__ import annotations

import sys
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from validatiestraat.scenarios import Scenario, load  # noqa: E402

FEATURES = ROOT / "features"
HEADER = "# Gegenereerd door scripts/make_features.py uit fixtures/scenarios/{role}/*.json: niet met de hand bewerken."

#: per scenario kind: the feature file name, the feature-level tag, its title and description
KINDS: dict[str, tuple[str, str, list[str]]] = {
    "mp9-search": (
        "mp9",
        "Functionaliteit: de DVA levert MP9 3.0-medicatiegegevens",
        [
            "Een PGO vraagt namens een testpatiënt medicatiegegevens op bij de te keuren DVA, in JSON en in XML;",
            "de straat keurt elk antwoord met dezelfde checks als de pytest-suite (suites/dva).",
        ],
    ),
    "probe": (
        "protocol",
        "Functionaliteit: de DVA volgt het MedMij-protocol (OAuth, TLS, lijsten)",
        [
            "De straat beproeft de autorisatieserver en de FHIR-server van de te keuren DVA zoals een (kwaadwillende)",
            "PGO dat zou doen; dezelfde checks als de pytest-suite (suites/dva) beoordelen de antwoorden.",
        ],
    ),
}

GIVEN = "Gegeven de straat met de te keuren DVA"
WHEN_VARIANT = 'Als de PGO scenario "<scenario>" in <formaat> uitvoert'
WHEN_PLAIN = 'Als de PGO scenario "<scenario>" uitvoert'
THEN = "Dan keurt de straat het goed"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|")


def _group(scenario: Scenario) -> str:
    """The Voorbeelden section of a scenario: its MP9 block, or its probe family (``oauth`` of ``oauth.code-reuse``)."""
    return scenario.block or (scenario.probe or scenario.id).split(".", 1)[0]


def _table(header: list[str], rows: list[list[str]], indent: str) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        indent + "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in [header, *rows]
    ]


def _outline(scenarios: list[Scenario], with_variant: bool) -> list[str]:
    name = "<scenario>[<formaat>] — <titel>" if with_variant else "<scenario> — <titel>"
    lines = [f"  Abstract Scenario: {name}", f"    {GIVEN}", f"    {WHEN_VARIANT if with_variant else WHEN_PLAIN}"]
    lines.append(f"    {THEN}")
    header = ["scenario", "formaat", "titel"] if with_variant else ["scenario", "titel"]
    for group, members in groupby(scenarios, key=_group):
        rows = [
            [s.id, str(v), _cell(s.title)] if with_variant else [s.id, _cell(s.title)]
            for s in members
            for v in s.variants
        ]
        lines += ["", f"    @{group}", f"    Voorbeelden: {group}", *_table(header, rows, "      ")]
    return lines


def render(role: str = "dva") -> dict[str, str]:
    """File name -> text of every feature file of ``role``."""
    out: dict[str, str] = {}
    scenarios = load(role)
    for kind in dict.fromkeys(s.kind for s in scenarios):
        name, title, description = KINDS.get(kind, (kind, f"Functionaliteit: {kind}", []))
        of_kind = [s for s in scenarios if s.kind == kind]
        lines = ["# language: nl", HEADER.format(role=role), f"@{role} @{name}", title]
        lines += [f"  {d}" for d in description]
        for with_variant in (True, False):
            chosen = [s for s in of_kind if (s.variants != (None,)) == with_variant]
            if chosen:
                lines += ["", *_outline(chosen, with_variant)]
        out[f"{name}.feature"] = "\n".join(lines) + "\n"
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    role = "dva"
    folder = FEATURES / role
    wanted = render(role)
    stale = sorted(p.name for p in folder.glob("*.feature") if p.name not in wanted) if folder.is_dir() else []
    differ = [n for n, text in wanted.items() if not (folder / n).is_file() or (folder / n).read_text("utf-8") != text]
    if check:
        for n in differ:
            print(f"{folder / n} is not what scripts/make_features.py makes (run it)")
        for n in stale:
            print(f"{folder / n} has no scenarios in the data (delete it)")
        return 1 if differ or stale else 0
    folder.mkdir(parents=True, exist_ok=True)
    for n in differ:
        (folder / n).write_text(wanted[n], "utf-8")
        print(f"wrote {folder / n}")
    for n in stale:
        (folder / n).unlink()
        print(f"removed {folder / n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
