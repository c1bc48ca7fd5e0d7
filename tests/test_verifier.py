"""The embeddable Verifier: trust, status lists, clock skew, challenges and holder binding."""

from __future__ import annotations

import copy
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import LocalServer, sign_as_of

from accredit import KeyPair, issue_credential, sign_presentation
from accredit._dates import format_datetime
from accredit._http import FetchPolicy
from accredit.dids import default_resolver, url_to_did_web
from accredit.status import (
    MAX_DECODED_BYTES,
    MIN_ENTRIES,
    HTTPStatusListFetcher,
    StaticStatusListFetcher,
    encode_list,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from accredit.trust import TrustedIssuer, TrustRegistry
from accredit.verifier import (
    Challenge,
    ChallengeState,
    CredentialQuery,
    InMemoryChallengeStore,
    PresentationRequest,
    PresentationRequestError,
    UnsupportedQueryError,
    Verifier,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
LIST_BASE = "https://issuer.example/status"
DOMAIN = "shop.example"


@pytest.fixture(autouse=True)
def _signed_as_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    sign_as_of(monkeypatch, NOW)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Org:
    """An issuing organization with a revocation and a suspension list, served from memory."""

    def __init__(self) -> None:
        self.key = KeyPair.generate()
        self.bits = {"revocation": new_list(), "suspension": new_list()}
        self.lists: dict[str, dict[str, Any]] = {}
        for purpose in self.bits:
            self.publish(purpose)

    def url(self, purpose: str) -> str:
        return f"{LIST_BASE}/{purpose}"

    def publish(
        self, purpose: str, *, key: KeyPair | None = None, bits: bytearray | None = None
    ) -> dict[str, Any]:
        signer = key or self.key
        unsigned = status_list_credential(
            self.url(purpose),
            signer.did,
            purpose,
            self.bits[purpose] if bits is None else bits,
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=3),
        )
        self.lists[self.url(purpose)] = issue_credential(unsigned, signer, created=NOW - timedelta(days=1))
        return self.lists[self.url(purpose)]

    def issue(
        self,
        subject: str,
        *,
        types: tuple[str, ...] = ("AgentCredential",),
        index: int = 42,
        purposes: tuple[str, ...] = ("revocation",),
        valid_from: datetime = NOW - timedelta(hours=1),
        valid_until: datetime = NOW + timedelta(days=1),
        key: KeyPair | None = None,
    ) -> dict[str, Any]:
        credential: dict[str, Any] = {
            "@context": [V2, UNDEFINED_TERMS],
            "type": ["VerifiableCredential", *types],
            "validFrom": format_datetime(valid_from),
            "validUntil": format_datetime(valid_until),
            "credentialSubject": {"id": subject, "role": "buyer"},
        }
        if purposes:
            credential["credentialStatus"] = [status_entry(self.url(p), index, p) for p in purposes]
        return issue_credential(credential, key or self.key, created=NOW - timedelta(days=1))


@pytest.fixture(scope="module")
def org() -> Org:
    return Org()


@pytest.fixture
def fresh_org() -> Org:
    """An org whose lists a test may tamper with."""
    return Org()


@pytest.fixture(scope="module")
def agent() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def agent_vc(org: Org, agent: KeyPair) -> dict[str, Any]:
    return org.issue(agent.did)


def make_verifier(org: Org, clock: Callable[[], datetime] | None = None, **overrides: Any) -> Verifier:
    options: dict[str, Any] = {
        "trust": TrustRegistry([TrustedIssuer(org.key.did, "Acme")]),
        "status_fetcher": StaticStatusListFetcher(org.lists),
        "clock": clock or Clock(),
        **overrides,
    }
    return Verifier(**options)


# --- credentials -------------------------------------------------------------------------------


def test_trusted_unrevoked_credential_verifies(org: Org, agent_vc: dict[str, Any]) -> None:
    result = make_verifier(org).verify_credential(agent_vc)
    assert result.verified, result.to_dict()
    names = [c.name for c in result.checks]
    assert names[0] == "dataModel" and {"proof", "validity", "status", "issuerTrust"} <= set(names)


def test_no_trust_registry_trusts_nobody(org: Org, agent_vc: dict[str, Any]) -> None:
    result = make_verifier(org, trust=None).verify_credential(agent_vc)
    assert list(result.codes) == ["ISSUER_NOT_TRUSTED"]
    assert [c.name for c in result.errors] == ["issuerTrust"]


def test_issuer_trusted_for_other_types_only(org: Org, agent_vc: dict[str, Any]) -> None:
    trust = TrustRegistry([TrustedIssuer(org.key.did, types=frozenset({"MandateCredential"}))])
    assert list(make_verifier(org, trust=trust).verify_credential(agent_vc).codes) == ["ISSUER_NOT_TRUSTED"]


def test_malformed_credential_skips_trust(org: Org) -> None:
    result = make_verifier(org).verify_credential({"@context": [V2], "type": ["VerifiableCredential"]})
    assert not result.verified
    assert result.checks[0].code == "INVALID_DOCUMENT"
    assert result.checks[-1].name == "issuerTrust" and result.checks[-1].code == "NOT_CHECKED"


SKEW = timedelta(minutes=5)
VALID_FROM = NOW
VALID_UNTIL = NOW + timedelta(days=1)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("now", "skew", "codes"),
    [
        (VALID_FROM - SKEW, SKEW, []),
        (VALID_FROM - SKEW - SECOND, SKEW, ["NOT_YET_VALID"]),
        (VALID_UNTIL + SKEW, SKEW, []),
        (VALID_UNTIL + SKEW + SECOND, SKEW, ["EXPIRED"]),
        (VALID_FROM - SECOND, timedelta(0), ["NOT_YET_VALID"]),
        (VALID_UNTIL + SECOND, timedelta(0), ["EXPIRED"]),
    ],
    ids=["from-skew", "from-skew-1s", "until+skew", "until+skew+1s", "no-skew-early", "no-skew-late"],
)
def test_clock_skew_window_edges(
    org: Org, agent: KeyPair, now: datetime, skew: timedelta, codes: list[str]
) -> None:
    credential = org.issue(agent.did, purposes=(), valid_from=VALID_FROM, valid_until=VALID_UNTIL)
    verifier = make_verifier(org, clock=Clock(now), max_clock_skew=skew)
    result = verifier.verify_credential(credential)
    assert list(result.codes) == codes
    assert next(c for c in result.checks if c.name == "validity").evidence["now"] == now


