"""``fhir.profile``: every answer validated against FHIR R4 and the profiles its resources declare.

The judge is the native validator (:mod:`validatiestraat.fhir.validator`, the default packages of
:mod:`validatiestraat.fhir.defaults`: MP9 3.0, nl-core, zib2020, R4 core, terminology): base R4 structure, each
``meta.profile`` of the answer and of every Bundle entry (cardinality, fixed and pattern values, slicing, type and
reference-target profiles resolved inside the Bundle, extensions, required and extensible bindings, FHIRPath
invariants). On the 2230 Nictiz qualification fixtures its per-file verdict agrees with the HL7 validator 6.0.21
(``benchmarks/validator_agreement.py``), so an answer fails here exactly where the official tooling fails it.

Errors fail the check, one finding per issue (location, message, rule id); warnings (codes from systems only a
terminology server knows, such as SNOMED CT and the G-Standaard; profiles the packages lack) are counted in the pass.
An answer is validated once per content: the JSON and XML variants of a case, and repeated answers, share a verdict.
"""

from __future__ import annotations

from collections import Counter
from functools import cache
from typing import Any

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.checks.fhir_generic import listed, safe
from validatiestraat.checks.fhirtree import content_key
from validatiestraat.checks.registry import check
from validatiestraat.fhir.validator import Issue, Validator
from validatiestraat.results import Finding, errored, failed, passed

FAILING = ("error", "fatal")
SHOWN = 3  # warnings quoted in a pass (all are counted by rule)
_VERDICTS: dict[str, list[Issue]] = {}


@cache
def validator() -> Validator:
    """The default validator of this process (packages from the caches, else those the wheel carries)."""
    from validatiestraat.fhir.defaults import load_validator

    return load_validator()


def validate(resource: dict[str, Any]) -> list[Issue]:
    """The issues of ``resource``, remembered by content."""
    key = content_key(resource)
    found = _VERDICTS.get(key)
    if found is None:
        if len(_VERDICTS) > 4096:
            _VERDICTS.clear()
        found = _VERDICTS[key] = validator().validate(resource)
    return found


def declared_profiles(body: dict[str, Any]) -> list[str]:
    """The profiles the answer and its entry resources declare."""
    resources = [body] + [
        e["resource"] for e in body.get("entry") or () if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
    found: set[str] = set()
    for resource in resources:
        meta = resource.get("meta")
        profiles = meta.get("profile") if isinstance(meta, dict) else None
        found.update(p for p in profiles or () if isinstance(p, str))
    return sorted(found)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


@check(
    "fhir.profile",
    "Every returned resource conforms to FHIR R4 and to the profiles it declares (MP9 3.0, nl-core, zib2020)",
    ["nictiz.mp9.profile"],
)
def profile(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    try:
        body = ctx.resource(x)
    except BadBody as exc:
        return [failed(safe(ctx, f"the answer cannot be read as a FHIR R4 resource: {exc}"), x.id)]
    try:
        issues = validate(body)
    except Exception as exc:  # a validator bug must not pass or fail the participant: the harness says so
        return [errored(f"the FHIR validator could not judge the answer: {type(exc).__name__}: {exc}", x.id)]
    errors = [i for i in issues if i.severity in FAILING]
    if errors:
        return listed(ctx, [f"{i.location}: {i.message} [{i.rule}]" for i in errors], x, "profile errors")
    profiles = declared_profiles(body)
    entries = len(body.get("entry") or ()) if body.get("resourceType") == "Bundle" else 0
    warned = [i for i in issues if i.severity == "warning"]
    warnings = Counter(i.rule for i in warned)
    said = "; ".join(f"{rule} {n}" for rule, n in sorted(warnings.items()))
    examples = " | ".join(dict.fromkeys(f"{i.location}: {i.message} [{i.rule}]" for i in warned[:SHOWN]))
    return [
        passed(
            safe(
                ctx,
                f"{body.get('resourceType')} with {_count(entries, 'entry resource')} conforms to FHIR R4 and to "
                f"{_count(len(profiles), 'declared profile')} ({', '.join(profiles) or 'none'})"
                + (f"; {_count(len(warned), 'warning')} ({said}), e.g. {examples}" if warned else ""),
            ),
            x.id,
        )
    ]
