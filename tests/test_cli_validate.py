"""``validatiestraat validate`` and ``validatiestraat packages``: verdicts per file, JSON lines, exit codes, bad
input; with the packages the wheel carries, and with package caches."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CACHES = f"{SHARED / 'fhir-packages-snapshots'}:{SHARED / 'fhir-packages'}"

NO_SHARED = pytest.mark.skipif(
    not (SHARED / "fhir-packages").is_dir(),
    reason="../shared/fhir-packages (the FHIR package caches) is not beside the repo",
)


def run(*args: str, cwd: Path = ROOT, caches: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process; without ``caches`` (and with an empty home) it uses what the wheel carries."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd)}
    if caches:
        env["VALIDATIESTRAAT_FHIR_PACKAGES"] = caches
    return subprocess.run(
        [sys.executable, "-m", "validatiestraat", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"profile": ["http://nictiz.nl/fhir/StructureDefinition/nl-core-Patient"]},
    "gender": "female",
    "birthDate": "1970-01-31",
}


def test_valid_and_invalid_files_as_json_lines(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(PATIENT))
    (tmp_path / "bad.json").write_text(json.dumps({**PATIENT, "birthDate": "1970-02-30", "foo": 1}))
    done = run("validate", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = {Path(x["file"]).name: x for x in map(json.loads, done.stdout.splitlines())}
    assert lines["good.json"]["errors"] == 0 and lines["good.json"]["valid"] is True
    bad = lines["bad.json"]
    assert bad["errors"] == 2 and {i["rule"] for i in bad["issues"]} == {"type.primitive", "structure.unknown-element"}
    assert all(set(i) == {"severity", "location", "message", "rule"} for i in bad["issues"])
    assert run("validate", str(tmp_path / "good.json"), cwd=tmp_path).returncode == 0


def test_bad_input_is_an_error_issue_never_a_crash(tmp_path: Path) -> None:
    (tmp_path / "text.json").write_text("this is not json")
    (tmp_path / "broken.xml").write_text("<Patient xmlns='http://hl7.org/fhir'><id value='x'/>")
    (tmp_path / "unknown.json").write_text(json.dumps({"resourceType": "Dragon", "id": "x"}))
    (tmp_path / "deep.json").write_text('{"resourceType":"Patient","extension":' + "[" * 100_000 + "]" * 100_000 + "}")
    (tmp_path / "big.json").write_bytes(b'{"resourceType":"Binary","data":"' + b"A" * (50 * 1024 * 1024) + b'"}')
    (tmp_path / "array.json").write_text("[1, 2]")
    done = run("validate", "--format", "json", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = {Path(x["file"]).name: x for x in map(json.loads, done.stdout.splitlines())}
    rules = {name: lines[name]["issues"][0]["rule"] for name in lines}
    assert rules == {
        "text.json": "input.syntax",
        "broken.xml": "input.syntax",
        "unknown.json": "structure.resource-type",
        "deep.json": "input.nesting",
        "big.json": "input.size",
        "array.json": "input.resource",
    }
    assert all(lines[n]["errors"] >= 1 for n in lines)


def test_usage_errors(tmp_path: Path) -> None:
    assert run("validate", str(tmp_path / "absent.json"), cwd=tmp_path).returncode == 2
    assert run("validate", "--format", "yaml", str(tmp_path), cwd=tmp_path).returncode == 2


@NO_SHARED
def test_packages_from_the_caches_give_the_same_verdicts(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps({**PATIENT, "birthDate": "1970-02-30", "foo": 1}))
    bundled = run("validate", "--format", "json", str(tmp_path), cwd=tmp_path)
    cached = run("validate", "--format", "json", str(tmp_path), cwd=tmp_path, caches=CACHES)
    assert bundled.stdout == cached.stdout and bundled.returncode == cached.returncode == 1
    listed = run("packages", "list", cwd=tmp_path, caches=CACHES)
    assert listed.returncode == 0, listed.stderr
    assert "loaded by default: nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7" in listed.stdout