def test_verifier_refuses_bad_configuration(org: Org) -> None:
    with pytest.raises(ValueError):
        make_verifier(org, max_clock_skew=timedelta(seconds=-1))
    with pytest.raises(ValueError):
        make_verifier(org, challenge_ttl=timedelta(0))


# --- status lists ------------------------------------------------------------------------------


def _break_signature(org: Org) -> dict[str, Any]:
    tampered = copy.deepcopy(org.lists[org.url("revocation")])
    bits = new_list()
    set_bit(bits, 42, True)  # the attacker "revokes" a credential without the issuer's key
    tampered["credentialSubject"]["encodedList"] = encode_list(bits)
    org.lists[org.url("revocation")] = tampered
    return {}


def _other_issuer(org: Org) -> dict[str, Any]:
    org.publish("revocation", key=KeyPair.generate())  # validly signed, by someone else
    return {}


def _out_of_range(org: Org) -> dict[str, Any]:
    return {"index": MIN_ENTRIES}


def _oversized(org: Org) -> dict[str, Any]:
    # Validly signed, but inflates past the verifier's cap: a few KB on the wire.
    org.publish("revocation", bits=new_list(8 * (MAX_DECODED_BYTES + 1)))
    return {}


def _purpose_swapped(org: Org) -> dict[str, Any]:
    unsigned = status_list_credential(
        org.url("revocation"),
        org.key.did,
        "suspension",
        org.bits["suspension"],
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=3),
    )
    org.lists[org.url("revocation")] = issue_credential(unsigned, org.key, created=NOW - timedelta(days=1))
    return {}


def _list_of_another_url(org: Org) -> dict[str, Any]:
    org.lists[org.url("revocation")] = org.lists[org.url("suspension")]  # signed, but for another URL
    return {}


