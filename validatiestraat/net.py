"""The straat's HTTP client side: hostnames resolved to loopback, TLS contexts per role.

Every straat party has its own hostname (``dva.straat.test``, ...) on the lists and in its certificate. Rather
than editing /etc/hosts, the straat's HTTP client resolves those names itself: :class:`ResolvingTransport`
sends the request to the mapped address while keeping the ``Host`` header and the TLS server name (SNI and
certificate hostname check) of the original URL. Hostnames not in the map go out unchanged, so the same client
reaches a vendor's real endpoint.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Mapping

import httpx

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class ResolvingTransport(httpx.AsyncBaseTransport):
    """Sends requests for mapped hostnames to their mapped address (usually 127.0.0.1)."""

    def __init__(self, hosts: Mapping[str, str], inner: httpx.AsyncBaseTransport) -> None:
        self._hosts = hosts
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        address = self._hosts.get(request.url.host)
        if address is None:
            return await self._inner.handle_async_request(request)
        routed = httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,  # keeps Host: <hostname>
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": request.url.host},
        )
        return await self._inner.handle_async_request(routed)

    async def aclose(self) -> None:
        await self._inner.aclose()


def client(
    ssl_context: ssl.SSLContext,
    hosts: Mapping[str, str] | None = None,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    follow_redirects: bool = False,
    limits: httpx.Limits | None = None,
    record: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> httpx.AsyncClient:
    """An async HTTP client for the straat: ``ssl_context`` decides trust and the client certificate;
    ``record`` wraps the transport (the recorder's tap) when given."""
    inner = httpx.AsyncHTTPTransport(
        verify=ssl_context,
        limits=limits or httpx.Limits(),
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    )
    transport: httpx.AsyncBaseTransport = ResolvingTransport(hosts or {}, inner)
    if record is not None:
        transport = record(transport)
    return httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        follow_redirects=follow_redirects,
    )
