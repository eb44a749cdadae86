"""The MP9 dataset against the official HL7 FHIR validator (offline), via scripts/hl7-validate-dataset.sh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "hl7-validate-dataset.sh"


@pytest.mark.hl7validator
@pytest.mark.timeout(900)
def test_dataset_passes_hl7_validator():
    validator_dir = os.environ.get("HL7_VALIDATOR_DIR")
    if not validator_dir:
        pytest.skip(
            "HL7_VALIDATOR_DIR is not set: prepare the offline HL7 validator as in "
            "../shared/docs/hl7-validator-offline.md and point HL7_VALIDATOR_DIR at it"
        )
    if shutil.which("java") is None:
        pytest.skip("java is not on PATH; the HL7 validator needs a JRE (17+)")
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=880, check=False)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"HL7 validation failed (exit {proc.returncode}):\n{report}"
    assert "errors: 0," in proc.stdout, report
