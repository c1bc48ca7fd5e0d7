"""The production HTTP server behind ``accredit serve``: Hypercorn, bounded and with deadlines.

Why Hypercorn (measured on 127.0.0.1 with 300 sockets that send the headers of a POST and one
byte of its body, then a legitimate GET):

- Werkzeug's development server, Cheroot (CherryPy) and Granian hand the connection to a
  worker thread before the body has arrived, so each slow socket holds a thread: the GET timed
  out after 30 s under all three. Gunicorn's sync and gthread workers read in the worker too and
  have no read timeout at all (its documentation asks for a buffering proxy in front).
- Waitress and Hypercorn read requests on an event loop and call the WSGI app only once the whole
  body is buffered: the GET was answered in 10 ms and the slow sockets were dropped by their read
  timeouts. Waitress has no TLS, and ``accredit serve --cert --key`` serves https; Hypercorn has
  TLS (with a handshake timeout), a per-read timeout, a keep-alive timeout, a cap on header size,
  a cap on the buffered body and a graceful drain on SIGTERM.

What Hypercorn lacks is added here: a bound on the threads that run the app (its default
executor is replaced), and a connection limit (connections beyond it are closed on accept, so a
flood costs neither memory nor threads). Several workers are forked processes sharing one
listening socket.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from hypercorn.app_wrappers import WSGIWrapper
from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets


@dataclass(frozen=True)
class Limits:
    """The server's bounds. Each has a reason: the attack it stops is named in the help."""

    threads: int = 16  # requests running the app at once, per worker
    max_connections: int = 1000  # open connections per worker; more are closed on accept
    read_timeout: float = 10.0  # seconds a read may wait for the client (headers and body)
    body_timeout: float = 30.0  # seconds the whole body may take once the headers are in
    keep_alive_timeout: float = 5.0  # seconds an idle connection is kept
    tls_handshake_timeout: float = 10.0
    graceful_timeout: float = 10.0  # seconds in-flight requests get after SIGTERM
    max_body_bytes: int = 1_000_000
    max_header_bytes: int = 16 * 1024


