"""OAuth probes on the DVA's authorization server and on the bearer token at its resource server
(medmij-protocol.md §1.3-1.5, §1.7).

The harness plays the PGO: its client_id (the PGO's OCL hostname), its redirect_uri, its backchannel client
with the PGO's certificate (``straat.pgo.http``, recorded) and the patient's browser (``straat.browser_http``,
recorded, driven by :class:`~validatiestraat.useragent.AutoUserAgent`). Every endpoint comes from the ZAL the
PGO holds, never from the straat's internals, so the same probes run against a vendor's DVA. Each probe records
its exchanges under the step names of :mod:`validatiestraat.checks.oauth`; the checks judge them.

A code is read from the redirect back to the client as the browser recorded it; the browser stops before it
follows that redirect, so the code is still unused.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from mock_providers.pgo.client import PGOError
from mock_providers.straat import PROVIDER
from validatiestraat.checks import oauth as C
from validatiestraat.evidence.exchange import Exchange
from validatiestraat.medmij.lists import Gegevensdienst
from validatiestraat.medmij.mp9 import BLOCKS_BY_CODE, ROLE_SERVE, SERVICE_ID
from validatiestraat.medmij.scope import Scope
from validatiestraat.probes import probe
from validatiestraat.results import Outcome
from validatiestraat.scenarios import Scenario
from validatiestraat.session import Blocked, DvaSession, is_transport_failure
from validatiestraat.useragent import AutoUserAgent, UserAgentError

#: the token requests wait this long, so that a late answer is measured (core.tknint.206 allows 10 s) rather than
#: cut off by the client's default timeout
TOKEN_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class Target:
    """What a probe needs to know about the DVA under test (from the ZAL) and about itself (the PGO)."""

    provider: str  # Zorgaanbiedernaam, with @medmij
    service_id: str
    service: Gegevensdienst  # the ZAL's endpoints for this provider and service
    client_id: str  # the PGO's hostname on the OCL
    redirect_uri: str
    patient_id: str
    bsn: str

    @property
    def scope(self) -> str:
        return str(Scope.of(self.provider, [self.service_id]))

    @property
    def fhir_base(self) -> str:
        base = self.service.resource_uri(ROLE_SERVE)
        if base is None:
            raise Blocked(Outcome.FAIL, f"the ZAL gives {self.provider} no {ROLE_SERVE} resource endpoint")
        return base.rstrip("/")

    def authorize_url(self, **overrides: str | None) -> str:
        """The authorization endpoint of the ZAL with a good request, changed by ``overrides`` (None drops one)."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": secrets.token_urlsafe(24),
            **overrides,
        }
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.service.authorization_uri}?{query}"

    def token_form(self, code: str, **overrides: str | None) -> dict[str, str]:
        form: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            **overrides,
        }
        return {k: v for k, v in form.items() if v is not None}


async def target(session: DvaSession, scenario: Scenario) -> Target:
    """The DVA under test as the ZAL describes it, and the test patient of ``scenario`` (else the first)."""
    provider = getattr(session, "provider", PROVIDER)
    service_id = getattr(session, "service_id", SERVICE_ID)
    try:
        service = await session.straat.pgo._service(provider, service_id)
    except PGOError as exc:
        raise Blocked(Outcome.ERROR, f"no endpoints for {provider} on the ZAL: {exc}") from exc
    patient = session.dataset.patient(scenario.patient) if scenario.patient else None
    if patient is None:
        if scenario.patient or not session.dataset.patients:
            raise Blocked(Outcome.ERROR, f"the dataset has no test patient {scenario.patient or '(any)'}")
        patient = session.dataset.patients[0]
    pgo = session.straat.pgo
    return Target(provider, service_id, service, pgo.hostname, pgo.redirect_uri, patient.id, patient.bsn)


def require_auto(session: DvaSession, what: str) -> None:
    """Probes that need an authorization code walk the front channel with the automatic user agent."""
    if session.way != "auto":
        raise Blocked(
            Outcome.SKIP,
            f"{what} needs authorization codes from the automatic user agent; this run's way is {session.way!r}",
        )


