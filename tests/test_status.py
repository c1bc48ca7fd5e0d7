"""Bitstring Status List v1.0: codec, list credentials, and the fail-closed status check."""

from __future__ import annotations

import base64
import gzip
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import LocalServer, sign_as_of
from hypothesis import given
from hypothesis import strategies as st

from accredit import KeyPair, VerifyOptions, issue_credential, verify_credential
from accredit._http import FetchPolicy, fetch_json
from accredit.errors import (
    FetchError,
    StatusListError,
    StatusListLengthError,
    StatusListTooLargeError,
    StatusRetrievalError,
)
from accredit.status import (
    MAX_STATUS_ENTRIES,
    MAX_STATUS_LISTS,
    MIN_ENTRIES,
    HTTPStatusListFetcher,
    StaticStatusListFetcher,
    StatusListChecker,
    decode_list,
    encode_list,
    get_bit,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)

NOW = datetime(2026, 6, 1, tzinfo=UTC)
LIST_URL = "https://issuer.example/status/1"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


@pytest.fixture(autouse=True)
def _signed_as_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    sign_as_of(monkeypatch, NOW)


def test_bit_order_is_left_most_first() -> None:
    bits = new_list()
    set_bit(bits, 0, True)
    set_bit(bits, 9, True)
    assert bits[0] == 0x80 and bits[1] == 0x40
    assert get_bit(bits, 0) and get_bit(bits, 9) and not get_bit(bits, 1)
    set_bit(bits, 0, False)
    assert bits[0] == 0


@given(st.sets(st.integers(min_value=0, max_value=MIN_ENTRIES - 1), max_size=50))
def test_codec_round_trips(indexes: set[int]) -> None:
    bits = new_list()
    for index in indexes:
        set_bit(bits, index, True)
    decoded = decode_list(encode_list(bits))
    assert {i for i in range(MIN_ENTRIES) if get_bit(decoded, i)} == indexes


