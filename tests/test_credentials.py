"""Issuing and verifying credentials and presentations: every failure has its code."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import sign_as_of

from accredit import (
    KeyPair,
    VerificationResult,
    issue_credential,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from accredit.dids import default_resolver
from accredit.errors import (
    InputError,
    InputTooDeepError,
    UndefinedTermError,
    UnknownContextError,
    ValidationError,
    VerificationError,
)
from accredit.jsonld import default_document_loader
from accredit.proofs import SUITES, create_proof, verify_proofs

V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def mandate(issuer: str, **extra: Any) -> dict[str, Any]:
    credential = {
        "@context": [V2, UNDEFINED_TERMS],
        "id": "urn:uuid:0b7c2f52-8d8e-4a7e-9a43-5b2d0c6f0a11",
        "type": ["VerifiableCredential", "MandateCredential"],
        "issuer": issuer,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "actsFor": {"id": "did:web:acme.example", "name": "Acme Corp"},
            "spendingLimit": {"amount": "250000.00", "currency": "USD"},
        },
    }
    credential.update(extra)
    return credential


@pytest.fixture(autouse=True)
def _signed_as_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    sign_as_of(monkeypatch, NOW)


@pytest.fixture
def issuer() -> KeyPair:
    return KeyPair.generate()


def codes(result: VerificationResult) -> list[str]:
    return list(result.codes)


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_issue_then_verify(issuer: KeyPair, suite: str) -> None:
    vc = issue_credential(mandate(issuer.did), issuer, suite=suite)
    result = verify_credential(vc, now=NOW)
    assert result.verified, result.to_dict()
    assert [c.name for c in result.checks] == [
        "dataModel",
        "context",
        "proof",
        "proof.proofPurpose",
        "proof.created",
        "validity",
    ]


def test_issue_does_not_mutate_input_and_defaults_issuer(issuer: KeyPair) -> None:
    credential = mandate(issuer.did)
    del credential["issuer"]
    before = copy.deepcopy(credential)
    vc = issue_credential(credential, issuer)
    assert credential == before
    assert vc["issuer"] == issuer.did


def test_vc_1_1_with_ed25519_signature_2020(issuer: KeyPair) -> None:
    credential = {
        "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
        "type": ["VerifiableCredential"],
        "issuer": issuer.did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:123"},
    }
    credential["@context"] = [V1]
    vc = issue_credential(credential, issuer, suite="Ed25519Signature2020")
    assert "https://w3id.org/security/suites/ed25519-2020/v1" in vc["@context"]
    assert verify_credential(vc, now=NOW, accepted_suites=SUITES).verified
    # Not on the recommended list: refused unless the caller opts in.
    assert codes(verify_credential(vc, now=NOW)) == ["CRYPTOSUITE_NOT_ACCEPTED"]
    missing = dict(credential)
    del missing["issuanceDate"]
    with pytest.raises(ValidationError):
        issue_credential(missing, issuer, suite="Ed25519Signature2020")


@pytest.mark.parametrize(
    "path,value",
    [
        (("credentialSubject", "spendingLimit", "amount"), "2500000.00"),
        (("credentialSubject", "actsFor", "id"), "did:web:evil.example"),
        (("credentialSubject", "id"), "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
        (("validUntil",), "2026-12-31T00:00:00Z"),
        (("id",), "urn:uuid:00000000-0000-0000-0000-000000000000"),
        (("type",), ["VerifiableCredential"]),
    ],
)
@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_tampering_any_signed_field_fails(
    issuer: KeyPair, suite: str, path: tuple[str, ...], value: Any
) -> None:
    vc = issue_credential(mandate(issuer.did), issuer, suite=suite)
    target = vc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert codes(verify_credential(vc, now=NOW)) == ["PROOF_INVALID"]


def test_changing_the_issuer_breaks_the_binding(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    vc["issuer"] = KeyPair.generate().did
    assert codes(verify_credential(vc, now=NOW)) == ["INVALID_VERIFICATION_METHOD"]


def test_swapping_the_verification_method_for_a_key_the_issuer_does_not_control(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    mallory = KeyPair.generate()
    unsigned = {k: v for k, v in vc.items() if k != "proof"}
    vc["proof"] = create_proof(unsigned, mallory, document_loader=default_document_loader())
    assert codes(verify_credential(vc, now=NOW)) == ["INVALID_VERIFICATION_METHOD"]


def test_changing_proof_purpose(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    vc["proof"]["proofPurpose"] = "authentication"
    assert codes(verify_credential(vc, now=NOW)) == ["PROOF_INVALID", "MISMATCHED_PROOF_PURPOSE_ERROR"]
    signed_for_auth = issue_credential(mandate(issuer.did), issuer, purpose="authentication")
    assert codes(verify_credential(signed_for_auth, now=NOW)) == ["MISMATCHED_PROOF_PURPOSE_ERROR"]


def test_removing_the_proof(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    del vc["proof"]
    assert codes(verify_credential(vc, now=NOW)) == ["PROOF_MISSING"]


def test_unknown_context_url(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    vc["@context"].append("https://evil.example/context.jsonld")
    result = verify_credential(vc, now=NOW)
    assert "UNKNOWN_CONTEXT" in codes(result)
    assert result.checks[1].name == "context" and result.checks[1].code == "UNKNOWN_CONTEXT"
    with pytest.raises(UnknownContextError):
        issue_credential(mandate(issuer.did, **{"@context": [V2, "https://evil.example/c"]}), issuer)


def test_undefined_terms_are_refused_at_issue_and_verify(issuer: KeyPair) -> None:
    with pytest.raises(UndefinedTermError):
        issue_credential(mandate(issuer.did, **{"@context": [V2], "spendingLimit": "1"}), issuer)
    vc = issue_credential(
        mandate(issuer.did, **{"@context": [V2], "type": ["VerifiableCredential"]})
        | {"credentialSubject": {"id": "did:example:1"}},
        issuer,
    )
    vc["unsignedClaim"] = "looks signed, is not"
    assert "UNDEFINED_TERM" in codes(verify_credential(vc, now=NOW))


def test_undefined_terms_are_refused_when_verifying_eddsa_jcs_2022(issuer: KeyPair) -> None:
    # JCS signs the JSON, so a signature is valid over any term; the verifier must still refuse
    # a term its contexts do not define (it would be dropped by every JSON-LD reader).
    credential = mandate(issuer.did, **{"@context": [V2]})
    credential["proof"] = create_proof(
        credential, issuer, document_loader=default_document_loader(), suite="eddsa-jcs-2022"
    )
    result = verify_credential(credential, now=NOW)
    assert codes(result) == ["UNDEFINED_TERM"]
    assert [c.name for c in result.errors] == ["context"]


def test_inline_context_rewrite_is_refused(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    # Swap two JSON keys and swap their definitions in an inline context: the RDF graph,
    # hence the signature, is unchanged, but the JSON now says something else.
    subject = vc["credentialSubject"]
    subject["actsFor"], subject["spendingLimit"] = subject["spendingLimit"], subject["actsFor"]
    vc["@context"] = [
        V2,
        {
            "@vocab": "https://www.w3.org/ns/credentials/undefined-term#",
            "actsFor": "https://www.w3.org/ns/credentials/undefined-term#spendingLimit",
            "spendingLimit": "https://www.w3.org/ns/credentials/undefined-term#actsFor",
        },
    ]
    assert codes(verify_credential(vc, now=NOW)) == ["INLINE_CONTEXT"]
    # This is why: with inline contexts allowed, the rewritten document still "verifies".
    assert verify_credential(vc, now=NOW, allow_inline_contexts=True).verified


@pytest.mark.parametrize(
    "moment,code",
    [
        (datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC), "NOT_YET_VALID"),
        (datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC), "EXPIRED"),
    ],
)
def test_validity_window(issuer: KeyPair, moment: datetime, code: str) -> None:
    vc = issue_credential(mandate(issuer.did), issuer, created=datetime(2025, 12, 1, tzinfo=UTC))
    result = verify_credential(vc, now=moment)
    assert codes(result) == [code]
    failed = result.errors[0]
    assert failed.evidence["now"] == moment


def test_validity_window_edges_and_skew(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer, created=datetime(2025, 12, 1, tzinfo=UTC))
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    assert verify_credential(vc, now=start).verified
    assert verify_credential(vc, now=end).verified
    skew = timedelta(minutes=5)
    assert verify_credential(vc, now=start - skew, max_clock_skew=skew).verified
    early = verify_credential(vc, now=start - skew - timedelta(seconds=1), max_clock_skew=skew)
    assert codes(early) == ["NOT_YET_VALID"]
    assert verify_credential(vc, now=end + skew, max_clock_skew=skew).verified
    late = verify_credential(vc, now=end + skew + timedelta(seconds=1), max_clock_skew=skew)
    assert codes(late) == ["EXPIRED"]


def test_a_proof_created_after_now_and_the_allowed_skew_is_refused(issuer: KeyPair) -> None:
    skew = timedelta(minutes=5)
    for created, verified in [(NOW + skew, True), (NOW + skew + timedelta(seconds=1), False)]:
        vc = issue_credential(mandate(issuer.did), issuer, created=created)
        result = verify_credential(vc, now=NOW, max_clock_skew=skew)
        assert codes(result) == ([] if verified else ["PROOF_CREATED_IN_FUTURE"])
    ten_years_ahead = issue_credential(mandate(issuer.did), issuer, created=NOW + timedelta(days=3653))
    failed = verify_credential(ten_years_ahead, now=NOW).errors
    assert [(c.name, c.code) for c in failed] == [("proof.created", "PROOF_CREATED_IN_FUTURE")]


def test_future_valid_from_at_issue_time_still_signs_but_does_not_verify_now(issuer: KeyPair) -> None:
    future = mandate(
        issuer.did,
        validFrom=(datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        validUntil="2099-01-01T00:00:00Z",
    )
    vc = issue_credential(future, issuer)
    assert codes(verify_credential(vc)) == ["NOT_YET_VALID"]


def test_credential_status_fails_closed_without_a_checker(issuer: KeyPair) -> None:
    status = {
        "id": "https://acme.example/status/1#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": "https://acme.example/status/1",
    }
    vc = issue_credential(mandate(issuer.did, credentialStatus=status), issuer)
    assert codes(verify_credential(vc, now=NOW)) == ["STATUS_UNCHECKED"]


@pytest.mark.parametrize("index", ["12a", " 12", "-1", "１２", 12])
def test_status_index_must_be_ascii_digits(issuer: KeyPair, index: Any) -> None:
    status = {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": index,
        "statusListCredential": "https://acme.example/status/1",
    }
    with pytest.raises(ValidationError):
        issue_credential(mandate(issuer.did, credentialStatus=status), issuer)


@pytest.mark.parametrize(
    "change",
    [
        {"issuer": None},
        {"type": ["MandateCredential"]},
        {"credentialSubject": {}},
        {"validFrom": "2026-01-01T00:00:00"},
        {"validUntil": "2025-01-01T00:00:00Z"},
        {"@context": ["https://example.com/not-vc"]},
    ],
)
def test_structurally_invalid_credentials(issuer: KeyPair, change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        issue_credential(mandate(issuer.did) | change, issuer)
    vc = issue_credential(mandate(issuer.did), issuer)
    result = verify_credential(vc | change, now=NOW)
    assert not result.verified and result.checks[0].code == "INVALID_DOCUMENT"


def test_issuer_must_control_the_key(issuer: KeyPair) -> None:
    with pytest.raises(ValidationError):
        issue_credential(mandate(KeyPair.generate().did), issuer)


def test_result_is_not_a_truth_value(issuer: KeyPair) -> None:
    vc = issue_credential(mandate(issuer.did), issuer)
    result = verify_credential(vc, now=NOW)
    with pytest.raises(TypeError):
        bool(result)
    result.raise_for_status()
    del vc["proof"]
    with pytest.raises(VerificationError) as raised:
        verify_credential(vc, now=NOW).raise_for_status()
    assert "PROOF_MISSING" in str(raised.value)


def test_malformed_input_raises_typed_errors() -> None:
    with pytest.raises(InputError):
        verify_credential(["not", "an", "object"])
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(InputTooDeepError):
        verify_credential(deep)
    with pytest.raises(ValidationError):
        verify_credential({}, now=datetime(2026, 1, 1))  # a naive "now" is misuse


# --- presentations ----------------------------------------------------------------------------


@pytest.fixture
def presented(issuer: KeyPair) -> tuple[dict[str, Any], KeyPair]:
    agent = KeyPair.generate()
    vc = issue_credential(mandate(issuer.did) | {"credentialSubject": {"id": agent.did}}, issuer)
    return sign_presentation([vc], agent, challenge="nonce-123", domain="vendor.example"), agent


def test_presentation_verifies_with_its_credentials(presented: tuple[dict[str, Any], KeyPair]) -> None:
    vp, agent = presented
    result = verify_presentation(vp, challenge="nonce-123", domain="vendor.example", now=NOW)
    assert result.verified, result.to_dict()
    assert vp["holder"] == agent.did
    assert any(c.name == "verifiableCredential[0].proof" for c in result.checks)


@pytest.mark.parametrize(
    "challenge,domain,code",
    [
        ("nonce-999", "vendor.example", "CHALLENGE_MISMATCH"),
        ("nonce-123", "evil.example", "DOMAIN_MISMATCH"),
    ],
)
def test_presentation_challenge_and_domain(
    presented: tuple[dict[str, Any], KeyPair], challenge: str, domain: str, code: str
) -> None:
    vp, _ = presented
    assert codes(verify_presentation(vp, challenge=challenge, domain=domain, now=NOW)) == [code]


def test_holder_must_be_the_signer(presented: tuple[dict[str, Any], KeyPair]) -> None:
    vp, _ = presented
    vp["holder"] = KeyPair.generate().did
    assert "INVALID_VERIFICATION_METHOD" in codes(
        verify_presentation(vp, challenge="nonce-123", domain="vendor.example", now=NOW)
    )
    # Without holder the signer is taken as the holder; the signed holder was removed, though.
    del vp["holder"]
    assert codes(verify_presentation(vp, challenge="nonce-123", domain="vendor.example", now=NOW)) == [
        "PROOF_INVALID"
    ]


def test_a_presentation_with_no_holder_and_no_single_signer_is_not_bound(
    presented: tuple[dict[str, Any], KeyPair],
) -> None:
    vp, _ = presented
    del vp["holder"], vp["proof"]
    result = verify_presentation(vp, challenge="nonce-123", domain="vendor.example", now=NOW)
    assert not result.verified and codes(result)[0] == "HOLDER_MISMATCH"


def test_embedded_credentials_are_verified_too(issuer: KeyPair) -> None:
    agent = KeyPair.generate()
    vc = issue_credential(mandate(issuer.did), issuer)
    vc["credentialSubject"]["spendingLimit"]["amount"] = "9999999.00"  # tampered before presenting
    vp = sign_presentation([vc], agent, challenge="c", domain="d")
    result = verify_presentation(vp, challenge="c", domain="d", now=NOW)
    assert codes(result) == ["PROOF_INVALID"]
    assert [c.name for c in result.errors] == ["verifiableCredential[0].proof"]
    expired = verify_presentation(
        sign_presentation([issue_credential(mandate(issuer.did), issuer)], agent, challenge="c", domain="d"),
        challenge="c",
        domain="d",
        now=datetime(2028, 1, 1, tzinfo=UTC),
    )
    assert codes(expired) == ["EXPIRED"]


@pytest.mark.parametrize(("challenge", "domain"), [("", "vendor.example"), ("nonce-123", "")])
def test_presentation_requires_challenge_and_domain(issuer: KeyPair, challenge: str, domain: str) -> None:
    with pytest.raises(ValidationError, match="non-empty challenge and domain") as refused:
        sign_presentation([], issuer, challenge=challenge, domain=domain)
    assert refused.value.code == "INVALID_DOCUMENT"


# --- JSON that hides part of the signed graph ------------------------------------------------------


def _hide_valid_until_in_included(vc: dict[str, Any]) -> None:
    vc["@included"] = [{"id": vc["id"], "type": "VerifiableCredential", "validUntil": vc.pop("validUntil")}]


def _hide_valid_until_in_issuer(vc: dict[str, Any]) -> None:
    hidden = {"id": vc["id"], "type": "VerifiableCredential", "validUntil": vc.pop("validUntil")}
    vc["issuer"] = {"id": vc["issuer"], "@included": [hidden]}


def _hide_status_in_included(vc: dict[str, Any]) -> None:
    vc["@included"] = [
        {"id": vc["id"], "type": "VerifiableCredential", "credentialStatus": vc.pop("credentialStatus")}
    ]


def _split_subject(vc: dict[str, Any]) -> None:
    subject = vc["credentialSubject"]
    limit = subject.pop("spendingLimit")
    vc["credentialSubject"] = [subject, {"id": subject["id"], "spendingLimit": limit}]


def _split_subject_behind_a_reference(vc: dict[str, Any]) -> None:
    subject = vc["credentialSubject"]
    vc["credentialSubject"] = [{"id": subject["id"]}, subject]


def _nest_valid_until(vc: dict[str, Any]) -> None:
    vc["@nest"] = {"validUntil": vc.pop("validUntil")}


@pytest.mark.parametrize(
    "rewrite",
    [
        _hide_valid_until_in_included,
        _hide_valid_until_in_issuer,
        _hide_status_in_included,
        _split_subject,
        _split_subject_behind_a_reference,
        _nest_valid_until,
    ],
)
def test_graph_preserving_rewrites_that_hide_fields_are_refused(issuer: KeyPair, rewrite: Any) -> None:
    # Each rewrite keeps the RDF graph, hence an RDF proof, intact, but moves a field to where
    # code reading the JSON would not see it (an expired credential would look current).
    unsigned = mandate(issuer.did, validUntil="2026-03-01T00:00:00Z") | {
        "credentialStatus": {
            "id": "https://issuer.example/status/1#5",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "5",
            "statusListCredential": "https://issuer.example/status/1",
        },
    }
    unsigned["credentialSubject"] = {"id": "did:example:agent", "role": "buyer", "spendingLimit": "100"}
    vc = issue_credential(unsigned, issuer)
    rewrite(vc)
    signature = verify_proofs(
        vc,
        purpose="assertionMethod",
        controller=issuer.did,
        resolver=default_resolver(),
        document_loader=default_document_loader(),
    )
    assert all(check.status == "passed" for check in signature)  # the graph, so the proof, is unchanged
    result = verify_credential(vc, now=NOW)
    assert not result.verified
    assert result.errors[0].code == "INVALID_DOCUMENT"


def test_a_node_described_in_two_places_is_refused(issuer: KeyPair) -> None:
    # Not a list, not a keyword: the organization's limit moves from where it was signed to
    # another reference to the same node. The graph, so the proof, is unchanged.
    unsigned = mandate(issuer.did)
    acme = {"id": "did:web:acme.example", "name": "Acme Corp", "spendingLimit": "100"}
    unsigned["credentialSubject"] = {
        "id": "did:example:agent",
        "actsFor": acme,
        "approvedBy": {"id": acme["id"]},
    }
    vc = issue_credential(unsigned, issuer)
    assert verify_credential(vc, now=NOW).verified
    subject = vc["credentialSubject"]
    subject["approvedBy"]["spendingLimit"] = subject["actsFor"].pop("spendingLimit")
    signature = verify_proofs(
        vc,
        purpose="assertionMethod",
        controller=issuer.did,
        resolver=default_resolver(),
        document_loader=default_document_loader(),
    )
    assert all(check.status == "passed" for check in signature)  # the graph, so the proof, is unchanged
    result = verify_credential(vc, now=NOW)
    assert (result.errors[0].name, result.errors[0].code) == ("dataModel", "INVALID_DOCUMENT")
    assert "more than one place" in result.errors[0].message


def test_value_objects_with_a_language_are_accepted(issuer: KeyPair) -> None:
    credential = mandate(issuer.did) | {"name": {"@value": "Mandat d'achat", "@language": "fr"}}
    assert verify_credential(issue_credential(credential, issuer), now=NOW).verified