def recorded(session: DvaSession, scenario: Scenario, variant: str | None, step: str) -> list[Exchange]:
    """What the harness has recorded so far in ``step`` of this case."""
    case = scenario.case_id(variant)
    return C.harness_side(x for x in session.recorder.of_case(case) if x.step == step)


def endpoint_of(uri: str) -> str:
    """``uri`` without query and fragment: where the browser must stop rather than deliver the answer."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


async def walk(session: DvaSession, step: str, url: str, bsn: str, stop_at: str) -> None:
    """Let the patient's browser go through the front channel from ``url`` (logging in as ``bsn`` and consenting
    when asked), stopping before it visits ``stop_at``. Everything is recorded under ``step``."""
    agent = AutoUserAgent(session.straat.browser_http, bsn, stop_at=endpoint_of(stop_at))
    before = len(session.recorder.exchanges)
    # a failure is recorded; the checks judge what the browser saw
    with session.recorder.step(step), contextlib.suppress(UserAgentError, httpx.HTTPError):
        await agent(url)
    seen = C.FrontChannel(step, C.harness_side(x for x in session.recorder.exchanges[before:] if x.step == step))
    for _, redirect in seen.codes_issued():  # a code is a secret wherever it went (even to a bad redirect_uri)
        session.secrets.add(C.query_of(redirect)["code"])


async def fresh_code(
    session: DvaSession, scenario: Scenario, variant: str | None, t: Target, step: str = C.AUTHORIZE
) -> str:
    """Walk a good authorization up to the redirect back to the client and return its code, unused."""
    await walk(session, step, t.authorize_url(), t.bsn, t.redirect_uri)
    fc = C.FrontChannel(step, recorded(session, scenario, variant, step))
    cb = fc.callback()
    code = cb.params.get("code") if cb else None
    if code:
        session.secrets.add(code)
        return code
    last = fc.exchanges[-1] if fc.exchanges else None
    environment = last is not None and last.status is None and is_transport_failure(Exception(last.error or ""))
    raise Blocked(
        Outcome.ERROR if environment else Outcome.FAIL,
        f"a good authorization request for {t.patient_id} gave no code: {fc.describe_end()}",
        *fc.ids(),
    )


def trace_headers() -> dict[str, str]:
    """core.tknint.208: a fresh MedMij-Request-ID per request, and an X-Correlation-ID."""
    return {"MedMij-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}


async def token_request(session: DvaSession, step: str, t: Target, form: dict[str, str]) -> str | None:
    """POST ``form`` to the ZAL's token endpoint with the PGO's backchannel client, recorded under ``step``;
    the access token when one came back."""
    with session.recorder.step(step):
        try:
            response = await session.straat.pgo.http.post(
                t.service.token_uri, data=form, headers=trace_headers(), timeout=TOKEN_TIMEOUT
            )
        except httpx.HTTPError:
            return None  # recorded with its error
    body = _json(response)
    if response.status_code == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
        session.secrets.add(body["access_token"])
        return body["access_token"]
    return None


async def fresh_token(
    session: DvaSession, scenario: Scenario, variant: str | None, t: Target, step: str = "token:setup"
) -> str:
    """An access token of this probe's own (a good authorization and token request, recorded under ``step``),
    independent of the reference PGO's own checks on the answers."""
    code = await fresh_code(session, scenario, variant, t, step=f"{C.AUTHORIZE}:{step}")
    token = await token_request(session, step, t, t.token_form(code))
    if token is None:
        answer = C.FrontChannel(step, recorded(session, scenario, variant, step))
        last = answer.exchanges[-1] if answer.exchanges else None
        environment = last is not None and last.status is None and is_transport_failure(Exception(last.error or ""))
        raise Blocked(
            Outcome.ERROR if environment else Outcome.FAIL,
            f"a good token request for {t.patient_id} gave no access token: {answer.describe_end()}",
            *answer.ids(),
        )
    return token


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def search_request(t: Target, token: str | None) -> tuple[str, list[tuple[str, str]], dict[str, str]]:
    """An MP9 medication-agreement search on the ZAL's resource endpoint: URL, parameters, headers."""
    block = BLOCKS_BY_CODE["MA"]
    headers = {"Accept": FHIR_JSON, **trace_headers()}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return f"{t.fhir_base}/{block.resource_type}", block.query(), headers


