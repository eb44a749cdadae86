"""The fault catalogue: named switches on the reference DVA, each breaking exactly one rule on purpose.

A fault is how the harness proves that it can tell a broken DVA from a good one: with the fault on, the
certification run must come to *not certified* and the failing results must cite the fault's requirement
(``tests/test_faults.py``, the kill matrix). Switch faults on per straat::

    Straat(store, faults=frozenset({"dva.no_self_link"}))

The mechanics live with the parties they break (``mock_providers.dva.oauth`` and ``.fhir_api`` for the OAuth
and FHIR rules, ``mock_providers.dva.faults`` for the Bundle mutators and the TLS contexts). With no fault on,
the reference DVA behaves exactly as without this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One deliberate defect: ``requirement`` is the id of the rule it breaks, which the checks must cite when
    they catch it; ``layer`` says where it acts (``oauth``, ``tls`` or ``fhir``)."""

    name: str
    party: str
    layer: str
    title: str
    description: str  # the broken rule, in one sentence
    requirement: str


def _f(name: str, layer: str, requirement: str, title: str, description: str) -> Fault:
    return Fault(name, name.split(".", 1)[0], layer, title, description, requirement)


_CATALOGUE = (
    # -- OAuth (authorization server) ------------------------------------------------------------------------
    _f(
        "dva.ocl_ignored",
        "oauth",
        "medmij.lists.ocl-client",
        "OCL not consulted",
        "The authorize endpoint serves a client_id that is not on the OAuth client list as if it were.",
    ),
    _f(
        "dva.unknown_client_redirected",
        "oauth",
        "medmij.oauth.unknown-client-no-redirect",
        "Unknown client redirected",
        "An authorization request from a client_id not on the OCL is answered with an error redirect to its "
        "unverified redirect_uri instead of an error page.",
    ),
    _f(
        "dva.error_not_redirected",
        "oauth",
        "medmij.oauth.error-redirect",
        "Errors shown instead of redirected",
        "An invalid authorization request from a known client (bad response_type, scope, state) gets an error "
        "page instead of an RFC 6749 error redirect to the client.",
    ),
    _f(
        "dva.bare_scope_accepted",
        "oauth",
        "medmij.oauth.scope-grammar",
        "AS 1.x bare scope accepted",
        "A scope that is a bare GegevensdienstId (the outdated AS 1.x grammar) is accepted for this provider.",
    ),
    _f(
        "dva.token_response_incomplete",
        "oauth",
        "medmij.oauth.token-response",
        "Token response without expires_in",
        "The token response leaves out expires_in.",
    ),
    _f(
        "dva.code_reusable",
        "oauth",
        "medmij.oauth.code-single-use",
        "Authorization code can be used twice",
        "The token endpoint exchanges an authorization code that was already presented, instead of refusing it.",
    ),
    _f(
        "dva.state_dropped",
        "oauth",
        "medmij.oauth.state-returned",
        "state missing from the redirects",
        "The redirect to the client's redirect_uri (with a code or an error) does not carry the client's state.",
    ),
    _f(
        "dva.redirect_uri_unvalidated",
        "oauth",
        "medmij.oauth.redirect-uri-validated",
        "redirect_uri not validated",
        "The authorize endpoint accepts and redirects to any https redirect_uri, not only one on the "
        "client's own hostname.",
    ),
    _f(
        "dva.scope_unchecked",
        "oauth",
        "medmij.lists.ocl-service",
        "Scope not checked against the OCL",
        "The authorize endpoint grants GegevensdienstIds that the OAuth client list does not list for the client.",
    ),
    _f(
        "dva.token_without_redirect_uri",
        "oauth",
        "medmij.oauth.redirect-uri-required",
        "Token issued without redirect_uri",
        "The token endpoint issues a token for a code when the token request carries no redirect_uri.",
    ),
    _f(
        "dva.token_slow",
        "oauth",
        "medmij.oauth.token-within-10s",
        "Token answer after 10 seconds",
        "The token endpoint answers only after more than 10 seconds.",
    ),
    _f(
        "dva.unknown_token_accepted",
        "oauth",
        "medmij.fhir.token-required",
        "Unknown access token accepted",
        "The FHIR endpoint serves a patient's data for a bearer token it never issued.",
    ),
    # -- TLS (the DVA's listeners) ---------------------------------------------------------------------------
    _f(
        "dva.accepts_tls10",
        "tls",
        "medmij.tls.min-version",
        "Accepts TLS 1.0",
        "The DVA's endpoints complete a TLS 1.0 handshake instead of requiring TLS 1.2 or higher.",
    ),
    _f(
        "dva.client_cert_optional",
        "tls",
        "medmij.tls.client-cert-required",
        "Client certificate optional on the backchannel",
        "The token and FHIR endpoints serve a TLS client that presents no client certificate.",
    ),
    _f(
        "dva.whitelist_ignored",
        "tls",
        "medmij.tls.whitelist",
        "Whitelist ignored",
        "The backchannel serves any TLS client with a valid certificate, also when its host is not on the Whitelist.",
    ),
    # -- FHIR (the MP9 search answers) -----------------------------------------------------------------------
    _f(
        "dva.wrong_bundle_type",
        "fhir",
        "nictiz.mp9.bundle-searchset",
        "Bundle type collection",
        "The search answer is a Bundle of type collection instead of searchset.",
    ),
    _f(
        "dva.missing_full_url",
        "fhir",
        "nictiz.mp9.fullurl",
        "Entry without fullUrl",
        "A Bundle entry has no fullUrl.",
    ),
    _f(
        "dva.full_url_mismatch",
        "fhir",
        "nictiz.mp9.fullurl",
        "fullUrl does not match the resource id",
        "A Bundle entry's fullUrl ends in another id than its resource's.",
    ),
    _f(
        "dva.missing_meta_profile",
        "fhir",
        "nictiz.mp9.meta-profile",
        "Focal resources without meta.profile",
        "The focal resources of the answer declare no profile in meta.profile.",
    ),
    _f(
        "dva.coding_without_system",
        "fhir",
        "nictiz.mp9.coding-system-code",
        "Coding without system",
        "A Coding in a focal resource has a code but no system.",
    ),
    _f(
        "dva.reference_without_display",
        "fhir",
        "nictiz.mp9.reference-display",
        "Reference without display",
        "A Reference in a focal resource has no display.",
    ),
    _f(
        "dva.identifier_without_system",
        "fhir",
        "nictiz.mp9.identifier-system-value",
        "Identifier without system",
        "An Identifier of a focal resource has a value but neither system nor type.",
    ),
    _f(
        "dva.total_above_matches",
        "fhir",
        "nictiz.mp9.total-matches",
        "Bundle.total above the matches",
        "Bundle.total is greater than the number of entries with search mode match.",
    ),
    _f(
        "dva.no_self_link",
        "fhir",
        "nictiz.mp9.self-link",
        "No self link",
        "The searchset Bundle has no link with relation self.",
    ),
    _f(
        "dva.bsn_in_output",
        "fhir",
        "medmij.fhir.no-bsn",
        "BSN in the answer",
        "The Patient in the answer carries the patient's BSN as an identifier value instead of masking it.",
    ),
    _f(
        "dva.resource_dropped",
        "fhir",
        "validatiestraat.mp9.expected-resources",
        "A matching resource is dropped",
        "The last focal resource that matches the search is missing from the answer.",
    ),
    _f(
        "dva.include_ignored",
        "fhir",
        "validatiestraat.mp9.includes",
        "_include ignored",
        "The answer holds none of the resources the _include and _include:iterate parameters ask for.",
    ),
    _f(
        "dva.iterate_ignored",
        "fhir",
        "validatiestraat.mp9.includes",
        "_include:iterate ignored",
        "The answer holds the directly included resources but none of those only _include:iterate reaches.",
    ),
    _f(
        "dva.period_end_not_derived",
        "fhir",
        "validatiestraat.mp9.expected-resources",
        "period-of-use end not derived from the duration",
        "The period-of-use search treats a period with a start and a duration but no end as open-ended, "
        "instead of ending it at start + duration.",
    ),
    _f(
        "dva.broken_xml",
        "fhir",
        "fhir.format.well-formed",
        "XML answers cut in half",
        "XML answers are not well-formed: the body stops halfway.",
    ),
    _f(
        "dva.wrong_content_type",
        "fhir",
        "fhir.format.content-type",
        "Generic content type",
        "Answers are labelled application/json or text/xml instead of application/fhir+json or application/fhir+xml.",
    ),
    _f(
        "dva.filter_500",
        "fhir",
        "nictiz.mp9.status",
        "HTTP 500 on filtered searches",
        "A search with a filter parameter (beyond the block's category and includes) answers HTTP 500.",
    ),
    _f(
        "dva.dose_altered",
        "fhir",
        "validatiestraat.mp9.content-unaltered",
        "Dose altered",
        "A dose quantity in a focal resource differs from the one in the source data.",
    ),
    _f(
        "dva.other_patient_data",
        "fhir",
        "validatiestraat.mp9.patient-isolation",
        "Another patient's data",
        "The answer holds a focal resource of another patient than the one the token is for.",
    ),
    _f(
        "dva.codeableconcept_without_text",
        "fhir",
        "nictiz.mp9.codeableconcept-text",
        "CodeableConcept without display or text",
        "A CodeableConcept in a focal resource carries neither a coding display nor a text.",
    ),
    _f(
        "dva.unknown_element",
        "fhir",
        "nictiz.mp9.profile",
        "Element FHIR R4 does not have",
        "A focal resource carries an element that FHIR R4 does not define.",
    ),
    _f(
        "dva.status_outside_value_set",
        "fhir",
        "nictiz.mp9.profile",
        "Status outside its value set",
        "A focal resource carries a status code that is not in the value set its profile requires.",
    ),
    _f(
        "dva.period_ends_before_start",
        "fhir",
        "nictiz.mp9.profile",
        "Period ending before it starts",
        "A period in a focal resource ends before it starts, which breaks the FHIR invariant per-1.",
    ),
    _f(
        "dva.extra_medication",
        "fhir",
        "nictiz.mp9.counts",
        "A Medication nothing refers to",
        "The answer includes a Medication that no returned resource refers to, so the Medication count is off.",
    ),
)

FAULTS: dict[str, Fault] = {f.name: f for f in _CATALOGUE}


def get(name: str) -> Fault:
    """The fault called ``name``; a ValueError naming the known faults when there is none."""
    try:
        return FAULTS[name]
    except KeyError:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(sorted(FAULTS))}") from None


def validate(names: Iterable[str]) -> frozenset[str]:
    """``names`` as a frozenset, after checking that each is a known fault (ValueError otherwise)."""
    if isinstance(names, str):  # a single name passed bare would otherwise be split into letters
        names = (names,)
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise ValueError(
            f"unknown fault{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"known faults: {', '.join(sorted(FAULTS))}"
        )
    return chosen


def describe() -> list[tuple[str, str, str]]:
    """(name, requirement, title) of every fault, sorted by name: the CLI's fault listing."""
    return [(f.name, f.requirement, f.title) for f in sorted(FAULTS.values(), key=lambda f: f.name)]
