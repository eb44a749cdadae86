"""TLS probes on the DVA's backchannel: protocol versions, client certificates and the Whitelist
(medmij-protocol.md §1.6).

The targets are the token endpoint and the resource endpoint the ZAL gives for the DVA. Every attempt is an HTTP
request through a client of its own (its own TLS context: a pinned protocol version, no or another client
certificate), recorded like every other exchange: a handshake the DVA refused is an exchange without a response
whose error says how the handshake ended (:class:`ExplainingTransport` puts the underlying TLS error into the
recorded message, where httpx alone would record an empty one).

Whether this harness can speak TLS 1.0 and 1.1 at all depends on the local OpenSSL: the probe lowers its client
context to ``@SECLEVEL=0`` and proves the point with a control handshake against a listener of its own that allows
the old version. The check omits the verdict when even that fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from mock_providers.straat import DOMAIN
from validatiestraat import net
from validatiestraat.checks import tls as C
from validatiestraat.pki import CertFiles, TestPKI
from validatiestraat.probes import probe
from validatiestraat.probes.oauth import (
    TOKEN_TIMEOUT,
    Target,
    fresh_code,
    fresh_token,
    require_auto,
    search_request,
    target,
    trace_headers,
)
from validatiestraat.results import Outcome
from validatiestraat.scenarios import Scenario
from validatiestraat.session import Blocked, DvaSession
from validatiestraat.tls import client_context, server_context

SENDER = "harness"
VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
#: the host name of the control listener (a certificate of the straat's PKI is made for it on first use)
CONTROL_HOST = f"tls-control.{DOMAIN}"
#: a host with a valid certificate of the straat's PKI that is not on the Whitelist
OUTSIDER_HOST = f"rogue.{DOMAIN}"
#: as long as the token requests of the OAuth probes wait: a slow token endpoint is judged there, not here
ATTEMPT_TIMEOUT = TOKEN_TIMEOUT


class ExplainingTransport(httpx.AsyncBaseTransport):
    """Re-raises a transport error with the chain of its causes in the message (``[EndOfStream <- SSLEOFError:
    …]``), so that the recorded error says how a handshake ended; the exception class stays the same."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            chain = causes(exc)
            if not chain:
                raise
            message = " ".join(p for p in (str(exc).strip(), f"[{chain}]") if p)
            raise type(exc)(message, request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()


def causes(exc: BaseException, limit: int = 6) -> str:
    """``exc``'s causes, outermost first: ``EndOfStream <- SSLEOFError: [SSL: …] …``."""
    parts: list[str] = []
    seen = exc.__cause__ or exc.__context__
    while seen is not None and len(parts) < limit:
        text = str(seen).strip()
        if text or type(seen).__name__ != type(exc).__name__:  # skip httpcore's twin of the httpx error
            parts.append(f"{type(seen).__name__}: {text}" if text else type(seen).__name__)
        seen = seen.__cause__ or seen.__context__
    return " <- ".join(parts)


def context(trust: Any, cert: CertFiles | None, version: str | None = None) -> ssl.SSLContext:
    """A client context trusting ``trust``, presenting ``cert``; pinned to ``version`` when given. TLS 1.0 and 1.1
    need ``@SECLEVEL=0`` in OpenSSL 3 (their handshake signatures are below the default level)."""
    ctx = client_context(trust, cert)
    if version is not None:
        with warnings.catch_warnings():  # ssl deprecates the old versions: offering them is the point here
            warnings.simplefilter("ignore", DeprecationWarning)
            if version in C.OLD_VERSIONS:
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
            ctx.minimum_version = ctx.maximum_version = VERSIONS[version]
    return ctx


@asynccontextmanager
async def attempt_client(
    session: DvaSession, ctx: ssl.SSLContext, extra_hosts: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A recorded client of its own (no pooled connection from another attempt) with ``ctx``."""

    def tap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return session.recorder.transport(ExplainingTransport(inner), SENDER)

    hosts = {**session.straat.hosts, **(extra_hosts or {})}
    async with net.client(ctx, hosts, timeout=ATTEMPT_TIMEOUT, record=tap) as client:
        yield client


async def attempt(
    session: DvaSession,
    step: str,
    ctx: ssl.SSLContext,
    send: Callable[[httpx.AsyncClient], Any],
    extra_hosts: dict[str, str] | None = None,
) -> None:
    """One recorded attempt under ``step``; a transport failure is recorded, not raised."""
    with session.recorder.step(step):
        async with attempt_client(session, ctx, extra_hosts) as client:
            with contextlib.suppress(httpx.HTTPError):  # recorded with its error
                await send(client)


@asynccontextmanager
async def control_listener(pki: TestPKI, version: str) -> AsyncIterator[str]:
    """A TLS listener of the harness's own on loopback that allows ``version`` (at ``@SECLEVEL=0``) and answers
    every request with 204: a client that completes a handshake with it can speak ``version``. Yields its origin."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = server_context(
            pki.leaf(CONTROL_HOST), pki.root_pem, client_cert="none", minimum_version=VERSIONS[version]
        )
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=ctx)
    try:
        yield f"https://{CONTROL_HOST}:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def _get(url: str) -> Callable[[httpx.AsyncClient], Any]:
    return lambda client: client.get(url)


