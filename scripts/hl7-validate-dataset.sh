#!/usr/bin/env bash
# Validate the project's MP9 dataset (fixtures/mp9/resources) with the official HL7 FHIR validator, offline.
#
# HL7_VALIDATOR_DIR: a validator directory prepared as in ../shared/docs/hl7-validator-offline.md
#   ($HL7_VALIDATOR_DIR/lib/*.jar = org.hl7.fhir.core jars, $HL7_VALIDATOR_DIR/home/.fhir/packages = package cache
#   with hl7.fhir.r4.core#4.0.1 and the MP9 2.0.0-rc.7 chain).
# T_DATE (optional, YYYY-MM-DD): the date T the ${DATE, T, ...} placeholders are expanded against; default today.
# PYTHON (optional): the interpreter with validatiestraat importable; default .venv/bin/python of this repo.
# KEEP_DIR (optional): copy the expanded resources and the validator output there.
#
# STRICT (optional): 1 = also count the offline-undecidable G-Standaard errors (below) as errors.
#
# Prints a summary (files, errors, warnings, warning kinds, every error) and exits 1 on any error or fatal issue,
# 2 on a setup problem.
#
# One kind of error is set apart, not counted: with -tx n/a the validator cannot expand the value set
# IngredientCodeCodelijsten (a required binding on Medication.ingredient.item that includes whole G-Standaard code
# systems it does not have), so every G-Standaard ingredient code is reported as "not in the value set", whatever
# the code. It is the required-binding twin of the G-Standaard membership warnings. These issues are listed as
# "offline-undecidable" and fail the run only with STRICT=1.
set -euo pipefail

if [[ -z "${HL7_VALIDATOR_DIR:-}" ]]; then
  echo "HL7_VALIDATOR_DIR is not set (see ../shared/docs/hl7-validator-offline.md)" >&2
  exit 2
fi
if ! compgen -G "$HL7_VALIDATOR_DIR/lib/*.jar" >/dev/null; then
  echo "no validator jars in $HL7_VALIDATOR_DIR/lib" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
T=${T_DATE:-$(date +%F)}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
"$PY" - "$ROOT/fixtures/mp9/resources" "$WORK/resources" "$T" <<'PYEOF'
import sys
from datetime import date
from pathlib import Path

from validatiestraat.fhir.tdates import expand

src, dst, t = Path(sys.argv[1]), Path(sys.argv[2]), date.fromisoformat(sys.argv[3])
dst.mkdir(parents=True)
for f in sorted(src.glob("*.json")):
    (dst / f.name).write_text(expand(f.read_text(encoding="utf-8"), t), encoding="utf-8")
PYEOF

echo "validating $(ls "$WORK/resources" | wc -l) files, T=$T"
java -Duser.home="$HL7_VALIDATOR_DIR/home" -cp "$HL7_VALIDATOR_DIR/lib/*" org.hl7.fhir.validation.ValidatorCli \
  "$WORK/resources" -version 4.0.1 -tx n/a -ig 'nictiz.fhir.nl.r4.medicationprocess9#2.0.0-rc.7' \
  -display-issues-are-warnings -output "$WORK/oo.json" >"$WORK/validator.log" 2>&1 || true

if [[ -n "${KEEP_DIR:-}" ]]; then
  mkdir -p "$KEEP_DIR" && cp -r "$WORK/resources" "$WORK/oo.json" "$WORK/validator.log" "$KEEP_DIR/" 2>/dev/null || true
fi
if [[ ! -s "$WORK/oo.json" ]]; then
  echo "the validator wrote no output; its log:" >&2
  tail -n 40 "$WORK/validator.log" >&2
  exit 2
fi

STRICT=${STRICT:-0} "$PY" - "$WORK/oo.json" "$(ls "$WORK/resources" | wc -l)" <<'PYEOF'
import json
import os
import re
import sys
from collections import Counter

GSTANDAARD = "urn:oid:2.16.840.1.113883.2.4.4."


def offline_undecidable(text: str) -> bool:
    """A G-Standaard ingredient code the offline validator cannot place in IngredientCodeCodelijsten."""
    m = re.search(r"value set 'IngredientCodeCodelijsten'.*\(codes = ([^)]*)\)", text)
    return bool(m) and all(c.strip().startswith(GSTANDAARD) for c in m[1].split(","))


doc = json.load(open(sys.argv[1], encoding="utf-8"))
expected_files = int(sys.argv[2])
outcomes = [e["resource"] for e in doc.get("entry", [])] if doc.get("resourceType") == "Bundle" else [doc]
FILE_EXT = "http://hl7.org/fhir/StructureDefinition/operationoutcome-file"
strict = os.environ.get("STRICT") == "1"
errors, undecidable, warnings, kinds = [], [], 0, Counter()
for oo in outcomes:
    name = next((x.get("valueString") for x in oo.get("extension", []) if x.get("url") == FILE_EXT), "?")
    name = name.rsplit("/", 1)[-1]
    for issue in oo.get("issue", []):
        sev = issue.get("severity")
        text = issue.get("details", {}).get("text") or issue.get("diagnostics") or ""
        where = ", ".join(issue.get("expression", []) or issue.get("location", []))
        if sev in ("error", "fatal") and not strict and offline_undecidable(text):
            undecidable.append(f"  {name}: {where}: {text}")
        elif sev in ("error", "fatal"):
            errors.append(f"  {name}: {where}: {text}")
        elif sev == "warning":
            warnings += 1
            kind = re.sub(r"'[^']*'", "'…'", text)
            kind = re.sub(r"\b\d[\d.]*\b", "#", kind)
            kinds[kind[:160]] += 1
print(
    f"files: {len(outcomes)} (expected {expected_files}), errors: {len(errors)}, warnings: {warnings}, "
    f"offline-undecidable G-Standaard ingredient codes: {len(undecidable)}"
)
if kinds:
    print("warning kinds:")
    for kind, n in kinds.most_common():
        print(f"  {n:4d}  {kind}")
if undecidable:
    print("offline-undecidable (not counted; STRICT=1 counts them):")
    print("\n".join(undecidable))
if errors:
    print("errors:")
    print("\n".join(errors))
sys.exit(1 if errors or len(outcomes) != expected_files else 0)
PYEOF
