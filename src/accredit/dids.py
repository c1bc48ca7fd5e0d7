"""DIDs: ``did:key`` and ``did:web``, a pluggable resolver with caching, and verification
method lookup for proofs.

- did:key (https://w3c-ccg.github.io/did-key-spec/): the DID *is* the Multikey; its document
  is derived locally (Ed25519 also gets its X25519 key-agreement key). Nothing is fetched.
- did:web (https://w3c-ccg.github.io/did-method-web/): the DID names an HTTPS URL; its
  document is fetched under a ``FetchPolicy`` that refuses private addresses by default.

A resolver is anything with ``resolve(did) -> dict``; tests and deployments plug in their own.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from ._http import FetchPolicy, fetch_json
from .errors import (
    AccreditError,
    DIDResolutionError,
    InvalidDIDError,
    InvalidKeyError,
    ProofPurposeError,
    UnsupportedDIDMethodError,
    VerificationMethodError,
)
from .keys import PublicKey, multibase_decode, multibase_encode

__all__ = [
    "CachingResolver",
    "DIDKeyResolver",
    "DIDWebResolver",
    "MethodResolver",
    "Resolver",
    "StaticResolver",
    "default_resolver",
    "did_key_document",
    "did_web_to_url",
    "resolve",
    "resolve_verification_method",
    "shared_resolver",
    "split_did_url",
    "url_to_did_web",
]

DID_V1_1_CONTEXT = "https://www.w3.org/ns/did/v1.1"
RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")

_DID = re.compile(
    r"^did:([a-z0-9]+):((?:[A-Za-z0-9._\-]|%[0-9A-Fa-f]{2})*(?::(?:[A-Za-z0-9._\-]|%[0-9A-Fa-f]{2})*)*)$"
)
_FRAGMENT = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:@/?\-%]*$")
_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")
_MAX_DID_LENGTH = 2048
_X25519_PUB = b"\xec\x01"  # multicodec x25519-pub
_P = 2**255 - 19


class Resolver(Protocol):
    """Resolves a DID (no fragment) to its DID document. Raises ``DIDError`` subclasses."""

    def resolve(self, did: str) -> dict[str, Any]: ...


def _parse_did(did: Any) -> tuple[str, str]:
    if not isinstance(did, str) or len(did) > _MAX_DID_LENGTH:
        raise InvalidDIDError("a DID must be a string of at most 2048 characters")
    match = _DID.match(did)
    if not match or not match.group(2):
        raise InvalidDIDError(f"{did!r} is not a valid DID", did=did[:200])
    return match.group(1), match.group(2)


def split_did_url(did_url: Any) -> tuple[str, str | None]:
    """``did:…#fragment`` → (DID, fragment or None). Paths and queries are refused."""
    if not isinstance(did_url, str):
        raise InvalidDIDError("a DID URL must be a string")
    did, hash_sign, fragment = did_url.partition("#")
    _parse_did(did)
    if hash_sign and (not fragment or not _FRAGMENT.match(fragment)):
        raise InvalidDIDError(f"{did_url!r} has an invalid fragment", did=did)
    return did, (fragment if hash_sign else None)


# --- did:key --------------------------------------------------------------------------------


def _x25519_from_ed25519(raw: bytes) -> bytes:
    """The Montgomery u-coordinate of an Edwards point: u = (1 + y) / (1 − y) mod p (RFC 7748 §4.1)."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow(1 - y, -1, _P) % _P
    return u.to_bytes(32, "little")


def did_key_document(did: str) -> dict[str, Any]:
    """The DID document of a ``did:key`` (did:key spec §3.1.2, Multikey form).

    Raises ``InvalidDIDError`` (not did:key) and ``InvalidKeyError`` (a bad key).
    """
    method, identifier = _parse_did(did)
    if method != "key":
        raise InvalidDIDError(f"{did!r} is not a did:key", did=did)
    key = PublicKey.from_multibase(identifier)
    if key.multibase != identifier:
        raise InvalidDIDError("did:key must use the canonical multibase of its key", did=did)
    vm_id = f"{did}#{identifier}"
    document: dict[str, Any] = {
        "@context": [DID_V1_1_CONTEXT],
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": identifier}
        ],
        "authentication": [vm_id],
        "assertionMethod": [vm_id],
        "capabilityDelegation": [vm_id],
        "capabilityInvocation": [vm_id],
    }
    if key.type == "Ed25519":
        x25519 = multibase_encode(_X25519_PUB + _x25519_from_ed25519(key.raw))
        document["keyAgreement"] = [
            {"id": f"{did}#{x25519}", "type": "Multikey", "controller": did, "publicKeyMultibase": x25519}
        ]
    return document


class DIDKeyResolver:
    """Resolves did:key locally."""

    def resolve(self, did: str) -> dict[str, Any]:
        try:
            return did_key_document(did)
        except InvalidKeyError as error:
            raise InvalidDIDError(f"{did!r} does not encode a usable key: {error.message}", did=did) from None


# --- did:web --------------------------------------------------------------------------------


def did_web_to_url(did: str, *, scheme: str = "https") -> str:
    """The URL of a did:web document: ``did:web:host%3Aport:path:seg`` →
    ``https://host:port/path/seg/did.json``; no path → ``/.well-known/did.json``."""
    method, identifier = _parse_did(did)
    if method != "web":
        raise InvalidDIDError(f"{did!r} is not a did:web", did=did)
    host, *path = identifier.split(":")
    host = unquote(host)
    if not _HOST.match(host) or host.startswith((".", "-")):
        raise InvalidDIDError(f"did:web host {host!r} is not a host name with an optional port", did=did)
    segments = [unquote(segment) for segment in path]
    if any(not s or s in (".", "..") or "/" in s or "?" in s or "#" in s for s in segments):
        raise InvalidDIDError(f"did:web path in {did!r} has an empty or unsafe segment", did=did)
    suffix = "/".join([*segments, "did.json"]) if segments else ".well-known/did.json"
    return f"{scheme}://{host.lower()}/{suffix}"


