"""Value-set membership and code-system checks (validatiestraat.fhir.terminology), decided as HL7 6.0.21 does
offline: small hand-made value sets and code systems for each composition rule, then the real packages, then the
HL7 verdicts over the Nictiz fixtures when they are cached."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from validatiestraat.fhir.terminology import Membership, Terminology

EX = "http://example.org/fhir"
CS = f"{EX}/CodeSystem/colours"
PARENTS = f"{EX}/CodeSystem/parents"
LOWER = f"{EX}/CodeSystem/lower"
FRAGMENT = f"{EX}/CodeSystem/fragment"
DUTCH = f"{EX}/CodeSystem/dutch"
STUB = "urn:oid:2.16.840.1.113883.2.4.4.1"
SNOMED = "http://snomed.info/sct"


def _concept(code: str, display: str, *children: dict[str, Any], **extra: Any) -> dict[str, Any]:
    concept: dict[str, Any] = {"code": code, "display": display, **extra}
    if children:
        concept["concept"] = list(children)
    return concept


def _vs(name: str, *include: dict[str, Any], exclude: tuple[dict[str, Any], ...] = (), **extra: Any) -> dict[str, Any]:
    compose: dict[str, Any] = {"include": list(include)}
    if exclude:
        compose["exclude"] = list(exclude)
    return {"resourceType": "ValueSet", "url": f"{EX}/ValueSet/{name}", "compose": compose, **extra}


RESOURCES: list[dict[str, Any]] = [
    {
        "resourceType": "CodeSystem",
        "url": CS,
        "version": "1.0",
        "content": "complete",
        "caseSensitive": True,
        "property": [{"code": "status", "type": "code"}, {"code": "warm", "type": "boolean"}],
        "concept": [
            _concept(
                "red",
                "Red",
                _concept("crimson", "Crimson", _concept("scarlet", "Scarlet")),
                _concept("rose", "Rose", property=[{"code": "status", "valueCode": "retired"}]),
                property=[{"code": "warm", "valueBoolean": True}],
                designation=[
                    {"language": "nl", "value": "Rood"},
                    {"value": "Ruby red"},
                    {"language": "en", "value": "Cherry"},
                ],
            ),
            _concept("blue", "Blue", property=[{"code": "warm", "valueBoolean": False}]),
            _concept("green", "Green"),
        ],
    },
    {  # hierarchy through a property with the FHIR "parent" uri (as THO's subsumedBy)
        "resourceType": "CodeSystem",
        "url": PARENTS,
        "content": "complete",
        "property": [{"code": "subsumedBy", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code"}],
        "concept": [
            _concept("animal", "Animal"),
            _concept("dog", "Dog", property=[{"code": "subsumedBy", "valueCode": "animal"}]),
            _concept("puppy", "Puppy", property=[{"code": "subsumedBy", "valueCode": "dog"}]),
        ],
    },
    {
        "resourceType": "CodeSystem",
        "url": LOWER,
        "content": "complete",
        "caseSensitive": False,
        "concept": [_concept("abc", "Abc")],
    },
    {"resourceType": "CodeSystem", "url": FRAGMENT, "content": "fragment", "concept": [_concept("f1", "F one")]},
    {
        "resourceType": "CodeSystem",
        "url": DUTCH,
        "language": "nl-NL",
        "content": "complete",
        "concept": [_concept("z", "Ziekenhuis")],
    },
    {"resourceType": "CodeSystem", "url": STUB, "title": "G-Standaard GPK", "content": "not-present"},
    _vs("explicit", {"system": CS, "concept": [{"code": "red"}, {"code": "blue"}]}),
    _vs("whole", {"system": CS}),
    _vs("ghost", {"system": CS, "concept": [{"code": "red"}, {"code": "purple"}]}),
    _vs("import-and-system", {"system": CS, "valueSet": [f"{EX}/ValueSet/explicit"]}),
    _vs("is-a", {"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "crimson"}]}),
    _vs("descendent-of", {"system": CS, "filter": [{"property": "concept", "op": "descendent-of", "value": "red"}]}),
    _vs("is-not-a", {"system": CS, "filter": [{"property": "concept", "op": "is-not-a", "value": "red"}]}),
    _vs("regex", {"system": CS, "filter": [{"property": "code", "op": "regex", "value": "r.*"}]}),
    _vs("status", {"system": CS, "filter": [{"property": "status", "op": "=", "value": "retired"}]}),
    _vs("warm", {"system": CS, "filter": [{"property": "warm", "op": "=", "value": "true"}]}),
    _vs("has-warm", {"system": CS, "filter": [{"property": "warm", "op": "exists", "value": "true"}]}),
    _vs("concept-in", {"system": CS, "filter": [{"property": "concept", "op": "in", "value": "red,blue"}]}),
    _vs("undeclared", {"system": CS, "filter": [{"property": "colourfulness", "op": "=", "value": "x"}]}),
    _vs("parents", {"system": PARENTS, "filter": [{"property": "concept", "op": "is-a", "value": "dog"}]}),
    _vs("lower", {"system": LOWER}),
    _vs("fragment", {"system": FRAGMENT}),
    _vs("snomed", {"system": SNOMED, "concept": [{"code": "248153007"}]}),
    _vs("gstandaard", {"system": STUB}),
    _vs("import-both", {"valueSet": [f"{EX}/ValueSet/whole", f"{EX}/ValueSet/explicit"]}),
    _vs("import-unknown", {"valueSet": [f"{EX}/ValueSet/gstandaard"]}),
    _vs("import-missing", {"valueSet": [f"{EX}/ValueSet/nowhere"]}),
    _vs("union", {"valueSet": [f"{EX}/ValueSet/explicit"]}, {"system": SNOMED}),
    _vs("excluded", {"system": CS}, exclude=({"system": CS, "concept": [{"code": "green"}]},)),
    _vs("exclude-unknown", {"system": CS}, exclude=({"system": SNOMED},)),
    _vs("versioned", {"system": CS, "version": "9.9"}),
    _vs("two-systems", {"system": CS, "concept": [{"code": "red"}]}, {"system": LOWER}),
    _vs("ambiguous", {"system": CS, "concept": [{"code": "abc"}]}, {"system": LOWER}),
    {
        "resourceType": "ValueSet",
        "url": f"{EX}/ValueSet/expanded",
        "compose": {"include": [{"system": SNOMED}]},
        "expansion": {"contains": [{"system": SNOMED, "code": "1", "contains": [{"system": SNOMED, "code": "2"}]}]},
    },
]


class Resolver:
    """``PackageSet.get`` stand-in that counts look-ups (memoization must keep them to one per URL)."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.by_url = {r["url"]: r for r in resources}
        self.calls: dict[str, int] = {}

    def __call__(self, url: str) -> dict[str, Any] | None:
        self.calls[url] = self.calls.get(url, 0) + 1
        return self.by_url.get(url) or self.by_url.get(url.split("|", 1)[0])


