"""The holder Wallet: encrypted key at rest, credential store, presentations, VC-API issuance."""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_harness import RunningService

from accredit import KeyPair, VerifyOptions, issue_credential
from accredit._dates import format_datetime
from accredit._http import FetchPolicy
from accredit.dids import default_resolver
from accredit.errors import UnsafeURLError, ValidationError
from accredit.status import (
    HTTPStatusListFetcher,
    StaticStatusListFetcher,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from accredit.trust import TrustedIssuer, TrustRegistry
from accredit.verifier import UnsupportedQueryError, Verifier
from accredit.wallet import (
    DEFAULT_SCRYPT_N,
    PASSPHRASE_ENV,
    DuplicateCredentialError,
    IssuerRequestError,
    NoMatchingCredentialsError,
    PassphraseRequiredError,
    RequestDomainMismatchError,
    Wallet,
    WalletDecryptionError,
    WalletError,
    WalletExistsError,
    WalletNotFoundError,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
PASSPHRASE = "correct horse battery staple"
FAST = 2**14  # the lowest scrypt cost a wallet accepts; the default is tested once
DOMAIN = "shop.example"
LIST_URL = "https://issuer.example/status/revocation"


def _clock() -> datetime:
    return NOW


@pytest.fixture(scope="module")
def issuer() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture
def wallet(tmp_path: Path) -> Wallet:
    return Wallet.create(tmp_path / "wallet", passphrase=PASSPHRASE, scrypt_n=FAST, clock=_clock)


def credential_for(
    issuer: KeyPair,
    subject: str,
    kind: str = "AgentCredential",
    *,
    valid_from: datetime = NOW - timedelta(days=1),
    valid_until: datetime = NOW + timedelta(days=30),
    status_index: int | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [V2, UNDEFINED_TERMS],
        "type": ["VerifiableCredential", kind],
        "validFrom": format_datetime(valid_from),
        "validUntil": format_datetime(valid_until),
        "credentialSubject": {"id": subject, "actsFor": "did:example:acme"},
    }
    if id:
        credential["id"] = id
    if status_index is not None:
        credential["credentialStatus"] = status_entry(LIST_URL, status_index, "revocation")
    return issue_credential(credential, issuer, created=NOW - timedelta(days=2))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- the key at rest ---------------------------------------------------------------------------


def test_created_wallet_reopens_with_the_same_key(tmp_path: Path) -> None:
    key = KeyPair.generate()
    created = Wallet.create(tmp_path / "w", key, passphrase=PASSPHRASE, scrypt_n=FAST)
    opened = Wallet.open(tmp_path / "w", passphrase=PASSPHRASE)
    assert created.did == opened.did == key.did and key.did.startswith("did:key:z6Mk")
    assert opened.public_key == key.public_key


def test_files_are_private(wallet: Wallet, issuer: KeyPair) -> None:
    wallet.import_credential(credential_for(issuer, wallet.did))
    assert _mode(wallet.path) == 0o700
    assert _mode(wallet.path / "credentials") == 0o700
    files = [p for p in wallet.path.rglob("*") if p.is_file()]
    assert len(files) == 2 and all(_mode(p) == 0o600 for p in files)


def test_secret_and_passphrase_never_reach_a_file(tmp_path: Path, issuer: KeyPair) -> None:
    key = KeyPair.generate()
    wallet = Wallet.create(tmp_path / "w", key, passphrase=PASSPHRASE, scrypt_n=FAST)
    wallet.import_credential(credential_for(issuer, wallet.did))
    raw_secret = base64.urlsafe_b64decode(key.to_jwk(include_private=True)["d"] + "==")
    forbidden = [
        key.secret_key_multibase.encode(),
        key.secret_key_multibase[1:].encode(),
        raw_secret,
        raw_secret.hex().encode(),
        base64.b64encode(raw_secret).rstrip(b"="),
        base64.urlsafe_b64encode(raw_secret).rstrip(b"="),
        PASSPHRASE.encode(),
    ]
    contents = [p.read_bytes() for p in (tmp_path / "w").rglob("*") if p.is_file()]
    assert contents and not any(secret in data for secret in forbidden for data in contents)
    assert key.secret_key_multibase not in repr(wallet)


def test_wrong_passphrase_is_a_typed_error_without_the_passphrase(wallet: Wallet) -> None:
    with pytest.raises(WalletDecryptionError) as raised:
        Wallet.open(wallet.path, passphrase="wrong horse battery staple")
    assert raised.value.code == "WALLET_DECRYPTION_FAILED"
    assert "horse" not in str(raised.value) and "horse" not in json.dumps(raised.value.to_dict())


def test_swapped_public_key_is_detected(wallet: Wallet) -> None:
    key_file = wallet.path / "key.json"
    document = json.loads(key_file.read_text())
    document["publicKey"] = KeyPair.generate().to_multikey()  # authenticated data: decryption fails
    key_file.write_text(json.dumps(document))
    with pytest.raises(WalletDecryptionError):
        Wallet.open(wallet.path, passphrase=PASSPHRASE)


def test_passphrase_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSPHRASE_ENV, "from-the-environment")
    created = Wallet.create(tmp_path / "w", scrypt_n=FAST)
    assert Wallet.open(tmp_path / "w").did == created.did
    with pytest.raises(WalletDecryptionError):
        Wallet.open(tmp_path / "w", passphrase=PASSPHRASE)  # an explicit passphrase wins
    monkeypatch.delenv(PASSPHRASE_ENV)
    with pytest.raises(PassphraseRequiredError):
        Wallet.open(tmp_path / "w")


def test_default_kdf_cost_is_stored_in_the_key_file(tmp_path: Path) -> None:
    Wallet.create(tmp_path / "w", passphrase=PASSPHRASE)
    document = json.loads((tmp_path / "w" / "key.json").read_text())
    assert document["kdf"]["name"] == "scrypt" and document["kdf"]["n"] == DEFAULT_SCRYPT_N == 2**17
    assert document["cipher"]["name"] == "AES-256-GCM"


def test_create_and_open_refuse_misuse(wallet: Wallet, tmp_path: Path) -> None:
    with pytest.raises(WalletExistsError):
        Wallet.create(wallet.path, passphrase=PASSPHRASE, scrypt_n=FAST)
    with pytest.raises(WalletNotFoundError):
        Wallet.open(tmp_path / "nowhere", passphrase=PASSPHRASE)
    with pytest.raises(WalletError, match="scrypt parameters are out of range") as weak:
        Wallet.create(tmp_path / "weak", passphrase=PASSPHRASE, scrypt_n=2**10)
    assert weak.value.code == "WALLET_ERROR" and weak.value.details["n"] == 2**10
    assert not (tmp_path / "weak").exists()


# --- the credential store ----------------------------------------------------------------------


def test_import_list_and_filter(wallet: Wallet, issuer: KeyPair, tmp_path: Path) -> None:
    older = credential_for(issuer, wallet.did, valid_from=NOW - timedelta(days=9))
    newer = credential_for(issuer, wallet.did, valid_from=NOW - timedelta(days=1))
    mandate = credential_for(issuer, wallet.did, "MandateCredential")
    wallet.import_credential(older)
    wallet.import_credential({"verifiableCredential": newer})  # an issuer's answer
    (tmp_path / "mandate.json").write_text(json.dumps(mandate))
    wallet.import_file(tmp_path / "mandate.json")
    assert wallet.credentials("AgentCredential") == [newer, older]  # newest first
    assert wallet.credentials("MandateCredential") == [mandate]
    assert len(wallet.credentials()) == 3


def test_import_refuses_duplicates_and_malformed(wallet: Wallet, issuer: KeyPair) -> None:
    credential = credential_for(issuer, wallet.did, id="urn:uuid:1b4f1a5e-0000-4000-8000-000000000001")
    wallet.import_credential(credential)
    reissued = credential_for(issuer, wallet.did, id=credential["id"], valid_from=NOW)
    with pytest.raises(DuplicateCredentialError):
        wallet.import_credential(reissued)  # same id, different content
    unsigned = {k: v for k, v in credential_for(issuer, wallet.did).items() if k != "proof"}
    with pytest.raises(ValidationError):
        wallet.import_credential(unsigned)
    with pytest.raises(ValidationError):
        wallet.import_credential({"@context": [V2], "type": ["VerifiableCredential"], "proof": {}})
    assert len(wallet.credentials()) == 1


def test_remove_expired(wallet: Wallet, issuer: KeyPair) -> None:
    expired = credential_for(issuer, wallet.did, valid_until=NOW - timedelta(seconds=1))
    current = credential_for(issuer, wallet.did, valid_until=NOW)
    wallet.import_credential(expired)
    wallet.import_credential(current)
    assert wallet.remove_expired() == [expired]
    assert wallet.credentials() == [current]


def test_remove_unverifiable_drops_revoked_but_keeps_unreachable(wallet: Wallet, issuer: KeyPair) -> None:
    bits = new_list()
    set_bit(bits, 1, True)
    unsigned = status_list_credential(
        LIST_URL,
        issuer.did,
        "revocation",
        bits,
        valid_from=NOW - timedelta(days=1),
        valid_until=NOW + timedelta(days=1),
    )
    lists = {LIST_URL: issue_credential(unsigned, issuer, created=NOW - timedelta(days=1))}
    revoked = credential_for(issuer, wallet.did, status_index=1)
    good = credential_for(issuer, wallet.did, status_index=2)
    for credential in (revoked, good):
        wallet.import_credential(credential)
    verifier = Verifier(
        trust=TrustRegistry([TrustedIssuer(issuer.did)]),
        status_fetcher=StaticStatusListFetcher(lists),
        clock=_clock,
    )
    assert wallet.remove_unverifiable(verifier) == [revoked]
    # When the list cannot be fetched nothing is known: the credential stays.
    offline = Verifier(trust=None, status_fetcher=StaticStatusListFetcher({}), clock=_clock)
    assert wallet.remove_unverifiable(offline) == []
    assert wallet.credentials() == [good]


# --- presenting --------------------------------------------------------------------------------


@pytest.fixture
def verifier(issuer: KeyPair) -> Verifier:
    return Verifier(trust=TrustRegistry([TrustedIssuer(issuer.did)]), clock=_clock)


def test_present_answers_query_by_example_with_only_what_was_asked(
    wallet: Wallet, issuer: KeyPair, verifier: Verifier
) -> None:
    agent_vc = credential_for(issuer, wallet.did)
    wallet.import_credential(agent_vc)
    wallet.import_credential(credential_for(issuer, wallet.did, "MandateCredential"))
    request = verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
    vp = wallet.present({"verifiablePresentationRequest": request}, domain=DOMAIN)
    assert vp["holder"] == wallet.did and vp["verifiableCredential"] == [agent_vc]
    assert vp["proof"]["challenge"] == request["challenge"] and vp["proof"]["domain"] == DOMAIN
    result = verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN)
    assert result.verified, result.to_dict()


