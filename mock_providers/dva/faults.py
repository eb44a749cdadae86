"""The mechanics of the fault catalogue (``mock_providers.faults``) on the reference DVA.

Three kinds of switch live here:

- TLS: :func:`tls_context` loosens a DVA listener's server context (TLS 1.0, optional client certificate).
- FHIR answers: :func:`mutate_bundle` breaks one rule in a search answer (a deep copy: the store is never
  touched), :func:`serialise` breaks the body or its content type, :func:`refuses_search` fails filtered searches.
- The OAuth faults and the Whitelist fault are flags read where the rule is enforced (``oauth.py``, ``app.py``);
  their names are here too, so that every switch of the catalogue has exactly one spelling.

Every function returns its input unchanged when none of its faults is on: the clean DVA stays byte-identical.
"""

from __future__ import annotations

import copy
import ssl
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from validatiestraat.fhir.formats import Format
from validatiestraat.fhir.search import search
from validatiestraat.fhir.searchparams import SEARCH_PARAMS
from validatiestraat.fhir.store import Resource, Store

# -- OAuth (read in mock_providers.dva.oauth) ---------------------------------------------------------------
CODE_REUSABLE = "dva.code_reusable"
STATE_DROPPED = "dva.state_dropped"
REDIRECT_URI_UNVALIDATED = "dva.redirect_uri_unvalidated"
SCOPE_UNCHECKED = "dva.scope_unchecked"
TOKEN_WITHOUT_REDIRECT_URI = "dva.token_without_redirect_uri"
TOKEN_SLOW = "dva.token_slow"
UNKNOWN_TOKEN_ACCEPTED = "dva.unknown_token_accepted"
OCL_IGNORED = "dva.ocl_ignored"
UNKNOWN_CLIENT_REDIRECTED = "dva.unknown_client_redirected"
ERROR_NOT_REDIRECTED = "dva.error_not_redirected"
BARE_SCOPE_ACCEPTED = "dva.bare_scope_accepted"
TOKEN_RESPONSE_INCOMPLETE = "dva.token_response_incomplete"
# -- TLS (here, and the Whitelist guard in mock_providers.dva.app) --------------------------------------------
ACCEPTS_TLS10 = "dva.accepts_tls10"
CLIENT_CERT_OPTIONAL = "dva.client_cert_optional"
WHITELIST_IGNORED = "dva.whitelist_ignored"
# -- FHIR (here; period_end_not_derived is passed to the search) -----------------------------------------------
WRONG_BUNDLE_TYPE = "dva.wrong_bundle_type"
MISSING_FULL_URL = "dva.missing_full_url"
FULL_URL_MISMATCH = "dva.full_url_mismatch"
MISSING_META_PROFILE = "dva.missing_meta_profile"
CODING_WITHOUT_SYSTEM = "dva.coding_without_system"
REFERENCE_WITHOUT_DISPLAY = "dva.reference_without_display"
IDENTIFIER_WITHOUT_SYSTEM = "dva.identifier_without_system"
TOTAL_ABOVE_MATCHES = "dva.total_above_matches"
NO_SELF_LINK = "dva.no_self_link"
BSN_IN_OUTPUT = "dva.bsn_in_output"
RESOURCE_DROPPED = "dva.resource_dropped"
INCLUDE_IGNORED = "dva.include_ignored"
ITERATE_IGNORED = "dva.iterate_ignored"
PERIOD_END_NOT_DERIVED = "dva.period_end_not_derived"
BROKEN_XML = "dva.broken_xml"
WRONG_CONTENT_TYPE = "dva.wrong_content_type"
FILTER_500 = "dva.filter_500"
DOSE_ALTERED = "dva.dose_altered"
OTHER_PATIENT_DATA = "dva.other_patient_data"
CODEABLECONCEPT_WITHOUT_TEXT = "dva.codeableconcept_without_text"
UNKNOWN_ELEMENT = "dva.unknown_element"
STATUS_OUTSIDE_VALUE_SET = "dva.status_outside_value_set"
PERIOD_ENDS_BEFORE_START = "dva.period_ends_before_start"
EXTRA_MEDICATION = "dva.extra_medication"

