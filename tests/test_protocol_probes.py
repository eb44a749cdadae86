"""The protocol probes (OAuth, TLS, lists) against the reference straat, and their checks on hand-built bad evidence.

The first part runs every probe scenario of ``fixtures/scenarios/dva/20-protocol.json`` through the engine against
the clean reference DVA over real TLS: every check must pass, backed by recorded exchanges. The second part feeds
each check the evidence a broken DVA would leave (a reused code that got 200, an error redirect without state, a
200 to an unknown token, a TLS 1.0 handshake that succeeded, ...) and proves the check fails it, and that
environment trouble (nothing listening) is an error, never a failure.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import count
from urllib.parse import urlencode

import httpx
import pytest

from mock_providers.his.dataset import load_builtin
from mock_providers.straat import Straat
from validatiestraat import engine, net, scenarios
from validatiestraat.checks.context import CheckContext
from validatiestraat.checks.registry import all_checks, evaluate
from validatiestraat.checks.tls import REFUSED, UNREACHABLE, transport_failure
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.store import Store
from validatiestraat.pki import TestPKI
from validatiestraat.probes.tls import ExplainingTransport
from validatiestraat.requirements import catalogue
from validatiestraat.results import Outcome, Result
from validatiestraat.scenarios import FIXTURES, Scenario
from validatiestraat.session import DvaSession
from validatiestraat.tls import client_context

T = date(2026, 3, 1)
PROTOCOL_FILE = FIXTURES / "scenarios" / "dva" / "20-protocol.json"
MY_REQUIREMENTS = ("oauth.json", "tls.json", "lists.json")


def protocol_scenarios() -> list[Scenario]:
    ids = [s["id"] for s in json.loads(PROTOCOL_FILE.read_text("utf-8"))["scenarios"]]
    known = scenarios.by_id()
    return [known[i] for i in ids]


# -- against the reference straat ---------------------------------------------------------------------------------
@dataclass
class Run:
    results: dict[str, list[Result]]
    recorder: Recorder
    straat: Straat


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    store = load_builtin(T)
    recorder = Recorder()
    with Straat(store, recorder=recorder) as straat:
        session = DvaSession(straat, recorder, store, t=T.isoformat())
        results = {s.id: [r for _, v in s.cases for r in engine.run_case(session, s, v)] for s in protocol_scenarios()}
        yield Run(results, recorder, straat)


@pytest.mark.parametrize("scenario_id", [s.id for s in protocol_scenarios()])
def test_every_protocol_scenario_passes_against_the_reference_dva(run: Run, scenario_id: str) -> None:
    recorder = run.recorder
    assert run.results[scenario_id], "no check ran"
    for r in run.results[scenario_id]:
        assert r.outcome == Outcome.PASS, (r.id, r.messages)
        assert r.exchanges, f"{r.id} passed without evidence"
        for x in r.exchanges:
            assert recorder.get(x) is not None and recorder.get(x).case == r.case  # type: ignore[union-attr]


def test_the_tls_probe_proves_it_can_speak_tls_10_and_11(run: Run) -> None:
    recorder = run.recorder
    controls = {x.step: x for x in recorder.exchanges if x.step.startswith("tls-control:")}
    assert {s: x.tls_version for s, x in controls.items()} == {
        "tls-control:TLSv1": "TLSv1",
        "tls-control:TLSv1.1": "TLSv1.1",
    }
    refused = [x for x in recorder.exchanges if x.step.startswith(("tls:TLSv1:", "tls:TLSv1.1:"))]
    assert len(refused) == 4 and all(x.status is None and "SSL" in (x.error or "") for x in refused)


def test_the_ocl_probe_leaves_the_ocl_as_it_found_it(run: Run) -> None:
    ocl = run.straat.stelselnode.ocl
    assert [c.hostname for c in ocl.clients] == [run.straat.pgo.hostname]
    assert ocl.volgnummer == 3  # the probe published the client (2) and took it off again (3)
    asked = [x for x in run.recorder.exchanges if x.step == "authorize:unlisted-service" and x.sender == "browser"]
    assert asked and "client_id=probe-pgo." in asked[0].url


def test_every_protocol_requirement_is_checked_by_a_protocol_scenario() -> None:
    registry = all_checks()
    cited = {req for s in protocol_scenarios() for c in s.checks for req in registry[c].requirements}
    mine = {
        entry["id"]
        for name in MY_REQUIREMENTS
        for entry in json.loads((FIXTURES / "requirements" / name).read_text("utf-8"))["requirements"]
    }
    assert mine == cited
    known = catalogue()
    assert all(known[r].checks for r in mine)


# -- hand-built evidence -----------------------------------------------------------------------------------------
AUTH = "https://dva.example.test/oauth/authorize"
TOKEN = "https://dva.example.test:8443/oauth/token"
FHIR = "https://dva.example.test:8443/fhir"
CB = "https://pgo.example.test/oauth/callback"
_ids = count(1)


def ex(
    step: str,
    url: str,
    status: int | None = None,
    *,
    method: str = "GET",
    location: str | None = None,
    body: object = b"",
    content_type: str | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    sender: str = "browser",
    error: str | None = None,
    elapsed: float = 0.02,
    tls: str | None = "TLSv1.3",
) -> Exchange:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    response_headers = list(headers)
    if location:
        response_headers.append(("location", location))
    if content_type:
        response_headers.append(("content-type", content_type))
    return Exchange(
        id=f"h{next(_ids):04d}",
        case="-",
        step=step,
        sender=sender,
        receiver="dva.example.test",
        method=method,
        url=url,
        request_headers=[],
        request_body=b"",
        status=status,
        response_headers=response_headers,
        response_body=raw,
        elapsed=elapsed,
        tls_version=tls if status is not None else None,
        error=error,
    )


def authorize(step: str, answer: int, *, location: str | None = None, **params: str) -> Exchange:
    query = {"response_type": "code", "client_id": "pgo.example.test", "redirect_uri": CB, "state": "s-1"}
    query.update(params)
    query.setdefault("scope", "straathuisarts~990003")
    return ex(
        step, f"{AUTH}?{urlencode(query)}", answer, location=location, content_type=None if location else "text/html"
    )


def judge(scenario_id: str, check_id: str, exchanges: list[Exchange], facts: dict | None = None) -> Result:
    scenario = scenarios.by_id()[scenario_id]
    ctx = CheckContext(scenario, None, exchanges, Store(), facts or {})
    return evaluate(all_checks()[check_id], ctx)


GOOD_TOKEN = {"access_token": "a" * 40, "token_type": "Bearer", "expires_in": 900, "scope": "straathuisarts~990003"}
NO_STORE = (("cache-control", "no-store"),)


def token(step: str, status: int, body: object, *, elapsed: float = 0.02, headers=NO_STORE) -> Exchange:
    return ex(
        step,
        TOKEN,
        status,
        method="POST",
        body=body,
        content_type="application/json",
        headers=headers,
        elapsed=elapsed,
        sender="pgo",
    )


def good_front_channel() -> list[Exchange]:
    return [authorize("authorize", 303, location=f"{CB}?code=c-1&state=s-1")]


def test_a_reused_code_that_got_200_fails() -> None:
    xs = [*good_front_channel(), token("token-1", 200, GOOD_TOKEN), token("token-2", 200, GOOD_TOKEN)]
    assert judge("OAUTH-code-reuse", "oauth.code-single-use", xs).outcome == Outcome.FAIL
    xs[-1] = token("token-2", 400, {"error": "invalid_request"})
    assert judge("OAUTH-code-reuse", "oauth.code-single-use", xs).outcome == Outcome.FAIL
    xs[-1] = token("token-2", 400, {"error": "invalid_grant"})
    assert judge("OAUTH-code-reuse", "oauth.code-single-use", xs).outcome == Outcome.PASS
    xs[1] = token("token-1", 400, {"error": "invalid_grant"})  # no first token: the replay proves nothing
    assert judge("OAUTH-code-reuse", "oauth.code-single-use", xs).outcome == Outcome.OMIT


@pytest.mark.parametrize(
    ("change", "headers"),
    [
        ({"token_type": "mac"}, NO_STORE),
        ({"expires_in": None}, NO_STORE),
        ({"expires_in": "900"}, NO_STORE),
        ({"access_token": ""}, NO_STORE),
        ({"scope": "straathuisarts~990003 straathuisarts~42"}, NO_STORE),  # more than was asked
        ({"scope": "990003"}, NO_STORE),  # the AS 1.x grammar
        ({}, ()),  # cacheable
    ],
)
def test_a_token_response_missing_a_part_fails(change: dict, headers: tuple) -> None:
    body = {k: v for k, v in {**GOOD_TOKEN, **change}.items() if v is not None}
    xs = [*good_front_channel(), token("token-1", 200, body, headers=headers)]
    assert judge("OAUTH-code-reuse", "oauth.token-response", xs).outcome == Outcome.FAIL
    xs = [*good_front_channel(), token("token-1", 200, GOOD_TOKEN)]
    assert judge("OAUTH-code-reuse", "oauth.token-response", xs).outcome == Outcome.PASS


def test_a_token_answer_after_10_seconds_fails_and_no_connection_is_an_error() -> None:
    slow = [token("token-1", 200, GOOD_TOKEN, elapsed=10.5), token("token-2", 400, {"error": "invalid_grant"})]
    assert judge("OAUTH-code-reuse", "oauth.token-within-10s", slow).outcome == Outcome.FAIL
    cut = ex("token-1", TOKEN, method="POST", sender="pgo", error="ReadTimeout: timed out", elapsed=10.0)
    assert judge("OAUTH-code-reuse", "oauth.token-within-10s", [cut]).outcome == Outcome.FAIL
    down = ex("token-1", TOKEN, method="POST", sender="pgo", error="ConnectError: All connection attempts failed")
    assert judge("OAUTH-code-reuse", "oauth.token-within-10s", [down]).outcome == Outcome.ERROR
    fast = [token("token-1", 200, GOOD_TOKEN, elapsed=9.9)]
    assert judge("OAUTH-code-reuse", "oauth.token-within-10s", fast).outcome == Outcome.PASS


def test_a_redirect_without_the_state_or_with_another_fails() -> None:
    for location in (f"{CB}?error=unsupported_response_type", f"{CB}?error=unsupported_response_type&state=s-2"):
        xs = [authorize("authorize:response-type", 303, location=location, response_type="token")]
        assert judge("OAUTH-response-type", "oauth.state-returned", xs).outcome == Outcome.FAIL
    xs = [authorize("authorize", 303, location=f"{CB}?code=c-1")]
    assert judge("OAUTH-code-reuse", "oauth.state-returned", xs).outcome == Outcome.FAIL
    assert judge("OAUTH-code-reuse", "oauth.state-returned", good_front_channel()).outcome == Outcome.PASS


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (303, f"{CB}?code=c-1&state=s-1"),  # the implicit request got a code
        (400, None),  # an error page instead of the error redirect
        (303, f"{CB}?error=invalid_request&state=s-1"),  # the wrong error code
        (303, "https://digid.example.test/login"),  # the DVA went on with the flow
    ],
)
def test_a_bad_response_type_without_its_error_redirect_fails(status: int, location: str | None) -> None:
    xs = [authorize("authorize:response-type", status, location=location, response_type="token")]
    assert judge("OAUTH-response-type", "oauth.error-redirect", xs).outcome == Outcome.FAIL


def test_an_authorize_request_that_got_no_answer_is_an_error() -> None:
    query = urlencode({"response_type": "token", "client_id": "pgo.example.test", "redirect_uri": CB, "state": "s"})
    xs = [ex("authorize:response-type", f"{AUTH}?{query}", error="ConnectError: All connection attempts failed")]
    assert judge("OAUTH-response-type", "oauth.error-redirect", xs).outcome == Outcome.ERROR


def test_a_redirect_to_an_invalid_redirect_uri_fails() -> None:
    bad = "https://elders.example.test/oauth/callback"
    xs = [
        authorize(
            "authorize:redirect-uri:other-host", 303, location=f"{AUTH.rsplit('/', 1)[0]}/login", redirect_uri=bad
        ),
        ex("authorize:redirect-uri:other-host", "https://dva.example.test/oauth/login", 303, location=f"{bad}?code=x"),
    ]
    assert judge("OAUTH-redirect-uri", "oauth.redirect-uri-validated", xs).outcome == Outcome.FAIL
    frag = authorize(
        "authorize:redirect-uri:fragment", 303, location=f"{CB}?error=invalid_request", redirect_uri=CB + "#f"
    )
    assert judge("OAUTH-redirect-uri", "oauth.redirect-uri-validated", [frag]).outcome == Outcome.FAIL
    page = authorize("authorize:redirect-uri:http", 400, redirect_uri=CB.replace("https", "http"))
    assert judge("OAUTH-redirect-uri", "oauth.redirect-uri-validated", [page]).outcome == Outcome.PASS


def test_a_malformed_scope_that_got_a_code_or_another_error_fails() -> None:
    for location in (f"{CB}?code=c&state=s-1", f"{CB}?error=access_denied&state=s-1"):
        xs = [authorize("authorize:scope:bare-id", 303, location=location, scope="990003")]
        assert judge("OAUTH-scope-grammar", "oauth.scope-grammar", xs).outcome == Outcome.FAIL
    xs = [authorize("authorize:scope:bare-id", 303, location=f"{CB}?error=invalid_scope&state=s-1", scope="990003")]
    assert judge("OAUTH-scope-grammar", "oauth.scope-grammar", xs).outcome == Outcome.PASS


def test_an_unknown_client_redirected_to_or_authenticated_fails() -> None:
    redirect = "https://onbekend.example.test/cb"
    to_client = authorize(
        "authorize:client:unknown",
        303,
        location=f"{redirect}?error=unauthorized_client&state=s-1",
        client_id="onbekend.example.test",
        redirect_uri=redirect,
    )
    assert judge("LISTS-unknown-client", "oauth.unknown-client-no-redirect", [to_client]).outcome == Outcome.FAIL
    assert judge("LISTS-unknown-client", "lists.ocl-client", [to_client]).outcome == Outcome.PASS  # refused, at least
    to_digid = [
        authorize("authorize:client:unknown", 303, location="https://digid.example.test/login", client_id="x.test"),
        ex("authorize:client:unknown", "https://digid.example.test/login", 200, content_type="text/html"),
    ]
    assert judge("LISTS-unknown-client", "lists.ocl-client", to_digid).outcome == Outcome.FAIL
    page = authorize("authorize:client:unknown", 400, client_id="x.test")
    assert judge("LISTS-unknown-client", "lists.ocl-client", [page]).outcome == Outcome.PASS


def test_a_scope_the_ocl_does_not_list_for_the_client_must_get_invalid_scope() -> None:
    def attempt(status: int, location: str | None) -> Result:
        x = authorize("authorize:unlisted-service", status, location=location, client_id="probe.example.test")
        return judge("LISTS-ocl-service", "lists.ocl-service", [x], {"ocl_services": ["990001"]})

    assert attempt(303, f"{CB}?code=c&state=s-1").outcome == Outcome.FAIL
    assert attempt(303, f"{CB}?error=access_denied&state=s-1").outcome == Outcome.FAIL
    assert attempt(400, None).outcome == Outcome.ERROR  # an error page: has the DVA seen the new OCL?
    assert attempt(303, f"{CB}?error=invalid_scope&state=s-1").outcome == Outcome.PASS


def test_a_token_without_or_with_another_redirect_uri_fails() -> None:
    def case(missing: int, then: int) -> list[Exchange]:
        grant = {"error": "invalid_grant"}
        return [
            token("token:redirect-uri-missing", missing, GOOD_TOKEN if missing == 200 else grant),
            token("token:redirect-uri-missing:then-correct", then, GOOD_TOKEN if then == 200 else grant),
            token("token:redirect-uri-other", 400, grant),
            token("token:redirect-uri-other:then-correct", 400, grant),
        ]

    assert judge("OAUTH-token-redirect-uri", "oauth.redirect-uri-required", case(200, 400)).outcome == Outcome.FAIL
    assert judge("OAUTH-token-redirect-uri", "oauth.redirect-uri-required", case(400, 200)).outcome == Outcome.FAIL
    assert judge("OAUTH-token-redirect-uri", "oauth.redirect-uri-required", case(400, 400)).outcome == Outcome.PASS


def test_a_search_served_to_an_unknown_token_fails() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "security"}]}

    def searches(unknown: Exchange) -> list[Exchange]:
        no_token = ex(
            "search:no-token",
            f"{FHIR}/MedicationRequest",
            401,
            body=outcome,
            sender="pgo",
            content_type="application/fhir+json",
        )
        return [no_token, unknown]

    bundle = {"resourceType": "Bundle", "type": "searchset"}
    for status, body, ctype in (
        (200, bundle, "application/fhir+json"),
        (403, outcome, "application/fhir+json"),
        (401, b"<html>no</html>", "text/html"),
    ):
        unknown = ex(
            "search:unknown-token", f"{FHIR}/MedicationRequest", status, body=body, sender="pgo", content_type=ctype
        )
        assert judge("OAUTH-resource-token", "oauth.resource-token-required", searches(unknown)).outcome == Outcome.FAIL
    good = ex(
        "search:unknown-token",
        f"{FHIR}/MedicationRequest",
        401,
        body=outcome,
        sender="pgo",
        content_type="application/fhir+json",
    )
    assert judge("OAUTH-resource-token", "oauth.resource-token-required", searches(good)).outcome == Outcome.PASS


# -- TLS evidence ---------------------------------------------------------------------------------------------------
HANDSHAKE_REFUSED = "ConnectError: [EndOfStream <- SSLEOFError: [SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred]"
NOTHING_LISTENING = "ConnectError: All connection attempts failed [OSError: [Errno 111] Connect call failed]"
CANNOT_OFFER = "ConnectError: [SSLError: [SSL: NO_PROTOCOLS_AVAILABLE] no protocols available]"


def tls_attempt(step: str, *, status: int | None = None, tls: str | None = None, error: str | None = None) -> Exchange:
    url = TOKEN if step.endswith(":token") else f"{FHIR}/metadata"
    return ex(step, url, status, sender="harness", tls=tls, error=error)


def versions(old: dict[str, Exchange], control_error: str | None = None) -> list[Exchange]:
    xs = []
    for v in ("TLSv1", "TLSv1.1"):
        control = tls_attempt(f"tls-control:{v}", status=None if control_error else 204, tls=v, error=control_error)
        xs.append(control)
        for target in ("token", "fhir"):
            step = f"tls:{v}:{target}"
            xs.append(old.get(step) or tls_attempt(step, error=HANDSHAKE_REFUSED))
    for v in ("TLSv1.2", "TLSv1.3"):
        xs += [tls_attempt(f"tls:{v}:{target}", status=200, tls=v) for target in ("token", "fhir")]
    return xs


def test_a_tls_10_handshake_that_succeeded_fails() -> None:
    accepted = tls_attempt("tls:TLSv1:fhir", status=200, tls="TLSv1")
    assert judge("TLS-versions", "tls.old-versions-refused", versions({"tls:TLSv1:fhir": accepted})).outcome == "fail"
    assert judge("TLS-versions", "tls.old-versions-refused", versions({})).outcome == Outcome.PASS


def test_an_old_version_this_harness_cannot_offer_is_omitted_not_passed() -> None:
    result = judge("TLS-versions", "tls.old-versions-refused", versions({}, control_error=CANNOT_OFFER))
    assert result.outcome == Outcome.OMIT and "SECLEVEL" in result.messages[0]


def test_nothing_listening_is_an_error_not_a_refusal() -> None:
    down = tls_attempt("tls:TLSv1:token", error=NOTHING_LISTENING)
    assert transport_failure(down) == UNREACHABLE
    assert judge("TLS-versions", "tls.old-versions-refused", versions({"tls:TLSv1:token": down})).outcome == "error"
    assert transport_failure(tls_attempt("tls:TLSv1:token", error=HANDSHAKE_REFUSED)) == REFUSED


def test_tls_12_refused_fails_and_tls_13_refused_is_omitted() -> None:
    xs = versions({})
    no12 = [tls_attempt(x.step, error=HANDSHAKE_REFUSED) if x.step == "tls:TLSv1.2:fhir" else x for x in xs]
    assert judge("TLS-versions", "tls.current-versions-accepted", no12).outcome == Outcome.FAIL
    no13 = [tls_attempt(x.step, error=HANDSHAKE_REFUSED) if x.step.startswith("tls:TLSv1.3") else x for x in xs]
    assert judge("TLS-versions", "tls.current-versions-accepted", no13).outcome == Outcome.OMIT
    assert judge("TLS-versions", "tls.current-versions-accepted", xs).outcome == Outcome.PASS


def certificates(kinds: tuple[str, ...], override: dict[str, Exchange], control: int | None = 200) -> list[Exchange]:
    xs = []
    for target in ("token", "fhir"):
        for kind in kinds:
            step = f"{kind}:{target}"
            xs.append(override.get(step) or tls_attempt(step, error=HANDSHAKE_REFUSED))
        xs.append(tls_attempt(f"control:{target}", status=control, error=None if control else NOTHING_LISTENING))
    return xs


def test_a_backchannel_that_serves_a_client_without_certificate_fails() -> None:
    kinds = ("no-cert", "rogue-ca", "expired")
    served = tls_attempt("no-cert:fhir", status=200)
    assert (
        judge("TLS-client-cert", "tls.client-cert-required", certificates(kinds, {"no-cert:fhir": served})).outcome
        == "fail"
    )
    crashed = tls_attempt("expired:token", status=500)
    assert (
        judge("TLS-client-cert", "tls.client-cert-required", certificates(kinds, {"expired:token": crashed})).outcome
        == "fail"
    )
    refused_4xx = tls_attempt("no-cert:fhir", status=400)  # nginx style: handshake done, 400 "no certificate"
    assert (
        judge("TLS-client-cert", "tls.client-cert-required", certificates(kinds, {"no-cert:fhir": refused_4xx})).outcome
        == "pass"
    )
    # every refusal is void when the same request with a good certificate fails too
    assert (
        judge("TLS-client-cert", "tls.client-cert-required", certificates(kinds, {}, control=None)).outcome == "error"
    )


def test_a_backchannel_that_serves_a_host_not_on_the_whitelist_fails() -> None:
    served = tls_attempt("not-whitelisted:fhir", status=200)
    xs = certificates(("not-whitelisted",), {"not-whitelisted:fhir": served})
    assert judge("TLS-whitelist", "tls.whitelist", xs).outcome == Outcome.FAIL
    forbidden = tls_attempt("not-whitelisted:fhir", status=403)
    xs = certificates(("not-whitelisted",), {"not-whitelisted:fhir": forbidden})
    assert judge("TLS-whitelist", "tls.whitelist", xs).outcome == Outcome.PASS


def test_the_recorded_error_of_a_real_refused_connection_classifies_as_unreachable() -> None:
    """A port nobody listens on, through the probes' own recorded client: an environment error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    recorder = Recorder()

    async def go() -> None:
        def tap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            return recorder.transport(ExplainingTransport(inner), "harness")

        async with net.client(client_context(TestPKI().root_pem), {"dva.straat.test": "127.0.0.1"}, record=tap) as c:
            with recorder.step("tls:TLSv1.2:token"), pytest.raises(httpx.ConnectError):
                await c.get(f"https://dva.straat.test:{port}/oauth/token")

    asyncio.run(go())
    (x,) = recorder.exchanges
    assert x.status is None and transport_failure(x) == UNREACHABLE, x.error
