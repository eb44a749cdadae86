"""The reference DVA's authorization server: authorize (front channel) and token (backchannel).

Rules, per medmij-protocol.md §1.3-1.4 and §1.7:
- ``authorize``: an unknown ``client_id`` (not on the OCL) or a ``redirect_uri`` that is not https on that
  client's hostname gets an error page and never a redirect. Every other error is an RFC 6749 §4.1.2.1 error
  redirect carrying the original ``state``. The scope must follow the AS 2.x grammar, name this provider and
  only GegevensdienstIds this provider offers and the OCL lists for the client. Then DigiD (artifact resolved
  server-to-server to the BSN), the availability check (no data for this person → ``access_denied``), consent
  naming the OCL organisation, and a redirect with ``code`` and ``state``.
- ``token``: form-encoded, ``grant_type=authorization_code``; the code is single use: a second presentation
  gets ``invalid_grant`` and revokes every token the code gave (RFC 6749 §4.1.2). ``redirect_uri`` and
  ``client_id`` must match the authorization request, and the client must be the TLS peer. Codes and tokens
  are random and never issued twice.

``faults`` (names from ``mock_providers.faults``) switch single rules off on purpose; with none, nothing changes.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from mock_providers.dva import faults as F
from validatiestraat.fhir.store import Grant, Store
from validatiestraat.medmij.listclient import ListClient
from validatiestraat.medmij.lists import OAuthclient
from validatiestraat.medmij.scope import Scope, ScopeError, parse_scope
from validatiestraat.tls import tls_of
from validatiestraat.web import error_page, hidden, page

SESSION_SECONDS = 15 * 60
CODE_SECONDS = 10 * 60
TOKEN_SECONDS = 15 * 60
FORM_TYPE = "application/x-www-form-urlencoded"
TRACE_HEADERS = ("MedMij-Request-ID", "X-Correlation-ID")


@dataclass
class AuthSession:
    id: str
    client: OAuthclient
    redirect_uri: str
    state: str
    scope: Scope
    correlation_id: str | None
    expires: float
    csrf: str
    patient_id: str | None = None


@dataclass
class IssuedCode:
    session: AuthSession
    patient_id: str
    expires: float
    used: bool = False
    tokens: list[str] = field(default_factory=list)


@dataclass
class IssuedToken:
    grant: Grant
    client_id: str
    expires: float
    revoked: bool = False


@dataclass(frozen=True)
class AuthorizationServerConfig:
    provider: str  # Zorgaanbiedernaam, with @medmij
    service_names: dict[str, str]  # GegevensdienstId -> display name, for the services this DVA offers
    acs_url: str  # where DigiD sends the user agent back
    digid_login_url: str
    digid_resolve_url: str


class AuthorizationServer:
    def __init__(
        self,
        config: AuthorizationServerConfig,
        store: Store,
        lists: ListClient,
        http: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self.config = config
        self.faults = frozenset(faults)
        self.store = store
        self.lists = lists
        self.http = http
        self.clock = clock
        self.sessions: dict[str, AuthSession] = {}
        self.codes: dict[str, IssuedCode] = {}
        self.tokens: dict[str, IssuedToken] = {}
        self._issued: set[str] = set()

    # -- secrets and grants -----------------------------------------------------------------------------
    def _secret(self) -> str:
        """A random value never handed out before by this server (codes, tokens, sessions)."""
        while True:
            value = secrets.token_urlsafe(32)
            if value not in self._issued:
                self._issued.add(value)
                return value

    def grant_for_token(self, token: str) -> Grant | None:
        """The grant of a token this server issued, or of a token pre-shared per patient in the dataset (the
        official qualification's fixed tokens, for FHIR-only certification)."""
        issued = self.tokens.get(token)
        if issued is not None:
            return None if issued.revoked or issued.expires < self.clock() else issued.grant
        patient = self.store.by_token(token)
        if patient is not None:
            return Grant(patient.id, frozenset(self.config.service_names))
        if F.UNKNOWN_TOKEN_ACCEPTED in self.faults and self.store.patients:  # any token: the first patient's data
            return Grant(self.store.patients[0].id, frozenset(self.config.service_names))
        return None

    def _state(self, state: str | None) -> str | None:
        """The state to send back to the client (none at all with the fault ``dva.state_dropped``)."""
        return None if F.STATE_DROPPED in self.faults else state

    # -- front channel -------------------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        lists = await self.lists.fresh()
        client_id = q.get("client_id", "")
        client = lists.ocl.client(client_id) if lists.ocl and client_id else None
        if client is None and client_id and F.OCL_IGNORED in self.faults:
            client = OAuthclient(client_id, client_id, tuple(self.config.service_names))
        if client is None:
            if F.UNKNOWN_CLIENT_REDIRECTED in self.faults and q.get("redirect_uri", "").startswith("https://"):
                return error_redirect(q["redirect_uri"], "unauthorized_client", "unknown client", q.get("state"))
            return error_page("Technische storing", "Onbekende applicatie: client_id staat niet op de OCL.")
        redirect_uri = q.get("redirect_uri", "")
        problem = redirect_uri_problem(redirect_uri, client.hostname)
        if problem and F.REDIRECT_URI_UNVALIDATED in self.faults and redirect_uri.startswith("https://"):
            problem = None
        if problem:
            return error_page("Technische storing", f"Ongeldige redirect_uri: {problem}.")
        state = q.get("state")

        def fail(error: str, description: str) -> Response:
            if F.ERROR_NOT_REDIRECTED in self.faults:
                return error_page("Ongeldig verzoek", f"{error}: {description}")
            return error_redirect(redirect_uri, error, description, self._state(state))

        if not state:
            return fail("invalid_request", "state is required")
        if q.get("response_type") != "code":
            return fail("unsupported_response_type", "only response_type=code is supported")
        try:
            scope = parse_scope(q.get("scope", ""))
        except ScopeError as exc:
            bare = q.get("scope", "").strip()
            if not (F.BARE_SCOPE_ACCEPTED in self.faults and bare in self.config.service_names):
                return fail("invalid_scope", str(exc))
            scope = Scope.of(self.config.provider, [bare])
        if scope.zorgaanbiedernaam != self.config.provider:
            return fail("invalid_scope", f"this server authorizes for {self.config.provider} only")
        for service_id in scope.service_ids:
            if service_id not in self.config.service_names:
                return fail("invalid_scope", f"GegevensdienstId {service_id} is not offered here")
            if not client.qualified_for(service_id) and F.SCOPE_UNCHECKED not in self.faults:
                return fail("invalid_scope", f"the OCL does not list GegevensdienstId {service_id} for this client")
        session = AuthSession(
            id=self._secret(),
            client=client,
            redirect_uri=redirect_uri,
            state=state,
            scope=scope,
            correlation_id=q.get("X-Correlation-ID") or request.headers.get("X-Correlation-ID"),
            expires=self.clock() + SESSION_SECONDS,
            csrf=self._secret(),
        )
        self.sessions[session.id] = session
        query = urlencode({"return_to": self.config.acs_url, "RelayState": session.id})
        return RedirectResponse(f"{self.config.digid_login_url}?{query}", status_code=303)

    def _session(self, session_id: str) -> AuthSession | None:
        session = self.sessions.get(session_id)
        if session is None or session.expires < self.clock():
            self.sessions.pop(session_id, None)
            return None
        return session

    async def digid_return(self, request: Request) -> Response:
        session = self._session(request.query_params.get("RelayState", ""))
        if session is None:
            return error_page("Sessie verlopen", "Deze inlogsessie is onbekend of verlopen.")
        try:
            answer = await self.http.post(
                self.config.digid_resolve_url, data={"SAMLart": request.query_params.get("SAMLart", "")}
            )
        except httpx.HTTPError:
            self.sessions.pop(session.id, None)
            return error_redirect(
                session.redirect_uri, "temporarily_unavailable", "DigiD unreachable", self._state(session.state)
            )
        if answer.status_code != 200:
            self.sessions.pop(session.id, None)
            return error_redirect(
                session.redirect_uri, "access_denied", "DigiD login failed", self._state(session.state)
            )
        patient = self.store.by_bsn(str(answer.json().get("bsn", "")))
        if patient is None:  # beschikbaarheidstoets: this provider holds nothing for this person
            self.sessions.pop(session.id, None)
            return error_redirect(
                session.redirect_uri, "access_denied", "no data for this person", self._state(session.state)
            )
        session.patient_id = patient.id
        return RedirectResponse(f"/oauth/consent?{urlencode({'session': session.id})}", status_code=303)

    async def consent_page(self, request: Request) -> Response:
        session = self._session(request.query_params.get("session", ""))
        if session is None or session.patient_id is None:
            return error_page("Sessie verlopen", "Deze toestemmingssessie is onbekend of verlopen.")
        services = "".join(f"<li>{escape(self.config.service_names[s])}</li>" for s in session.scope.service_ids)
        body = (
            f'<p><strong class="client">{escape(session.client.organisation_name)}</strong> vraagt uw '
            f"toestemming om deze gegevens op te halen bij {escape(self.config.provider)}:</p><ul>{services}</ul>"
            '<form method="post" action="/oauth/consent">'
            f"{hidden('session', session.id)}{hidden('csrf', session.csrf)}"
            '<button type="submit" name="decision" value="allow">Toestaan</button>'
            '<button type="submit" name="decision" value="deny">Weigeren</button></form>'
        )
        return page("Toestemming", body)

    async def consent(self, request: Request) -> Response:
        form = await request.form()
        session = self._session(str(form.get("session", "")))
        if session is None or session.patient_id is None or form.get("csrf") != session.csrf:
            return error_page("Sessie verlopen", "Deze toestemmingssessie is onbekend of verlopen.")
        del self.sessions[session.id]
        if form.get("decision") != "allow":
            return error_redirect(session.redirect_uri, "access_denied", "consent refused", self._state(session.state))
        code = self._secret()
        self.codes[code] = IssuedCode(session, session.patient_id, self.clock() + CODE_SECONDS)
        params = {"code": code, "state": session.state}
        if self._state(session.state) is None:
            del params["state"]
        query = urlencode(params)
        return RedirectResponse(f"{session.redirect_uri}?{query}", status_code=303)

    # -- backchannel -----------------------------------------------------------------------------------------
    async def token(self, request: Request) -> Response:
        if F.TOKEN_SLOW in self.faults:  # the fault itself: an answer after the 10 s MedMij allows
            await asyncio.sleep(10.5)
        echo = {h: request.headers[h] for h in TRACE_HEADERS if h in request.headers}

        def fail(error: str, description: str, status: int = 400) -> Response:
            return JSONResponse(
                {"error": error, "error_description": description},
                status_code=status,
                headers={**echo, "Cache-Control": "no-store", "Pragma": "no-cache"},
            )

        if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
            return fail("invalid_request", f"the token request must be {FORM_TYPE}")
        form = await request.form()
        grant_type, code_value = str(form.get("grant_type", "")), str(form.get("code", ""))
        if grant_type != "authorization_code":
            return fail("unsupported_grant_type", "only grant_type=authorization_code is supported")
        if not code_value:
            return fail("invalid_request", "code is required")
        issued = self.codes.get(code_value)
        if issued is None:
            return fail("invalid_grant", "unknown authorization code")
        if issued.used and F.CODE_REUSABLE not in self.faults:  # a replayed code: revoke what it gave (RFC 6749 §4.1.2)
            for token in issued.tokens:
                self.tokens[token].revoked = True
            return fail("invalid_grant", "authorization code already used")
        issued.used = True
        if issued.expires < self.clock():
            return fail("invalid_grant", "authorization code expired")
        client_id = str(form.get("client_id", ""))
        peer = set((tls_of(request.scope) or {}).get("client_cert_dns_names", []))
        certless = F.CLIENT_CERT_OPTIONAL in self.faults and not (tls_of(request.scope) or {}).get("client_cert_name")
        if not client_id:
            return fail("invalid_request", "client_id is required")
        if client_id not in peer and not certless:
            return fail("invalid_client", "client_id is not the TLS client", status=401)
        if client_id != issued.session.client.hostname:
            return fail("invalid_grant", "the code was issued to another client")
        redirect_uri = form.get("redirect_uri")
        unchecked = F.TOKEN_WITHOUT_REDIRECT_URI in self.faults and not redirect_uri
        if redirect_uri is None and not unchecked:
            return fail("invalid_grant", "redirect_uri is required")
        if redirect_uri != issued.session.redirect_uri and not unchecked:
            return fail("invalid_grant", "redirect_uri does not match the authorization request")
        token = self._secret()
        scope = issued.session.scope
        self.tokens[token] = IssuedToken(
            Grant(issued.patient_id, frozenset(scope.service_ids)), client_id, self.clock() + TOKEN_SECONDS
        )
        issued.tokens.append(token)
        answer = {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS, "scope": str(scope)}
        if F.TOKEN_RESPONSE_INCOMPLETE in self.faults:
            del answer["expires_in"]
        return JSONResponse(
            answer,
            headers={**echo, "Cache-Control": "no-store", "Pragma": "no-cache"},
        )


def redirect_uri_problem(redirect_uri: str, hostname: str) -> str | None:
    """Why ``redirect_uri`` is not acceptable for the client ``hostname``, or None."""
    try:
        parts = urlsplit(redirect_uri)
        host = parts.hostname
    except ValueError:
        return "not a URL"
    if not redirect_uri:
        return "missing"
    if parts.scheme != "https":
        return "not https"
    if (host or "").lower() != hostname.lower():
        return "not on the client's hostname"
    if parts.fragment or "#" in redirect_uri:
        return "has a fragment"
    if parts.query:
        return "has a query"
    if parts.username or parts.password:
        return "has user information"
    return None


def error_redirect(redirect_uri: str, error: str, description: str, state: str | None) -> Response:
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    return RedirectResponse(f"{redirect_uri}?{urlencode(params)}", status_code=303)