def _revoked(org: Org) -> dict[str, Any]:
    set_bit(org.bits["revocation"], 42, True)
    org.publish("revocation")
    return {}


def _suspended(org: Org) -> dict[str, Any]:
    set_bit(org.bits["suspension"], 42, True)
    org.publish("suspension")
    return {"purposes": ("revocation", "suspension")}


@pytest.mark.parametrize(
    ("tamper", "codes"),
    [
        (_break_signature, ["STATUS_VERIFICATION_ERROR"]),
        (_other_issuer, ["STATUS_LIST_ISSUER_MISMATCH"]),
        (_out_of_range, ["STATUS_INDEX_OUT_OF_RANGE"]),
        (_oversized, ["STATUS_LIST_TOO_LARGE"]),
        (_purpose_swapped, ["STATUS_PURPOSE_MISMATCH"]),
        (_list_of_another_url, ["STATUS_LIST_URL_MISMATCH"]),
        (_revoked, ["REVOKED"]),
        (_suspended, ["SUSPENDED"]),
    ],
    ids=lambda value: getattr(value, "__name__", "").lstrip("_") or None,
)
def test_status_list_failures_each_have_their_code(
    fresh_org: Org, agent: KeyPair, tamper: Callable[[Org], dict[str, Any]], codes: list[str]
) -> None:
    credential = fresh_org.issue(agent.did, **tamper(fresh_org))
    result = make_verifier(fresh_org).verify_credential(credential)
    assert list(result.codes) == codes
    assert all(c.name.startswith("status") for c in result.errors)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _local_fetcher(clock: Callable[[], datetime] | None = None) -> HTTPStatusListFetcher:
    policy = FetchPolicy(allow_private=True, allow_http=True, timeout=2)
    now = clock or Clock()
    return HTTPStatusListFetcher(policy, clock=lambda: now().timestamp())


def _credential_listed_at(org: Org, subject: str, url: str) -> dict[str, Any]:
    credential = {
        "@context": [V2],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": subject},
        "credentialStatus": status_entry(url, 3, "revocation"),
    }
    return issue_credential(credential, org.key, created=NOW - timedelta(days=1))


@pytest.mark.parametrize("where", ["closed-port", "404"])
def test_unreachable_status_list_fails_closed(
    org: Org, agent: KeyPair, local_server: LocalServer, where: str
) -> None:
    base = f"http://127.0.0.1:{_closed_port()}" if where == "closed-port" else local_server.base
    credential = _credential_listed_at(org, agent.did, f"{base}/status/missing")
    result = make_verifier(org, status_fetcher=_local_fetcher()).verify_credential(credential)
    assert list(result.codes) == ["STATUS_RETRIEVAL_ERROR"]


def test_default_status_fetcher_refuses_private_addresses(
    org: Org, agent: KeyPair, local_server: LocalServer
) -> None:
    url = f"{local_server.base}/status/1"
    local_server.json("/status/1", org.lists[org.url("revocation")])
    credential = _credential_listed_at(org, agent.did, url)
    verifier = Verifier(trust=TrustRegistry([TrustedIssuer(org.key.did)]), clock=Clock())
    assert list(verifier.verify_credential(credential).codes) == ["STATUS_RETRIEVAL_ERROR"]
    assert local_server.hits == {}  # refused before connecting: no SSRF


def test_status_list_cache_honours_headers_and_list_validity(
    org: Org, agent: KeyPair, local_server: LocalServer
) -> None:
    url = f"{local_server.base}/status/rev"

    def serve(valid_until: datetime) -> None:
        unsigned = status_list_credential(
            url,
            org.key.did,
            "revocation",
            new_list(),
            valid_from=NOW - timedelta(hours=1),
            valid_until=valid_until,
        )
        signed = issue_credential(unsigned, org.key, created=NOW - timedelta(hours=1))
        local_server.json("/status/rev", signed, **{"Cache-Control": "max-age=600"})

    serve(NOW + timedelta(seconds=30))
    clock = Clock()
    verifier = make_verifier(org, clock=clock, status_fetcher=_local_fetcher(clock))
    credential = _credential_listed_at(org, agent.did, url)
    assert verifier.verify_credential(credential).verified
    clock.now += timedelta(seconds=20)
    assert verifier.verify_credential(credential).verified
    assert local_server.hits["/status/rev"] == 1  # max-age allows 600 s
    serve(NOW + timedelta(days=1))
    clock.now += timedelta(seconds=11)  # past the cached list's validUntil: refetched
    assert verifier.verify_credential(credential).verified
    assert local_server.hits["/status/rev"] == 2