# -- probes ------------------------------------------------------------------------------------------------------
@probe("oauth.code-reuse")
async def code_reuse(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A good authorization (state and code come back), then the code presented twice at the token endpoint."""
    require_auto(session, f"probe {scenario.id}")
    t = await target(session, scenario)
    code = await fresh_code(session, scenario, variant, t)
    form = t.token_form(code)
    await token_request(session, C.TOKEN_FIRST, t, form)
    await token_request(session, C.TOKEN_REPLAY, t, form)
    return {"patient": t.patient_id, "scope": t.scope}


@probe("oauth.bad-response-type")
async def bad_response_type(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """response_type=token (the implicit grant), which MedMij does not use: an error redirect with the state."""
    t = await target(session, scenario)
    await walk(session, C.BAD_RESPONSE_TYPE, t.authorize_url(response_type="token"), t.bsn, t.redirect_uri)
    return {"patient": t.patient_id}


@probe("oauth.bad-redirect-uri")
async def bad_redirect_uri(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """redirect_uris the DVA must never send the browser to: another host, plain http, one with a fragment."""
    t = await target(session, scenario)
    parts = urlsplit(t.redirect_uri)
    bad = {
        "other-host": f"https://elders.{parts.hostname}.example{parts.path}",
        "http": urlunsplit(("http", parts.netloc, parts.path, "", "")),
        "fragment": t.redirect_uri + "#fragment",
    }
    for name, uri in bad.items():
        await walk(session, C.BAD_REDIRECT_URI + name, t.authorize_url(redirect_uri=uri), t.bsn, uri)
    return {"patient": t.patient_id, "redirect_uris": bad}


@probe("oauth.scope-grammar")
async def scope_grammar(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """Scopes outside the AS 2.x grammar for this provider: the AS 1.x bare id, another provider, two providers."""
    t = await target(session, scenario)
    other = "onbekendezorgaanbieder~" + t.service_id
    scopes = {"bare-id": t.service_id, "other-provider": other, "mixed-providers": f"{t.scope} {other}"}
    for name, scope in scopes.items():
        await walk(session, C.BAD_SCOPE + name, t.authorize_url(scope=scope), t.bsn, t.redirect_uri)
    return {"patient": t.patient_id, "scopes": scopes}


@probe("oauth.token-redirect-uri")
async def token_redirect_uri(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A fresh code presented without redirect_uri, another fresh code with a different one; each code is then
    presented correctly and must stay refused."""
    require_auto(session, f"probe {scenario.id}")
    t = await target(session, scenario)
    other = endpoint_of(t.redirect_uri) + "/elders"
    for (bad_step, then_step, _), change in zip(C.TOKEN_REDIRECT_URI_CASES, (None, other), strict=True):
        code = await fresh_code(session, scenario, variant, t, step=f"{C.AUTHORIZE}:{bad_step}")
        await token_request(session, bad_step, t, t.token_form(code, redirect_uri=change))
        await token_request(session, then_step, t, t.token_form(code))
    return {"patient": t.patient_id}


@probe("oauth.resource-token-required")
async def resource_token_required(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """An MP9 search on the ZAL's resource endpoint over the PGO's mutual TLS, without a token and with a random
    token the DVA never issued."""
    t = await target(session, scenario)
    unknown = secrets.token_urlsafe(32)
    session.secrets.add(unknown)
    for step, token in ((C.SEARCH_NO_TOKEN, None), (C.SEARCH_UNKNOWN_TOKEN, unknown)):
        url, params, headers = search_request(t, token)
        with session.recorder.step(step), contextlib.suppress(httpx.HTTPError):  # recorded with its error
            await session.straat.pgo.http.get(url, params=params, headers=headers)
    return {"patient": t.patient_id}
