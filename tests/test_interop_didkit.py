"""Interoperability with didkit (spruceid, archived): Ed25519Signature2020 over VC 1.1, both ways.

Real keys and real signatures in both libraries; all didkit calls go through ``_didkit``.
didkit checks proofs only (no expiry, no embedded credentials), so these tests compare proofs.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import _didkit
import pytest

from accredit import KeyPair, issue_credential, sign_presentation, verify_credential, verify_presentation

pytestmark = [
    pytest.mark.didkit,
    pytest.mark.skipif(
        not _didkit.available(), reason="didkit is not installed (wheels for CPython <= 3.12)"
    ),
]

CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
SUITE = "Ed25519Signature2020"
SCHEMA = "https://schema.org/"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
CREATED = datetime(2026, 5, 1, tzinfo=UTC)
CREATED_TEXT = "2026-05-01T00:00:00Z"
CHALLENGE, DOMAIN = "c0ffee-1234", "verifier.example"


def agent_credential(issuer: str, agent: str, *, with_suite_context: bool = True) -> dict[str, Any]:
    """A VC 1.1 credential about an AI agent acting for an organization.

    The claims are absolute IRIs (schema.org) because credentials/v1 has no ``@vocab``: an
    undefined term is refused by both libraries (accredit's safe mode: UNDEFINED_TERM; didkit:
    "Key expansion failed"). The contexts that would define them do not overlap:
    undefined-terms/v2 is unknown to didkit, credentials/examples/v1 to accredit. An absolute
    IRI expands to itself under any context, so both read the same graph.

    The ed25519-2020 context is in the document by default; without it didkit moves it into
    the proof (the legacy form, covered by the last test).
    """
    return {
        "@context": [CREDENTIALS_V1, ED25519_2020] if with_suite_context else [CREDENTIALS_V1],
        "id": "urn:uuid:6f1c2a8e-3b7d-4c2e-9f0a-2d5e8b7c4a10",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "expirationDate": "2027-01-01T00:00:00Z",
        "credentialSubject": {
            "id": agent,
            SCHEMA + "name": "Procurement assistant 7",
            SCHEMA + "roleName": "purchasing",
            SCHEMA + "memberOf": {"id": "did:web:acme.example", SCHEMA + "name": "Acme Corp"},
        },
    }


def tamper(vc: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(vc)
    changed["credentialSubject"][SCHEMA + "name"] = "Treasury assistant 7"
    return changed


@pytest.fixture(scope="module")
def issuer_jwk() -> dict[str, str]:
    return _didkit.generate_key()


@pytest.fixture(scope="module")
def issuer(issuer_jwk: dict[str, str]) -> KeyPair:
    return _didkit.key_pair(issuer_jwk)


@pytest.fixture(scope="module")
def agent() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def accredit_vc(issuer: KeyPair, agent: KeyPair) -> dict[str, Any]:
    return issue_credential(agent_credential(issuer.did, agent.did), issuer, suite=SUITE, created=CREATED)


@pytest.fixture(scope="module")
def didkit_vc(issuer_jwk: dict[str, str], agent: KeyPair) -> dict[str, Any]:
    credential = agent_credential(_didkit.did_of(issuer_jwk), agent.did)
    return _didkit.issue(credential, issuer_jwk, created=CREATED_TEXT)


def test_both_libraries_derive_the_same_did_key_identity(issuer_jwk: dict[str, str], agent: KeyPair) -> None:
    issuer = _didkit.key_pair(issuer_jwk)
    assert (issuer.did, issuer.id) == (_didkit.did_of(issuer_jwk), _didkit.verification_method_of(issuer_jwk))
    # And the other way: accredit's private JWK is one didkit accepts as the same key.
    agent_jwk = agent.to_jwk(include_private=True)
    assert (agent.did, agent.id) == (_didkit.did_of(agent_jwk), _didkit.verification_method_of(agent_jwk))


def test_accredit_credential_verifies_in_didkit(accredit_vc: dict[str, Any]) -> None:
    assert accredit_vc["proof"]["type"] == SUITE
    assert _didkit.verify(accredit_vc) == []


def test_didkit_credential_verifies_in_accredit(didkit_vc: dict[str, Any], issuer: KeyPair) -> None:
    assert didkit_vc["proof"]["type"] == SUITE
    assert didkit_vc["proof"]["verificationMethod"] == issuer.id
    result = verify_credential(didkit_vc, accepted_suites={SUITE}, now=NOW)
    assert result.verified, result.to_dict()


@pytest.mark.parametrize("origin", ["accredit", "didkit"])
def test_tampered_claim_fails_in_both(
    origin: str, accredit_vc: dict[str, Any], didkit_vc: dict[str, Any]
) -> None:
    tampered = tamper(accredit_vc if origin == "accredit" else didkit_vc)
    result = verify_credential(tampered, accepted_suites={SUITE}, now=NOW)
    assert not result.verified
    assert "PROOF_INVALID" in result.codes, result.to_dict()
    assert _didkit.verify(tampered) != []


def test_accredit_presentation_verifies_in_didkit(didkit_vc: dict[str, Any], agent: KeyPair) -> None:
    vp = sign_presentation(
        [didkit_vc], agent, challenge=CHALLENGE, domain=DOMAIN, suite=SUITE, created=CREATED
    )
    assert _didkit.verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN) == []
    # The binding is checked, so the success above means something.
    assert _didkit.verify_presentation(vp, challenge="another", domain=DOMAIN) != []


def test_didkit_presentation_verifies_in_accredit(accredit_vc: dict[str, Any], agent: KeyPair) -> None:
    presentation = {
        "@context": [CREDENTIALS_V1, ED25519_2020],
        "type": ["VerifiablePresentation"],
        "holder": agent.did,
        "verifiableCredential": [accredit_vc],
    }
    agent_jwk = agent.to_jwk(include_private=True)
    vp = _didkit.present(presentation, agent_jwk, challenge=CHALLENGE, domain=DOMAIN, created=CREATED_TEXT)
    result = verify_presentation(vp, challenge=CHALLENGE, domain=DOMAIN, accepted_suites={SUITE}, now=NOW)
    assert result.verified, result.to_dict()
    wrong = verify_presentation(vp, challenge="another", domain=DOMAIN, accepted_suites={SUITE}, now=NOW)
    assert "CHALLENGE_MISMATCH" in wrong.codes


def test_didkit_proof_carrying_its_own_context_verifies(issuer_jwk: dict[str, str], agent: KeyPair) -> None:
    # Without the suite context in the document, didkit signs with proof["@context"] set to it
    # (the legacy LD-proof form): that context scopes only the proof configuration.
    credential = agent_credential(_didkit.did_of(issuer_jwk), agent.did, with_suite_context=False)
    vc = _didkit.issue(credential, issuer_jwk, created=CREATED_TEXT)
    assert vc["proof"]["@context"] == [ED25519_2020]
    assert _didkit.verify(vc) == []
    result = verify_credential(vc, accepted_suites={SUITE}, now=NOW)
    assert result.verified, result.to_dict()
    vc["credentialSubject"]["https://schema.org/name"] = "Mallory"
    assert "PROOF_INVALID" in verify_credential(vc, accepted_suites={SUITE}, now=NOW).codes
