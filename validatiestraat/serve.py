"""Run several ASGI apps over TLS on loopback, in one background event loop.

Each :class:`Listener` gets a socket bound before the servers start, so its port (and URL) is known at once
and a client that connects early waits in the listen backlog instead of failing: no polling, no sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from validatiestraat.tls import TLSHttpToolsProtocol

ASGIApp = Callable[..., Any]
log = logging.getLogger(__name__)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP, and
    # without it every response whose body follows its headers waits ~40 ms for the delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


@dataclass
class Listener:
    """One HTTPS endpoint: an app, its TLS context and the hostname it answers for."""

    name: str
    hostname: str
    app: ASGIApp
    ssl_context: ssl.SSLContext
    sock: socket.socket = field(default_factory=bind)

    @property
    def address(self) -> str:
        return self.sock.getsockname()[0]

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    @property
    def origin(self) -> str:
        return f"https://{self.hostname}:{self.port}"


class ServerGroup:
    """Serves listeners from one thread: ``start()`` returns at once, ``stop()`` shuts down cleanly."""

    def __init__(self, listeners: list[Listener]) -> None:
        self.listeners = listeners
        self._servers: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        for lst in self.listeners:
            ctx = lst.ssl_context
            config = uvicorn.Config(
                lst.app,
                ssl_context_factory=lambda _c, _d, ctx=ctx: ctx,
                http=TLSHttpToolsProtocol,
                lifespan="off",
                log_level="warning",
                access_log=False,
                timeout_graceful_shutdown=2,
            )
            self._servers.append(uvicorn.Server(config))
        self._thread = threading.Thread(target=self._run, name="straat-servers", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30) or self._failure is not None:
            self.stop()
            raise RuntimeError("straat servers did not start")

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve_all())
        except BaseException as exc:  # reported by start() or stop()
            self._failure = exc
            log.exception("straat servers stopped with an error")
        finally:
            self._ready.set()
            loop.close()

    async def _serve_all(self) -> None:
        pairs = zip(self._servers, self.listeners, strict=True)
        tasks = [asyncio.ensure_future(s.serve(sockets=[lst.sock])) for s, lst in pairs]
        while not all(s.started for s in self._servers):  # startup is a few event-loop turns
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.001)
        self._ready.set()
        await asyncio.gather(*tasks)

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        for lst in self.listeners:
            lst.sock.close()
        failure, self._failure = self._failure, None
        if failure is not None:
            raise RuntimeError("straat servers failed") from failure

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The servers' event loop, for running client code beside them (``run_coroutine_threadsafe``)."""
        if self._loop is None:
            raise RuntimeError("the server group is not running")
        return self._loop
