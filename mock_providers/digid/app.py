"""DigiD stub: a login page on which a test person is chosen, and artifact resolution for the DVA.

Flow (SAML artifact binding in spirit): the DVA sends the user agent to ``/login`` with a ``return_to``
(its assertion consumer URL, which must be registered) and a ``RelayState``; the person picks a test identity;
the stub redirects back with ``SAMLart`` + ``RelayState``; the DVA resolves the artifact server-to-server at
``/resolve`` (with its client certificate) into the BSN. Artifacts are random, single use and short-lived.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlencode, urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from validatiestraat.tls import tls_of
from validatiestraat.web import error_page, hidden, page

ARTIFACT_SECONDS = 120


@dataclass(frozen=True)
class Person:
    bsn: str
    name: str


@dataclass
class DigidState:
    people: list[Person]
    #: origins allowed as ``return_to``, and the hostnames allowed to resolve artifacts
    allowed_return_origins: set[str] = field(default_factory=set)
    allowed_resolvers: set[str] = field(default_factory=set)
    _artifacts: dict[str, tuple[str, float]] = field(default_factory=dict)

    def issue(self, bsn: str) -> str:
        artifact = secrets.token_urlsafe(32)
        self._artifacts[artifact] = (bsn, time.monotonic() + ARTIFACT_SECONDS)
        return artifact

    def resolve(self, artifact: str) -> str | None:
        entry = self._artifacts.pop(artifact, None)  # single use
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def create_app(state: DigidState) -> Starlette:
    async def login_page(request: Request) -> Response:
        return_to = request.query_params.get("return_to", "")
        relay = request.query_params.get("RelayState", "")
        if _origin(return_to) not in state.allowed_return_origins:
            return error_page("DigiD (TEST)", "Onbekende dienst: return_to is niet geregistreerd.")
        options = "\n".join(
            f'<label><input type="radio" name="bsn" value="{escape(p.bsn)}" title="{escape(p.name)}"> '
            f"{escape(p.name)}</label><br>"
            for p in state.people
        )
        body = (
            '<form method="post" action="/login">'
            f"{hidden('return_to', return_to)}{hidden('RelayState', relay)}"
            f"<fieldset><legend>Kies een testpersoon</legend>{options}</fieldset>"
            '<button type="submit" name="action" value="login">Inloggen</button></form>'
        )
        return page("DigiD (TEST)", body)

    async def login(request: Request) -> Response:
        form = await request.form()
        return_to, relay, bsn = (str(form.get(k, "")) for k in ("return_to", "RelayState", "bsn"))
        if _origin(return_to) not in state.allowed_return_origins:
            return error_page("DigiD (TEST)", "Onbekende dienst: return_to is niet geregistreerd.")
        if bsn not in {p.bsn for p in state.people}:
            return error_page("DigiD (TEST)", "Kies een testpersoon.")
        query = urlencode({"SAMLart": state.issue(bsn), "RelayState": relay})
        return RedirectResponse(f"{return_to}?{query}", status_code=303)

    async def resolve(request: Request) -> Response:
        tls = tls_of(request.scope) or {}
        if not set(tls.get("client_cert_dns_names", [])) & state.allowed_resolvers:
            return JSONResponse({"error": "unknown_service_provider"}, status_code=403)
        form = await request.form()
        bsn = state.resolve(str(form.get("SAMLart", "")))
        if bsn is None:
            return JSONResponse({"error": "invalid_artifact"}, status_code=400)
        return JSONResponse({"bsn": bsn}, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/login", login_page, methods=["GET"]),
            Route("/login", login, methods=["POST"]),
            Route("/resolve", resolve, methods=["POST"]),
        ]
    )
