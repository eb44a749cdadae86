"""The generic response checks of the MedMij MP9 qualification, the no-BSN rule and the format checks.

Each check judges the recorded answer of step ``search``. The rules follow the asserts every Nictiz MP9 3.0
serving TestScript (MedMij target) carries (medmij-protocol.md §4.3 items 3-10 and 12), decided as those asserts
evaluate — with two deliberate precisions, documented where they apply: a fullUrl must end in ``Type/id`` (not
just in the id), and a zib value-set OID is matched on whole OID arcs. Presence of a primitive follows FHIRPath
(a value, or only extensions), see :mod:`validatiestraat.checks.fhirtree`.

A body that cannot be read as FHIR, or an answer that is not a Bundle, leaves the Bundle checks nothing to
judge: they skip and name the check that judges that (``fhir.well-formed``, ``fhir.profile``,
``search.searchset``). No message ever carries a test patient's BSN: messages that quote the answer pass
through :func:`safe`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lxml import etree

from validatiestraat.checks.context import BadBody, CheckContext
from validatiestraat.checks.fhirtree import Node, has_value, label, present, strings, walk
from validatiestraat.checks.registry import check
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.fhir.formats import FHIR_NS, is_resource_type, negotiate
from validatiestraat.results import Finding, failed, omitted, passed, skipped

#: at most this many individual problems are listed per check; the rest are counted
MAX_LISTED = 10

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
#: zib value sets have OIDs under this arc; a value set is not a code system, so it never belongs in Coding.system
ZIB_VALUESET_ARC = "urn:oid:2.16.840.1.113883.2.4.3.11.60.40.2"
#: the two temporary-id forms of a fullUrl the Nictiz asserts accept (patterns as in the FHIR spec)
URN_OID = re.compile(r"^urn:oid:[0-2](\.(0|[1-9]\d*))*$")
URN_UUID = re.compile(r"^urn:uuid:[A-Fa-f\d]{8}-[A-Fa-f\d]{4}-[A-Fa-f\d]{4}-[A-Fa-f\d]{4}-[A-Fa-f\d]{12}$")
MEDIA_TYPES = {"json": "application/fhir+json", "xml": "application/fhir+xml"}


# --------------------------------------------------------------------------- shared helpers


def safe(ctx: CheckContext, text: str) -> str:
    """``text`` with every test patient's BSN blanked (a message may quote a URL or id the SUT built)."""
    for patient in ctx.dataset.patients:
        if patient.bsn:
            text = text.replace(patient.bsn, "[BSN]")
    return text