@pytest.fixture
def tx() -> Terminology:
    return Terminology(Resolver(RESOURCES))


def vs(name: str) -> str:
    return f"{EX}/ValueSet/{name}"


@pytest.mark.parametrize(
    ("name", "code", "status"),
    [
        ("explicit", "red", "in"),
        ("explicit", "green", "not-in"),  # in the code system, not in the list
        ("explicit", "purple", "not-in"),
        ("ghost", "purple", "not-in"),  # listed, but the (complete) code system does not have it
        ("import-and-system", "blue", "in"),  # system and import: both must hold
        ("import-and-system", "green", "not-in"),
        ("whole", "scarlet", "in"),  # nested concepts belong to the system
        ("whole", "Red", "not-in"),  # case-sensitive code system
        ("is-a", "crimson", "in"),
        ("is-a", "scarlet", "in"),
        ("is-a", "red", "not-in"),
        ("descendent-of", "red", "not-in"),
        ("descendent-of", "scarlet", "in"),
        ("is-not-a", "blue", "in"),
        ("is-not-a", "rose", "not-in"),
        ("regex", "rose", "in"),
        ("regex", "green", "not-in"),  # regex matches the whole code
        ("status", "rose", "in"),
        ("status", "red", "not-in"),
        ("warm", "red", "in"),
        ("warm", "blue", "not-in"),
        ("has-warm", "blue", "in"),
        ("has-warm", "green", "not-in"),
        ("parents", "puppy", "in"),  # hierarchy from the parent property
        ("parents", "animal", "not-in"),
        ("lower", "ABC", "in"),  # caseSensitive: false
        ("fragment", "f1", "in"),
        ("fragment", "f2", "not-in"),
        ("import-both", "red", "in"),  # intersection of the imports
        ("import-both", "green", "not-in"),
        ("union", "red", "in"),
        ("excluded", "green", "not-in"),
        ("excluded", "red", "in"),
        ("exclude-unknown", "red", "in"),  # an undecidable exclude does not undo an "in" (6.0.21)
        ("versioned", "red", "in"),  # a version we do not have: the one we have is used
    ],
)
def test_composition_rules(tx: Terminology, name: str, code: str, status: str) -> None:
    system = {"parents": PARENTS, "lower": LOWER, "fragment": FRAGMENT}.get(name, CS)
    assert tx.check(vs(name), system, code).status == status


