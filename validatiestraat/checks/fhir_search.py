"""Checks on one MP9 search answer: status, Bundle type, the expected focal resources."""

from __future__ import annotations

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.checks.registry import check
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE
from validatiestraat.results import Finding, failed, passed


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
        return [failed(f"the answer is a {body.get('resourceType')}, not a Bundle", x.id)]
    if body.get("type") != "searchset":
        return [failed(f"Bundle.type is {body.get('type')!r}, not 'searchset'", x.id)]
    return [passed("a searchset Bundle", x.id)]


@check("search.focal-count", "The search returns the expected number of focal resources", ["nictiz.mp9.counts"])
def focal_count(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    try:
        body = ctx.resource(x)
    except BadBody as exc:
        return [failed(str(exc), x.id)]
    block = BLOCKS_BY_CODE[ctx.scenario.block or ""]
    focal = [
        e.get("resource", {})
        for e in body.get("entry", [])
        if e.get("resource", {}).get("resourceType") == block.resource_type
    ]
    expected = len(ctx.scenario.expect.focal)
    if ctx.scenario.expect.match == "exact" and len(focal) != expected:
        return [failed(f"{len(focal)} {block.resource_type} returned, expected exactly {expected}", x.id)]
    if len(focal) < expected:
        return [failed(f"{len(focal)} {block.resource_type} returned, expected at least {expected}", x.id)]
    return [passed(f"{len(focal)} {block.resource_type} returned as expected", x.id)]