def url_to_did_web(url: str) -> str:
    """The did:web for a base URL, e.g. ``https://org.example:8443/agents`` →
    ``did:web:org.example%3A8443:agents``."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query or parts.fragment:
        raise InvalidDIDError(f"{url!r} is not a base URL for a did:web")
    host = parts.hostname.lower() + (f"%3A{parts.port}" if parts.port else "")
    segments = [quote(s, safe="") for s in parts.path.split("/") if s]
    return ":".join(["did:web", host, *segments])


class DIDWebResolver:
    """Resolves did:web over HTTPS under ``policy`` (SSRF-safe by default)."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy()

    def resolve(self, did: str) -> dict[str, Any]:
        url = did_web_to_url(did, scheme="http" if self.policy.allow_http and _is_local(did) else "https")
        try:
            document = fetch_json(url, self.policy).document
        except AccreditError as error:
            raise DIDResolutionError(
                f"cannot resolve {did}: {error.message}", did=did, cause=error.code
            ) from None
        if not isinstance(document, dict) or document.get("id") != did:
            raise DIDResolutionError(f"the document at {url} is not the DID document of {did}", did=did)
        return document


def _is_local(did: str) -> bool:
    # Plain http is only ever used for test servers on this machine.
    host = unquote(did.split(":")[2]).split(":")[0]
    return host in ("127.0.0.1", "localhost", "[::1]")


# --- composition ----------------------------------------------------------------------------


