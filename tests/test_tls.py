"""The TLS layer on its own: mutual TLS, version floor, peer identity in the app, and the resolver."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from validatiestraat import net
from validatiestraat.pki import TestPKI
from validatiestraat.serve import Listener, ServerGroup
from validatiestraat.tls import client_context, server_context, tls_of

HOST = "node.straat.test"


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"tls": tls_of(request.scope), "host": request.headers.get("host")})


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return TestPKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def servers(pki: TestPKI) -> Iterator[dict[str, Listener]]:
    app = Starlette(routes=[Route("/whoami", whoami)])
    mutual = Listener("mutual", HOST, app, server_context(pki.leaf(HOST), pki.root_pem, client_cert="required"))
    wrong = Listener(
        "wrong",
        HOST,
        app,
        server_context(pki.leaf("elders.straat.test"), pki.root_pem, client_cert="none"),
    )
    legacy_ctx = server_context(
        pki.leaf(HOST), pki.root_pem, client_cert="required", minimum_version=ssl.TLSVersion.TLSv1
    )
    legacy_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    legacy = Listener("legacy", HOST, app, legacy_ctx)  # control: a server that does allow old TLS
    group = ServerGroup([mutual, wrong, legacy])
    group.start()
    yield {"mutual": mutual, "wrong": wrong, "legacy": legacy}
    group.stop()


def get(listener: Listener, ctx: ssl.SSLContext) -> httpx.Response:
    async def go() -> httpx.Response:
        async with net.client(ctx, {HOST: listener.address}) as c:
            return await c.get(f"{listener.origin}/whoami")

    return asyncio.run(go())


def test_mutual_tls_shows_the_peer_to_the_app(pki: TestPKI, servers: dict[str, Listener]) -> None:
    r = get(servers["mutual"], client_context(pki.root_pem, pki.leaf("pgo.straat.test")))
    assert r.status_code == 200
    body = r.json()
    assert body["host"] == f"{HOST}:{servers['mutual'].port}"
    assert body["tls"]["client_cert_dns_names"] == ["pgo.straat.test"]
    assert body["tls"]["tls_version"] in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("kind", ["none", "rogue", "expired"])
def test_backchannel_refuses_bad_client_certificates(pki: TestPKI, servers: dict[str, Listener], kind: str) -> None:
    cert = {
        "none": None,
        "rogue": pki.rogue_leaf("pgo.straat.test"),
        "expired": pki.expired_leaf("pgo.straat.test"),
    }
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        get(servers["mutual"], client_context(pki.root_pem, cert[kind]))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_old_tls_versions_are_refused(pki: TestPKI, servers: dict[str, Listener], version: ssl.TLSVersion) -> None:
    ctx = client_context(pki.root_pem, pki.leaf("pgo.straat.test"))
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer the old protocol at all
    ctx.minimum_version = version
    ctx.maximum_version = version
    legacy = get(servers["legacy"], ctx)  # the control proves this client can speak the old version
    assert legacy.json()["tls"]["tls_version"] == {"TLSv1": "TLSv1", "TLSv1_1": "TLSv1.1"}[version.name]
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        get(servers["mutual"], ctx)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_12_and_13_are_served(pki: TestPKI, servers: dict[str, Listener], version: ssl.TLSVersion) -> None:
    ctx = client_context(pki.root_pem, pki.leaf("pgo.straat.test"))
    ctx.minimum_version = ctx.maximum_version = version
    r = get(servers["mutual"], ctx)
    assert r.json()["tls"]["tls_version"] == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]


def test_client_refuses_a_server_certificate_for_another_hostname(pki: TestPKI, servers: dict[str, Listener]) -> None:
    with pytest.raises(httpx.ConnectError, match=r"(?i)hostname|certificate"):
        get(servers["wrong"], client_context(pki.root_pem))


def test_pki_is_reused_from_its_cache(pki: TestPKI) -> None:
    first = pki.leaf("pgo.straat.test").cert.read_bytes()
    again = TestPKI(pki.directory)
    assert again.leaf("pgo.straat.test").cert.read_bytes() == first
    assert Path(again.root_pem).read_bytes() == Path(pki.root_pem).read_bytes()
