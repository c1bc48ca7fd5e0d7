"""Safe HTTP GET of JSON documents from outside (did:web documents, status lists).

A verifier fetches URLs that an attacker chose (a did:web host, a status list URL in a
credential), so every fetch is bounded and refuses to be turned against the verifier's own
network (SSRF): https only, no private, loopback, link-local, multicast or reserved
addresses (the connection goes to the address that was checked, so DNS rebinding cannot
swap it), no redirect to another origin, a byte cap read as a stream, and one wall-clock
deadline for the whole fetch. Tests on 127.0.0.1 build a policy that allows private
addresses and plain http.

The deadline is enforced by a watchdog that shuts the socket down when it passes: a
per-read timeout alone restarts with every byte, so a server dripping one byte a second
(in the TLS handshake, the headers or the body) would hold the fetch indefinitely.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from . import _json
from .errors import FetchError, UnsafeURLError

_CHUNK = 16_384


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may reach and how much it may read."""

    allow_private: bool = False  # loopback, private, link-local: only for tests and closed networks
    allow_http: bool = False
    timeout: float = 5.0  # seconds of wall-clock time for the whole fetch, redirects included
    max_bytes: int = 1_000_000
    max_redirects: int = 3


@dataclass(frozen=True)
class Fetched:
    """A fetched JSON document and the response headers that matter for caching."""

    url: str
    document: Any
    headers: Mapping[str, str]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _port(url: str) -> int:
    parts = urlsplit(url)
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise UnsafeURLError(f"URL {url!r} has an invalid port", url=url) from None


def check_url(url: str, policy: FetchPolicy) -> str:
    """Refuse a URL the policy does not allow, resolving its host. Returns the address to
    connect to (the host name itself when private addresses are allowed). Raises
    ``UnsafeURLError``, or ``FetchError`` when the host does not resolve."""
    parts = urlsplit(url)
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeURLError(f"only {' or '.join(allowed)} URLs are fetched, not {url!r}", url=url)
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeURLError(f"URL {url!r} has no host or carries credentials", url=url)
    port = _port(url)
    if policy.allow_private:
        return parts.hostname
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"cannot resolve host {parts.hostname!r}: {error}", url=url) from None
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise UnsafeURLError(
                f"{parts.hostname!r} resolves to a non-public address; refused", url=url, address=info[4][0]
            )
    return str(infos[0][4][0])


class _Watchdog:
    """Shuts a connection's socket down when the fetch's deadline passes, whatever read the
    connection is blocked in."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self, url: str, timeout: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"fetching {url!r} took longer than {timeout}s", url=url)
        return left

    def watch(self, sock: socket.socket) -> None:
        # A duplicate descriptor of the same socket: shutting it down ends the connection
        # without touching the TLS object another thread is reading through.
        with self._lock:
            self._sockets.append(sock.dup())
            if self.fired:
                self._shutdown()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


class _Connection(http.client.HTTPConnection):
    """One connection to the checked ``address`` (TLS with the URL's host name for SNI and
    certificate checks, or plain http), registered with the watchdog before any byte is read."""

    def __init__(
        self, url: str, address: str, watchdog: _Watchdog, timeout: float, context: ssl.SSLContext | None
    ) -> None:
        parts = urlsplit(url)
        super().__init__(str(parts.hostname), _port(url), timeout=timeout)
        self.address, self.watchdog, self.tls_context = address, watchdog, context

    def connect(self) -> None:
        family, address = self._address()
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.watchdog.watch(sock)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock = (
                self.tls_context.wrap_socket(sock, server_hostname=self.host) if self.tls_context else sock
            )
        except BaseException:
            sock.close()
            raise

    def _address(self) -> tuple[socket.AddressFamily, tuple[str, int]]:
        # The checked address, or (private addresses allowed) the host name resolved here.
        info = socket.getaddrinfo(self.address, self.port, proto=socket.IPPROTO_TCP)[0]
        return info[0], (str(info[4][0]), int(info[4][1]))


def _tls_context() -> ssl.SSLContext:
    try:
        import certifi  # requests' trust store, so did:web hosts verify as they did before

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:
        return ssl.create_default_context()


def _check_peer(sock: socket.socket | None, url: str, policy: FetchPolicy) -> None:
    """Refuse a connection that landed on a non-public address."""
    if policy.allow_private or sock is None:
        return
    peer = sock.getpeername()[0]
    if not _is_public(str(peer)):
        raise UnsafeURLError(f"{url!r} connected to a non-public address; refused", url=url)


def _read_capped(response: http.client.HTTPResponse, url: str, policy: FetchPolicy) -> bytes:
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError(f"{url!r} is larger than {policy.max_bytes} bytes", url=url)
    body = bytearray()
    while chunk := response.read1(_CHUNK):
        body += chunk
        if len(body) > policy.max_bytes:
            raise FetchError(f"{url!r} is larger than {policy.max_bytes} bytes", url=url)
    return bytes(body)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def _get(url: str, policy: FetchPolicy, watchdog: _Watchdog) -> tuple[int, dict[str, str], bytes]:
    """One GET under the watchdog: status, headers and (for a 200) the capped body."""
    address = check_url(url, policy)
    parts = urlsplit(url)
    connection = _Connection(
        url,
        address,
        watchdog,
        watchdog.remaining(url, policy.timeout),
        _tls_context() if parts.scheme == "https" else None,
    )
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Accept": "application/json, application/ld+json"})
        _check_peer(connection.sock, url, policy)
        response = connection.getresponse()
        headers = {name.title(): value for name, value in response.getheaders()}
        body = _read_capped(response, url, policy) if response.status == 200 else b""
        return response.status, headers, body
    finally:
        connection.close()


def fetch_json(url: str, policy: FetchPolicy) -> Fetched:
    """GET ``url`` as JSON under ``policy``, all of it (redirects included) within
    ``policy.timeout`` seconds. Raises ``UnsafeURLError``, ``FetchError`` and ``InputError``
    (the body is not acceptable JSON)."""
    watchdog = _Watchdog(time.monotonic() + policy.timeout)
    current = url
    try:
        for _ in range(policy.max_redirects + 1):
            try:
                status, headers, body = _get(current, policy, watchdog)
            except (OSError, http.client.HTTPException, ValueError) as error:
                failure = f"cannot fetch {current!r}: {type(error).__name__}"
                if not watchdog.fired:
                    raise FetchError(failure, url=current) from None
            # A connection cut by the watchdog can look like a short, complete answer.
            if watchdog.fired:
                raise FetchError(f"fetching {current!r} took longer than {policy.timeout}s", url=current)
            if status in (301, 302, 303, 307, 308):
                target = urljoin(current, headers.get("Location", ""))
                if _origin(target) != _origin(current):
                    raise FetchError(f"{current!r} redirects to another origin; refused", url=current)
                current = target
                continue
            if status != 200:
                raise FetchError(f"{current!r} answered HTTP {status}", url=current, status=status)
            return Fetched(current, _json.loads(body, max_bytes=policy.max_bytes), headers)
    finally:
        watchdog.close()
    raise FetchError(f"{url!r} redirects more than {policy.max_redirects} times", url=url)