def test_present_prefers_the_newest_valid_credential(wallet: Wallet, issuer: KeyPair) -> None:
    old = credential_for(issuer, wallet.did, valid_from=NOW - timedelta(days=5))
    new = credential_for(issuer, wallet.did, valid_from=NOW - timedelta(hours=1))
    future = credential_for(issuer, wallet.did, valid_from=NOW + timedelta(hours=1))
    for credential in (old, new, future):
        wallet.import_credential(credential)
    request = {
        "query": {"type": "QueryByExample", "credentialQuery": {"example": {"type": "AgentCredential"}}},
        "challenge": "c" * 20,
        "domain": DOMAIN,
    }
    assert wallet.present(request)["verifiableCredential"] == [new]


def test_present_refuses_what_it_cannot_answer(wallet: Wallet, issuer: KeyPair, verifier: Verifier) -> None:
    wallet.import_credential(credential_for(issuer, wallet.did, valid_until=NOW - timedelta(seconds=1)))
    with pytest.raises(NoMatchingCredentialsError) as raised:
        wallet.present(
            verifier.create_request(domain=DOMAIN, query=["AgentCredential"])
        )  # only an expired one
    assert raised.value.details["unmet"] == [["AgentCredential"]]
    with pytest.raises(RequestDomainMismatchError):
        wallet.present(verifier.create_request(domain="evil.example"), domain=DOMAIN)
    with pytest.raises(UnsupportedQueryError):
        wallet.present({"query": [{"type": "PresentationDefinition"}], "challenge": "c", "domain": DOMAIN})


