"""The binding plug-in of the validator: turns :class:`~terminology.Terminology` answers into issues.

    bindings = TerminologyBindings(Terminology(packages.get))
    Validator(packages, bindings=bindings).validate(resource)

Which answer is which issue follows HL7 validator 6.0.21 without a terminology server (``-tx n/a``), with display
problems as warnings (``-display-issues-are-warnings``), so that a file passes here exactly when it passes there:

===================  ==========================  =======================================  ===================
value                "not-in"                    "unknown" (code system not available)    "unknown" (filter)
===================  ==========================  =======================================  ===================
code, string, uri    required error, else warn   warning                                  required error
Coding, Quantity     required error, else warn   required error, else warning             required error
CodeableConcept      all codings not-in: as      no coding in, one unknown: warning       information
                     for Coding
===================  ==========================  =======================================  ===================

A CodeableConcept under a required binding with no coding at all is an error ("a code from this value set is
required"), a warning when extensible. A wrong display is a warning (``terminology.display``).
"""

from __future__ import annotations

from typing import Any

from validatiestraat.fhir.terminology import Membership, Terminology

ERROR, WARNING, INFORMATION = "error", "warning", "information"
Problem = tuple[str, str, str]  # (severity, message, rule)


class TerminologyBindings:
    """``validator.Bindings`` on top of an offline :class:`Terminology`."""

    def __init__(self, terminology: Terminology) -> None:
        self.terminology = terminology

    def judge(self, strength: str, value_set: str, type_code: str, value: Any) -> list[Problem]:
        rule = f"binding.{strength}"
        bad = ERROR if strength == "required" else WARNING
        if type_code in ("code", "string", "uri"):
            if not isinstance(value, str):
                return []
            found = self.terminology.check(value_set, None, value)
            return self._single(found, f"'{value}'", value_set, strength, rule, bad, lenient=True)
        if type_code in ("Coding", "Quantity"):
            coding = _coding(value)
            if coding is None:
                return []
            system, code, display = coding
            found = self.terminology.check(value_set, system, code, display)
            return self._single(found, _label(system, code), value_set, strength, rule, bad, lenient=False)
        if type_code == "CodeableConcept" and isinstance(value, dict):
            return self._concept(value, value_set, strength, rule, bad)
        return []

    def _single(
        self, found: Membership, label: str, value_set: str, strength: str, rule: str, bad: str, *, lenient: bool
    ) -> list[Problem]:
        problems = _display(found)
        if found.status == "not-in":
            reason = f" ({found.reason})" if found.reason else ""
            problems.append((bad, f"{label} is not in the value set {value_set} ({strength}){reason}", rule))
        elif found.status == "unknown":
            severity = bad if found.cause == "filter" or not lenient else WARNING
            problems.append(
                (severity, f"cannot check whether {label} is in the value set {value_set}: {found.reason}", rule)
            )
        return problems

    def _concept(self, value: dict[str, Any], value_set: str, strength: str, rule: str, bad: str) -> list[Problem]:
        codings = [c for c in (_coding(c) for c in value.get("coding") or ()) if c is not None]
        if not codings:
            return [(bad, f"no code given, and a code from the value set {value_set} is {strength}", rule)]
        answers = [self.terminology.check(value_set, system, code, display) for system, code, display in codings]
        problems = [p for found in answers for p in _display(found)]
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
        problems.append(
            (bad, f"none of the codings {labels} is in the value set {value_set} ({strength}){detail}", rule)
        )
        return problems


def _coding(value: Any) -> tuple[str | None, str, str | None] | None:
    if not isinstance(value, dict) or not isinstance(value.get("code"), str):
        return None
    system = value.get("system")
    display = None if "unit" in value else value.get("display")  # a Quantity's unit is free text, not a display
    return (system if isinstance(system, str) else None, value["code"], display if isinstance(display, str) else None)


def _display(found: Membership) -> list[Problem]:
    return [(WARNING, found.display_issue, "terminology.display")] if found.display_issue else []


def _label(system: str | None, code: str) -> str:
    return f"{system}#{code}" if system else f"'{code}'"