def _post_token(t: Target, form: dict[str, str]) -> Callable[[httpx.AsyncClient], Any]:
    return lambda client: client.post(t.service.token_uri, data=form, headers=trace_headers())


def _search(t: Target, token: str) -> Callable[[httpx.AsyncClient], Any]:
    url, params, headers = search_request(t, token)
    return lambda client: client.get(url, params=params, headers=headers)


# -- probes ------------------------------------------------------------------------------------------------------
@probe("tls.versions")
async def versions(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A handshake at each of TLS 1.0, 1.1, 1.2 and 1.3 alone with the token and the resource endpoint, presenting
    the PGO's valid certificate; plus control handshakes at 1.0 and 1.1 with the harness's own listener."""
    t = await target(session, scenario)
    pki, pgo = session.straat.pki, session.straat.pki.leaf(t.client_id)
    urls = {"token": t.service.token_uri, "fhir": f"{t.fhir_base}/metadata"}
    for version in C.OLD_VERSIONS:
        async with control_listener(pki, version) as origin:
            ctx = context(pki.root_pem, pgo, version)
            await attempt(
                session, C.version_control_step(version), ctx, _get(f"{origin}/"), {CONTROL_HOST: "127.0.0.1"}
            )
    for version in (*C.OLD_VERSIONS, *C.CURRENT_VERSIONS):
        for name, url in urls.items():
            await attempt(session, C.version_step(version, name), context(pki.root_pem, pgo, version), _get(url))
    return {"urls": urls}


async def _refusals(
    session: DvaSession, scenario: Scenario, variant: str | None, t: Target, kinds: dict[str, CertFiles | None]
) -> None:
    """Each kind of certificate against the token endpoint (a real token request with a fresh code) and the
    resource endpoint (a real search with a valid token); then the same with the PGO's own certificate."""
    require_auto(session, f"probe {scenario.id}")
    try:
        token = await fresh_token(session, scenario, variant, t)
        code = await fresh_code(session, scenario, variant, t)
    except Blocked as exc:
        if exc.outcome != Outcome.FAIL:
            raise
        # the OAuth scenarios judge a broken authorization; here it only means the TLS rule cannot be seen
        raise Blocked(Outcome.OMIT, f"cannot probe the certificate rules: {exc}", *exc.exchanges) from exc
    root = session.straat.pki.root_pem
    for kind, cert in kinds.items():
        client_id = t.client_id if kind != C.NOT_WHITELISTED else OUTSIDER_HOST
        await attempt(
            session,
            C.attempt_step(kind, "token"),
            context(root, cert),
            _post_token(t, t.token_form(code, client_id=client_id)),
        )
        await attempt(session, C.attempt_step(kind, "fhir"), context(root, cert), _search(t, token))
    control_code = await fresh_code(session, scenario, variant, t, step="authorize:control")
    pgo = session.straat.pki.leaf(t.client_id)
    await attempt(session, C.control_step("token"), context(root, pgo), _post_token(t, t.token_form(control_code)))
    await attempt(session, C.control_step("fhir"), context(root, pgo), _search(t, token))


@probe("tls.client-cert")
async def client_cert(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """No client certificate, one from a rogue CA, an expired one (all for the PGO's host name)."""
    t = await target(session, scenario)
    pki = session.straat.pki
    kinds = {"no-cert": None, "rogue-ca": pki.rogue_leaf(t.client_id), "expired": pki.expired_leaf(t.client_id)}
    await _refusals(session, scenario, variant, t, kinds)
    return {"patient": t.patient_id}


@probe("tls.whitelist")
async def whitelist(session: DvaSession, scenario: Scenario, variant: str | None) -> dict[str, Any]:
    """A valid certificate of the trusted chain for a host that is not on the Whitelist."""
    t = await target(session, scenario)
    held = (await session.straat.pgo.lists.fresh()).whitelist
    if held is None:
        raise Blocked(Outcome.ERROR, "the PGO holds no Whitelist to choose an outsider host from")
    if held.contains(OUTSIDER_HOST):
        raise Blocked(Outcome.ERROR, f"{OUTSIDER_HOST} is on the Whitelist; the probe needs a host that is not")
    await _refusals(session, scenario, variant, t, {C.NOT_WHITELISTED: session.straat.pki.leaf(OUTSIDER_HOST)})
    return {"patient": t.patient_id, "outsider": OUTSIDER_HOST, "whitelist_volgnummer": held.volgnummer}