def test_did_authentication_presents_no_credentials(
    wallet: Wallet, issuer: KeyPair, verifier: Verifier
) -> None:
    wallet.import_credential(credential_for(issuer, wallet.did))
    request = verifier.create_request(domain=DOMAIN)
    vp = wallet.present(request)
    assert "verifiableCredential" not in vp
    assert verifier.verify_presentation(vp, challenge=request["challenge"], domain=DOMAIN).verified


# --- provisioning over the VC-API ---------------------------------------------------------------

TOKEN = "acc_not-a-token_0123456789"  # never sent anywhere: refused before any connection


@pytest.fixture
def issuer_service(tmp_path: Path) -> Iterator[RunningService]:
    """The real issuer service (tests/service_harness.py), did:web on 127.0.0.1."""
    service = RunningService(tmp_path / "issuer", None)
    yield service
    service.close()


def _issue_token(service: RunningService) -> str:
    created = service.request(
        "POST", "/tokens", token=service.admin_token, json={"name": "agent provisioning", "scopes": ["issue"]}
    )
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


# Not the agent vocabulary's AgentCredential: the service reads those with their strict reader
# (POST /agents issues them); a role credential in undefined terms is any caller's to request.
AGENT_CREDENTIAL = {
    "@context": [V2, UNDEFINED_TERMS],
    "type": ["VerifiableCredential", "AgentRoleCredential"],
    "credentialSubject": {"actsFor": "did:example:acme"},
}