BSN_SYSTEM = "http://fhir.nl/fhir/NamingSystem/bsn"
#: the TLS listeners of the DVA (names as in mock_providers.straat)
DVA_LISTENERS = ("dva-front", "dva-back")
#: parameters of the block's own base query: a search with nothing else is "unfiltered"
_BASE_PARAMS = frozenset({"category", "_include", "_format"})


# --------------------------------------------------------------------------- TLS


def tls_context(listener: str, ctx: ssl.SSLContext, faults: frozenset[str]) -> ssl.SSLContext:
    """``ctx`` of the straat listener ``listener`` with its TLS faults applied (in place; returned for chaining)."""
    if listener not in DVA_LISTENERS:
        return ctx
    if ACCEPTS_TLS10 in faults:
        with warnings.catch_warnings():  # ssl deprecates TLSv1: that is the point of the fault
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        # OpenSSL 3 refuses TLS 1.0's SHA-1 signatures at the default security level; level 0 really offers it
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if CLIENT_CERT_OPTIONAL in faults and listener == "dva-back":
        ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


# --------------------------------------------------------------------------- FHIR: refusing


def has_filter(params: Iterable[tuple[str, str]]) -> bool:
    """True when the query has a search parameter beyond the MP9 block's base query (category, includes)."""
    for name, _ in params:
        base = name.partition(":")[0]
        if base not in _BASE_PARAMS and base in SEARCH_PARAMS:
            return True
    return False


def refuses_search(faults: frozenset[str], params: Iterable[tuple[str, str]]) -> bool:
    """True when a fault makes this search fail with HTTP 500 (``dva.filter_500``: filtered searches only)."""
    return FILTER_500 in faults and has_filter(params)


# --------------------------------------------------------------------------- FHIR: the search answer


@dataclass(frozen=True)
class SearchContext:
    """What a Bundle mutator may need besides the Bundle: the request and the data behind it."""

    store: Store
    resource_type: str
    params: tuple[tuple[str, str], ...]
    patient_id: str
    base_url: str


BundleMutator = Callable[[dict[str, Any], SearchContext], None]


def _entries(bundle: dict[str, Any], mode: str | None = None) -> list[dict[str, Any]]:
    return [e for e in bundle.get("entry", []) if mode is None or e.get("search", {}).get("mode") == mode]


def _focal(bundle: dict[str, Any]) -> list[Resource]:
    return [e["resource"] for e in _entries(bundle, "match")]


def _set_entries(bundle: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    if entries:
        bundle["entry"] = entries
    else:  # FHIR JSON has no empty arrays
        bundle.pop("entry", None)


def _walk(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, Any]]:
    """Every (key, value) under ``value`` in document order, depth first; keys in ``skip`` are not entered."""
    if isinstance(value, dict):
        for key, child in value.items():
            if key in skip:
                continue
            yield key, child
            yield from _walk(child, skip)
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, skip)


def _first(resources: Sequence[Resource], pick: Callable[[Resource], dict[str, Any] | None]) -> dict[str, Any] | None:
    for r in resources:
        found = pick(r)
        if found is not None:
            return found
    return None


def _wrong_bundle_type(bundle: dict[str, Any], _: SearchContext) -> None:
    bundle["type"] = "collection"


def _missing_full_url(bundle: dict[str, Any], _: SearchContext) -> None:
    entries = _entries(bundle)
    if entries:
        entries[0].pop("fullUrl", None)


def _full_url_mismatch(bundle: dict[str, Any], _: SearchContext) -> None:
    entries = _entries(bundle)
    if entries:
        first = entries[0]
        url = first.get("fullUrl", "")
        first["fullUrl"] = url.rsplit("/", 1)[0] + "/not-" + first["resource"]["id"]


