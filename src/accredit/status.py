"""Bitstring Status List v1.0: the bitstring codec, status entries, list credentials, and the
status check a verifier plugs into ``VerifyOptions.status_checker``.

https://www.w3.org/TR/vc-bitstring-status-list/

A list is a bitstring of at least 131,072 entries (herd privacy), GZIP-compressed and encoded
as multibase base64url without padding (``u…``). Bit 0 is the left-most (most significant)
bit of the first byte. A credential's ``BitstringStatusListEntry`` names a list credential
and an index; a set bit means revoked (or suspended) for that purpose.

The check fails closed: a list that cannot be fetched, is not validly signed by the
credential's own issuer, is malformed, too large when decompressed, or too short for the
index, is "not verified", each with its own code. So is a list that is the credential of
another URL than the one it was fetched from (``STATUS_LIST_URL_MISMATCH``: a stale or
foreign list replayed at this URL), one with no ``validUntil`` issued longer ago than the
checker's maximum age (``STATUS_LIST_STALE``), and a credential naming more entries or lists
than a verifier fetches for one credential (``STATUS_ENTRIES_EXCEEDED``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from ._dates import format_datetime, parse_datetime
from ._http import FetchPolicy, fetch_json
from .credentials import CREDENTIALS_V2, VerifyOptions, issuer_of, verify_credential
from .errors import (
    AccreditError,
    StatusListError,
    StatusListLengthError,
    StatusListTooLargeError,
    StatusRetrievalError,
    ValidationError,
)
from .results import Check, VerificationResult

__all__ = [
    "MIN_ENTRIES",
    "HTTPStatusListFetcher",
    "StaticStatusListFetcher",
    "StatusListChecker",
    "StatusListFetcher",
    "decode_list",
    "encode_list",
    "get_bit",
    "new_list",
    "set_bit",
    "status_entry",
    "status_list_credential",
]

MIN_ENTRIES = 131_072  # 16 KiB: the spec's minimum, so one index hides among many
MAX_DECODED_BYTES = 2 * 1024 * 1024  # 16.7M entries; a larger list is refused, not inflated
PURPOSES = ("revocation", "suspension")
_VERIFIED_LISTS = 64  # verified list documents remembered per checker
_CACHED_LIST_BYTES = 256 * 1024
_CACHED_FETCHES = 1024  # fetched documents and failures remembered per fetcher
MAX_STATUS_ENTRIES = 4  # a credential names each list it uses once per purpose
MAX_STATUS_LISTS = 2  # remote fetches one credential can cause
DEFAULT_MAX_LIST_AGE = timedelta(days=1)  # for a list without validUntil
_FAILED_CODE = {"revocation": "REVOKED", "suspension": "SUSPENDED"}


# --- the bitstring --------------------------------------------------------------------------


def new_list(entries: int = MIN_ENTRIES) -> bytearray:
    """An all-clear bitstring of ``entries`` bits (rounded up to whole bytes)."""
    if entries < MIN_ENTRIES:
        raise ValueError(f"a status list needs at least {MIN_ENTRIES} entries")
    return bytearray((entries + 7) // 8)


def encode_list(bits: bytes | bytearray) -> str:
    """GZIP, then multibase base64url without padding (``u`` prefix)."""
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode_list(encoded: Any, *, max_bytes: int = MAX_DECODED_BYTES) -> bytes:
    """The bitstring of an ``encodedList``. Decompression stops at ``max_bytes`` (a GZIP bomb
    of a few KB would otherwise inflate to gigabytes). Raises ``StatusListError`` subclasses."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be multibase base64url ('u…')")
    body = encoded[1:]
    if "=" in body:
        raise StatusListError("encodedList must be base64url without padding")
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # GZIP framing only
        bits = inflater.decompress(compressed, max_bytes + 1)
    except (ValueError, zlib.error):
        raise StatusListError("encodedList is not GZIP data in base64url") from None
    if len(bits) > max_bytes:
        raise StatusListTooLargeError(
            f"the status list inflates beyond {max_bytes} bytes", max_bytes=max_bytes
        )
    if not inflater.eof:
        raise StatusListError("encodedList is truncated GZIP data")
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListLengthError(
            f"a status list must have at least {MIN_ENTRIES} entries", entries=len(bits) * 8
        )
    return bits


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Bit ``index``, counting from the left-most bit of the first byte."""
    if not 0 <= index < len(bits) * 8:
        raise IndexError(index)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_bit(bits: bytearray, index: int, value: bool) -> None:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(index)
    if value:
        bits[index // 8] |= 0x80 >> (index % 8)
    else:
        bits[index // 8] &= ~(0x80 >> (index % 8)) & 0xFF


# --- documents ------------------------------------------------------------------------------


def status_entry(list_url: str, index: int, purpose: str) -> dict[str, str]:
    """A ``BitstringStatusListEntry`` for a credential's ``credentialStatus``."""
    if purpose not in PURPOSES:
        raise ValueError(f"statusPurpose must be one of {PURPOSES}")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    list_url: str,
    issuer: str,
    purpose: str,
    bits: bytes | bytearray,
    *,
    valid_from: datetime,
    valid_until: datetime,
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` for ``bits``; sign it with
    ``issue_credential``. A short ``validUntil`` tells verifiers when to refresh it."""
    return {
        "@context": [CREDENTIALS_V2],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encode_list(bits),
        },
    }


# --- fetching -------------------------------------------------------------------------------


class StatusListFetcher(Protocol):
    """Returns the status list credential at a URL. Raises ``AccreditError`` when it cannot."""

    def fetch(self, url: str) -> Mapping[str, Any]: ...


class StaticStatusListFetcher:
    """Serves list credentials from a mapping (tests, or a service reading its own lists)."""

    def __init__(self, lists: Mapping[str, Mapping[str, Any]] | Callable[[str], Mapping[str, Any]]) -> None:
        self._lists = lists

    def fetch(self, url: str) -> Mapping[str, Any]:
        if callable(self._lists):
            return self._lists(url)
        if url not in self._lists:
            raise StatusRetrievalError(f"no status list at {url}", url=url)
        return self._lists[url]


def _max_age(headers: Mapping[str, str], now: float) -> float | None:
    for directive in headers.get("Cache-Control", "").split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() in ("no-store", "no-cache"):
            return 0.0
        if name.lower() == "max-age" and value.isdigit():
            return float(value)
    expires = headers.get("Expires")
    if expires:
        try:
            return max(0.0, parsedate_to_datetime(expires).timestamp() - now)
        except (TypeError, ValueError):
            return 0.0
    return None


class HTTPStatusListFetcher:
    """Fetches list credentials over HTTP(S) under a ``FetchPolicy`` and caches each for what
    its ``Cache-Control``/``Expires`` allow, never past the list's own ``validUntil`` and at most
    ``max_ttl`` seconds.

    A failure is remembered for ``failure_ttl`` seconds and answered again without a fetch, so
    one hostile host cannot hold a thread per credential that names it; a host that did not
    answer at all (deadline, connection refused) is remembered for all its URLs.
    """

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        *,
        max_ttl: float = 300.0,
        failure_ttl: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy or FetchPolicy()
        self.max_ttl, self.failure_ttl, self.clock = max_ttl, failure_ttl, clock
        self._cache: dict[str, tuple[float, Mapping[str, Any]]] = {}
        self._failures: dict[str, tuple[float, StatusRetrievalError]] = {}
        self._lock = threading.Lock()

    def _failed_before(self, url: str, now: float) -> StatusRetrievalError | None:
        with self._lock:
            for key in (url, _origin(url)):
                failure = self._failures.get(key)
                if failure and failure[0] > now:
                    return failure[1]
        return None

    def _remember_failure(self, url: str, error: StatusRetrievalError, unanswered: bool, now: float) -> None:
        with self._lock:
            for key in (url, _origin(url)) if unanswered else (url,):
                self._failures[key] = (now + self.failure_ttl, error)
            while len(self._failures) > _CACHED_FETCHES:
                self._failures.pop(next(iter(self._failures)))

    def fetch(self, url: str) -> Mapping[str, Any]:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(url)
            if cached and cached[0] > now:
                return cached[1]
        failed = self._failed_before(url, now)
        if failed is not None:
            raise failed
        try:
            fetched = fetch_json(url, self.policy)
        except AccreditError as error:
            failure = StatusRetrievalError(
                f"cannot fetch status list {url}: {error.message}", url=url, cause=error.code
            )
            self._remember_failure(url, failure, "status" not in error.details, now)
            raise failure from None
        document = fetched.document
        if not isinstance(document, dict):
            failure = StatusRetrievalError(f"{url} did not return a JSON object", url=url)
            self._remember_failure(url, failure, False, now)
            raise failure
        max_age = _max_age(fetched.headers, now)
        ttl = self.max_ttl if max_age is None else min(self.max_ttl, max_age)
        try:
            until = parse_datetime(document["validUntil"], "validUntil").timestamp()
            ttl = min(ttl, until - now)
        except (KeyError, ValidationError):
            pass
        if ttl > 0:
            with self._lock:
                self._cache[url] = (now + ttl, document)
                if len(self._cache) > _CACHED_FETCHES:
                    self._cache.pop(next(iter(self._cache)))
        return document


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    purpose: str
    index: int
    list_url: str


def _parse_entry(entry: Any) -> _Entry:
    if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
        raise StatusListError("unsupported credentialStatus type; expected BitstringStatusListEntry")
    purpose, index, url = (
        entry.get("statusPurpose"),
        entry.get("statusListIndex"),
        entry.get("statusListCredential"),
    )
    if purpose not in PURPOSES:
        raise StatusListError(f"unsupported statusPurpose {purpose!r}; accredit checks {list(PURPOSES)}")
    if entry.get("statusSize", "1") not in ("1", 1):
        raise StatusListError("only statusSize 1 is supported")
    if not isinstance(index, str) or not index.isascii() or not index.isdigit() or len(index) > 12:
        raise StatusListError("statusListIndex must be a string of ASCII digits")
    if not isinstance(url, str):
        raise StatusListError("statusListCredential must be a URL")
    return _Entry(purpose, int(index), url)


class StatusListChecker:
    """Checks every ``BitstringStatusListEntry`` of a credential; use as
    ``VerifyOptions(status_checker=StatusListChecker(fetcher, options))``.

    ``list_options`` verify each list credential (resolver, loader, clock); their own
    ``status_checker`` is ignored (a list has no status of its own). A list must be the
    credential it was fetched as (its ``id`` is the entry's ``statusListCredential``) and have
    a validity bound: a ``validUntil``, or else a ``validFrom`` no older than ``max_list_age``.
    A credential may name at most ``MAX_STATUS_ENTRIES`` entries in ``MAX_STATUS_LISTS`` lists.
    """

    def __init__(
        self,
        fetcher: StatusListFetcher,
        list_options: VerifyOptions | None = None,
        *,
        max_bytes: int = MAX_DECODED_BYTES,
        max_list_age: timedelta = DEFAULT_MAX_LIST_AGE,
    ) -> None:
        self.fetcher = fetcher
        self.list_options = replace(list_options or VerifyOptions(), status_checker=None)
        self.max_bytes = max_bytes
        self.max_list_age = max_list_age
        self._windows: OrderedDict[str, tuple[datetime, datetime]] = OrderedDict()
        self._verified_bits: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, credential: Mapping[str, Any]) -> Sequence[Check]:
        status = credential.get("credentialStatus")
        entries = status if isinstance(status, list) else [status]
        if len(entries) > MAX_STATUS_ENTRIES:
            return [
                Check.failed(
                    "status",
                    "STATUS_ENTRIES_EXCEEDED",
                    f"a credential may name at most {MAX_STATUS_ENTRIES} status entries",
                    entries=len(entries),
                )
            ]
        lists = {str(e.get("statusListCredential")) for e in entries if isinstance(e, dict)}
        if len(lists) > MAX_STATUS_LISTS:
            return [
                Check.failed(
                    "status",
                    "STATUS_ENTRIES_EXCEEDED",
                    f"a credential's status entries may name at most {MAX_STATUS_LISTS} lists",
                    lists=len(lists),
                )
            ]
        checks = []
        for position, entry in enumerate(entries):
            name = "status" if len(entries) == 1 else f"status[{position}]"
            try:
                checks.append(self._check(credential, _parse_entry(entry), name))
            except AccreditError as error:
                checks.append(Check.from_error(name, error))
        return checks

    def _bound_check(self, status_list: Mapping[str, Any], url: str, name: str) -> Check | None:
        """A failed check if the list is not the one named at ``url`` or has no validity
        bound; None when both hold."""
        if status_list.get("id") != url:
            return Check.failed(
                name,
                "STATUS_LIST_URL_MISMATCH",
                "the status list fetched is a credential for another URL",
                url=url,
                listId=status_list.get("id"),
            )
        if "validUntil" in status_list or "expirationDate" in status_list:
            return None  # the core verification refuses it once expired
        issued = status_list.get("validFrom", status_list.get("issuanceDate"))
        oldest = self.list_options.moment() - self.max_list_age
        try:
            issued_at = None if issued is None else parse_datetime(issued, "validFrom")
        except ValidationError:
            issued_at = None  # the core verification reports the malformed date
        if issued_at is None or issued_at < oldest:
            return Check.failed(
                name,
                "STATUS_LIST_STALE",
                f"the status list has no validUntil and was not issued within {self.max_list_age}",
                url=url,
                validFrom=issued,
                maxAge=str(self.max_list_age),
            )
        return None

    def _verify_list(self, status_list: Mapping[str, Any]) -> tuple[str, VerificationResult | None]:
        """Verify a list credential, or skip it if this exact document verified before and
        ``now`` is still inside its validity window (a list is checked for every credential
        that points to it; its proof does not change between those checks)."""
        key = hashlib.sha256(json.dumps(status_list, sort_keys=True).encode("utf-8")).hexdigest()
        with self._lock:
            window = self._windows.get(key)
        now, skew = self.list_options.moment(), self.list_options.max_clock_skew
        if window is not None and window[0] - skew <= now <= window[1] + skew:
            return key, None
        result = verify_credential(status_list, self.list_options)
        if result.verified and "validFrom" in status_list and "validUntil" in status_list:
            with self._lock:
                self._windows[key] = (
                    parse_datetime(status_list["validFrom"], "validFrom"),
                    parse_datetime(status_list["validUntil"], "validUntil"),
                )
                while len(self._windows) > _VERIFIED_LISTS:
                    self._windows.popitem(last=False)
        return key, result

    def _remember(self, key: str, bits: bytes) -> None:
        with self._lock:
            if key in self._windows and len(bits) <= _CACHED_LIST_BYTES:
                self._verified_bits[key] = bits
                while len(self._verified_bits) > _VERIFIED_LISTS:
                    self._verified_bits.popitem(last=False)

    def _check(self, credential: Mapping[str, Any], entry: _Entry, name: str) -> Check:
        status_list = self.fetcher.fetch(entry.list_url)
        unbound = self._bound_check(status_list, entry.list_url, name)
        if unbound is not None:
            return unbound
        key, result = self._verify_list(status_list)
        if result is not None and not result.verified:
            return Check.failed(
                name,
                "STATUS_VERIFICATION_ERROR",
                "the status list credential does not verify",
                url=entry.list_url,
                codes=list(result.codes),
            )
        if issuer_of(status_list) != issuer_of(credential):
            return Check.failed(
                name,
                "STATUS_LIST_ISSUER_MISMATCH",
                "the status list was not issued by the credential's issuer",
                url=entry.list_url,
                listIssuer=issuer_of(status_list),
            )
        subject = status_list.get("credentialSubject")
        types = status_list.get("type", [])
        if "BitstringStatusListCredential" not in types or not isinstance(subject, dict):
            raise StatusListError("not a BitstringStatusListCredential", url=entry.list_url)
        purposes = subject.get("statusPurpose")
        if entry.purpose not in (purposes if isinstance(purposes, list) else [purposes]):
            return Check.failed(
                name, "STATUS_PURPOSE_MISMATCH", f"the list is not a {entry.purpose} list", url=entry.list_url
            )
        with self._lock:
            cached_bits = self._verified_bits.get(key)
        bits = cached_bits or decode_list(subject.get("encodedList"), max_bytes=self.max_bytes)
        self._remember(key, bits)
        if entry.index >= len(bits) * 8:
            return Check.failed(
                name,
                "STATUS_INDEX_OUT_OF_RANGE",
                "statusListIndex is beyond the list",
                index=entry.index,
                entries=len(bits) * 8,
            )
        if get_bit(bits, entry.index):
            return Check.failed(
                name,
                _FAILED_CODE[entry.purpose],
                f"the credential is {_past(entry.purpose)}",
                purpose=entry.purpose,
                index=entry.index,
                url=entry.list_url,
            )
        return Check.passed(name, f"not {_past(entry.purpose)}", purpose=entry.purpose, url=entry.list_url)


def _past(purpose: str) -> str:
    return "revoked" if purpose == "revocation" else "suspended"
