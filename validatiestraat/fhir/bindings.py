"""The binding plug-in of the validator: turns :class:`~terminology.Terminology` answers into issues.

    bindings = TerminologyBindings(Terminology(packages.get))                   # certification verdicts
    bindings = TerminologyBindings(Terminology(packages.get), hl7_offline=True)  # HL7 6.0.21 -tx n/a verdicts
    Validator(packages, bindings=bindings).validate(resource)

Offline, some codes cannot be checked: their code system (SNOMED CT, LOINC, UCUM, the G-Standaard, ISO 3166 ...)
needs a terminology server. Two policies:

- **default (certification)**: a code that cannot be checked is a *warning* that says why. Only a code that is
  certainly not in a required value set is an error. With a terminology server the HL7 validator would accept a
  valid G-Standaard or ISO 3166 code, so failing a participant on one here would be a false failure.
- **hl7_offline**: what HL7 validator 6.0.21 reports with ``-tx n/a`` (and ``-display-issues-are-warnings``),
  for agreement with it (``benchmarks/validator_agreement.py``, ``validate --hl7-offline``): a Coding or Quantity
  under a required binding that cannot be checked is an error, a code inside an *imported* value set that cannot
  be checked counts as not in it (so ISO 3166 ``NL`` is "not in" the Nictiz LandCodelijsten), and a value-set
  filter it cannot evaluate is an error for a required code.

===================  ==========================  =======================================  ===================
value                "not-in"                    "unknown" (code system not available)    "unknown" (filter)
===================  ==========================  =======================================  ===================
code, string, uri    required error, else warn   warning                                  warn / hl7: error
Coding, Quantity     required error, else warn   warn / hl7: required error               warn / hl7: error
CodeableConcept      all codings not-in: as      no coding in, one unknown: warning       information
                     for Coding
===================  ==========================  =======================================  ===================

A CodeableConcept under a required binding with no coding at all is an error ("a code from this value set is
required"), a warning when extensible. Every Coding, bound or not, is also checked against its code system when a
package has that whole (:meth:`TerminologyBindings.coding`): an unknown code is an error (``terminology.code``), a
wrong display a warning (``terminology.display``).
"""

from __future__ import annotations

from typing import Any

from validatiestraat.fhir.terminology import Membership, Terminology

ERROR, WARNING, INFORMATION = "error", "warning", "information"
Problem = tuple[str, str, str]  # (severity, message, rule)
_HL7_NOTE = " (HL7 validator 6.0.21 without a terminology server reports it as not in the value set)"


class TerminologyBindings:
    """``validator.Bindings`` on top of an offline :class:`Terminology`."""

    def __init__(self, terminology: Terminology, *, hl7_offline: bool = False) -> None:
        self.terminology = terminology
        self.hl7_offline = hl7_offline

    def judge(self, strength: str, value_set: str, type_code: str, value: Any) -> list[Problem]:
        rule = f"binding.{strength}"
        bad = ERROR if strength == "required" else WARNING
        if type_code in ("code", "string", "uri"):
            if not isinstance(value, str):
                return []
            found = self._check(value_set, None, value, None)
            return self._single(found, f"'{value}'", value_set, strength, rule, bad, coded=False)
        if type_code in ("Coding", "Quantity"):
            coding = _coding(value)
            if coding is None:
                return []
            system, code, display = coding
            found = self._check(value_set, system, code, display) if system else _NO_SYSTEM
            return self._single(found, _label(system, code), value_set, strength, rule, bad, coded=True)
        if type_code == "CodeableConcept" and isinstance(value, dict):
            return self._concept(value, value_set, strength, rule, bad)
        return []

    def coding(self, value: Any) -> list[Problem]:
        """Any Coding, bound or not, against its code system when a package has it whole (as HL7 6.0.21 checks):
        an unknown code is an error, a wrong display a warning."""
        coding = _coding(value)
        if coding is None or not coding[1]:
            return []
        system, code, display = coding
        if system is None:
            return [(WARNING, f"the code '{code}' has no system, so no defined meaning", "terminology.system")]
        found = self.terminology.validate_code(system, code, display)
        problems = _display(found)
        if found.status == "not-in":
            problems.append((ERROR, found.reason, "terminology.code"))
        return problems

    def _check(self, value_set: str, system: str | None, code: str, display: str | None) -> Membership:
        """The terminology's answer; by default an "import" not-in (cannot be checked) is what it is: unknown."""
        found = self.terminology.check(value_set, system, code, display)
        if found.status == "not-in" and found.cause == "import" and not self.hl7_offline:
            return Membership("unknown", found.reason + _HL7_NOTE, found.display_issue, "import", found.systems)
        return found

    def _single(
        self, found: Membership, label: str, value_set: str, strength: str, rule: str, bad: str, *, coded: bool
    ) -> list[Problem]:
        problems: list[Problem] = []  # a wrong display is said by coding(), once per Coding
        if found.status == "not-in":
            reason = f" ({found.reason})" if found.reason else ""
            problems.append((bad, f"{label} is not in the value set {value_set} ({strength}){reason}", rule))
        elif found.status == "unknown":
            strict = self.hl7_offline and (coded or found.cause == "filter")
            problems.append(
                (
                    bad if strict else WARNING,
                    f"cannot check whether {label} is in the value set {value_set}: {found.reason}",
                    rule,
                )
            )
        return problems

    def _concept(self, value: dict[str, Any], value_set: str, strength: str, rule: str, bad: str) -> list[Problem]:
        codings = [c for c in (_coding(c) for c in value.get("coding") or ()) if c is not None]
        if not codings:
            return [(bad, f"no code given, and a code from the value set {value_set} is {strength}", rule)]
        answers = [
            self._check(value_set, system, code, display) if system else _NO_SYSTEM for system, code, display in codings
        ]
        problems: list[Problem] = []
        if any(found.status == "in" for found in answers):
            return problems
        labels = ", ".join(_label(system, code) for system, code, _ in codings)
        unknown = [found for found in answers if found.status == "unknown"]
        if unknown:
            severity = INFORMATION if all(found.cause == "filter" for found in unknown) else WARNING
            problems.append(
                (severity, f"cannot check whether {labels} is in the value set {value_set}: {unknown[0].reason}", rule)
            )
            return problems
        reasons = "; ".join(dict.fromkeys(found.reason for found in answers if found.reason))
        detail = f" ({reasons})" if reasons else ""
        message = f"none of the codings {labels} is in the value set {value_set} ({strength}){detail}"
        problems.append((bad, message, rule))
        return problems


def _coding(value: Any) -> tuple[str | None, str, str | None] | None:
    """(system, code, display) of a Coding or Quantity; code "" when it names a system but no code (a code system
    that can be checked has no such code; one that cannot stays undecided, as HL7 6.0.21 has it)."""
    if not isinstance(value, dict):
        return None
    system = value.get("system") if isinstance(value.get("system"), str) else None
    code = value.get("code") if isinstance(value.get("code"), str) else ("" if system else None)
    if code is None:
        return None
    display = None if "unit" in value else value.get("display")  # a Quantity's unit is free text, not a display
    return system, code, display if isinstance(display, str) else None


_NO_SYSTEM = Membership("not-in", "a code with no system has no defined meaning")


def _display(found: Membership) -> list[Problem]:
    return [(WARNING, found.display_issue, "terminology.display")] if found.display_issue else []


def _label(system: str | None, code: str) -> str:
    return f"{system}#{code}" if system else f"'{code}'"