def test_encoding_is_multibase_base64url_gzip() -> None:
    encoded = encode_list(new_list())
    assert encoded.startswith("u") and "=" not in encoded
    raw = base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4))
    assert gzip.decompress(raw) == bytes(MIN_ENTRIES // 8)


def test_gzip_bomb_is_refused_without_inflating() -> None:
    bomb = "u" + base64.urlsafe_b64encode(gzip.compress(bytes(64 * 1024 * 1024))).rstrip(b"=").decode()
    assert len(bomb) < 100_000
    with pytest.raises(StatusListTooLargeError):
        decode_list(bomb)


@pytest.mark.parametrize(
    ("encoded", "error"),
    [
        ("z" + "a" * 10, StatusListError),  # wrong multibase
        ("u!!!", StatusListError),
        ("u" + base64.urlsafe_b64encode(b"not gzip").decode().rstrip("="), StatusListError),
        (encode_list(bytes(100)), StatusListLengthError),  # shorter than the spec's minimum
        (encode_list(new_list())[:-10], StatusListError),  # truncated
    ],
)
def test_malformed_lists_are_refused(encoded: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        decode_list(encoded)


# --- the status check -------------------------------------------------------------------------


class Issuer:
    """An issuer with one revocation and one suspension list, served from memory."""

    def __init__(self) -> None:
        self.key = KeyPair.generate()
        self.bits = {"revocation": new_list(), "suspension": new_list()}
        self.overrides: dict[str, dict[str, Any]] = {}

    def url(self, purpose: str) -> str:
        return f"{LIST_URL}/{purpose}"

    def list_credential(
        self,
        purpose: str,
        key: KeyPair | None = None,
        *,
        url: str | None = None,
        valid_until: datetime = NOW + timedelta(hours=1),
    ) -> dict[str, Any]:
        signer = key or self.key
        unsigned = status_list_credential(
            url or self.url(purpose),
            signer.did,
            purpose,
            self.bits[purpose],
            valid_from=NOW - timedelta(hours=2),
            valid_until=valid_until,
        )
        return issue_credential(unsigned, signer)

    def fetch(self, url: str) -> dict[str, Any]:
        if url in self.overrides:
            return self.overrides[url]
        purpose = url.rsplit("/", 1)[1]
        return self.list_credential(purpose)

    def credential(self, index: int = 42) -> dict[str, Any]:
        return issue_credential(
            {
                "@context": ["https://www.w3.org/ns/credentials/v2", UNDEFINED_TERMS],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"id": "did:example:agent", "role": "buyer"},
                "credentialStatus": [
                    status_entry(self.url("revocation"), index, "revocation"),
                    status_entry(self.url("suspension"), index, "suspension"),
                ],
            },
            self.key,
        )

    def options(self) -> VerifyOptions:
        return VerifyOptions(
            now=NOW,
            status_checker=StatusListChecker(StaticStatusListFetcher(self.fetch), VerifyOptions(now=NOW)),
        )


@pytest.fixture
def issuer() -> Issuer:
    return Issuer()


def _status_codes(issuer: Issuer, credential: dict[str, Any]) -> list[str]:
    return list(verify_credential(credential, issuer.options()).codes)


def test_unrevoked_credential_verifies(issuer: Issuer) -> None:
    result = verify_credential(issuer.credential(), issuer.options())
    assert result.verified, result.to_dict()
    assert [c.name for c in result.checks if c.name.startswith("status")] == ["status[0]", "status[1]"]


def test_revoked_and_suspended(issuer: Issuer) -> None:
    credential = issuer.credential(index=7)
    set_bit(issuer.bits["revocation"], 7, True)
    assert _status_codes(issuer, credential) == ["REVOKED"]
    set_bit(issuer.bits["suspension"], 7, True)
    assert _status_codes(issuer, credential) == ["REVOKED", "SUSPENDED"]
    set_bit(issuer.bits["revocation"], 7, False)
    set_bit(issuer.bits["suspension"], 7, False)
    assert _status_codes(issuer, credential) == []
    assert _status_codes(issuer, issuer.credential(index=8)) == []


def test_tampered_list_fails(issuer: Issuer) -> None:
    tampered = issuer.list_credential("revocation")
    set_bit(issuer.bits["revocation"], 42, True)
    tampered["credentialSubject"]["encodedList"] = encode_list(issuer.bits["revocation"])
    set_bit(issuer.bits["revocation"], 42, False)
    issuer.overrides[issuer.url("revocation")] = tampered
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_VERIFICATION_ERROR"]


def test_expired_list_fails(issuer: Issuer) -> None:
    # A stale list, signed before the credential was revoked, must not vouch for it.
    issuer.overrides[issuer.url("revocation")] = issuer.list_credential(
        "revocation", valid_until=NOW - timedelta(seconds=1)
    )
    result = verify_credential(issuer.credential(), issuer.options())
    assert list(result.codes) == ["STATUS_VERIFICATION_ERROR"]
    assert result.errors[0].name == "status[0]" and result.errors[0].evidence["codes"] == ["EXPIRED"]


def test_a_list_verified_earlier_is_refused_once_it_expires(issuer: Issuer) -> None:
    issuer.overrides[issuer.url("revocation")] = issuer.list_credential(
        "revocation", valid_until=NOW + timedelta(minutes=5)
    )
    checker = StatusListChecker(StaticStatusListFetcher(issuer.fetch), VerifyOptions(now=NOW))
    credential = issuer.credential()
    assert verify_credential(credential, VerifyOptions(now=NOW, status_checker=checker)).verified
    later = NOW + timedelta(minutes=10)
    checker.list_options = replace(checker.list_options, now=later)
    result = verify_credential(credential, VerifyOptions(now=later, status_checker=checker))
    assert list(result.codes) == ["STATUS_VERIFICATION_ERROR"]
    assert result.errors[0].evidence["codes"] == ["EXPIRED"]


def test_list_from_another_issuer_fails(issuer: Issuer) -> None:
    issuer.overrides[issuer.url("revocation")] = issuer.list_credential("revocation", key=KeyPair.generate())
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_LIST_ISSUER_MISMATCH"]


def test_a_signed_credential_that_is_not_a_status_list_fails(issuer: Issuer) -> None:
    unsigned = status_list_credential(
        issuer.url("revocation"),
        issuer.key.did,
        "revocation",
        issuer.bits["revocation"],
        valid_from=NOW - timedelta(hours=2),
        valid_until=NOW + timedelta(hours=1),
    )
    unsigned["type"] = ["VerifiableCredential"]
    issuer.overrides[issuer.url("revocation")] = issue_credential(unsigned, issuer.key)
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_LIST_INVALID"]


def test_index_out_of_range_fails(issuer: Issuer) -> None:
    assert _status_codes(issuer, issuer.credential(index=MIN_ENTRIES)) == ["STATUS_INDEX_OUT_OF_RANGE"] * 2


def test_purpose_mismatch_fails(issuer: Issuer) -> None:
    revocation = issuer.url("revocation")
    issuer.overrides[revocation] = issuer.list_credential("suspension", url=revocation)
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_PURPOSE_MISMATCH"]


def test_a_list_served_at_another_url_is_refused(issuer: Issuer) -> None:
    # A validly signed list of the same issuer and purpose, but the credential of another URL
    # (an old list, or one meant for other credentials), replayed where the entry points.
    elsewhere = issuer.list_credential("revocation", url=f"{LIST_URL}/revocation-old")
    issuer.overrides[issuer.url("revocation")] = elsewhere
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_LIST_URL_MISMATCH"]


def _unbounded_list(issuer: Issuer, issued: datetime) -> dict[str, Any]:
    unsigned = status_list_credential(
        issuer.url("revocation"),
        issuer.key.did,
        "revocation",
        issuer.bits["revocation"],
        valid_from=issued,
        valid_until=issued,
    )
    del unsigned["validUntil"]
    return issue_credential(unsigned, issuer.key)


def test_a_list_without_validity_bound_is_refused_once_older_than_the_maximum_age(issuer: Issuer) -> None:
    issuer.overrides[issuer.url("revocation")] = _unbounded_list(issuer, NOW - timedelta(days=300))
    assert _status_codes(issuer, issuer.credential()) == ["STATUS_LIST_STALE"]
    issuer.overrides[issuer.url("revocation")] = _unbounded_list(issuer, NOW - timedelta(hours=23))
    assert _status_codes(issuer, issuer.credential()) == []
    stricter = StatusListChecker(
        StaticStatusListFetcher(issuer.fetch), VerifyOptions(now=NOW), max_list_age=timedelta(hours=1)
    )
    result = verify_credential(issuer.credential(), VerifyOptions(now=NOW, status_checker=stricter))
    assert list(result.codes) == ["STATUS_LIST_STALE"]


def test_status_entries_and_lists_per_credential_are_capped(issuer: Issuer) -> None:
    def with_status(entries: list[dict[str, str]]) -> dict[str, Any]:
        return issue_credential(
            {
                "@context": ["https://www.w3.org/ns/credentials/v2", UNDEFINED_TERMS],
                "type": ["VerifiableCredential"],
                "credentialSubject": {"id": "did:example:agent"},
                "credentialStatus": entries,
            },
            issuer.key,
        )

    fetched: list[str] = []

    def counting(url: str) -> dict[str, Any]:
        fetched.append(url)
        return issuer.fetch(url)

    options = VerifyOptions(
        now=NOW, status_checker=StatusListChecker(StaticStatusListFetcher(counting), VerifyOptions(now=NOW))
    )
    many = [status_entry(issuer.url("revocation"), i, "revocation") for i in range(MAX_STATUS_ENTRIES + 1)]
    assert list(verify_credential(with_status(many), options).codes) == ["STATUS_ENTRIES_EXCEEDED"]
    lists = [status_entry(f"{LIST_URL}/r{i}", 1, "revocation") for i in range(MAX_STATUS_LISTS + 1)]
    assert list(verify_credential(with_status(lists), options).codes) == ["STATUS_ENTRIES_EXCEEDED"]
    assert fetched == []  # refused before any fetch
    allowed = [status_entry(issuer.url("revocation"), i, "revocation") for i in range(MAX_STATUS_ENTRIES)]
    assert list(verify_credential(with_status(allowed), options).codes) == []


def test_oversized_list_fails(issuer: Issuer) -> None:
    checker = StatusListChecker(StaticStatusListFetcher(issuer.fetch), VerifyOptions(now=NOW), max_bytes=1024)
    result = verify_credential(issuer.credential(), VerifyOptions(now=NOW, status_checker=checker))
    assert list(result.codes) == ["STATUS_LIST_TOO_LARGE"] * 2


def test_unsupported_entries_fail_closed(issuer: Issuer) -> None:
    credential = issuer.credential()
    credential["credentialStatus"][0]["statusPurpose"] = "message"  # breaks the proof too
    result = verify_credential(credential, issuer.options())
    assert "STATUS_LIST_INVALID" in result.codes


def test_status_without_checker_is_unchecked(issuer: Issuer) -> None:
    assert list(verify_credential(issuer.credential(), now=NOW).codes) == ["STATUS_UNCHECKED"]


def test_unreachable_list_fails_closed(issuer: Issuer, local_server: LocalServer) -> None:
    fetcher = HTTPStatusListFetcher(FetchPolicy(allow_private=True, allow_http=True, timeout=2))
    checker = StatusListChecker(fetcher, VerifyOptions(now=NOW))
    credential = issue_credential(
        {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:agent"},
            "credentialStatus": status_entry(f"{local_server.base}/missing", 1, "revocation"),
        },
        issuer.key,
    )
    result = verify_credential(credential, VerifyOptions(now=NOW, status_checker=checker))
    assert list(result.codes) == ["STATUS_RETRIEVAL_ERROR"]


def test_http_fetcher_caches_for_max_age_and_never_past_valid_until(
    issuer: Issuer, local_server: LocalServer
) -> None:
    url = f"{local_server.base}/status/revocation"
    clock = [datetime.now(UTC).timestamp()]

    def serve(valid_for: timedelta, cache_control: str) -> None:
        moment = datetime.fromtimestamp(clock[0], UTC)
        unsigned = status_list_credential(
            url,
            issuer.key.did,
            "revocation",
            new_list(),
            valid_from=moment - timedelta(minutes=1),
            valid_until=moment + valid_for,
        )
        local_server.json(
            "/status/revocation", issue_credential(unsigned, issuer.key), **{"Cache-Control": cache_control}
        )

    fetcher = HTTPStatusListFetcher(FetchPolicy(allow_private=True, allow_http=True), clock=lambda: clock[0])
    serve(timedelta(seconds=600), "max-age=60")  # max-age binds
    fetcher.fetch(url)
    fetcher.fetch(url)
    assert local_server.hits["/status/revocation"] == 1
    clock[0] += 61
    fetcher.fetch(url)
    assert local_server.hits["/status/revocation"] == 2
    clock[0] += 61
    serve(timedelta(seconds=30), "max-age=600")  # validUntil binds, not the longer max-age
    fetcher.fetch(url)
    fetcher.fetch(url)
    assert local_server.hits["/status/revocation"] == 3
    clock[0] += 31
    fetcher.fetch(url)
    assert local_server.hits["/status/revocation"] == 4
    serve(timedelta(seconds=600), "no-store")
    clock[0] += 601
    fetcher.fetch(url)
    fetcher.fetch(url)
    assert local_server.hits["/status/revocation"] == 6


def test_http_fetcher_remembers_failures_briefly(local_server: LocalServer) -> None:
    clock = [1_000_000.0]
    policy = FetchPolicy(allow_private=True, allow_http=True, timeout=2)
    fetcher = HTTPStatusListFetcher(policy, failure_ttl=30, clock=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(StatusRetrievalError):
            fetcher.fetch(f"{local_server.base}/missing")
    assert local_server.hits["/missing"] == 1
    clock[0] += 31
    with pytest.raises(StatusRetrievalError):
        fetcher.fetch(f"{local_server.base}/missing")
    assert local_server.hits["/missing"] == 2
    # A host that answered (HTTP 404) is still asked for its other lists.
    local_server.json("/other", {"id": "x"})
    assert fetcher.fetch(f"{local_server.base}/other") == {"id": "x"}


# --- one deadline per fetch ----------------------------------------------------------------------


class DripServer:
    """A server on 127.0.0.1 that answers every connection one byte every ``interval``
    seconds: in the status line and headers (``stage="headers"``) or in the body."""

    def __init__(self, stage: str, interval: float = 0.05) -> None:
        self.stage, self.interval = stage, interval
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(connection,), daemon=True).start()

    def _drip(self, connection: socket.socket) -> None:
        body = b'{"padding": "' + b"x" * 400 + b'"}'
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"X-Padding: " + b"y" * 400 + b"\r\n"
        head += b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        with connection:
            try:
                connection.recv(65536)
                if self.stage == "body":
                    connection.sendall(head)
                for byte in head + body if self.stage == "headers" else body:
                    if self.stopped.is_set():
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(self.interval)
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()


@pytest.fixture(params=["headers", "body"])
def drip_server(request: pytest.FixtureRequest) -> Iterator[DripServer]:
    server = DripServer(request.param)
    yield server
    server.close()


def test_a_dripping_server_cannot_hold_a_fetch_past_its_deadline(drip_server: DripServer) -> None:
    # The whole answer takes ~45 s at one byte per 50 ms; each read alone is quick, so only a
    # wall-clock deadline for the whole fetch stops it.
    policy = FetchPolicy(allow_private=True, allow_http=True, timeout=1.0)
    url = f"http://127.0.0.1:{drip_server.port}/status/1"
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than 1.0s"):
        fetch_json(url, policy)
    assert time.monotonic() - started < 2.0
    fetcher = HTTPStatusListFetcher(policy)
    for _ in range(3):
        with pytest.raises(StatusRetrievalError):
            fetcher.fetch(f"http://127.0.0.1:{drip_server.port}/status/{_}")
    assert drip_server.connections == 2  # the fetcher asked the unresponsive host once
