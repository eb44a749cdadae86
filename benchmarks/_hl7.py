"""The official HL7 FHIR validator (6.0.21, offline) as an oracle: run it once over many folders, parse its verdicts.

The validator directory is prepared as in ../shared/docs/hl7-validator-offline.md: ``<dir>/lib/*.jar`` (the
org.hl7.fhir.core jars) and ``<dir>/home/.fhir/packages`` (the package cache). Used by validator_agreement.py.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

IG = "nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7"
ARGS = ["-version", "4.0.1", "-tx", "n/a", "-ig", IG, "-display-issues-are-warnings"]
MAIN_CLASS = "org.hl7.fhir.validation.ValidatorCli"
FILE_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"
LINE_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line"
FAILING = ("error", "fatal")


class SetupError(RuntimeError):
    """The validator cannot be run here (no directory, no jars, no java)."""


def validator_dir(explicit: str | None = None) -> Path:
    """The prepared validator directory: ``explicit`` or $HL7_VALIDATOR_DIR, checked for jars and java."""
    raw = explicit or os.environ.get("HL7_VALIDATOR_DIR")
    if not raw:
        raise SetupError(
            "HL7_VALIDATOR_DIR is not set: prepare the offline HL7 validator as in "
            "../shared/docs/hl7-validator-offline.md and point HL7_VALIDATOR_DIR (or --hl7-dir) at it"
        )
    d = Path(raw).resolve()
    if not any((d / "lib").glob("*.jar")):
        raise SetupError(f"no validator jars in {d / 'lib'}")
    if not (d / "home" / ".fhir" / "packages").is_dir():
        raise SetupError(f"no package cache at {d / 'home' / '.fhir' / 'packages'}")
    if shutil.which("java") is None:
        raise SetupError("java is not on PATH; the HL7 validator needs a JRE (17+)")
    return d


def command(vdir: Path, inputs: list[Path], output: Path) -> list[str]:
    """The java command line validating ``inputs`` (files, or folders read one level deep) into ``output``."""
    return [
        "java",
        f"-Duser.home={vdir / 'home'}",
        "-cp",
        f"{vdir / 'lib'}/*",
        MAIN_CLASS,
        *map(str, inputs),
        *ARGS,
        "-output",
        str(output),
    ]


@dataclass
class Run:
    wall_seconds: float
    cpu_seconds: float  # user + sys of the JVM: less sensitive than wall time to other load on the machine
    returncode: int
    argv: list[str]
    times: dict[str, float]  # the validator's own "Done. Times: Loading: …, validation: …", in seconds


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _seconds(mmss: str) -> float:
    minutes, seconds = mmss.split(":")
    return int(minutes) * 60 + float(seconds)


def own_times(log_text: str) -> dict[str, float]:
    m = re.search(r"Done\. Times: Loading: ([\d:.]+), validation: ([\d:.]+)", log_text)
    return {"loading": _seconds(m[1]), "validation": _seconds(m[2])} if m else {}


def run(vdir: Path, inputs: list[Path], output: Path, log: Path) -> Run:
    """One validator invocation (one JVM) over ``inputs``; wall time includes JVM start and package loading.

    The exit code says nothing reliable about the verdicts; read ``output`` (a Bundle of OperationOutcomes).
    """
    argv = command(vdir, inputs, output)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as fh:
        cpu, start = children_cpu(), time.perf_counter()
        proc = subprocess.run(argv, stdout=fh, stderr=subprocess.STDOUT, check=False)
        wall, cpu = time.perf_counter() - start, children_cpu() - cpu
    text = log.read_text(encoding="utf-8", errors="replace")
    if not output.is_file() or output.stat().st_size == 0:
        tail = "\n".join(text.splitlines()[-40:])
        raise SetupError(f"the HL7 validator wrote no output (exit {proc.returncode}); end of {log}:\n{tail}")
    return Run(wall, cpu, proc.returncode, argv, own_times(text))


def issue_of(raw: dict) -> dict:
    """One OperationOutcome.issue as {severity, location, message, line}."""
    where = raw.get("expression") or raw.get("location") or []
    line = next((x.get("valueInteger") for x in raw.get("extension", []) if x.get("url") == LINE_EXT), None)
    return {
        "severity": raw.get("severity", ""),
        "location": ", ".join(where),
        "message": (raw.get("details") or {}).get("text") or raw.get("diagnostics") or "",
        "line": line,
    }


def parse_output(doc: dict) -> dict[str, list[dict]]:
    """The validator's ``-output`` document as {file name as the validator wrote it: issues}.

    Several inputs give a Bundle of OperationOutcomes, one input a single OperationOutcome; each carries the
    operationoutcome-file extension. The validator's "All OK" information issue is kept like any other.
    """
    bundle = doc.get("resourceType") == "Bundle"
    outcomes = [e.get("resource", {}) for e in doc.get("entry", [])] if bundle else [doc]
    result: dict[str, list[dict]] = {}
    for oo in outcomes:
        name = next((x.get("valueString") for x in oo.get("extension", []) if x.get("url") == FILE_EXT), None)
        if name is None:
            continue
        result[name] = [issue_of(i) for i in oo.get("issue", [])]
    return result


def verdict(issues: list[dict]) -> dict:
    """Per-file summary: pass = no issue of severity error or fatal."""
    errors = sum(1 for i in issues if i["severity"] in FAILING)
    return {
        "pass": errors == 0,
        "errors": errors,
        "warnings": sum(1 for i in issues if i["severity"] == "warning"),
        "issues": issues,
    }