def test_did_web_issuer_needs_an_explicitly_permissive_resolver(local_server: LocalServer) -> None:
    did = url_to_did_web(local_server.base)
    key = KeyPair.generate(controller=did, id=f"{did}#key-1")
    method = {
        "id": key.id,
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": key.public_key.multibase,
    }
    local_server.json(
        "/.well-known/did.json",
        {
            "@context": ["https://www.w3.org/ns/did/v1"],
            "id": did,
            "verificationMethod": [method],
            "assertionMethod": [key.id],
        },
    )
    credential = issue_credential(
        {"@context": [V2], "type": ["VerifiableCredential"], "credentialSubject": {"id": "did:example:a"}},
        key,
        created=NOW - timedelta(days=1),
    )
    trust = TrustRegistry([TrustedIssuer(did)])
    default = Verifier(trust=trust, clock=Clock())
    assert "DID_RESOLUTION_ERROR" in default.verify_credential(credential).codes
    assert local_server.hits == {}
    permissive = Verifier(
        trust=trust, clock=Clock(), resolver=default_resolver(allow_private=True, allow_http=True)
    )
    assert permissive.verify_credential(credential).verified


# --- presentations -----------------------------------------------------------------------------


def test_request_shape_is_vc_api_query_by_example(org: Org) -> None:
    request = make_verifier(org).create_request(domain=DOMAIN, query=["AgentCredential"])
    assert request == {
        "query": [
            {"type": "QueryByExample", "credentialQuery": [{"example": {"type": ["AgentCredential"]}}]}
        ],
        "challenge": request["challenge"],
        "domain": DOMAIN,
    }
    assert len(request["challenge"]) >= 32
    other = make_verifier(org).create_request(domain=DOMAIN)
    assert other["query"] == [{"type": "DIDAuthentication"}] and other["challenge"] != request["challenge"]
    both = make_verifier(org).create_request(domain=DOMAIN, query=["AgentCredential", "MandateCredential"])
    assert both["query"][0]["credentialQuery"] == [
        {"example": {"type": ["AgentCredential"]}},
        {"example": {"type": ["MandateCredential"]}},
    ]


def test_presentation_verifies_once_then_replay_is_rejected(
    org: Org, agent: KeyPair, agent_vc: dict[str, Any]
) -> None:
    verifier = make_verifier(org)
    request = verifier.create_request(domain=DOMAIN, query="AgentCredential")
    vp = sign_presentation([agent_vc], agent, challenge=request["challenge"], domain=DOMAIN)
    first = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert first.verified, first.to_dict()
    names = {c.name for c in first.checks}
    assert {
        "challenge",
        "query",
        "proof.challenge",
        "proof.domain",
        "verifiableCredential[0].status",
        "verifiableCredential[0].issuerTrust",
        "verifiableCredential[0].holderBinding",
    } <= names
    replay = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert list(replay.codes) == ["CHALLENGE_REPLAYED"]


def test_unknown_challenge_is_rejected(org: Org, agent: KeyPair, agent_vc: dict[str, Any]) -> None:
    vp = sign_presentation([agent_vc], agent, challenge="chosen-by-the-holder-itself", domain=DOMAIN)
    result = make_verifier(org).verify_presentation(
        vp, challenge="chosen-by-the-holder-itself", domain=DOMAIN
    )
    assert list(result.codes) == ["CHALLENGE_UNKNOWN"]


