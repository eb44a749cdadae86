"""The validator's verdict on random invalid mutants equals the HL7 validator's, without Java.

``benchmarks/mutation_agreement.py`` makes seeded one-change mutants of the project's own MP9 resources and runs
HL7 validator 6.0.21 (config B, ``-tx n/a``) over them; ``--export-verdicts`` wrote HL7's pass/fail per mutant, with
the mutant's SHA-256, to ``tests/data/hl7-mutant-verdicts.json``. This test makes the same mutants again (the
generator is deterministic), checks they are byte for byte the ones HL7 judged, and asserts that our validator, in
its ``--hl7-offline`` mode and with the packages the wheel carries, gives every one of them HL7's verdict.
After a change to the mutation generator, re-run the benchmark with ``--export-verdicts`` (it needs the HL7
validator); after a change to the validator, this test says whether it still agrees.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from validatiestraat.fhir.defaults import plugins
from validatiestraat.fhir.packages import BundledPackages
from validatiestraat.fhir.validator import Validator

REPO = Path(__file__).resolve().parents[1]
VERDICTS = REPO / "tests" / "data" / "hl7-mutant-verdicts.json"


@cache
def benchmark() -> Any:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import mutation_agreement

    return mutation_agreement


@cache
def validator() -> Validator:
    packages = BundledPackages()
    bindings, invariants = plugins(packages, hl7_offline=True)
    return Validator(packages, bindings=bindings, invariants=invariants)


def verdict(resource: dict[str, Any]) -> str:
    issues = validator().validate(resource)
    return "fail" if any(i.severity in ("error", "fatal") for i in issues) else "pass"


@cache
def mutants() -> tuple[dict[str, Any], list[Any], dict[str, dict[str, Any]]]:
    expected = json.loads(VERDICTS.read_text(encoding="utf-8"))
    ma = benchmark()
    originals = ma.own_originals()
    pools = ma._mutate.Pools()
    for label in sorted(originals):
        pools.learn(originals[label])
    pools.add_profiles(ma.profile_pool())
    made = list(ma._mutate.generate(originals, expected["count"], expected["seed"], pools))
    return expected, made, originals


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_mutants_are_the_ones_hl7_judged() -> None:
    expected, made, _ = mutants()
    assert {m.name for m in made} == set(expected["mutants"]) and len(made) == expected["count"]
    changed = [m.name for m in made if _sha(m.text) != expected["mutants"][m.name]["sha256"]]
    assert not changed, f"the generator changed: re-run mutation_agreement.py --export-verdicts ({changed[:3]})"


def test_the_originals_get_hl7s_verdict() -> None:
    expected, _, originals = mutants()
    ours = {label: verdict(resource) for label, resource in originals.items()}
    assert ours == expected["originals"]


def test_every_mutant_gets_hl7s_verdict() -> None:
    expected, made, _ = mutants()
    judged = [m for m in made if expected["originals"][m.original] == "pass"]
    assert len(judged) > 500
    wrong = []
    for m in judged:
        want = expected["mutants"][m.name]["hl7"]
        got = verdict(json.loads(m.text))
        if got != want:
            wrong.append(f"{m.name} {m.mutation.kind} {m.mutation.path}: HL7 {want}, ours {got}")
    kinds = Counter(expected["mutants"][m.name]["kind"] for m in judged)
    assert len(kinds) == 14 and not wrong, "\n".join(wrong)


@pytest.mark.parametrize("kind", ["delete", "unknown-element", "swap-code"])
def test_the_verdicts_hold_failures_and_passes(kind: str) -> None:
    """The stored verdicts are not all one way: each of these kinds has HL7 failures and HL7 passes among them."""
    expected, _, _ = mutants()
    seen = {v["hl7"] for v in expected["mutants"].values() if v["kind"] == kind}
    assert "fail" in seen and (kind == "unknown-element" or "pass" in seen)
