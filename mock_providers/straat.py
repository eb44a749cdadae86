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
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from mock_providers.digid.app import DigidState, Person
from mock_providers.digid.app import create_app as digid_app
from mock_providers.dva.app import create_back_app, create_front_app
from mock_providers.dva.faults import tls_context as fault_tls
from mock_providers.dva.oauth import AuthorizationServer, AuthorizationServerConfig
from mock_providers.faults import validate as validate_faults
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
from validatiestraat.pki import CertFiles, TestPKI
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


@dataclass(frozen=True)
class DvaEndpoints:
    """A DVA outside the straat (the system under test): the ZAL lists it instead of the reference DVA (whose
    listeners then stay unused), the Whitelist names its hosts, the DigiD stub accepts it, and the straat's PGO
    reaches it with ``client_cert`` (default: the test PKI's PGO leaf), trusting ``trust`` besides the root."""

    provider: str  # Zorgaanbiedernaam, with @medmij
    service_id: str
    authorize_url: str
    token_url: str
    fhir_base: str
    hostnames: tuple[str, ...] = ()  # more names of the DVA's nodes for the Whitelist (the URLs' hosts are added)
    digid_return_origins: tuple[str, ...] = ()  # origins the straat's DigiD stub may send a person back to
    resolve: Mapping[str, str] = field(default_factory=dict)  # hostname -> address; other names go to DNS
    client_cert: CertFiles | None = None
    trust: Path | None = None

    @property
    def all_hostnames(self) -> tuple[str, ...]:
        urls = (self.authorize_url, self.token_url, self.fhir_base)
        names = [urlsplit(u).hostname or "" for u in urls] + list(self.hostnames)
        return tuple(dict.fromkeys(n.lower() for n in names if n))

    def zorgaanbieder(self) -> Zorgaanbieder:
        service = Gegevensdienst(self.service_id, self.authorize_url, self.token_url, {ROLE_SERVE: self.fhir_base})
        return Zorgaanbieder(self.provider, (service,))


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
        faults: frozenset[str] = frozenset(),
        external_dva: DvaEndpoints | None = None,
        ports: Mapping[str, int] | None = None,
    ) -> None:
        self.store = store
        self.recorder = recorder
        self.faults = validate_faults(faults)  # deliberate defects of the reference DVA (mock_providers.faults)
        self.pki = pki or TestPKI()
        self.hosts = {h: address for h in (STELSELNODE, DIGID, HIS, DVA, PGO)}
        self.external_dva = external_dva
        if external_dva is not None:  # the SUT's names are resolved by DNS, or where its `resolve` says
            for name in external_dva.all_hostnames:
                self.hosts.pop(name, None)
            self.hosts.update(external_dva.resolve)
        sockets = {name: bind(address, (ports or {}).get(name, 0)) for name in _LISTENERS}
        self.origins = {
            name: f"https://{_LISTENERS[name][0]}:{sock.getsockname()[1]}" for name, sock in sockets.items()
        }
        o = self.origins
        root = self.pki.root_pem

        service_id = external_dva.service_id if external_dva else SERVICE_ID
        self.stelselnode = StelselnodeState.from_parties(
            [external_dva.zorgaanbieder()]
            if external_dva
            else [
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
            [OAuthclient(PGO, PGO_ORGANISATION, (service_id,))],
            {service_id: SERVICE_NAME},
            extra_nodes=external_dva.all_hostnames if external_dva else (),
        )
        self.digid = DigidState(
            [Person(p.bsn, p.name) for p in store.patients] + [UNKNOWN_PERSON],
            allowed_return_origins={o["dva-front"], *(external_dva.digid_return_origins if external_dva else ())},
            allowed_resolvers={DVA, *(external_dva.all_hostnames if external_dva else ())},
        )

        def tap(sender: str) -> Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None:
            return None if recorder is None else lambda inner: recorder.transport(inner, sender)

        pgo_tls = client_context(root, (external_dva and external_dva.client_cert) or self.pki.leaf(PGO))
        browser_tls = client_context(root)
        if external_dva is not None and external_dva.trust is not None:  # the SUT's CA, besides the straat's
            for ctx in (pgo_tls, browser_tls):
                ctx.load_verify_locations(external_dva.trust)
        self._clients = [
            net.client(client_context(root, self.pki.leaf(DVA)), self.hosts),  # the DVA's backchannel
            net.client(pgo_tls, self.hosts, record=tap("pgo")),  # the PGO's
            net.client(browser_tls, self.hosts, record=tap("browser")),  # the patient's browser
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
            faults=self.faults,
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
                fault_tls(name, server_context(self.pki.leaf(host), root, client_cert=client_cert), self.faults),
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
