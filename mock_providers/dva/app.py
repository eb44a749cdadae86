"""The reference DVA: a front-channel app (authorize, DigiD return, consent) and a backchannel app (token
and the FHIR resource server) that only Whitelisted MedMij nodes reach, over mutual TLS.

The DVA's faults (``auth.faults``, names from ``mock_providers.faults``) reach every part from here; with none,
the apps are exactly the clean ones."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mock_providers.dva import faults as F
from mock_providers.dva.fhir_api import create_fhir_app
from mock_providers.dva.oauth import AuthorizationServer
from validatiestraat.fhir.outcome import operation_outcome
from validatiestraat.medmij.listclient import ListClient
from validatiestraat.tls import tls_of

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_front_app(auth: AuthorizationServer) -> Starlette:
    return Starlette(
        routes=[
            Route("/oauth/authorize", auth.authorize, methods=["GET"]),
            Route("/digid/acs", auth.digid_return, methods=["GET"]),
            Route("/oauth/consent", auth.consent_page, methods=["GET"]),
            Route("/oauth/consent", auth.consent, methods=["POST"]),
        ]
    )


class WhitelistGuard:
    """Refuses every backchannel request whose TLS client certificate names no host on the Whitelist.

    Faults: ``dva.whitelist_ignored`` lets every TLS client through; ``dva.client_cert_optional`` lets a client
    that presented no certificate at all through (the TLS layer no longer demands one)."""

    def __init__(self, app: ASGIApp, lists: ListClient, faults: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.lists = lists
        self.faults = frozenset(faults)

    def _waived(self, scope: Scope) -> bool:
        if F.WHITELIST_IGNORED in self.faults:
            return True
        return F.CLIENT_CERT_OPTIONAL in self.faults and not (tls_of(scope) or {}).get("client_cert_name")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.faults and self._waived(scope)):
            await self.app(scope, receive, send)
            return
        names = (tls_of(scope) or {}).get("client_cert_dns_names", [])
        whitelist = (await self.lists.fresh()).whitelist
        if whitelist is not None and any(whitelist.contains(n) for n in names):
            await self.app(scope, receive, send)
            return
        message = "the TLS client is not a MedMij node on the Whitelist"
        if scope["path"].startswith("/fhir"):
            response: Any = JSONResponse(
                operation_outcome("security", message), status_code=403, media_type="application/fhir+json"
            )
        else:
            response = JSONResponse({"error": "access_denied", "error_description": message}, status_code=403)
        await response(scope, receive, send)


def create_back_app(auth: AuthorizationServer, service_id: str) -> ASGIApp:
    app = Starlette(
        routes=[
            Route("/oauth/token", auth.token, methods=["POST"]),
            Mount("/fhir", app=create_fhir_app(auth.store, auth.grant_for_token, service_id, auth.faults)),
        ]
    )
    return WhitelistGuard(app, auth.lists, auth.faults)