def _missing_meta_profile(bundle: dict[str, Any], _: SearchContext) -> None:
    for r in _focal(bundle):
        meta = r.get("meta")
        if isinstance(meta, dict):
            meta.pop("profile", None)
            if not meta:
                del r["meta"]


def _coding(resource: Resource) -> dict[str, Any] | None:
    """The first Coding with a system and code, outside ``category`` (the block's key) and ``meta``."""
    for key, value in _walk(resource, frozenset({"category", "meta"})):
        if key == "coding" and isinstance(value, list):
            for c in value:
                if isinstance(c, dict) and "system" in c and "code" in c:
                    return c
    return None


def _coding_without_system(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _coding)
    if found is not None:
        del found["system"]


def _reference(resource: Resource) -> dict[str, Any] | None:
    """The first Reference (to another resource) that has a display."""
    for _, value in _walk(resource):
        if isinstance(value, dict) and isinstance(value.get("reference"), str) and "display" in value:
            return value
    return None


def _reference_without_display(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _reference)
    if found is not None:
        del found["display"]


def _identifier(resource: Resource) -> dict[str, Any] | None:
    """The resource's first business identifier with a system and a value, and no type."""
    for ident in resource.get("identifier", []):
        if isinstance(ident, dict) and "system" in ident and "value" in ident and "type" not in ident:
            return ident
    return None


def _identifier_without_system(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _identifier)
    if found is not None:
        del found["system"]


def _total_above_matches(bundle: dict[str, Any], _: SearchContext) -> None:
    bundle["total"] = len(_entries(bundle, "match")) + 1


def _no_self_link(bundle: dict[str, Any], _: SearchContext) -> None:
    links = [link for link in bundle.get("link", []) if link.get("relation") != "self"]
    if links:
        bundle["link"] = links
    else:
        bundle.pop("link", None)


def _bsn_in_output(bundle: dict[str, Any], ctx: SearchContext) -> None:
    """The Patient's masked BSN identifier gets the real (fake) BSN of the dataset's PatientEntry."""
    for e in _entries(bundle):
        r = e["resource"]
        if r.get("resourceType") != "Patient":
            continue
        entry = ctx.store.patient(r.get("id", ""))
        if entry is None:
            continue
        identifiers = r.setdefault("identifier", [])
        target = next((i for i in identifiers if i.get("system") == BSN_SYSTEM), None)
        if target is None:
            target = {"system": BSN_SYSTEM}
            identifiers.append(target)
        target.pop("_value", None)  # the data-absent-reason "masked" extension
        target["value"] = entry.bsn


def _resource_dropped(bundle: dict[str, Any], _: SearchContext) -> None:
    matches = _entries(bundle, "match")
    if not matches:
        return
    last = matches[-1]
    _set_entries(bundle, [e for e in _entries(bundle) if e is not last])
    if isinstance(bundle.get("total"), int):
        bundle["total"] -= 1  # the answer stays self-consistent: only the dropped resource is wrong


def _include_ignored(bundle: dict[str, Any], _: SearchContext) -> None:
    _set_entries(bundle, [e for e in _entries(bundle) if e.get("search", {}).get("mode") != "include"])


def _is_iterate(name: str) -> bool:
    base, _, modifier = name.partition(":")
    return base == "_include" and modifier in ("iterate", "recurse")


def _iterate_ignored(bundle: dict[str, Any], ctx: SearchContext) -> None:
    """Keep what the same search without its ``_include:iterate`` parameters returns."""
    plain = [(k, v) for k, v in ctx.params if not _is_iterate(k)]
    if len(plain) == len(ctx.params):
        return
    without = search(ctx.store, ctx.resource_type, plain, ctx.patient_id, ctx.base_url)
    keep = {(e["resource"]["resourceType"], e["resource"]["id"]) for e in without.get("entry", [])}
    _set_entries(
        bundle,
        [e for e in _entries(bundle) if (e["resource"]["resourceType"], e["resource"]["id"]) in keep],
    )


