"""Checks on one MP9 search answer: status, Bundle type, counts, exactly the expected focal resources, nothing
of another patient, and the secondaries the ``_include``/``_include:iterate`` parameters must bring.

Returned resources are matched to the dataset by id, business identifier, reference or patient identity
(:mod:`validatiestraat.checks.mp9_answer`), so a vendor's DVA that gave our dataset ids of its own is judged
by the same rules. Messages name dataset ids and patient ids, never a BSN.
"""

from __future__ import annotations

from collections import Counter

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.checks.mp9_answer import Answer, label, read_answer, required_secondaries, scrub
from validatiestraat.checks.registry import check
from validatiestraat.fhir.store import Key, Store
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, Block
from validatiestraat.results import Finding, failed, omitted, passed

SHOWN = 5  # names listed in one message before "and n more"


def _n(count: int, noun: str, plural: str = "") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _names(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _block(ctx: CheckContext) -> Block:
    return BLOCKS_BY_CODE[ctx.scenario.block or ""]


@check("search.status", "The search answers HTTP 200 or 201", ["nictiz.mp9.status"])
def status_ok(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    if x.status in (200, 201):
        return [passed(f"HTTP {x.status}", x.id)]
    return [failed(f"HTTP {x.status} to {x.method} {x.url.split('?')[0]}", x.id)]


@check("search.searchset", "The answer is a FHIR Bundle of type searchset", ["nictiz.mp9.bundle-searchset"])
def bundle_searchset(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    try:
        body = ctx.resource(x)
    except BadBody as exc:
        return [failed(str(exc), x.id)]
    if body.get("resourceType") != "Bundle":
        return [failed(f"the answer is {body.get('resourceType')}, not a Bundle", x.id)]
    if body.get("type") != "searchset":
        return [failed(f"Bundle.type is {body.get('type')!r}, not 'searchset'", x.id)]
    return [passed("a searchset Bundle", x.id)]


@check(
    "search.counts",
    "The search returns the expected number of focal resources and of Medication resources",
    ["nictiz.mp9.counts"],
)
def counts(ctx: CheckContext) -> list[Finding]:
    answer = read_answer(ctx)
    if not isinstance(answer, Answer):
        return [answer]
    x, block, expect = answer.exchange, _block(ctx), ctx.scenario.expect
    focal = len(answer.of_type(block.resource_type))
    wanted = len(expect.focal)
    out: list[Finding] = []
    if expect.match == "exact" and focal != wanted:
        out.append(failed(f"{focal} {block.resource_type} returned, expected exactly {wanted}", x.id))
    elif focal < wanted:
        out.append(failed(f"{focal} {block.resource_type} returned, expected at least {wanted}", x.id))
    else:
        out.append(passed(f"{focal} {block.resource_type} returned as expected", x.id))
    if expect.medication is not None:
        meds = len(answer.of_type("Medication"))
        if meds != expect.medication:
            out.append(failed(f"{meds} Medication returned, expected exactly {expect.medication}", x.id))
        else:
            out.append(passed(f"{meds} Medication returned as expected", x.id))
    return out


@check(
    "search.expected-resources",
    "The search returns exactly the dataset's matching focal resources: none missing, none extra",
    ["validatiestraat.mp9.expected-resources"],
)
def expected_resources(ctx: CheckContext) -> list[Finding]:
    answer = read_answer(ctx)
    if not isinstance(answer, Answer):
        return [answer]
    x, block, expect = answer.exchange, _block(ctx), ctx.scenario.expect
    wanted = {(block.resource_type, i) for i in expect.focal}
    got: list[Key] = []
    unknown: list[str] = []
    for e in answer.of_type(block.resource_type):
        key = answer.key(e)
        if key is None:
            unknown.append(f"{e.label} (not in the dataset)")
        else:
            got.append(key)
    missing = sorted(label(k) for k in wanted - set(got))
    extra = sorted(f"{label(k)} (in the dataset, does not match)" for k in set(got) - wanted)
    twice = sorted(f"{label(k)} ({n}x)" for k, n in Counter(got).items() if n > 1)
    out: list[Finding] = []
    if missing:
        out.append(failed(f"{len(missing)} of {len(wanted)} expected missing: {_names(missing)}", x.id))
    if expect.match == "exact" and (extra or unknown):
        listed = scrub(_names(extra + unknown), ctx.dataset)
        out.append(failed(f"{len(extra) + len(unknown)} not expected: {listed}", x.id))
    if twice:
        out.append(failed(f"returned more than once: {_names(twice)}", x.id))
    if not out:
        out.append(passed(f"{len(got)} {block.resource_type}, exactly the expected ones", x.id))
    return out


@check(
    "search.patient-isolation",
    "The answer holds no resource of another patient than the one the token is for",
    ["validatiestraat.mp9.patient-isolation"],
)
def patient_isolation(ctx: CheckContext) -> list[Finding]:
    answer = read_answer(ctx)
    if not isinstance(answer, Answer):
        return [answer]
    x, patient = answer.exchange, ctx.scenario.patient
    foreign: list[str] = []
    unverified: list[str] = []
    for e in answer.entries:
        owners, unknown = answer.owners(e)
        if e.type == "Patient" and not owners:
            foreign.append(f"{e.label} (a Patient that is not {patient})")
            continue
        others = sorted(owners - {patient})
        if others:
            foreign.append(f"{e.label} (of {', '.join(others)})")
        elif unknown and not owners:
            unverified.append(f"{e.label} ({', '.join(unknown)})")
    if foreign:
        listed = scrub(_names(foreign), ctx.dataset)
        return [failed(f"{_n(len(foreign), 'resource')} of another patient than {patient}: {listed}", x.id)]
    out = [passed(f"{_n(len(answer.entries), 'resource')}, none of another patient than {patient}", x.id)]
    if unverified:
        out.append(omitted(scrub(f"patient not identifiable for {_names(unverified)}", ctx.dataset), x.id))
    return out


@check(
    "search.includes",
    "Every secondary resource the query's _include and _include:iterate parameters must bring is in the Bundle",
    ["validatiestraat.mp9.includes"],
)
def includes(ctx: CheckContext) -> list[Finding]:
    answer = read_answer(ctx)
    if not isinstance(answer, Answer):
        return [answer]
    x, block = answer.exchange, _block(ctx)
    patient = ctx.scenario.patient or ""
    # the returned focal resources known to the dataset; another patient's are patient-isolation's business
    focal = [
        r
        for e in answer.of_type(block.resource_type)
        if (r := answer.expected(e)) is not None and Store.patient_of(r) in (None, patient)
    ]
    direct, iterated = required_secondaries(ctx.dataset, block, focal, patient)
    present: dict[Key, list[str | None]] = {}
    for e in answer.entries:
        if (key := answer.key(e)) is not None:
            present.setdefault(key, []).append(e.mode)
    out: list[Finding] = []
    for kind, required in (("_include", direct), ("_include:iterate", iterated)):
        missing = sorted(f"{label(k)} (by {why})" for k, why in required.items() if k not in present)
        if missing:
            secondaries = _n(len(missing), f"{kind} secondary", f"{kind} secondaries")
            out.append(failed(f"{secondaries} missing: {_names(missing)}", x.id))
    as_match = sorted(label(k) for k in [*direct, *iterated] if "match" in present.get(k, []))
    if as_match:
        out.append(failed(f"included resources marked search.mode 'match', not 'include': {_names(as_match)}", x.id))
    if not out:
        out.append(
            passed(f"{len(direct)} secondaries by _include, {len(iterated)} by _include:iterate, all present", x.id)
        )
    return out
