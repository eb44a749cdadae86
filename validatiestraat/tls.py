"""TLS for the straat: server and client contexts, and the peer certificate inside the ASGI app.

MedMij requires TLS 1.2 or 1.3 on every connection (core.tls.300) and a PKIoverheid certificate on both
ends of the backchannel. Our servers refuse anything below TLS 1.2 in the handshake; backchannel listeners
require a client certificate chaining to the straat's root. uvicorn does not tell the app which client
certificate was used, so :class:`TLSHttpToolsProtocol` puts it in ``scope["extensions"]["tls"]``; the app
then checks the peer's hostname against the Whitelist.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from validatiestraat.pki import CertFiles

MIN_VERSION = ssl.TLSVersion.TLSv1_2


ClientCert = Literal["none", "optional", "required"]
_VERIFY = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def server_context(
    cert: CertFiles,
    trust: Path,
    *,
    client_cert: ClientCert,
    minimum_version: ssl.TLSVersion = MIN_VERSION,
) -> ssl.SSLContext:
    """A server context: our certificate, TLS ≥ 1.2, and a client certificate chaining to ``trust`` that is
    required (backchannel), optional (checked by the app where needed) or not asked for (front channel)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = minimum_version
    ctx.load_cert_chain(cert.cert, cert.key)
    ctx.verify_mode = _VERIFY[client_cert]
    if client_cert != "none":
        ctx.load_verify_locations(trust)
    return ctx


def client_context(trust: Path, cert: CertFiles | None = None) -> ssl.SSLContext:
    """A client context that trusts only ``trust`` (the straat's root, or a vendor's CA bundle), checks the
    hostname, speaks TLS ≥ 1.2 and, for the backchannel, presents ``cert``."""
    ctx = ssl.create_default_context(cafile=str(trust))
    ctx.minimum_version = MIN_VERSION
    if cert is not None:
        ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


@dataclass(frozen=True)
class PeerInfo:
    """What the TLS handshake told the server about this connection."""

    tls_version: str | None
    cipher: str | None
    subject: str | None
    dns_names: tuple[str, ...]

    def as_extension(self) -> dict[str, Any]:
        return {
            "tls_version": self.tls_version,
            "cipher_suite": self.cipher,
            "client_cert_name": self.subject,
            "client_cert_dns_names": list(self.dns_names),
        }


def peer_info(ssl_object: ssl.SSLObject | ssl.SSLSocket | None) -> PeerInfo | None:
    if ssl_object is None:
        return None
    subject, names = _certificate_names(ssl_object.getpeercert(binary_form=True))
    cipher = ssl_object.cipher()
    return PeerInfo(ssl_object.version(), cipher[0] if cipher else None, subject, names)


@functools.lru_cache(maxsize=256)
def _certificate_names(der: bytes | None) -> tuple[str | None, tuple[str, ...]]:
    """Subject and DNS names of a DER certificate (remembered: the recorder asks for every response)."""
    if not der:
        return None, ()
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(n.lower() for n in san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        names = ()
    return cert.subject.rfc4514_string(), names


class TLSHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus the connection's TLS facts in ``scope["extensions"]["tls"]``."""

    _peer: PeerInfo | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._peer = peer_info(transport.get_extra_info("ssl_object"))

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._peer is not None:
            self.scope["extensions"] = {"tls": self._peer.as_extension()}


def tls_of(scope: dict[str, Any]) -> dict[str, Any] | None:
    """The TLS facts :class:`TLSHttpToolsProtocol` recorded for a request, or None on plain HTTP."""
    return scope.get("extensions", {}).get("tls")