def test_other_system_is_not_in(tx: Terminology) -> None:
    assert tx.check(vs("whole"), LOWER, "abc").status == "not-in"
    assert tx.check(vs("whole"), None, "red").status == "in"  # a bare code takes the value set's only system


def test_code_system_without_codes_is_unknown_with_reason(tx: Terminology) -> None:
    m = tx.check(vs("snomed"), SNOMED, "248153007")  # even when the value set lists the code itself
    assert (m.status, m.cause, m.systems) == ("unknown", "code-system", (SNOMED,))
    assert m.reason == f"code system {SNOMED} is not available without a terminology server"
    stub = tx.check(vs("gstandaard"), STUB, "12345")
    assert stub.status == "unknown"
    assert "G-Standaard" in stub.reason and "content=not-present" in stub.reason
    assert tx.check(vs("union"), SNOMED, "1").status == "unknown"
    assert tx.check(vs("union"), CS, "red").status == "in"
    assert tx.check(vs("exclude-unknown"), SNOMED, "1").status == "unknown"  # an undecidable exclude


def test_imported_value_set_that_cannot_be_checked_counts_as_not_in(tx: Terminology) -> None:
    """6.0.21's inImport maps "cannot tell" to false: the Nictiz *Codelijsten value sets fail this way."""
    m = tx.check(vs("import-unknown"), STUB, "12345")
    assert (m.status, m.cause, m.systems) == ("not-in", "import", (STUB,))
    assert vs("gstandaard") in m.reason and "cannot be checked" in m.reason
    assert tx.check(vs("import-missing"), CS, "red").status == "not-in"


def test_filters_hl7_cannot_evaluate_are_unknown(tx: Terminology) -> None:
    for name in ("concept-in", "undeclared"):
        m = tx.check(vs(name), CS, "red")
        assert (m.status, m.cause) == ("unknown", "filter"), name
        assert "cannot be evaluated" in m.reason


def test_expansion_decides_alone(tx: Terminology) -> None:
    assert tx.check(vs("expanded"), SNOMED, "2").status == "in"  # nested contains
    assert tx.check(vs("expanded"), SNOMED, "3").status == "not-in"  # not "unknown": the expansion is the answer


def test_value_set_not_found(tx: Terminology) -> None:
    m = tx.check(vs("nowhere"), CS, "red")
    assert (m.status, m.cause, m.reason) == ("unknown", "value-set", f"value set {vs('nowhere')} not found")


def test_bare_codes_get_their_system_from_the_value_set(tx: Terminology) -> None:
    assert tx.check(vs("two-systems"), None, "abc").status == "in"  # found in one system only
    assert tx.check(vs("two-systems"), None, "red").status == "in"
    ambiguous = tx.check(vs("ambiguous"), None, "abc")  # listed under CS and present in LOWER
    assert (ambiguous.status, ambiguous.cause) == ("not-in", "no-system")
    assert "Unable to resolve system" in ambiguous.reason
    assert tx.check(vs("two-systems"), None, "purple").status == "not-in"


