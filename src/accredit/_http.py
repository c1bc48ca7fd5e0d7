"""Safe HTTP GET of JSON documents from outside (did:web documents, status lists).

A verifier fetches URLs that an attacker chose (a did:web host, a status list URL in a
credential), so every fetch is bounded and refuses to be turned against the verifier's own
network (SSRF): https only, no private, loopback, link-local, multicast or reserved
addresses (checked before connecting and again on the connected socket, against DNS
rebinding), no redirect to another origin, a byte cap read as a stream, and a deadline.
Tests on 127.0.0.1 build a policy that allows private addresses and plain http.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from . import _json
from .errors import FetchError, UnsafeURLError

_CHUNK = 16_384


@dataclass(frozen=True)
class FetchPolicy:
    """What a fetch may reach and how much it may read."""

    allow_private: bool = False  # loopback, private, link-local: only for tests and closed networks
    allow_http: bool = False
    timeout: float = 5.0  # seconds, for the whole fetch
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


def check_url(url: str, policy: FetchPolicy) -> None:
    """Refuse a URL the policy does not allow, resolving its host. Raises ``UnsafeURLError``."""
    parts = urlsplit(url)
    allowed = ("https", "http") if policy.allow_http else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeURLError(f"only {' or '.join(allowed)} URLs are fetched, not {url!r}", url=url)
    if not parts.hostname or parts.username or parts.password:
        raise UnsafeURLError(f"URL {url!r} has no host or carries credentials", url=url)
    if policy.allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise FetchError(f"cannot resolve host {parts.hostname!r}: {error}", url=url) from None
    for info in infos:
        if not _is_public(str(info[4][0])):
            raise UnsafeURLError(
                f"{parts.hostname!r} resolves to a non-public address; refused", url=url, address=info[4][0]
            )


def _check_peer(response: requests.Response, url: str, policy: FetchPolicy) -> None:
    """Refuse a connection that landed on a non-public address (DNS rebinding)."""
    if policy.allow_private:
        return
    try:
        peer = response.raw.connection.sock.getpeername()[0]
    except (AttributeError, OSError):
        return  # the address was checked before connecting; some transports hide the socket
    if not _is_public(str(peer)):
        raise UnsafeURLError(f"{url!r} connected to a non-public address; refused", url=url)


def _read_capped(response: requests.Response, url: str, policy: FetchPolicy, deadline: float) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError(f"{url!r} is larger than {policy.max_bytes} bytes", url=url)
    body = bytearray()
    for chunk in response.iter_content(_CHUNK):
        body += chunk
        if len(body) > policy.max_bytes:
            raise FetchError(f"{url!r} is larger than {policy.max_bytes} bytes", url=url)
        if time.monotonic() > deadline:
            raise FetchError(f"fetching {url!r} took longer than {policy.timeout}s", url=url)
    return bytes(body)


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


def fetch_json(url: str, policy: FetchPolicy, session: requests.Session | None = None) -> Fetched:
    """GET ``url`` as JSON under ``policy``. Raises ``UnsafeURLError``, ``FetchError`` and
    ``InputError`` (the body is not acceptable JSON)."""
    http = session or requests.Session()
    deadline = time.monotonic() + policy.timeout
    current = url
    for _ in range(policy.max_redirects + 1):
        check_url(current, policy)
        try:
            response = http.get(
                current,
                timeout=policy.timeout,
                stream=True,
                allow_redirects=False,
                headers={"Accept": "application/json, application/ld+json"},
            )
        except requests.RequestException as error:
            raise FetchError(f"cannot fetch {current!r}: {type(error).__name__}", url=current) from None
        with response:
            _check_peer(response, current, policy)
            if response.is_redirect:
                target = urljoin(current, response.headers.get("Location", ""))
                if _origin(target) != _origin(current):
                    raise FetchError(f"{current!r} redirects to another origin; refused", url=current)
                current = target
                continue
            if response.status_code != 200:
                raise FetchError(
                    f"{current!r} answered HTTP {response.status_code}",
                    url=current,
                    status=response.status_code,
                )
            try:
                body = _read_capped(response, current, policy, deadline)
            except requests.RequestException as error:
                raise FetchError(f"cannot read {current!r}: {type(error).__name__}", url=current) from None
            document = _json.loads(body, max_bytes=policy.max_bytes)
            return Fetched(current, document, dict(response.headers))
    raise FetchError(f"{url!r} redirects more than {policy.max_redirects} times", url=url)