def test_request_credential_provisions_an_agent(tmp_path: Path, issuer_service: RunningService) -> None:
    wallet = Wallet.create(tmp_path / "agent", passphrase=PASSPHRASE, scrypt_n=FAST)
    vc = wallet.request_credential(issuer_service.base, AGENT_CREDENTIAL, token=_issue_token(issuer_service))
    assert vc["issuer"] == issuer_service.did and vc["credentialSubject"]["id"] == wallet.did
    assert wallet.credentials() == [vc]
    assert issuer_service.verify(vc).status_code == 200
    verifier = Verifier(
        trust=TrustRegistry([TrustedIssuer(issuer_service.did)]),
        resolver=default_resolver(allow_private=True, allow_http=True),
        status_fetcher=HTTPStatusListFetcher(FetchPolicy(allow_private=True, allow_http=True)),
    )
    assert verifier.verify_credential(vc).verified


def test_request_credential_errors_carry_the_issuer_code(
    wallet: Wallet, issuer_service: RunningService
) -> None:
    with pytest.raises(IssuerRequestError) as raised:
        wallet.request_credential(issuer_service.base, AGENT_CREDENTIAL, token="acc_wrong_token")
    assert (raised.value.status, raised.value.issuer_code) == (401, "UNAUTHORIZED")
    assert raised.value.code == "ISSUER_REQUEST_FAILED" and "acc_wrong_token" not in str(
        raised.value.to_dict()
    )
    undefined = {**AGENT_CREDENTIAL, "@context": [V2]}  # actsFor is not defined by VC 2.0 alone
    with pytest.raises(IssuerRequestError) as raised:
        wallet.request_credential(issuer_service.base, undefined, token=_issue_token(issuer_service))
    assert (raised.value.status, raised.value.issuer_code) == (400, "UNDEFINED_TERM")
    assert wallet.credentials() == []


def test_request_credential_refuses_unsafe_or_unreachable_issuers(wallet: Wallet) -> None:
    with pytest.raises(UnsafeURLError):
        wallet.request_credential("http://issuer.example", AGENT_CREDENTIAL, token=TOKEN)  # token in clear
    with socket.socket() as bound_not_listening:  # held for the request: connections are refused
        bound_not_listening.bind(("127.0.0.1", 0))
        port = bound_not_listening.getsockname()[1]
        with pytest.raises(IssuerRequestError) as raised:
            wallet.request_credential(f"http://127.0.0.1:{port}", AGENT_CREDENTIAL, token=TOKEN, timeout=2)
    assert raised.value.status is None and TOKEN not in str(raised.value)
    assert not os.listdir(wallet.path / "credentials")


# --- receipts ------------------------------------------------------------------------------------


def test_recorded_actions_form_an_auditable_chain(wallet: Wallet, issuer: KeyPair) -> None:
    from accredit.agents import Money, agent_credential, mandate_credential, verify_receipt_chain
    from accredit.status import status_entry

    start = _clock() - timedelta(days=1)
    identity = issue_credential(
        agent_credential(
            agent=wallet.did,
            organization={"id": issuer.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={"name": "merge-bot", "version": "1.0"},
            liability_contact={"role": "CTO"},
            escalation_contact={"url": "mailto:cto@acme.example"},
            kill_switch=status_entry("https://acme.example/status/2", 9, "suspension"),
            valid_from=start,
        ),
        issuer,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=issuer.did,
            agent_credential=identity,
            actions=["code.merge", "payment.initiate"],
            purpose="merge reviewed changes",
            valid_from=start,
            transaction_limit=Money.of("100", "USD"),
        ),
        issuer,
    )
    wallet.record_action("code.merge", mandate=mandate, object_ref="sha256:" + "a" * 64)
    wallet.record_action(
        "payment.initiate",
        mandate=mandate,
        amount=Money.of("42.50", "USD"),
        counterparty="did:web:ci.example",
    )
    wallet.record_action("code.merge", mandate=mandate, object_ref="sha256:" + "b" * 64)
    receipts = wallet.receipts()
    assert [r["credentialSubject"]["sequence"] for r in receipts] == [0, 1, 2]
    assert all(r["issuer"] == wallet.did for r in receipts)
    options = VerifyOptions(now=_clock())
    assert verify_receipt_chain(receipts, options, mandates=[mandate]).verified
    reopened = Wallet.open(wallet.path, passphrase=PASSPHRASE)
    assert reopened.receipts() == receipts

    tampered = [
        receipts[0],
        {**receipts[1], "credentialSubject": {**receipts[1]["credentialSubject"], "amount": "4.25"}},
        receipts[2],
    ]
    result = verify_receipt_chain(tampered, options, mandates=[mandate])
    assert not result.verified and "PROOF_INVALID" in result.codes
    assert "RECEIPT_GAP" in verify_receipt_chain([receipts[0], receipts[2]], options).codes