def test_challenge_lifetime_edges(org: Org, agent: KeyPair) -> None:
    clock = Clock()
    verifier = make_verifier(org, clock=clock, challenge_ttl=timedelta(minutes=2))
    on_time, late = verifier.create_request(domain=DOMAIN), verifier.create_request(domain=DOMAIN)
    clock.now += timedelta(minutes=2)
    vp = sign_presentation([], agent, challenge=on_time["challenge"], domain=DOMAIN)
    assert verifier.verify_presentation(vp, challenge=on_time["challenge"], domain=DOMAIN).verified
    clock.now += SECOND
    vp = sign_presentation([], agent, challenge=late["challenge"], domain=DOMAIN)
    assert list(verifier.verify_presentation(vp, challenge=late["challenge"], domain=DOMAIN).codes) == [
        "CHALLENGE_EXPIRED"
    ]


def test_wrong_domain_is_rejected(org: Org, agent: KeyPair, agent_vc: dict[str, Any]) -> None:
    verifier = make_verifier(org)
    request = verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
    # A presentation made for another site, answering our challenge (a relay): the proof's
    # domain is not ours.
    relayed = sign_presentation([agent_vc], agent, challenge=request["challenge"], domain="evil.example")
    result = verifier.verify_presentation(relayed, challenge=request["challenge"], domain=DOMAIN)
    assert list(result.codes) == ["DOMAIN_MISMATCH"]
    assert [c.name for c in result.errors] == ["proof.domain"]
    # Verifying under another domain than the challenge was issued for fails too.
    request = verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
    other = sign_presentation([agent_vc], agent, challenge=request["challenge"], domain="other.example")
    result = verifier.verify_presentation(other, challenge=request["challenge"], domain="other.example")
    assert list(result.codes) == ["CHALLENGE_DOMAIN_MISMATCH"]


def test_holder_must_be_the_credential_subject(org: Org, agent: KeyPair) -> None:
    someone_elses = org.issue("did:example:another-agent")
    verifier = make_verifier(org)
    request = verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
    vp = sign_presentation([someone_elses], agent, challenge=request["challenge"], domain=DOMAIN)
    result = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert list(result.codes) == ["HOLDER_BINDING_MISMATCH"]
    assert result.errors[0].name == "verifiableCredential[0].holderBinding"
    assert result.errors[0].evidence == {"holder": agent.did, "subjects": ["did:example:another-agent"]}

    unbound = make_verifier(org, require_holder_binding=False)
    request = unbound.create_request(domain=DOMAIN, query=["AgentCredential"])
    vp = sign_presentation([someone_elses], agent, challenge=request["challenge"], domain=DOMAIN)
    assert unbound.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN).verified


def test_presentation_must_answer_the_query(org: Org, agent: KeyPair, agent_vc: dict[str, Any]) -> None:
    verifier = make_verifier(org)
    request = verifier.create_request(domain=DOMAIN, query=["MandateCredential"])
    vp = sign_presentation([agent_vc], agent, challenge=request["challenge"], domain=DOMAIN)
    result = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert list(result.codes) == ["QUERY_NOT_SATISFIED"]
    assert result.errors[0].evidence == {"unmet": [["MandateCredential"]]}


def test_presented_credential_checks_run_inside_presentations(fresh_org: Org, agent: KeyPair) -> None:
    credential = fresh_org.issue(agent.did)
    _revoked(fresh_org)
    verifier = make_verifier(fresh_org, trust=None)
    request = verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
    vp = sign_presentation([credential], agent, challenge=request["challenge"], domain=DOMAIN)
    result = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert list(result.codes) == ["REVOKED", "ISSUER_NOT_TRUSTED"]
    assert [c.name for c in result.errors] == [
        "verifiableCredential[0].status",
        "verifiableCredential[0].issuerTrust",
    ]


def test_malformed_presentation_consumes_the_challenge(org: Org) -> None:
    verifier = make_verifier(org)
    request = verifier.create_request(domain=DOMAIN)
    result = verifier.verify_presentation({"type": "nothing"}, challenge=request["challenge"], domain=DOMAIN)
    assert result.checks[0].name == "challenge" and "INVALID_DOCUMENT" in result.codes
    again = verifier.verify_presentation({"type": "nothing"}, challenge=request["challenge"], domain=DOMAIN)
    assert again.codes[0] == "CHALLENGE_REPLAYED"