def _dose(resource: Resource) -> dict[str, Any] | None:
    """The first dose quantity (``doseQuantity``, or MedicationAdministration's ``dosage.dose``) with a value."""
    for key, value in _walk(resource):
        amount = value.get("value") if isinstance(value, dict) else None
        if key in ("doseQuantity", "dose") and isinstance(amount, int | float) and not isinstance(amount, bool):
            return value
    return None


def _dose_altered(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _dose)
    if found is not None:
        found["value"] = found["value"] + 1


def _category_codes(resource: Resource) -> set[str]:
    category = resource.get("category")
    concepts = category if isinstance(category, list) else [category] if isinstance(category, dict) else []
    return {c.get("code", "") for cc in concepts for c in cc.get("coding", [])}


def _other_patient_resource(ctx: SearchContext) -> Resource | None:
    """A resource of the searched type (and category, where there is one) belonging to another patient."""
    wanted = {v.rpartition("|")[2] for k, v in ctx.params if k == "category"}
    others = [r for r in ctx.store.all(ctx.resource_type) if Store.patient_of(r) not in (None, ctx.patient_id)]
    same_category = [r for r in others if not wanted or _category_codes(r) & wanted]
    return (same_category or others or [None])[0]


def _other_patient_data(bundle: dict[str, Any], ctx: SearchContext) -> None:
    other = _other_patient_resource(ctx)
    if other is None:
        return
    entry = {
        "fullUrl": f"{ctx.base_url.rstrip('/')}/{other['resourceType']}/{other['id']}",
        "resource": copy.deepcopy(other),
        "search": {"mode": "match"},
    }
    matches = _entries(bundle, "match")
    rest = _entries(bundle)[len(matches) :]
    _set_entries(bundle, [*matches, entry, *rest])
    if isinstance(bundle.get("total"), int):
        bundle["total"] += 1  # counted as a match, so that Bundle.total stays consistent


def _concept(resource: Resource) -> dict[str, Any] | None:
    """The first CodeableConcept (an object with a ``coding`` list) outside ``category`` and ``meta``."""
    for _, value in _walk(resource, frozenset({"category", "meta"})):
        if isinstance(value, dict) and isinstance(value.get("coding"), list) and value["coding"]:
            return value
    return None


def _codeableconcept_without_text(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _concept)
    if found is not None:
        found.pop("text", None)
        for coding in found["coding"]:
            if isinstance(coding, dict):
                coding.pop("display", None)


def _unknown_element(bundle: dict[str, Any], _: SearchContext) -> None:
    focal = _focal(bundle)
    if focal:
        focal[0]["remark"] = "an element FHIR R4 does not have"


_FOREIGN_STATUS = {"MedicationDispense": "active", "MedicationAdministration": "active"}


def _status_outside_value_set(bundle: dict[str, Any], _: SearchContext) -> None:
    focal = [r for r in _focal(bundle) if isinstance(r.get("status"), str)]
    if focal:  # a status that other resources have, but not this one
        focal[0]["status"] = _FOREIGN_STATUS.get(focal[0]["resourceType"], "in-progress")


def _period(resource: Resource) -> dict[str, Any] | None:
    """The first Period with a start (the period of use of an agreement, the effective period of a use ...)."""
    for _, value in _walk(resource, frozenset({"meta"})):
        if isinstance(value, dict) and isinstance(value.get("start"), str) and set(value) <= {"start", "end", "id"}:
            return value
    return None


def _period_ends_before_start(bundle: dict[str, Any], _: SearchContext) -> None:
    found = _first(_focal(bundle), _period)
    if found is not None:
        found["end"] = "1990-01-01"  # every start in the data is later: the per-1 invariant breaks