def test_displays(tx: Terminology) -> None:
    assert tx.check(vs("whole"), CS, "red", "RED").display_issue is None  # case-insensitive
    assert tx.check(vs("whole"), CS, "red", "Cherry").display_issue is None  # an "en" designation
    assert tx.check(vs("whole"), CS, "red", "Ruby red").display_issue is None  # a designation without language
    wrong = tx.check(vs("whole"), CS, "red", "Rood")  # Dutch: not accepted for "en", as in 6.0.21
    assert wrong.status == "in"
    assert wrong.display_issue == (
        f"Wrong Display Name 'Rood' for {CS}#red - should be one of 3 choices: 'Red', 'Ruby red' or 'Cherry' "
        "(for the language(s) 'en')"
    )
    assert tx.check(vs("whole"), CS, "blue", "Bleu").display_issue == (
        f"Wrong Display Name 'Bleu' for {CS}#blue - should be one of 1 choices: 'Blue' (for the language(s) 'en')"
    )
    assert tx.validate_code(DUTCH, "z", "Ziekenhuis").display_issue == (
        f"No valid Display Names found for {DUTCH}#z in the language en"
    )
    assert tx.check(vs("snomed"), SNOMED, "248153007", "whatever").display_issue is None  # nothing to compare to
    anything = Terminology(Resolver(RESOURCES), display_languages=None)
    assert anything.validate_code(CS, "red", "rood").display_issue is None
    assert anything.validate_code(DUTCH, "z", "Ziekenhuis").display_issue is None


def test_validate_code(tx: Terminology) -> None:
    assert tx.validate_code(CS, "scarlet") == Membership("in")
    assert tx.validate_code(CS, "purple") == Membership("not-in", f"Unknown Code 'purple' in the system '{CS}'")
    assert tx.validate_code(FRAGMENT, "f2").status == "unknown"
    assert tx.validate_code(SNOMED, "1").status == "unknown"
    assert tx.validate_code(STUB, "1").cause == "code-system"
    assert tx.validate_code(LOWER, "ABC").ok


def test_expand(tx: Terminology) -> None:
    assert tx.expand(vs("explicit")) == {(CS, "red"), (CS, "blue")}
    assert tx.expand(vs("is-a")) == {(CS, "crimson"), (CS, "scarlet")}
    assert tx.expand(vs("excluded")) == {(CS, c) for c in ("red", "crimson", "scarlet", "rose", "blue")}
    assert tx.expand(vs("import-both")) == {(CS, "red"), (CS, "blue")}
    assert tx.expand(vs("expanded")) == {(SNOMED, "1"), (SNOMED, "2")}
    for name in ("snomed", "import-unknown", "concept-in", "fragment", "nowhere"):
        assert tx.expand(vs(name)) is None, name


def test_memoized() -> None:
    resolver = Resolver(RESOURCES)
    tx = Terminology(resolver)
    first = tx.check(vs("import-both"), CS, "red")
    for _ in range(1000):
        assert tx.check(vs("import-both"), CS, "red") is first
    tx.check(vs("import-both"), CS, "blue")
    assert max(resolver.calls.values()) == 1
    assert tx.stats["checks"] == 2


# ---------------------------------------------------------------------------------------------- real packages

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PACKAGES = SHARED / "fhir-packages"
ROOTS = [
    "nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7",
    "hl7.terminology#7.0.1",
    "hl7.fhir.uv.extensions#5.3.0-ballot-tc1",
]
V3_GENDER = "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender"
GESLACHT = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.40.2.0.1.1--20200901000000"
INGREDIENT = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.121.11.13--20200901000000"
GPK = "http://decor.nictiz.nl/fhir/ValueSet/2.16.840.1.113883.2.4.3.11.60.40.2.9.7.9--20200901000000"


@pytest.fixture(scope="module")
def real() -> Terminology:
    if not all((PACKAGES / r).is_dir() for r in ROOTS):
        pytest.skip(f"FHIR packages not found in {PACKAGES} (the shared corpus beside the repo)")
    from validatiestraat.fhir.packages import PackageSet

    return Terminology(PackageSet.load(ROOTS, [PACKAGES]).get)


def test_administrative_gender(real: Terminology) -> None:
    url = "http://hl7.org/fhir/ValueSet/administrative-gender"
    assert real.check(url, "http://hl7.org/fhir/administrative-gender", "female").ok
    assert real.check(url, None, "unknown").ok  # a bare code (Patient.gender)
    assert real.check(url, None, "M").status == "not-in"
    assert real.check(url, None, "Male").status == "not-in"


