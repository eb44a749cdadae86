"""Nictiz TestScripts (serving scripts: the SUT is the FHIR server) as a typed description, and their
asserts evaluated against a response.

A script is read with its ``<variable>`` defaults substituted (tokens, filter identifiers, ``${CURRENTDATE}``,
date expressions ``${DATE, T, D, -7}`` expanded against T). The scripts themselves are not part of the
project: they are read at run time from a path.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

from fhirpathpy import compile as fhirpath_compile
from fhirpathpy.models import models
from lxml import etree

from validatiestraat.fhir.tdates import expand

NS = {"f": "http://hl7.org/fhir"}
_VARIABLE = re.compile(r"\$\{([^}]+)\}")
Outcome = Literal["passed", "failed", "skipped"]
PROFILE_SKIP_REASON = "no profile validator given"
#: validates a body against a profile URL; the error messages (empty: conformant)
ProfileValidator = Callable[[Mapping[str, Any], str], list[str]]


@dataclass(frozen=True)
class Assert:
    """One TestScript assert; ``kind`` says which of its fields carries the check."""

    kind: Literal["responseCode", "resource", "expression", "validateProfileId", "other"]
    description: str = ""
    direction: str = "response"
    expression: str | None = None
    operator: str | None = None
    value: str | None = None
    response_code: str | None = None
    resource: str | None = None
    profile_id: str | None = None
    profile: str | None = None  # the URL the TestScript's profile ``profile_id`` references
    warning_only: bool = False
    stop_on_fail: bool = False


@dataclass(frozen=True)
class SearchOperation:
    resource: str
    params: tuple[tuple[str, str], ...]  # decoded name/value pairs, in script order
    accept: Literal["json", "xml"]
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass(frozen=True)
class TestScriptCase:
    __test__ = False  # not a pytest class

    id: str
    title: str
    path: Path
    variables: Mapping[str, str]
    operation: SearchOperation
    asserts: tuple[Assert, ...]


class AssertResult(NamedTuple):
    assert_: Assert
    outcome: Outcome
    message: str


# --------------------------------------------------------------------------- reading


def _value(elem: etree._Element | None, name: str) -> str | None:
    if elem is None:
        return None
    child = elem.find(f"f:{name}", NS)
    return child.get("value") if child is not None else None


def _substitute(text: str, variables: Mapping[str, str], t: date) -> str:
    def one(m: re.Match[str]) -> str:
        name = m[1].strip()
        if name == "UUID":
            return str(uuid.uuid4())
        if name == "CURRENTDATE":
            return t.isoformat()
        return variables.get(name, m[0])

    for _ in range(3):  # defaults may refer to other variables or to ${UUID}
        text = _VARIABLE.sub(one, expand(text, t))
    return text


def _assert(elem: etree._Element) -> Assert:
    fields = {k: _value(elem, k) for k in ("expression", "operator", "value", "responseCode", "resource")}
    profile = _value(elem, "validateProfileId")
    if profile:
        kind = "validateProfileId"
    elif fields["responseCode"]:
        kind = "responseCode"
    elif fields["expression"]:
        kind = "expression"
    elif fields["resource"]:
        kind = "resource"
    else:
        kind = "other"
    return Assert(
        kind=kind,  # type: ignore[arg-type]
        description=_value(elem, "description") or "",
        direction=_value(elem, "direction") or "response",
        expression=fields["expression"],
        operator=fields["operator"],
        value=fields["value"],
        response_code=fields["responseCode"],
        resource=fields["resource"],
        profile_id=profile,
        warning_only=_value(elem, "warningOnly") == "true",
        stop_on_fail=_value(elem, "stopTestOnFail") == "true",
    )


def _params(query: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for part in query.lstrip("?").split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((name, value))
    return tuple(pairs)


def load_testscript(path: Path, t: date) -> TestScriptCase:
    """Read a serving TestScript (one search operation, then asserts) with its variables substituted."""
    root = etree.parse(str(path)).getroot()
    variables: dict[str, str] = {}
    for var in root.findall("f:variable", NS):
        name, default = _value(var, "name"), _value(var, "defaultValue")
        if name and default is not None:
            variables[name] = default
    variables = {k: _substitute(v, variables, t) for k, v in variables.items()}
    op = root.find(".//f:operation", NS)
    if op is None:
        raise ValueError(f"{path.name}: no operation")
    headers = {
        _value(h, "field") or "": _substitute(_value(h, "value") or "", variables, t)
        for h in op.findall("f:requestHeader", NS)
    }
    accept = _value(op, "accept") or "json"
    operation = SearchOperation(
        resource=_value(op, "resource") or "",
        params=_params(_substitute(_value(op, "params") or "", variables, t)),
        accept="xml" if "xml" in accept else "json",
        headers=headers,
    )
    profiles = {  # TestScript.profile is a Reference; the Nictiz scripts put the URL in a value attribute
        elem.get("id"): elem.get("value") or _value(elem, "reference")
        for elem in root.findall("f:profile", NS)
        if elem.get("id")
    }
    asserts = tuple(
        replace(a, profile=profiles.get(a.profile_id)) if a.profile_id else a
        for a in (_assert(e) for e in root.iterfind(".//f:action/f:assert", NS))
    )
    return TestScriptCase(
        id=_value(root, "id") or path.stem,
        title=_value(root, "title") or "",
        path=path,
        variables=variables,
        operation=operation,
        asserts=asserts,
    )


def serving_scripts(cert_dir: Path) -> list[Path]:
    """The MP9 MedMij serving scripts under ``…/MedMij/Cert`` (``Step-*/<block>/Serving-MGB-*/*.xml``)."""
    return sorted(cert_dir.glob("Step-*/*/Serving-MGB-*/*.xml"))


# --------------------------------------------------------------------------- evaluating


@lru_cache(maxsize=512)
def _compiled(expression: str) -> Any:
    return fhirpath_compile(expression, models["r4"])


def _compare(operator: str, result: list[Any], expected: str | None) -> tuple[bool, str]:
    shown = [str(v).lower() if isinstance(v, bool) else str(v) for v in result]
    if operator in ("equals", "notEquals"):
        equal = len(shown) == 1 and shown[0] == expected
        return equal == (operator == "equals"), f"got {shown}, expected {operator} {expected!r}"
    if operator in ("in", "notIn"):
        options = (expected or "").split(",")
        inside = len(shown) == 1 and shown[0] in options
        return inside == (operator == "in"), f"got {shown}, expected {operator} {options}"
    if operator == "empty":
        return not result, f"got {shown}"
    if operator == "notEmpty":
        return bool(result), f"got {shown}"
    if operator in ("contains", "notContains"):
        has = any(expected is not None and expected in s for s in shown)
        return has == (operator == "contains"), f"got {shown}"
    if operator in ("greaterThan", "lessThan"):
        try:
            a, b = float(shown[0]), float(expected or "")
        except (IndexError, ValueError):
            return False, f"got {shown}, not comparable with {expected!r}"
        return (a > b) if operator == "greaterThan" else (a < b), f"got {shown}"
    raise ValueError(f"unsupported operator {operator!r}")


def _evaluate_one(
    a: Assert, status: int, body: Mapping[str, Any] | None, validate: ProfileValidator | None
) -> tuple[Outcome, str]:
    if a.direction == "request":
        return "skipped", "request asserts are not evaluated on a response"
    if a.kind == "validateProfileId":
        if validate is None:
            return "skipped", PROFILE_SKIP_REASON
        if body is None:
            return "failed", "no parseable FHIR body"
        if not a.profile:
            return "failed", f"the TestScript defines no profile {a.profile_id!r}"
        errors = validate(body, a.profile)
        if errors:
            return "failed", f"{len(errors)} errors against {a.profile}: " + "; ".join(errors[:3])
        return "passed", f"conforms to {a.profile}"
    if a.kind == "responseCode":
        codes = [c.strip() for c in (a.response_code or "").split(",")]
        op = a.operator or "equals"
        ok = str(status) in codes if op in ("in", "equals") else str(status) not in codes
        return ("passed" if ok else "failed"), f"status {status}, expected {op} {a.response_code}"
    if body is None:
        return "failed", "no parseable FHIR body"
    if a.kind == "resource":
        rt = body.get("resourceType")
        return ("passed" if rt == a.resource else "failed"), f"resourceType {rt}, expected {a.resource}"
    if a.kind == "expression":
        try:
            result = _compiled(a.expression)(dict(body))
        except Exception as e:  # fhirpathpy raises plain Exceptions for unsupported functions
            return "failed", f"FHIRPath error: {e}"
        if a.operator:
            ok, msg = _compare(a.operator, result, a.value)
        else:
            ok, msg = result == [True], f"evaluated to {result}"
        return ("passed" if ok else "failed"), msg
    return "skipped", "assert kind not supported"


def evaluate(
    asserts: Iterable[Assert],
    status: int,
    body_json: Mapping[str, Any] | None,
    validate: ProfileValidator | None = None,
) -> list[AssertResult]:
    """Evaluate asserts against a response (status, body as FHIR JSON). After a failed ``stopTestOnFail``
    assert the rest are skipped. ``validateProfileId`` asserts need ``validate`` (skipped without it)."""
    results: list[AssertResult] = []
    stopped = False
    for a in asserts:
        if stopped:
            results.append(AssertResult(a, "skipped", "an earlier stopTestOnFail assert failed"))
            continue
        outcome, message = _evaluate_one(a, status, body_json, validate)
        results.append(AssertResult(a, outcome, message))
        stopped = outcome == "failed" and a.stop_on_fail
    return results