def _extra_medication(bundle: dict[str, Any], ctx: SearchContext) -> None:
    referenced = {
        e["resource"].get("id") for e in _entries(bundle) if e["resource"].get("resourceType") == "Medication"
    }
    extra = next((m for m in ctx.store.all("Medication") if m.get("id") not in referenced), None)
    if extra is None:
        return
    entry = {
        "fullUrl": f"{ctx.base_url.rstrip('/')}/Medication/{extra['id']}",
        "resource": copy.deepcopy(extra),
        "search": {"mode": "include"},
    }
    _set_entries(bundle, [*_entries(bundle), entry])


#: the Bundle mutators, in the order they are applied
MUTATORS: dict[str, BundleMutator] = {
    ITERATE_IGNORED: _iterate_ignored,
    INCLUDE_IGNORED: _include_ignored,
    RESOURCE_DROPPED: _resource_dropped,
    OTHER_PATIENT_DATA: _other_patient_data,
    WRONG_BUNDLE_TYPE: _wrong_bundle_type,
    MISSING_FULL_URL: _missing_full_url,
    FULL_URL_MISMATCH: _full_url_mismatch,
    MISSING_META_PROFILE: _missing_meta_profile,
    CODING_WITHOUT_SYSTEM: _coding_without_system,
    REFERENCE_WITHOUT_DISPLAY: _reference_without_display,
    IDENTIFIER_WITHOUT_SYSTEM: _identifier_without_system,
    TOTAL_ABOVE_MATCHES: _total_above_matches,
    NO_SELF_LINK: _no_self_link,
    BSN_IN_OUTPUT: _bsn_in_output,
    DOSE_ALTERED: _dose_altered,
    CODEABLECONCEPT_WITHOUT_TEXT: _codeableconcept_without_text,
    UNKNOWN_ELEMENT: _unknown_element,
    STATUS_OUTSIDE_VALUE_SET: _status_outside_value_set,
    PERIOD_ENDS_BEFORE_START: _period_ends_before_start,
    EXTRA_MEDICATION: _extra_medication,
}


def mutate_bundle(bundle: dict[str, Any], faults: frozenset[str], ctx: SearchContext) -> dict[str, Any]:
    """The search answer with the Bundle faults that are on applied to a deep copy (``bundle`` itself when
    none is: its resources are the store's own objects, and are never changed)."""
    active = [fn for name, fn in MUTATORS.items() if name in faults]
    if not active:
        return bundle
    broken = copy.deepcopy(bundle)
    for fn in active:
        fn(broken, ctx)
    return broken


# --------------------------------------------------------------------------- FHIR: the bytes on the wire

WRONG_MEDIA_TYPE = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def serialise(content: bytes, media_type: str, fmt: Format, faults: frozenset[str]) -> tuple[bytes, str]:
    """The body and content type of a FHIR answer with the serialisation faults applied."""
    if BROKEN_XML in faults and fmt == "xml":
        content = content[: len(content) // 2]
    if WRONG_CONTENT_TYPE in faults:
        media_type = WRONG_MEDIA_TYPE[fmt]
    return content, media_type


# --------------------------------------------------------------------------- bookkeeping

#: every fault this package implements (tests compare it with the catalogue)
IMPLEMENTED: frozenset[str] = frozenset(
    {
        CODE_REUSABLE,
        STATE_DROPPED,
        REDIRECT_URI_UNVALIDATED,
        SCOPE_UNCHECKED,
        TOKEN_WITHOUT_REDIRECT_URI,
        TOKEN_SLOW,
        UNKNOWN_TOKEN_ACCEPTED,
        OCL_IGNORED,
        UNKNOWN_CLIENT_REDIRECTED,
        ERROR_NOT_REDIRECTED,
        BARE_SCOPE_ACCEPTED,
        TOKEN_RESPONSE_INCOMPLETE,
        ACCEPTS_TLS10,
        CLIENT_CERT_OPTIONAL,
        WHITELIST_IGNORED,
        PERIOD_END_NOT_DERIVED,
        BROKEN_XML,
        WRONG_CONTENT_TYPE,
        FILTER_500,
        *MUTATORS,
    }
)
