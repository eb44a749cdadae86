"""The built-in straat: every MedMij party of the medication exchange, in one process, over real TLS.

Parties and their listeners (each its own hostname, certificate and loopback port):

=================  =============================  ======================================================
listener           hostname                       serves
=================  =============================  ======================================================
stelselnode        stelselnode.straat.test        ZAL, OCL, GNL, Whitelist (XML)
digid              digid.straat.test              login page; artifact resolution (client cert checked)
his                his.straat.test                the GP system's dataset (read API)
dva-front          dva.straat.test                authorize, DigiD return, consent (front channel)
dva-back           dva.straat.test                token + FHIR (backchannel: mutual TLS, Whitelist)
pgo-front          pgo.straat.test                the PGO's redirect_uri (front channel)
=================  =============================  ======================================================

The straat's HTTP clients resolve every ``*.straat.test`` name to loopback themselves. All servers and the
reference PGO run on one event loop in a background thread; :meth:`Straat.run` executes a coroutine there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from mock_providers.digid.app import DigidState, Person
from mock_providers.digid.app import create_app as digid_app
from mock_providers.dva.app import create_back_app, create_front_app
from mock_providers.dva.oauth import AuthorizationServer, AuthorizationServerConfig
from mock_providers.his.app import create_app as his_app
from mock_providers.pgo.client import Collection, ReferencePGO
from mock_providers.stelselnode.app import create_app as stelselnode_app
from mock_providers.stelselnode.state import StelselnodeState
from validatiestraat import net
from validatiestraat.evidence.recorder import Recorder
from validatiestraat.fhir.store import Store
from validatiestraat.medmij.listclient import ListClient
from validatiestraat.medmij.lists import Gegevensdienst, OAuthclient, Zorgaanbieder
from validatiestraat.medmij.mp9 import ROLE_SERVE, SERVICE_ID, SERVICE_NAME
from validatiestraat.pki import TestPKI
from validatiestraat.serve import Listener, ServerGroup, bind
from validatiestraat.tls import ClientCert, client_context, server_context
from validatiestraat.useragent import AutoUserAgent

T = TypeVar("T")

DOMAIN = "straat.test"
STELSELNODE, DIGID, HIS, DVA, PGO = (f"{p}.{DOMAIN}" for p in ("stelselnode", "digid", "his", "dva", "pgo"))
PROVIDER = "straathuisarts@medmij"
PGO_ORGANISATION = "Straat PGO"
#: a DigiD test person the HIS does not know (the availability check must answer access_denied)
UNKNOWN_PERSON = Person("999990019", "Onbekende Testpersoon")

_LISTENERS: dict[str, tuple[str, ClientCert]] = {
    "stelselnode": (STELSELNODE, "none"),
    "digid": (DIGID, "optional"),
    "his": (HIS, "none"),
    "dva-front": (DVA, "none"),
    "dva-back": (DVA, "required"),
    "pgo-front": (PGO, "none"),
}


@dataclass(frozen=True)
class Endpoint:
    party: str
    url: str
    what: str


class Straat:
    """All parties, wired together; use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(
        self,
        store: Store,
        *,
        pki: TestPKI | None = None,
        address: str = "127.0.0.1",
        list_max_age: float = 60.0,
        recorder: Recorder | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.pki = pki or TestPKI()
        self.hosts = {h: address for h in (STELSELNODE, DIGID, HIS, DVA, PGO)}
        sockets = {name: bind(address) for name in _LISTENERS}
        self.origins = {
            name: f"https://{_LISTENERS[name][0]}:{sock.getsockname()[1]}" for name, sock in sockets.items()
        }
        o = self.origins
        root = self.pki.root_pem

        self.stelselnode = StelselnodeState.from_parties(
            [
                Zorgaanbieder(
                    PROVIDER,
                    (
                        Gegevensdienst(
                            SERVICE_ID,
                            f"{o['dva-front']}/oauth/authorize",
                            f"{o['dva-back']}/oauth/token",
                            {ROLE_SERVE: f"{o['dva-back']}/fhir"},
                        ),
                    ),
                )
            ],
            [OAuthclient(PGO, PGO_ORGANISATION, (SERVICE_ID,))],
            {SERVICE_ID: SERVICE_NAME},
        )
        self.digid = DigidState(
            [Person(p.bsn, p.name) for p in store.patients] + [UNKNOWN_PERSON],
            allowed_return_origins={o["dva-front"]},
            allowed_resolvers={DVA},
        )

        def tap(sender: str) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None:
            return None if recorder is None else lambda inner: recorder.transport(inner, sender)

        self._clients = [
            net.client(client_context(root, self.pki.leaf(DVA)), self.hosts),  # the DVA's backchannel
            net.client(client_context(root, self.pki.leaf(PGO)), self.hosts, record=tap("pgo")),  # the PGO's
            net.client(client_context(root), self.hosts, record=tap("browser")),  # the patient's browser
        ]
        dva_http, pgo_http, self.browser_http = self._clients
        lists_url = o["stelselnode"]
        self.dva_lists = ListClient(dva_http, lists_url, ("ocl", "whitelist"), max_age=list_max_age)
        self.auth = AuthorizationServer(
            AuthorizationServerConfig(
                provider=PROVIDER,
                service_names={SERVICE_ID: SERVICE_NAME},
                acs_url=f"{o['dva-front']}/digid/acs",
                digid_login_url=f"{o['digid']}/login",
                digid_resolve_url=f"{o['digid']}/resolve",
            ),
            store,
            self.dva_lists,
            dva_http,
        )
        self.pgo_lists = ListClient(pgo_http, lists_url, max_age=list_max_age)
        self.pgo = ReferencePGO(PGO, self.pgo_lists, pgo_http, o["pgo-front"])

        apps = {
            "stelselnode": stelselnode_app(self.stelselnode),
            "digid": digid_app(self.digid),
            "his": his_app(store),
            "dva-front": create_front_app(self.auth),
            "dva-back": create_back_app(self.auth, SERVICE_ID),
            "pgo-front": self.pgo.callback_app(),
        }
        if recorder is not None:  # what the DVA sends to the simulated parties is evidence too
            for name in ("stelselnode", "digid", "pgo-front"):
                apps[name] = recorder.middleware(apps[name], name)
        self.listeners = {
            name: Listener(
                name,
                host,
                apps[name],
                server_context(self.pki.leaf(host), root, client_cert=client_cert),
                sockets[name],
            )
            for name, (host, client_cert) in _LISTENERS.items()
        }
        self.group = ServerGroup(list(self.listeners.values()))

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> Straat:
        self.group.start()
        return self

    def stop(self) -> None:
        try:
            self.run(self._close_clients())
        finally:
            self.group.stop()

    async def _close_clients(self) -> None:
        for c in self._clients:
            await c.aclose()

    def __enter__(self) -> Straat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 120.0) -> T:
        """Run ``coro`` on the straat's event loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.group.loop).result(timeout)

    # -- what the straat offers ---------------------------------------------------------------------------
    def endpoints(self) -> list[Endpoint]:
        o = self.origins
        rows = [
            Endpoint("stelselnode", f"{o['stelselnode']}/", "ZAL, OCL, GNL, Whitelist"),
            Endpoint("digid", f"{o['digid']}/login", "DigiD stub login"),
            Endpoint("his", f"{o['his']}/patients", "HIS dataset"),
            Endpoint("dva", f"{o['dva-front']}/oauth/authorize", "authorize (front channel)"),
            Endpoint("dva", f"{o['dva-back']}/oauth/token", "token (mutual TLS)"),
            Endpoint("dva", f"{o['dva-back']}/fhir", "FHIR R4 MP9 (mutual TLS)"),
            Endpoint("pgo", self.pgo.redirect_uri, "PGO redirect_uri"),
        ]
        return rows

    def user_agent(self, bsn: str, consent: bool = True) -> AutoUserAgent:
        return AutoUserAgent(self.browser_http, bsn, consent)

    async def collect(self, bsn: str, formats: tuple[str, ...] = ("json",), consent: bool = True) -> Collection:
        """The reference PGO's whole collect flow for the person with ``bsn`` (run it with :meth:`run`)."""
        return await self.pgo.collect(PROVIDER, SERVICE_ID, self.user_agent(bsn, consent), formats)