class StaticResolver:
    """Resolves from a fixed mapping of DID → document (tests, pinned deployments)."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self.documents = {did: dict(doc) for did, doc in documents.items()}

    def resolve(self, did: str) -> dict[str, Any]:
        if did not in self.documents:
            raise DIDResolutionError(f"{did} is not known to this resolver", did=did)
        return self.documents[did]


class MethodResolver:
    """Dispatches on the DID method."""

    def __init__(self, resolvers: Mapping[str, Resolver]) -> None:
        self.resolvers = dict(resolvers)

    def resolve(self, did: str) -> dict[str, Any]:
        method, _ = _parse_did(did)
        if method not in self.resolvers:
            raise UnsupportedDIDMethodError(
                f"did:{method} is not supported; supported: {sorted(self.resolvers)}", did=did
            )
        return self.resolvers[method].resolve(did)


class CachingResolver:
    """Caches another resolver's documents for ``ttl`` seconds (at most ``max_entries``), and
    its failures to resolve a DID for ``failure_ttl`` seconds: a did:web host that does not
    answer is asked once in that time, not once per credential naming it (each ask may hold a
    thread until the fetch deadline)."""

    def __init__(
        self,
        inner: Resolver,
        *,
        ttl: float = 300.0,
        failure_ttl: float = 30.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner, self.ttl, self.max_entries, self.clock = inner, ttl, max_entries, clock
        self.failure_ttl = failure_ttl
        self._entries: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._failures: OrderedDict[str, tuple[float, DIDResolutionError]] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, did: str) -> dict[str, Any]:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(did)
            if entry and entry[0] > now:
                self._entries.move_to_end(did)
                return entry[1]
            failure = self._failures.get(did)
            if failure and failure[0] > now:
                raise failure[1]
        try:
            document = self.inner.resolve(did)
        except DIDResolutionError as error:
            with self._lock:
                self._failures[did] = (now + self.failure_ttl, error)
                while len(self._failures) > self.max_entries:
                    self._failures.popitem(last=False)
            raise
        with self._lock:
            self._entries[did] = (now + self.ttl, document)
            self._entries.move_to_end(did)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return document

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def default_resolver(
    *,
    allow_private: bool = False,
    allow_http: bool = False,
) -> Resolver:
    """did:key and did:web with caching. ``allow_private``/``allow_http`` are for tests on
    127.0.0.1 and closed networks only."""
    policy = FetchPolicy(allow_private=allow_private, allow_http=allow_http)
    return CachingResolver(MethodResolver({"key": DIDKeyResolver(), "web": DIDWebResolver(policy)}))


@functools.cache
def shared_resolver() -> Resolver:
    """The process's one default resolver: did:key and did:web (public addresses only, each
    fetch under one deadline), at most 1024 documents cached for five minutes. Verification
    uses it unless given another, so each DID is resolved and its key decoded once."""
    return default_resolver()


def resolve(did: str, resolver: Resolver | None = None) -> dict[str, Any]:
    """Resolve ``did`` (did:key, did:web) to its DID document. Raises ``DIDError`` subclasses."""
    return (resolver or shared_resolver()).resolve(did)


# --- verification methods -------------------------------------------------------------------


def _absolute(did: str, ref: Any) -> Any:
    return f"{did}{ref}" if isinstance(ref, str) and ref.startswith("#") else ref


def _find_method(document: Mapping[str, Any], did: str, vm_id: str) -> dict[str, Any] | None:
    candidates: list[Any] = []
    for key in ("verificationMethod", *RELATIONSHIPS):
        value = document.get(key, [])
        candidates.extend(value if isinstance(value, list) else [value])
    for method in candidates:
        if isinstance(method, dict) and _absolute(did, method.get("id")) == vm_id:
            return method
    return None


def _authorized(document: Mapping[str, Any], did: str, vm_id: str, purpose: str) -> bool:
    entries = document.get(purpose, [])
    for entry in entries if isinstance(entries, list) else [entries]:
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if _absolute(did, ref) == vm_id:
            return True
    return False


def public_key_of(method: Mapping[str, Any]) -> PublicKey:
    """The key in a verification method (Multikey, Ed25519VerificationKey2020/2018, JsonWebKey
    (2020)). Raises ``VerificationMethodError``; a JWK with private members is refused."""
    kind = method.get("type")
    try:
        if kind in ("Multikey", "Ed25519VerificationKey2020") and "publicKeyMultibase" in method:
            key = PublicKey.from_multibase(method["publicKeyMultibase"])
        elif kind == "Ed25519VerificationKey2018" and isinstance(method.get("publicKeyBase58"), str):
            key = PublicKey.from_raw("Ed25519", _b58(method["publicKeyBase58"]))
        elif kind in ("JsonWebKey", "JsonWebKey2020") and isinstance(method.get("publicKeyJwk"), dict):
            if "d" in method["publicKeyJwk"]:
                raise VerificationMethodError("a verification method must not carry a private key")
            key = PublicKey.from_jwk(method["publicKeyJwk"])
        else:
            raise VerificationMethodError(f"unsupported verification method type {kind!r}")
    except InvalidKeyError as error:
        raise VerificationMethodError(f"unusable verification method key: {error.message}") from None
    if kind == "Ed25519VerificationKey2020" and key.type != "Ed25519":
        raise VerificationMethodError("Ed25519VerificationKey2020 must hold an Ed25519 key")
    return key


def _b58(value: str) -> bytes:
    return multibase_decode("z" + value)  # publicKeyBase58 is multibase without its prefix


def resolve_verification_method(
    vm_id: str, *, purpose: str, resolver: Resolver, controller: str
) -> PublicKey:
    """The public key of verification method ``vm_id``, after checking that it belongs to
    ``controller``'s DID, is controlled by it, and is listed under ``purpose`` there.

    Raises ``VerificationMethodError``, ``ProofPurposeError`` and resolution errors.
    """
    did, fragment = split_did_url(vm_id)
    if fragment is None:
        raise VerificationMethodError(
            f"verification method {vm_id!r} has no fragment", verificationMethod=vm_id
        )
    if did != controller:
        raise VerificationMethodError(
            f"verification method {vm_id!r} does not belong to {controller!r}",
            verificationMethod=vm_id,
            expected=controller,
        )
    document = resolver.resolve(did)
    method = _find_method(document, did, vm_id)
    if method is None:
        raise VerificationMethodError(f"{did} has no verification method {vm_id!r}", verificationMethod=vm_id)
    if method.get("controller") != did:
        raise VerificationMethodError(f"{vm_id!r} is not controlled by {did}", verificationMethod=vm_id)
    if "revoked" in method:
        raise VerificationMethodError(f"{vm_id!r} is revoked", verificationMethod=vm_id)
    if not _authorized(document, did, vm_id, purpose):
        raise ProofPurposeError(
            f"{vm_id!r} is not authorized for {purpose} by {did}", verificationMethod=vm_id, purpose=purpose
        )
    return public_key_of(method)
