"""The reference PGO: a MedMij OAuth client that collects the MP9 medication data of one patient.

It takes every endpoint from the ZAL, talks only to hosts on the Whitelist, keeps the lists it holds when the
Stelselnode serves an older or invalid one, sends the user agent to the DVA's authorize endpoint with an
unguessable ``state``, accepts the code only on its own ``redirect_uri`` with that ``state``, presents it once
over mutual TLS with ``MedMij-Request-ID`` and ``X-Correlation-ID``, and then runs the MP9 queries.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from validatiestraat.fhir.formats import from_xml
from validatiestraat.medmij.listclient import ListClient
from validatiestraat.medmij.lists import Gegevensdienst
from validatiestraat.medmij.mp9 import BLOCKS, ROLE_SERVE, Block
from validatiestraat.medmij.scope import Scope
from validatiestraat.web import error_page, page

CALLBACK_PATH = "/oauth/callback"
MEDIA = {"json": "application/fhir+json", "xml": "application/fhir+xml"}


class PGOError(Exception):
    """The collect flow could not go on; ``step`` says where it stopped."""

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step


@dataclass(frozen=True)
class TokenResult:
    access_token: str
    scope: str
    expires_in: int
    body: dict


@dataclass
class PendingFlow:
    state: str
    service: Gegevensdienst
    scope: Scope
    correlation_id: str
    authorize_url: str
    done: asyncio.Future[TokenResult]


@dataclass
class BlockResult:
    block: Block
    fmt: str
    status: int
    content_type: str
    bundle: dict | None
    raw: bytes


@dataclass
class Collection:
    token: TokenResult
    results: list[BlockResult] = field(default_factory=list)


UserAgent = Callable[[str], Awaitable[None]]


class ReferencePGO:
    def __init__(
        self,
        hostname: str,
        lists: ListClient,
        backchannel: httpx.AsyncClient,
        redirect_origin: str,
    ) -> None:
        self.hostname = hostname
        self.lists = lists
        self.http = backchannel
        self.redirect_uri = redirect_origin.rstrip("/") + CALLBACK_PATH
        self.pending: dict[str, PendingFlow] = {}

    # -- lists ------------------------------------------------------------------------------------------------
    async def _service(self, provider: str, service_id: str) -> Gegevensdienst:
        lists = await self.lists.fresh()
        if lists.zal is None:
            raise PGOError("lists", f"no valid ZAL: {self.lists.errors.get('zal', 'not downloaded')}")
        service = lists.zal.service(provider, service_id)
        if service is None:
            raise PGOError("lists", f"{provider} does not offer GegevensdienstId {service_id} on the ZAL")
        return service

    async def _require_whitelisted(self, url: str) -> None:
        lists = await self.lists.fresh()
        host = urlsplit(url).hostname or ""
        if lists.whitelist is None or not lists.whitelist.contains(host):
            raise PGOError("whitelist", f"{host} is not a MedMij node on the Whitelist")

    # -- authorization ----------------------------------------------------------------------------------
    async def start(self, provider: str, service_id: str) -> PendingFlow:
        service = await self._service(provider, service_id)
        state = secrets.token_urlsafe(32)
        scope = Scope.of(provider, [service_id])
        correlation_id = str(uuid.uuid4())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.hostname,
                "redirect_uri": self.redirect_uri,
                "scope": str(scope),
                "state": state,
            }
        )
        flow = PendingFlow(
            state,
            service,
            scope,
            correlation_id,
            f"{service.authorization_uri}?{query}",
            asyncio.get_running_loop().create_future(),
        )
        self.pending[state] = flow
        return flow

    async def callback(self, request: Request) -> Response:
        flow = self.pending.pop(request.query_params.get("state", ""), None)
        if flow is None:
            return error_page("Onbekend verzoek", "Deze terugkeer hoort bij geen lopend verzoek (state).")
        error = request.query_params.get("error")
        code = request.query_params.get("code")
        if error or not code:
            description = request.query_params.get("error_description", "")
            flow.done.set_exception(PGOError("authorize", f"{error or 'no code'}: {description}".strip()))
            return page("Niet gelukt", "<p>De zorgaanbieder gaf geen toestemming.</p>")
        try:
            flow.done.set_result(await self.exchange(flow, code))
        except PGOError as exc:
            flow.done.set_exception(exc)
            return page("Niet gelukt", "<p>Het ophalen van de toegang is mislukt.</p>", status=502)
        return page("Gelukt", "<p>Toegang verkregen; uw gegevens worden opgehaald.</p>")

    def callback_app(self) -> Starlette:
        return Starlette(routes=[Route(CALLBACK_PATH, self.callback, methods=["GET"])])

    async def exchange(self, flow: PendingFlow, code: str) -> TokenResult:
        await self._require_whitelisted(flow.service.token_uri)
        try:
            response = await self.http.post(
                flow.service.token_uri,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "client_id": self.hostname,
                },
                headers={"MedMij-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": flow.correlation_id},
            )
        except httpx.HTTPError as exc:
            raise PGOError("token", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise PGOError("token", f"HTTP {response.status_code}: {response.text[:300]}")
        body = response.json()
        if not isinstance(body.get("access_token"), str) or str(body.get("token_type", "")).lower() != "bearer":
            raise PGOError("token", "the response has no bearer access_token")
        return TokenResult(body["access_token"], str(body.get("scope", "")), int(body.get("expires_in", 0)), body)

    async def authorize(self, provider: str, service_id: str, user_agent: UserAgent) -> TokenResult:
        """Run the front channel with ``user_agent`` and return the token the callback obtained."""
        flow = await self.start(provider, service_id)
        try:
            await user_agent(flow.authorize_url)
            if not flow.done.done():
                raise PGOError("authorize", "the user agent never reached the redirect_uri")
            return flow.done.result()
        finally:
            self.pending.pop(flow.state, None)

    # -- resources ---------------------------------------------------------------------------------------
    async def search(
        self,
        service: Gegevensdienst,
        token: str,
        block: Block,
        fmt: str,
        *filters: tuple[str, str],
        parse: bool = True,
    ) -> BlockResult:
        """One MP9 search; ``parse=False`` leaves the body raw (the harness judges it from the recording)."""
        base = service.resource_uri(ROLE_SERVE)
        if base is None:
            raise PGOError("search", f"the ZAL has no {ROLE_SERVE} resource endpoint")
        await self._require_whitelisted(base)
        try:
            response = await self.http.get(
                f"{base.rstrip('/')}/{block.resource_type}",
                params=block.query(*filters),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": MEDIA[fmt],
                    "MedMij-Request-ID": str(uuid.uuid4()),
                    "X-Correlation-ID": str(uuid.uuid4()),
                },
            )
        except httpx.HTTPError as exc:
            raise PGOError("search", f"{type(exc).__name__}: {exc}") from exc
        content_type = response.headers.get("content-type", "")
        bundle: dict | None = None
        if parse and response.status_code == 200:
            bundle = from_xml(response.content) if "xml" in content_type else response.json()
        return BlockResult(block, fmt, response.status_code, content_type, bundle, response.content)

    async def collect(
        self,
        provider: str,
        service_id: str,
        user_agent: UserAgent,
        formats: tuple[str, ...] = ("json",),
    ) -> Collection:
        """The whole Verzamelen flow: authorize, token, then every MP9 block in each format."""
        token = await self.authorize(provider, service_id, user_agent)
        service = await self._service(provider, service_id)
        results = await asyncio.gather(
            *(self.search(service, token.access_token, block, fmt) for block in BLOCKS for fmt in formats)
        )
        return Collection(token, list(results))