def test_create_request_refuses_misuse(org: Org) -> None:
    verifier = make_verifier(org)
    with pytest.raises(PresentationRequestError):
        verifier.create_request(domain="")
    with pytest.raises(PresentationRequestError):
        verifier.create_request(domain=DOMAIN, challenge="short")
    verifier.create_request(domain=DOMAIN, challenge="a-caller-chosen-unguessable-value")
    with pytest.raises(PresentationRequestError):
        verifier.create_request(domain=DOMAIN, challenge="a-caller-chosen-unguessable-value")
    with pytest.raises(UnsupportedQueryError) as raised:
        verifier.create_request(domain=DOMAIN, query=[{"type": "PresentationDefinition"}])
    assert raised.value.code == "UNSUPPORTED_QUERY"
    with pytest.raises(PresentationRequestError):
        verifier.create_request(domain=DOMAIN, query=[{"type": "QueryByExample", "credentialQuery": []}])


def test_generated_challenges_are_unguessable_and_safe_as_command_line_arguments(org: Org) -> None:
    verifier = make_verifier(org)
    challenges = [verifier.create_request(domain=DOMAIN)["challenge"] for _ in range(1000)]
    assert len(set(challenges)) == len(challenges)
    # 256 random bits; never starting with "-", which `accredit verify --challenge X` would
    # read as an option (base64url challenges did so once in 64).
    assert all(len(c) == 64 and int(c, 16) >= 0 and not c.startswith("-") for c in challenges)


# --- requests and the challenge store ----------------------------------------------------------


def test_request_parsing_and_matching() -> None:
    request = PresentationRequest.from_dict(
        {
            "verifiablePresentationRequest": {
                "query": {
                    "type": "QueryByExample",
                    "credentialQuery": {
                        "reason": "to buy on Acme's behalf",
                        "example": {
                            "type": ["VerifiableCredential", "AgentCredential"],
                            "trustedIssuer": [{"issuer": "did:example:acme", "required": True}],
                        },
                    },
                },
                "challenge": "c",
                "domain": "d",
            }
        }
    )
    (query,) = request.credential_queries
    assert query == CredentialQuery(
        frozenset({"AgentCredential"}), frozenset({"did:example:acme"}), True, query.reason
    )
    vc = {"type": ["VerifiableCredential", "AgentCredential"], "issuer": {"id": "did:example:acme"}}
    assert query.matches(vc)
    assert not query.matches({**vc, "issuer": "did:example:mallory"})
    assert not query.matches({**vc, "type": ["VerifiableCredential"]})
    with pytest.raises(PresentationRequestError):
        PresentationRequest.from_dict({"query": [{"type": "DIDAuthentication"}], "domain": "d"})


def test_challenge_store_is_bounded_and_single_use() -> None:
    store = InMemoryChallengeStore(max_entries=2)
    for value in ("a", "b", "c"):
        store.add(Challenge(value, DOMAIN, NOW, NOW + timedelta(minutes=1)))
    assert len(store) == 2
    assert store.consume("a", NOW)[0] is ChallengeState.UNKNOWN  # forgotten, so refused
    assert store.consume("b", NOW)[0] is ChallengeState.VALID
    # An expired challenge is purged when a later one is issued.
    store.add(Challenge("d", DOMAIN, NOW + timedelta(minutes=2), NOW + timedelta(minutes=3)))
    assert store.consume("c", NOW + timedelta(minutes=2))[0] is ChallengeState.UNKNOWN


def test_challenge_is_consumed_once_under_concurrency() -> None:
    store = InMemoryChallengeStore()
    store.add(Challenge("only-once", DOMAIN, NOW, NOW + timedelta(minutes=1)))
    with ThreadPoolExecutor(max_workers=16) as pool:
        states = list(pool.map(lambda _: store.consume("only-once", NOW)[0], range(64)))
    assert states.count(ChallengeState.VALID) == 1
    assert states.count(ChallengeState.REPLAYED) == 63