def listed(ctx: CheckContext, problems: list[str], x: Exchange, what: str) -> list[Finding]:
    """One failure per problem (at most :data:`MAX_LISTED`), then a count of the rest."""
    found = [failed(safe(ctx, p), x.id) for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        found.append(failed(f"… and {len(problems) - MAX_LISTED} more {what}", x.id))
    return found


def _bundle(ctx: CheckContext) -> tuple[Exchange, dict[str, Any]] | Finding:
    """The search exchange and its Bundle; or a skip finding when there is no Bundle to judge."""
    x = ctx.response("search")
    try:
        body = ctx.resource(x)
    except BadBody as exc:
        reason = f"no FHIR body to judge ({exc}); fhir.well-formed and fhir.profile judge the body"
        return skipped(safe(ctx, reason), x.id)
    if body.get("resourceType") != "Bundle":
        reason = (
            f"the answer (HTTP {x.status}) is a {body.get('resourceType')}, not a Bundle; "
            "search.status and search.searchset judge that"
        )
        return skipped(reason, x.id)
    return x, body


BundleCheck = Callable[[CheckContext, Exchange, dict[str, Any]], list[Finding]]


def on_bundle(fn: BundleCheck) -> Callable[[CheckContext], list[Finding]]:
    """A check of the search answer's Bundle: it gets the exchange and the Bundle, and is skipped (with the
    reason) when the answer holds no Bundle to judge."""

    @functools.wraps(fn)
    def judged(ctx: CheckContext) -> list[Finding]:
        got = _bundle(ctx)
        return [got] if isinstance(got, Finding) else fn(ctx, *got)

    return judged


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    entries = bundle.get("entry")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _nodes(bundle: dict[str, Any], *types: str) -> list[Node]:
    return [n for n in walk(bundle) if n.type in types]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# --------------------------------------------------------------------------- Bundle structure


@check("fhir.fullurl", "Every entry has an absolute fullUrl that names its resource", ["nictiz.mp9.fullurl"])
@on_bundle
def fullurl(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    problems: list[str] = []
    checked = 0
    for i, entry in enumerate(_entries(bundle)):
        resource = entry.get("resource")
        full = entry.get("fullUrl")
        name = f"entry[{i}]" + (f" ({label(resource)})" if isinstance(resource, dict) else "")
        if not isinstance(full, str) or not full:
            problems.append(f"{name} has no fullUrl")
            continue
        checked += 1
        if URN_UUID.match(full) or URN_OID.match(full):
            continue  # a temporary id: the resource need not carry an id
        if full.startswith("urn:"):
            problems.append(f"{name}: fullUrl {full!r} is neither a urn:uuid nor a urn:oid")
            continue
        if not (full.startswith("http://") or full.startswith("https://")):
            problems.append(f"{name}: fullUrl {full!r} is not an absolute http(s) URL, urn:uuid or urn:oid")
            continue
        if "/_history/" in full:
            problems.append(f"{name}: fullUrl {full!r} is version-specific (FHIR bdl-8)")
            continue
        if not isinstance(resource, dict):
            continue  # nothing to compare the URL with
        rid = resource.get("id")
        if not isinstance(rid, str) or not rid:
            problems.append(f"{name}: the resource has no id, although its fullUrl is not a urn")
            continue
        tail = f"/{resource.get('resourceType')}/{rid}"
        if not full.split("?")[0].endswith(tail):
            problems.append(f"{name}: fullUrl {full!r} does not end with {tail[1:]!r} (the resource's type and id)")
    if problems:
        return listed(ctx, problems, x, "fullUrl problems")
    return [passed(f"{_plural(checked, 'fullUrl')} checked: absolute, or urn:uuid/urn:oid, naming Type/id", x.id)]


@check("fhir.meta-profile", "Every returned resource declares its profile in meta.profile", ["nictiz.mp9.meta-profile"])
@on_bundle
def meta_profile(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    problems: list[str] = []
    checked = 0
    for i, entry in enumerate(_entries(bundle)):
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("resourceType") in ("OperationOutcome", "Binary"):
            continue
        checked += 1
        meta = resource.get("meta")
        if not (isinstance(meta, dict) and present(meta, "profile")):
            problems.append(f"entry[{i}] ({label(resource)}) has no meta.profile")
    if problems:
        return listed(ctx, problems, x, "resources without meta.profile")
    return [passed(f"{_plural(checked, 'resource')} checked: each declares meta.profile", x.id)]


@check("fhir.total", "Bundle.total does not exceed the number of matches", ["nictiz.mp9.total-matches"])
@on_bundle
def total(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    # as the Nictiz assert counts: entries with search.mode 'match', and entries without a search element
    matches = 0
    for entry in _entries(bundle):
        search = entry.get("search")
        if not isinstance(search, dict) or not search or search.get("mode") == "match":
            matches += 1
    entries = f"{matches} match {'entry' if matches == 1 else 'entries'}"
    if "total" not in bundle:
        return [passed(f"no Bundle.total (it is optional); {entries}", x.id)]
    value = bundle["total"]
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return [failed(f"Bundle.total {value!r} is not a non-negative integer", x.id)]
    if value > matches:
        return [failed(f"Bundle.total is {value}, but the Bundle holds only {entries}", x.id)]
    return [passed(f"Bundle.total {value} ≤ {entries}", x.id)]


def _self_links(bundle: dict[str, Any]) -> list[str]:
    links = bundle.get("link")
    found = []
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("relation") == "self":
            url = link.get("url")
            found.append(url if isinstance(url, str) else "")
    return found


@check("fhir.self-link", "The searchset Bundle has a self link", ["nictiz.mp9.self-link"])
@on_bundle
def self_link(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    links = _self_links(bundle)
    if not links:
        return [failed("the Bundle has no link with relation 'self'", x.id)]
    if not any(links):
        return [failed("the Bundle's self link has no url", x.id)]
    return [passed("a self link with a url is present", x.id)]


@functools.lru_cache(maxsize=1024)
def _params(url: str) -> tuple[tuple[str, str], ...]:
    """The query parameters of ``url`` (remembered: a run asks the same searches in JSON and in XML)."""
    return tuple(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@check(
    "fhir.self-link-params",
    "Every request parameter reappears in the self link (warning level)",
    ["nictiz.mp9.self-link-params"],
)
@on_bundle
def self_link_params(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    """Warning level in the qualification: a missing parameter is reported as ``omit`` with that reason, never
    as a failure (the Nictiz rule behind it is a warning-only common component)."""
    links = [u for u in _self_links(bundle) if u]
    if not links:
        return [skipped("no self link to compare with (fhir.self-link judges that)", x.id)]
    asked = _params(x.url)
    echoed = {(k, v) for u in links for k, v in _params(u)}
    missing = [f"{k}={v}" for k, v in asked if (k, v) not in echoed]
    if missing:
        names = ", ".join(missing[:MAX_LISTED])
        if len(missing) > MAX_LISTED:
            names += f" and {len(missing) - MAX_LISTED} more"
        count = _plural(len(missing), "request parameter")
        reason = f"warning-level in the qualification: {count} not in the self link: {names}"
        return [omitted(safe(ctx, reason), x.id)]
    return [passed(f"all {_plural(len(asked), 'request parameter')} reappear in the self link", x.id)]


# --------------------------------------------------------------------------- datatypes


@check(
    "fhir.coding",
    "Every Coding has a system and a code, and no zib value-set OID as system",
    ["nictiz.mp9.coding-system-code"],
)
@on_bundle
def coding(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    """The Nictiz assert on zib OIDs is written ``$this.is(coding)`` (lower case), which matches no type and so
    never fires; this check applies its stated intent to every Coding. The OID is matched on whole arcs
    (``…60.40.2`` and ``…60.40.2.x``, not ``…60.40.20``)."""
    problems: list[str] = []
    codings = _nodes(bundle, "Coding")
    for n in codings:
        missing = [p for p in ("system", "code") if not present(n.value, p)]
        if missing:
            problems.append(f"{n.where}: Coding without {' and '.join(missing)}")
        system = n.value.get("system")
        if isinstance(system, str) and (system == ZIB_VALUESET_ARC or system.startswith(ZIB_VALUESET_ARC + ".")):
            problems.append(f"{n.where}: Coding.system {system} is a zib value-set OID, not a code system")
    if problems:
        return listed(ctx, problems, x, "Coding problems")
    return [passed(f"{_plural(len(codings), 'Coding')} checked: system and code present, no zib value-set OID", x.id)]


@check(
    "fhir.codeableconcept",
    "Every CodeableConcept has a display, a text or an extension",
    ["nictiz.mp9.codeableconcept-text"],
)
@on_bundle
def codeableconcept(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    """As the Nictiz assert: ``coding.display.exists() or text.exists() or extension.exists()`` — an extension
    on the CodeableConcept itself (e.g. a nullFlavor or data-absent-reason) stands in for a display."""
    concepts = _nodes(bundle, "CodeableConcept")
    problems = []
    for n in concepts:
        codings = n.value.get("coding")
        displayed = any(isinstance(c, dict) and present(c, "display") for c in (codings or []))
        if not (displayed or present(n.value, "text") or n.value.get("extension")):
            problems.append(f"{n.where}: CodeableConcept without coding.display, text or extension")
    if problems:
        return listed(ctx, problems, x, "CodeableConcepts without display or text")
    return [passed(f"{_plural(len(concepts), 'CodeableConcept')} checked: each has a display, text or extension", x.id)]


@check("fhir.reference-display", "Every Reference has a display", ["nictiz.mp9.reference-display"])
@on_bundle
def reference_display(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    """The MP9-specific Nictiz assert (``all(display.exists())``) is the stricter of the two the scripts carry:
    a data-absent-reason or nullFlavor extension on the Reference does not replace the display."""
    references = _nodes(bundle, "Reference")
    problems = [f"{n.where}: Reference without display" for n in references if not present(n.value, "display")]
    if problems:
        return listed(ctx, problems, x, "References without display")
    return [passed(f"{_plural(len(references), 'Reference')} checked: each has a display", x.id)]


@check(
    "fhir.identifier",
    "Every Identifier has a system (or type) and a value",
    ["nictiz.mp9.identifier-system-value"],
)
@on_bundle
def identifier(ctx: CheckContext, x: Exchange, bundle: dict[str, Any]) -> list[Finding]:
    """``(system.exists() or type.exists()) and value.exists()`` as FHIRPath evaluates it: a value element that
    carries only extensions exists. That is the tolerance the qualification needs for the masked BSN identifier
    (no value, a ``data-absent-reason: masked`` extension in its place) and it is applied to every Identifier,
    as the assert does."""
    identifiers = _nodes(bundle, "Identifier")
    problems = []
    stand_ins = 0
    for n in identifiers:
        missing = []
        if not (present(n.value, "system") or n.value.get("type")):
            missing.append("system (or type)")
        if not present(n.value, "value"):
            missing.append("value")
        elif not has_value(n.value, "value"):
            stand_ins += 1
        if missing:
            problems.append(f"{n.where}: Identifier without {' and '.join(missing)}")
    if problems:
        return listed(ctx, problems, x, "Identifier problems")
    note = f" ({stand_ins} with an extension in place of the value, e.g. a masked BSN)" if stand_ins else ""
    return [passed(f"{_plural(len(identifiers), 'Identifier')} checked: system or type, and a value{note}", x.id)]


# --------------------------------------------------------------------------- no BSN


def _bsn_pattern(bsn: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){re.escape(bsn)}(?!\d)")


@check("fhir.no-bsn", "No BSN in the answer: body, headers, links and fullUrls", ["medmij.fhir.no-bsn"])
def no_bsn(ctx: CheckContext) -> list[Finding]:
    """The test patients' BSNs (from the dataset) must not appear anywhere in the answer, and a BSN identifier
    must not carry a value (masked: an extension in its place). Messages name the place, never the number."""
    x = ctx.response("search")
    patients = [p for p in ctx.dataset.patients if p.bsn]
    problems: list[str] = []
    text = x.response_body.decode("utf-8", errors="replace")
    try:
        body: dict[str, Any] | None = ctx.resource(x)
    except BadBody:
        body = None
    for p in patients:
        pattern = _bsn_pattern(p.bsn)
        for name, value in x.response_headers:
            if p.bsn in value and pattern.search(value):
                problems.append(f"the BSN of test patient {p.id} is in response header {name}")
        raw_hits = [m.start() for m in pattern.finditer(text)] if p.bsn in text else []  # substring test first: fast
        if not raw_hits:
            continue
        places = [] if body is None else [path for path, s in _located(body) if pattern.search(s)]
        if places:
            problems += [f"the BSN of test patient {p.id} is in {where}" for where in places]
        else:
            offsets = ", ".join(str(o) for o in raw_hits[:5])
            problems.append(f"the BSN of test patient {p.id} is in the response body (character offset {offsets})")
    masked = 0
    if body is not None:
        for n in (n for n in walk(body) if n.type == "Identifier" and n.value.get("system") == BSN_SYSTEM):
            if has_value(n.value, "value"):
                problems.append(f"{n.where}: a BSN identifier ({BSN_SYSTEM}) carries a value instead of being masked")
            else:
                masked += 1
    if problems:
        return listed(ctx, list(dict.fromkeys(problems)), x, "BSN findings")
    return [
        passed(
            f"no BSN of the {_plural(len(patients), 'test patient')} in the body ({len(x.response_body)} bytes), "
            f"its links and fullUrls, or the {_plural(len(x.response_headers), 'response header')}; "
            f"{_plural(masked, 'BSN identifier')} masked",
            x.id,
        )
    ]


def _located(body: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """Every scalar of the answer with a readable place: ``Bundle link[0].url``, ``Patient/x name[0].text``."""
    entries = body.get("entry") if body.get("resourceType") == "Bundle" else None
    if not isinstance(entries, list):
        yield from ((f"{label(body)} {path}", s) for path, s in strings(body))
        return
    shell = {k: v for k, v in body.items() if k != "entry"}
    yield from ((f"Bundle {path}", s) for path, s in strings(shell))
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        for key, value in entry.items():
            if key == "resource" and isinstance(resource, dict):
                yield from ((f"{label(resource)} {path}", s) for path, s in strings(resource))
            else:
                yield from ((f"Bundle entry[{i}].{path}", s) for path, s in strings(value, key))


# --------------------------------------------------------------------------- formats


def _requested(x: Exchange) -> tuple[str, str]:
    """The format the request asked for (``_format`` wins over Accept) and how it asked."""
    fmt_param = dict(_params(x.url)).get("_format")
    accept = x.header("accept", response=False)
    how = f"_format={fmt_param}" if fmt_param else f"Accept: {accept}" if accept else "no Accept header"
    return negotiate(fmt_param, accept), how


@check(
    "fhir.content-type", "The answer's media type is the FHIR format that was asked for", ["fhir.format.content-type"]
)
def content_type(ctx: CheckContext) -> list[Finding]:
    x = ctx.response("search")
    if not x.response_body:
        return [skipped(f"HTTP {x.status} without a body: no media type to judge", x.id)]
    fmt, how = _requested(x)
    wanted = MEDIA_TYPES[fmt]
    raw = x.header("content-type")
    if raw is None:
        return [failed(f"no Content-Type header; {wanted} was asked ({how})", x.id)]
    if x.content_type != wanted:
        return [failed(f"Content-Type {raw!r}, but {wanted} was asked ({how})", x.id)]
    charset = next(
        (
            p.split("=", 1)[1].strip().strip('"')
            for p in raw.split(";")[1:]
            if "=" in p and p.split("=", 1)[0].strip().lower() == "charset"
        ),
        None,
    )
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        return [failed(f"Content-Type {raw!r} names charset {charset}; FHIR content is UTF-8", x.id)]
    return [passed(f"Content-Type {raw} as asked ({how})", x.id)]


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # rare: only then find which
        keys = [k for k, _ in pairs]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"property {', '.join(twice)} occurs twice in one object")
    return obj


def _well_formed_json(text: str) -> str | None:
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        return f"not well-formed JSON: {exc}"
    if not isinstance(value, dict):
        return "the JSON body is not an object"
    rt = value.get("resourceType")
    if not isinstance(rt, str) or not is_resource_type(rt):
        return f"the JSON body has no FHIR R4 resourceType (found {rt!r})"
    return None


def _well_formed_xml(raw: bytes) -> str | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        return f"not well-formed XML: {exc}"
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if ns != FHIR_NS:
        return f"the XML root element <{local}> is not in the FHIR namespace {FHIR_NS} (namespace {ns or 'none'!r})"
    if not is_resource_type(local):
        return f"the XML root element <{local}> is not a FHIR R4 resource"
    return None


@check("fhir.well-formed", "The body is well-formed in the format it claims", ["fhir.format.well-formed"])
def well_formed(ctx: CheckContext) -> list[Finding]:
    """The claimed format is the Content-Type's (json or xml); when the Content-Type names neither, the format
    that was asked for. JSON must be an object with a known resourceType and no repeated property; XML must be
    well-formed with a resource element in the FHIR namespace as root. FHIR content is UTF-8."""
    x = ctx.response("search")
    if not x.response_body:
        return [skipped(f"HTTP {x.status} without a body", x.id)]
    ct = x.content_type
    fmt = "xml" if "xml" in ct else "json" if "json" in ct else _requested(x)[0]
    claim = f"Content-Type {ct}" if ct else "no Content-Type"
    try:
        text = x.response_body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [failed(f"the body is not UTF-8: {exc}", x.id)]
    problem = _well_formed_xml(x.response_body) if fmt == "xml" else _well_formed_json(text)
    if problem:
        return [failed(safe(ctx, f"{problem} ({claim})"), x.id)]
    return [passed(f"well-formed FHIR {fmt.upper()}, {len(x.response_body)} bytes ({claim})", x.id)]