def test_zib_value_set_with_explicit_concepts(real: Terminology) -> None:
    assert real.check(GESLACHT, V3_GENDER, "M").ok
    assert real.check(GESLACHT, "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "UNK").ok
    assert real.check(GESLACHT, "http://terminology.hl7.org/CodeSystem/v3-NullFlavor", "OTH").status == "not-in"


def test_g_standaard(real: Terminology) -> None:
    direct = real.check(GPK, "urn:oid:2.16.840.1.113883.2.4.4.1", "12345")
    assert (direct.status, direct.cause) == ("unknown", "code-system")
    assert "G-Standaard" in direct.reason and "terminology server" in direct.reason
    codelijsten = real.check(INGREDIENT, "urn:oid:2.16.840.1.113883.2.4.4.1", "12345")
    assert (codelijsten.status, codelijsten.cause) == ("not-in", "import")  # HL7 6.0.21 reports an error here
    assert "urn:oid:2.16.840.1.113883.2.4.4.1" in codelijsten.systems


def test_ucum_and_snomed(real: Terminology) -> None:
    cm = real.check("http://hl7.org/fhir/ValueSet/ucum-bodylength", "http://unitsofmeasure.org", "cm")
    assert (cm.status, cm.cause) == ("unknown", "code-system")  # listed, but UCUM itself is a stub
    assert real.check("http://hl7.org/fhir/ValueSet/units-of-time", None, "d").status == "unknown"
    assert real.validate_code("http://snomed.info/sct", "248153007").status == "unknown"


def test_dutch_display_of_v3_code(real: Terminology) -> None:
    m = real.validate_code(V3_GENDER, "M", "Man")
    assert m.ok
    assert m.display_issue == (
        f"Wrong Display Name 'Man' for {V3_GENDER}#M - should be one of 1 choices: 'Male' (for the language(s) 'en')"
    )
    assert real.validate_code(V3_GENDER, "M", "male").display_issue is None
    assert real.check(GESLACHT, V3_GENDER, "F", "Vrouw").display_issue is not None


# ------------------------------------------------------------------------------------- HL7 6.0.21 verdicts

VERDICTS = Path(__file__).resolve().parents[1] / "benchmarks" / ".cache" / "hl7-verdicts.json"
_CODES = re.compile(r"\(codes = ([^)]*)\)$")
_NOT_IN = re.compile(r"^None of the codings provided are in the value set '[^']*' \((http[^|)]+)")
_UNABLE = re.compile(
    r"^The code provided \(([^#)]+)#([^)]+)\) is not in the value set '[^']*' \((http[^|)]+).*Unable to check"
)
_DISPLAY = re.compile(r"^Wrong Display Name '(.*)' for (\S+)#(\S+) - should be")


def test_agrees_with_hl7_binding_and_display_issues(real: Terminology) -> None:
    """Every HL7 issue that names the value set and the codes: "None of the codings provided are in the value set"
    (not-in), "The code provided (...) ... Unable to check" (unknown), "Wrong Display Name" (same text)."""
    if not VERDICTS.is_file():
        pytest.skip(f"HL7 verdicts not cached at {VERDICTS} (made by the HL7 validator benchmark)")
    files = json.loads(VERDICTS.read_text(encoding="utf-8"))["files"]
    seen = {"not-in": 0, "unknown": 0, "display": 0}
    for name, verdict in files.items():
        for issue in verdict["issues"]:
            message = issue["message"]
            if (m := _NOT_IN.match(message)) and (codes := _CODES.search(message)):
                for coding in codes.group(1).split(", "):
                    system, _, code = coding.rpartition("#")
                    assert real.check(m.group(1), system or None, code).status == "not-in", (name, message)
                seen["not-in"] += 1
            elif m := _UNABLE.match(message):
                assert real.check(m.group(3), m.group(1), m.group(2)).status == "unknown", (name, message)
                seen["unknown"] += 1
            elif m := _DISPLAY.match(message):
                issue_text = real.validate_code(m.group(2), m.group(3), m.group(1)).display_issue
                assert issue_text is not None and message.startswith(issue_text), (name, message)
                seen["display"] += 1
    assert all(seen.values()), seen