class _Connection(socket.socket):
    """An accepted socket that frees its listener's slot when it is closed (once)."""

    _release: Any = None

    def close(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
        super().close()


class Listener(socket.socket):
    """A listening socket that holds at most ``limit`` open connections: one over the limit is
    closed as soon as it is accepted (the kernel backlog would otherwise queue it behind slow
    clients, and memory would grow with a flood)."""

    def set_limit(self, limit: int) -> None:
        self._slots = threading.BoundedSemaphore(limit)

    def accept(self) -> tuple[socket.socket, Any]:
        fd, address = self._accept()  # type: ignore[attr-defined]
        connection = _Connection(self.family, self.type, self.proto, fileno=fd)
        if not self._slots.acquire(blocking=False):
            connection.close()
            raise BlockingIOError("connection limit reached")  # asyncio: try again later
        connection._release = self._slots.release
        if socket.getdefaulttimeout() is None and self.gettimeout():
            connection.setblocking(True)
        return connection, address


def bind(host: str, port: int) -> Listener:
    """Bind and listen on ``host:port`` (port 0: any free port). Raises ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = Listener(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
    except OSError:
        listener.close()
        raise
    listener.setblocking(False)
    return listener


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2+) from PEM files. Raises ``OSError`` or ``ssl.SSLError``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    context.load_cert_chain(cert, key)
    return context


def _config(limits: Limits, tls: ssl.SSLContext | None) -> Config:
    config = Config()
    config.read_timeout = limits.read_timeout  # type: ignore[assignment]
    config.keep_alive_timeout = limits.keep_alive_timeout
    config.ssl_handshake_timeout = limits.tls_handshake_timeout
    config.graceful_timeout = limits.graceful_timeout
    config.wsgi_max_body_size = limits.max_body_bytes
    config.h11_max_incomplete_size = limits.max_header_bytes
    config.include_server_header = False
    access = logging.getLogger("accredit.access")
    if not access.handlers:  # plain lines on stderr: no colour codes in log files
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False
    config.accesslog = access
    config.loglevel = "WARNING"  # the banner already says where it serves
    if tls is not None:
        # Hypercorn builds its own context from these; ours was loaded first to fail early.
        config.create_ssl_context = lambda: tls  # type: ignore[method-assign]
        config.certfile = config.keyfile = "(loaded)"
    return config


class _Disconnected(Exception):
    pass


_TOO_SLOW = b'{"type": "about:blank", "title": "Request Timeout", "status": 408, "code": "REQUEST_TIMEOUT"}'


class _WholeRequests:
    """Hypercorn's WSGI adapter (it buffers the body before the app runs), plus a deadline for
    the whole body (Hypercorn's read timeout restarts with every byte, so a client sending one
    byte at a time would never meet it), and minus one flaw: a client that disconnects mid-body
    would reach the app with the body cut short. Such requests never reach the app."""

    def __init__(self, app: Any, limits: Limits) -> None:
        self._inner = WSGIWrapper(app, limits.max_body_bytes)
        self._body_timeout = limits.body_timeout

    async def __call__(self, scope: Any, receive: Any, send: Any, sync_spawn: Any, call_soon: Any) -> None:
        if scope["type"] != "http":
            await self._inner(scope, receive, send, sync_spawn, call_soon)
            return

        deadline = asyncio.get_running_loop().time() + self._body_timeout

        async def whole(*_: Any) -> Any:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(receive(), max(remaining, 0))
            if message["type"] == "http.disconnect":
                raise _Disconnected
            return message

        try:
            await self._inner(scope, whole, send, sync_spawn, call_soon)
        except _Disconnected:
            pass
        except TimeoutError:
            headers = [(b"content-type", b"application/problem+json"), (b"connection", b"close")]
            await send({"type": "http.response.start", "status": 408, "headers": headers})
            await send({"type": "http.response.body", "body": _TOO_SLOW, "more_body": False})


def catch_stop_signals() -> threading.Event:
    """From now on SIGTERM and SIGINT set the returned event instead of killing the process, so
    a stop that arrives while the server starts is a graceful stop too."""
    requested = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: requested.set())
    return requested


async def _serve(
    app: Any, listener: Listener, limits: Limits, tls: ssl.SSLContext | None, requested: threading.Event
) -> None:
    loop = asyncio.get_running_loop()
    # Hypercorn runs WSGI apps on the default executor: bound it.
    loop.set_default_executor(ThreadPoolExecutor(limits.threads, thread_name_prefix="accredit"))
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if requested.is_set():
        stop.set()
    listener.set_limit(limits.max_connections)
    sockets = Sockets([listener], [], []) if tls else Sockets([], [listener], [])
    config = _config(limits, tls)
    await worker_serve(_WholeRequests(app, limits), config, sockets=sockets, shutdown_trigger=stop.wait)


def serve(
    make_app: Any,
    listener: Listener,
    limits: Limits,
    tls: ssl.SSLContext | None,
    workers: int,
    requested: threading.Event,
) -> int:
    """Serve the WSGI app made by ``make_app()`` on ``listener`` until SIGTERM or SIGINT, then
    drain in-flight requests for ``limits.graceful_timeout`` seconds (also if ``requested``, from
    ``catch_stop_signals``, was set while starting). Returns an exit code.

    With ``workers`` > 1 the process forks that many workers, each making its own app (its own
    database connections) and sharing the listening socket; the parent forwards SIGTERM."""
    if workers <= 1:
        asyncio.run(_serve(make_app(), listener, limits, tls, requested))
        return 0
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                asyncio.run(_serve(make_app(), listener, limits, tls, requested))
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    listener.close()

    def forward(signum: int, _frame: Any) -> None:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if requested.is_set():
        forward(signal.SIGTERM, None)
    code = 0
    remaining = set(children)
    while remaining:
        pid, status = os.wait()
        remaining.discard(pid)
        if os.waitstatus_to_exitcode(status) != 0 and remaining:
            code = 1  # a worker died: stop the others rather than serve at reduced strength
            forward(signal.SIGTERM, None)
    return code
