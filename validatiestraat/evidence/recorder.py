"""The recorder: keeps every HTTP exchange of a run, raw, with timings, TLS version and peer certificate.

Two taps feed it. :class:`RecordingTransport` wraps an httpx transport on the harness side (what the
harness and the simulated clients send), :class:`RecordingMiddleware` wraps the ASGI app of a simulated
server (what the system under test sends to the simulators). The driver names the scenario variant and the
step being run (:meth:`Recorder.case`, :meth:`Recorder.step`); every exchange recorded meanwhile carries
them, so a check finds its evidence by case and step.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import httpx

from validatiestraat.evidence.exchange import Exchange
from validatiestraat.tls import peer_info, tls_of

_CASE: contextvars.ContextVar[str | None] = contextvars.ContextVar("vs_case", default=None)
_STEP: contextvars.ContextVar[str | None] = contextvars.ContextVar("vs_step", default=None)

#: bodies above this size are cut in the record (the check sees ``truncated`` in the exchange error field)
MAX_BODY = 20 * 1024 * 1024


class Recorder:
    """Thread-safe store of the exchanges of one run."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self._by_case: dict[str, list[Exchange]] = {}  # the same exchanges, by case (read once per case)
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._active_case = "-"
        self._active_step = "-"

    # -- naming what is recorded --------------------------------------------------------------------------
    def case(self, case_id: str) -> contextlib.AbstractContextManager[None]:
        return self._label(_CASE, "_active_case", case_id)

    def step(self, name: str) -> contextlib.AbstractContextManager[None]:
        return self._label(_STEP, "_active_step", name)

    @contextlib.contextmanager
    def _label(self, var: contextvars.ContextVar[str | None], active: str, value: str) -> Iterator[None]:
        """Name what is recorded meanwhile: in the context (harness side) and as what runs now (server side)."""
        token = var.set(value)
        previous = getattr(self, active)
        setattr(self, active, value)
        try:
            yield
        finally:
            var.reset(token)
            setattr(self, active, previous)

    def _labels(self) -> tuple[str, str]:
        # the context variables when set (harness side); else what the driver runs now (server side)
        return _CASE.get() or self._active_case, _STEP.get() or self._active_step

    def now(self) -> float:
        return time.perf_counter() - self._t0

    def add(self, exchange: Exchange) -> Exchange:
        with self._lock:
            exchange.id = f"x{len(self.exchanges) + 1:05d}"
            self.exchanges.append(exchange)
            self._by_case.setdefault(exchange.case, []).append(exchange)
        return exchange

    def clear(self) -> None:
        """Forget what was recorded (a benchmark's warm-up); exchange ids start again."""
        with self._lock:
            self.exchanges.clear()
            self._by_case.clear()

    # -- reading ------------------------------------------------------------------------------------------
    def of_case(self, case_id: str) -> list[Exchange]:
        with self._lock:
            return list(self._by_case.get(case_id, ()))

    def get(self, exchange_id: str) -> Exchange | None:
        with self._lock:
            return next((e for e in self.exchanges if e.id == exchange_id), None)

    # -- taps ---------------------------------------------------------------------------------------------
    def transport(self, inner: httpx.AsyncBaseTransport, sender: str) -> RecordingTransport:
        return RecordingTransport(inner, self, sender)

    def middleware(self, app: ASGIApp, receiver: str) -> RecordingMiddleware:
        return RecordingMiddleware(app, self, receiver)


def _headers(raw: httpx.Headers) -> list[tuple[str, str]]:
    return [(k, v) for k, v in raw.multi_items()]


class RecordingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that records what passes through it; transport errors are recorded and re-raised."""

    def __init__(self, inner: httpx.AsyncBaseTransport, recorder: Recorder, sender: str) -> None:
        self._inner = inner
        self._recorder = recorder
        self._sender = sender

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        case, step = self._recorder._labels()
        body = await request.aread()
        exchange = Exchange(
            id="",
            case=case,
            step=step,
            sender=self._sender,
            receiver=request.url.host,
            method=request.method,
            url=str(request.url),
            request_headers=_headers(request.headers),
            request_body=body,
            started=self._recorder.now(),
        )
        t0 = time.perf_counter()
        try:
            response = await self._inner.handle_async_request(request)
            stream = response.extensions.get("network_stream")
            ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
            peer = peer_info(ssl_object)
            raw = await _read_limited(response)
            content = _decoded(raw, response.headers)
        except BaseException as exc:
            exchange.elapsed = time.perf_counter() - t0
            exchange.error = f"{type(exc).__name__}: {exc}"
            self._recorder.add(exchange)
            raise
        exchange.elapsed = time.perf_counter() - t0
        exchange.status = response.status_code
        exchange.response_headers = _headers(response.headers)
        exchange.response_body = content
        if peer is not None:
            exchange.tls_version = peer.tls_version
            exchange.peer_certificate = f"{peer.subject} DNS={','.join(peer.dns_names)}"
        self._recorder.add(exchange)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > MAX_BODY:
                raise httpx.DecodingError(f"response body larger than {MAX_BODY} bytes")
            chunks.append(chunk)
    finally:
        await response.aclose()
    return b"".join(chunks)


def _decoded(raw: bytes, headers: httpx.Headers) -> bytes:
    """The body as the application sees it (content-encoding undone); the raw bytes go on to the client."""
    if not headers.get("content-encoding"):
        return raw
    try:
        return httpx.Response(200, headers={"content-encoding": headers["content-encoding"]}, content=raw).content
    except httpx.DecodingError:
        return raw


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RecordingMiddleware:
    """ASGI middleware on a simulated party: records each request it receives and the answer it gives."""

    def __init__(self, app: ASGIApp, recorder: Recorder, receiver: str) -> None:
        self.app = app
        self.recorder = recorder
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        case, step = self.recorder._labels()
        tls = tls_of(scope) or {}
        query = scope.get("query_string", b"").decode("latin-1")
        host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), self.receiver)
        url = f"{scope.get('scheme', 'https')}://{host}{scope.get('root_path', '')}{scope['path']}"
        exchange = Exchange(
            id="",
            case=case,
            step=step,
            sender=", ".join(tls.get("client_cert_dns_names") or []) or "client",
            receiver=self.receiver,
            method=scope["method"],
            url=url + (f"?{query}" if query else ""),
            request_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])],
            request_body=b"",
            started=self.recorder.now(),
            tls_version=tls.get("tls_version"),
            peer_certificate=tls.get("client_cert_name"),
        )
        t0 = time.perf_counter()
        body = bytearray()
        answer = bytearray()

        async def tapped_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                body.extend(message.get("body", b""))
            return message

        async def tapped_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = [
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
                ]
            elif message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, tapped_receive, tapped_send)
        except BaseException as exc:
            exchange.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            exchange.request_body = bytes(body)
            exchange.response_body = bytes(answer)
            exchange.elapsed = time.perf_counter() - t0
            self.recorder.add(exchange)
