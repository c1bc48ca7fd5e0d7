"""VC-API as the W3C test suites and other implementations speak it (issue 9): issuer and id in
the issue request, caller validity and status, a cryptosuite per issuer endpoint, VC 1.1,
several or id-less subjects, the data model's typed properties, presentations without holder.
Through the HTTP service on 127.0.0.1 and, where the check lives there, the library."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_harness import RunningService

from accredit import (
    KeyPair,
    TrustRegistry,
    Verifier,
    issue_credential,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from accredit._dates import format_datetime
from accredit.errors import ValidationError
from accredit.jsonld import default_document_loader
from accredit.proofs import create_proof
from accredit.service.vcapi import read_verify_options
from accredit.trust import TrustedIssuer

V1 = "https://www.w3.org/2018/credentials/v1"
V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
NOW = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", None)
    yield running
    running.close()


@pytest.fixture
def db_service(tmp_path: Path, database_url: str | None) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", database_url)
    yield running
    running.close()


def credential(subject: Any = None, *, context: str = V2, **extra: Any) -> dict[str, Any]:
    return {
        "@context": [context, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleCredential"],
        "credentialSubject": {"id": "did:example:agent-1", "role": "buyer"} if subject is None else subject,
        **extra,
    }


def issued(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    vc: dict[str, Any] = response.json()["verifiableCredential"]
    return vc


def problem_code(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["code"]
    return code


def issue_with(service: RunningService, suite: str, document: dict[str, Any]) -> Any:
    path = f"/issuers/{suite}/credentials/issue"
    return service.request("POST", path, token=service.admin_token, json={"credential": document})


# --- issuer and id ---------------------------------------------------------------------------


def test_issuer_given_as_the_services_own_did_string_or_object(service: RunningService) -> None:
    as_string = issued(service.issue(credential(issuer=service.did)))
    assert as_string["issuer"] == service.did
    named = {"id": service.did, "name": "Acme Procurement", "description": "Acme's agent registry"}
    as_object = issued(service.issue(credential(issuer=named)))
    assert as_object["issuer"] == named
    assert service.verify(as_object).json()["verified"] is True


@pytest.mark.parametrize(
    ("issuer", "code"),
    [
        ("did:example:someone-else", "PROTECTED_PROPERTY"),
        ({"id": "did:example:someone-else", "name": "Forged"}, "PROTECTED_PROPERTY"),
        ({"name": "no id"}, "PROTECTED_PROPERTY"),
        ("{did}", None),
        ({"id": "{did}", "url": "https://acme.example"}, "INVALID_DOCUMENT"),
    ],
)
def test_any_other_issuer_is_refused(service: RunningService, issuer: Any, code: str | None) -> None:
    if issuer == "{did}":  # the control: the same request with the service's DID is issued
        issued(service.issue(credential(issuer=service.did)))
        return
    if isinstance(issuer, dict) and issuer.get("id") == "{did}":
        issuer = {**issuer, "id": service.did}
    assert problem_code(service.issue(credential(issuer=issuer))) == code


def test_caller_id_is_kept_and_unique(db_service: RunningService) -> None:
    credential_id = f"urn:uuid:{uuid.uuid4()}"
    vc = issued(db_service.issue(credential(id=credential_id)))
    assert vc["id"] == credential_id
    stored = db_service.request("GET", f"/credentials/{credential_id}", token=db_service.admin_token)
    assert stored.json()["verifiableCredential"] == vc
    before = len(db_service.issuer.audit_entries(limit=1000))
    again = db_service.issue(credential(id=credential_id))
    assert problem_code(again, 409) == "CONFLICT"
    assert len(db_service.issuer.audit_entries(limit=1000)) == before


@pytest.mark.parametrize("bad_id", ["not a uri", "relative/path", 42, "urn:x:" + "a" * 200])
def test_caller_id_must_be_an_absolute_uri(service: RunningService, bad_id: Any) -> None:
    assert problem_code(service.issue(credential(id=bad_id))) == "INVALID_DOCUMENT"


# --- validity window -------------------------------------------------------------------------


def _in(days: float) -> str:
    return format_datetime(datetime.now(UTC).replace(microsecond=0) + timedelta(days=days))


def test_validity_in_the_credential_within_the_policy(service: RunningService) -> None:
    valid_from, valid_until = _in(1), _in(30)
    vc = issued(service.issue(credential(validFrom=valid_from, validUntil=valid_until)))
    assert (vc["validFrom"], vc["validUntil"]) == (valid_from, valid_until)


@pytest.mark.parametrize(
    ("fields", "options"),
    [
        ({"validUntil": _in(800)}, {}),  # beyond a year
        ({"validFrom": _in(-2)}, {}),  # backdated
        ({"validFrom": _in(400)}, {}),  # default end beyond a year
        ({"validUntil": _in(-1)}, {}),  # already over
        ({"validUntil": _in(30)}, {"validUntil": _in(20)}),  # given twice
    ],
)
def test_validity_outside_the_policy_is_refused(
    service: RunningService, fields: dict[str, str], options: dict[str, str]
) -> None:
    assert problem_code(service.issue(credential(**fields), **options)) == "INVALID_DOCUMENT"


# --- credentialStatus ------------------------------------------------------------------------


def test_caller_status_is_kept_and_the_services_entries_added(service: RunningService) -> None:
    theirs = {
        "id": "https://status.example/lists/3#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "message",
        "statusListIndex": "94567",
        "statusListCredential": "https://status.example/lists/3",
        "statusSize": "2",
        "statusMessage": [{"status": "0x0", "message": "fine"}, {"status": "0x1", "message": "late"}],
    }
    vc = issued(service.issue(credential(credentialStatus=theirs)))
    entries = vc["credentialStatus"]
    assert entries[0] == theirs
    own = [e for e in entries[1:] if e["statusListCredential"].startswith(service.base + "/status/")]
    assert sorted(e["statusPurpose"] for e in own) == ["revocation", "suspension"]
    assert len(entries) == 3


def test_caller_status_without_type_is_refused(service: RunningService) -> None:
    response = service.issue(credential(credentialStatus={"id": "https://status.example/1#2"}))
    assert problem_code(response) == "INVALID_DOCUMENT"


# --- cryptosuites ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suite", "proof_type", "cryptosuite"),
    [
        ("eddsa-rdfc-2022", "DataIntegrityProof", "eddsa-rdfc-2022"),
        ("eddsa-jcs-2022", "DataIntegrityProof", "eddsa-jcs-2022"),
        ("Ed25519Signature2020", "Ed25519Signature2020", None),
    ],
)
def test_one_issuer_endpoint_per_cryptosuite(
    service: RunningService, suite: str, proof_type: str, cryptosuite: str | None
) -> None:
    vc = issued(issue_with(service, suite, credential()))
    assert vc["proof"]["type"] == proof_type
    assert vc["proof"].get("cryptosuite") == cryptosuite
    accepted = {"eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"}
    result = verify_credential(vc, replace(service.issuer.verify_options(), accepted_suites=accepted))
    assert result.verified, result.to_dict()


def test_the_default_endpoint_signs_eddsa_rdfc_2022_and_unknown_suites_are_refused(
    service: RunningService,
) -> None:
    assert issued(service.issue(credential()))["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert problem_code(issue_with(service, "ecdsa-rdfc-2019", credential())) == "INVALID_DOCUMENT"


def test_verify_routes_accept_ed25519signature2020_only_when_configured(tmp_path: Path) -> None:
    default = RunningService(tmp_path / "a", None)
    configured = RunningService(
        tmp_path / "b",
        None,
        accepted_suites=frozenset({"eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"}),
    )
    try:
        for issuer in (default, configured):
            vc = issued(issue_with(issuer, "Ed25519Signature2020", credential()))
            refused = default.verify(vc)
            assert refused.status_code == 400
            assert "CRYPTOSUITE_NOT_ACCEPTED" in [e["code"] for e in refused.json()["errors"]]
            accepted = configured.verify(vc)
            assert accepted.status_code == 200, accepted.text
    finally:
        default.close()
        configured.close()


# --- VC 1.1 ----------------------------------------------------------------------------------


def test_vc_1_1_is_issued_with_its_own_dates_and_no_status_entry(db_service: RunningService) -> None:
    subject = {"id": "did:example:agent-11", "role": "buyer"}
    vc = issued(db_service.issue(credential(subject, context=V1)))
    assert vc["@context"][0] == V1
    assert {"issuanceDate", "expirationDate"} <= set(vc)
    assert not {"validFrom", "validUntil", "credentialStatus"} & set(vc)
    assert db_service.verify(vc).json()["verified"] is True
    # No verifier could see a status change, so the service refuses to pretend one.
    assert problem_code(db_service.set_status(vc["id"], "revoked"), 409) == "CONFLICT"
    killed = db_service.request("POST", "/agents/did:example:agent-11/suspend", token=db_service.admin_token)
    assert killed.json()["suspended"] == []


def test_vc_1_1_dates_in_the_credential(service: RunningService) -> None:
    start, end = _in(0.01), _in(10)
    vc = issued(service.issue(credential(context=V1, issuanceDate=start, expirationDate=end)))
    assert (vc["issuanceDate"], vc["expirationDate"]) == (start, end)
    assert problem_code(service.issue(credential(context=V1, expirationDate=_in(900)))) == "INVALID_DOCUMENT"


def test_vc_2_0_stays_the_default_and_other_first_contexts_are_refused(service: RunningService) -> None:
    assert issued(service.issue(credential()))["@context"][0] == V2
    document = {**credential(), "@context": [EXAMPLES, V2]}
    assert problem_code(service.issue(document)) == "INVALID_DOCUMENT"


# --- subjects and the kill switch -------------------------------------------------------------


def test_several_subjects_each_reach_the_kill_switch(db_service: RunningService) -> None:
    subjects = [{"id": "did:example:buyer-agent", "role": "buyer"}, {"id": "did:example:payer-agent"}]
    vc = issued(db_service.issue(credential(subjects)))
    assert vc["credentialSubject"] == subjects
    assert db_service.verify(vc).status_code == 200
    killed = db_service.request(
        "POST", "/agents/did:example:payer-agent/suspend", token=db_service.admin_token
    )
    assert killed.json()["suspended"] == [vc["id"]]
    after = db_service.verify(vc)
    assert after.status_code == 400 and "SUSPENDED" in [e["code"] for e in after.json()["errors"]]


def test_a_subject_without_id_is_issued_and_only_its_own_status_reaches_it(
    db_service: RunningService,
) -> None:
    vc = issued(db_service.issue(credential({"role": "buyer"})))
    assert "id" not in vc["credentialSubject"]
    # It names no agent, so no agent's kill switch finds it (an agent never issued to is
    # unknown: 404); its own id still suspends it.
    switched = db_service.request("POST", "/agents/did:example:agent-1/suspend", token=db_service.admin_token)
    assert (switched.status_code, switched.json()["code"]) == (404, "AGENT_NOT_FOUND")
    assert db_service.set_status(vc["id"], "suspended").status_code == 200
    assert "SUSPENDED" in [e["code"] for e in db_service.verify(vc).json()["errors"]]


def test_empty_subjects_are_still_refused(service: RunningService) -> None:
    assert problem_code(service.issue(credential([{"id": "did:example:a"}, {}]))) == "INVALID_DOCUMENT"


# --- typed properties (VCDM 2.0 §4.11, §5.4-5.6) ----------------------------------------------

TYPED = {
    "credentialSchema": {"id": "https://schemas.example/agent.json", "type": "JsonSchema"},
    "refreshService": {"id": "https://refresh.example/1", "type": "ExampleRefreshService"},
    "termsOfUse": {"id": "https://terms.example/1", "type": "ExampleTermsPolicy"},
    "evidence": {"id": "https://evidence.example/1", "type": ["Evidence"]},
}


@pytest.mark.parametrize("field", sorted(TYPED))
def test_typed_properties_without_type_are_refused_by_the_library(field: str) -> None:
    key = KeyPair.generate()
    typed = issue_credential(credential(**{field: TYPED[field]}), key)
    assert verify_credential(typed, now=datetime.now(UTC)).verified
    untyped = {k: v for k, v in TYPED[field].items() if k != "type"}
    with pytest.raises(ValidationError) as refused:
        issue_credential(credential(**{field: untyped}), key)
    assert refused.value.details["field"] == f"{field}.type"
    typed[field] = [TYPED[field], untyped]  # the second of a list, after signing
    result = verify_credential(typed, now=datetime.now(UTC))
    assert not result.verified
    assert (result.errors[0].name, result.errors[0].code) == ("dataModel", "INVALID_DOCUMENT")
    assert result.errors[0].evidence["field"] == f"{field}.type"


def test_credential_schema_needs_an_id() -> None:
    with pytest.raises(ValidationError) as refused:
        issue_credential(credential(credentialSchema={"type": "JsonSchema"}), KeyPair.generate())
    assert refused.value.details["field"] == "credentialSchema.id"


@pytest.mark.parametrize("field", sorted(TYPED))
def test_typed_properties_without_type_are_refused_over_http(service: RunningService, field: str) -> None:
    untyped = {k: v for k, v in TYPED[field].items() if k != "type"}
    response = service.issue(credential(**{field: untyped}))
    assert problem_code(response) == "INVALID_DOCUMENT"
    assert response.json()["field"] == f"{field}.type"
    vc = issued(service.issue(credential(**{field: TYPED[field]})))
    vc[field] = untyped
    refused = service.verify(vc)
    assert refused.status_code == 400
    first = refused.json()["errors"][0]
    assert (first["check"], first["evidence"]["field"]) == ("dataModel", f"{field}.type")


def test_status_entry_id_must_be_one_url() -> None:
    entry = {"id": ["https://s.example/1", "https://s.example/2"], "type": "BitstringStatusListEntry"}
    with pytest.raises(ValidationError) as refused:
        issue_credential(credential(credentialStatus=entry), KeyPair.generate())
    assert refused.value.details["field"] == "credentialStatus.id"


def test_the_examples_v2_context_is_bundled() -> None:
    assert EXAMPLES in default_document_loader().urls
    key = KeyPair.generate()
    vc = issue_credential(credential({"id": "did:example:a", "anyExampleTerm": "kept"}), key)
    assert verify_credential(vc, now=datetime.now(UTC)).verified


# --- presentations without holder ------------------------------------------------------------


def holderless(
    credentials: list[dict[str, Any]], key: KeyPair, *keys: KeyPair, challenge: str = "c1"
) -> dict[str, Any]:
    """A presentation signed by ``key`` (and ``keys``) that names no holder."""
    presentation: dict[str, Any] = {
        "@context": [V2, "https://w3id.org/security/data-integrity/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials,
    }
    loader = default_document_loader()
    proofs = [
        create_proof(
            presentation,
            k,
            document_loader=loader,
            purpose="authentication",
            challenge=challenge,
            domain="d1",
        )
        for k in (key, *keys)
    ]
    presentation["proof"] = proofs[0] if len(proofs) == 1 else proofs
    return presentation


def test_a_presentation_without_holder_is_held_by_its_signer() -> None:
    agent = KeyPair.generate()
    vp = holderless([], agent)
    result = verify_presentation(vp, challenge="c1", domain="d1")
    assert result.verified, result.to_dict()
    holder = next(c for c in result.checks if c.name == "holder")
    assert holder.evidence == {"holder": agent.did, "source": "proof.verificationMethod"}


def test_holder_binding_holds_without_holder(tmp_path: Path) -> None:
    org, agent, other = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    verifier = Verifier(trust=TrustRegistry([TrustedIssuer(org.did)]))
    about_agent = issue_credential(credential({"id": agent.did}), org)
    for signer, expected in ((agent, []), (other, ["HOLDER_BINDING_MISMATCH"])):
        request = verifier.create_request(domain="d1")
        challenge = request["challenge"]
        vp = holderless([about_agent], signer)
        vp["proof"] = create_proof(
            {k: v for k, v in vp.items() if k != "proof"},
            signer,
            document_loader=default_document_loader(),
            purpose="authentication",
            challenge=challenge,
            domain="d1",
        )
        result = verifier.verify_presentation(vp, challenge=challenge, domain="d1")
        assert [e.code for e in result.errors] == expected


@pytest.mark.parametrize("signers", [0, 2])
def test_no_holder_and_no_single_signer_is_one_clear_failure(signers: int) -> None:
    keys = [KeyPair.generate() for _ in range(signers)]
    vp = holderless([], *keys) if keys else {"@context": [V2], "type": ["VerifiablePresentation"]}
    result = verify_presentation(vp, challenge="c1", domain="d1")
    # One failure, the holder; the proofs are not checked against nobody.
    assert [(c.name, c.status.value, c.code) for c in result.errors] == [
        ("holder", "failed", "HOLDER_MISMATCH"),
        ("proof", "skipped", "NOT_CHECKED"),
    ]
    assert "does not belong" not in str(result.to_dict())


def test_a_holderless_presentation_over_http(service: RunningService) -> None:
    agent = KeyPair.generate()
    vc = issued(service.issue(credential({"id": agent.did})))
    challenges = [
        service.request("POST", "/challenges", json={"domain": "d1"}).json()["challenge"] for _ in "ab"
    ]
    presentation = holderless([vc], agent, challenge=challenges[0])
    body = {"verifiablePresentation": presentation, "options": {"challenge": challenges[0], "domain": "d1"}}
    response = service.request("POST", "/presentations/verify", json=body)
    assert response.status_code == 200, response.text
    signed = sign_presentation([vc], agent, challenge=challenges[1], domain="d1")
    body["options"]["challenge"] = challenges[1]
    del signed["holder"]  # removing a signed holder breaks the signature: no second, misleading error
    tampered = service.request(
        "POST", "/presentations/verify", json={**body, "verifiablePresentation": signed}
    )
    assert [e["code"] for e in tampered.json()["errors"]] == ["PROOF_INVALID"]


# --- verify options --------------------------------------------------------------------------


def test_verify_options_checks_is_accepted_and_unknown_options_refused(service: RunningService) -> None:
    vc = issued(service.issue(credential()))
    ok = service.request(
        "POST", "/credentials/verify", json={"verifiableCredential": vc, "options": {"checks": ["proof"]}}
    )
    assert ok.status_code == 200
    unknown = service.request(
        "POST", "/credentials/verify", json={"verifiableCredential": vc, "options": {"skipProof": True}}
    )
    assert problem_code(unknown) == "UNKNOWN_OPTION"
    with pytest.raises(ValidationError):
        read_verify_options({"options": {"checks": "proof"}})


# --- relatedResource (VCDM 2.0 §5.3) ---------------------------------------------------------

RESOURCE = {
    "id": "https://www.w3.org/ns/credentials/v2",
    "digestMultibase": "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k",
}


@pytest.mark.parametrize(
    "related",
    [
        ["https://www.w3.org/ns/credentials/v2"],
        [{"digestMultibase": RESOURCE["digestMultibase"]}],
        [{"id": RESOURCE["id"]}],
        [RESOURCE, {**RESOURCE, "digestSRI": "sha384-x"}],
        [{"id": RESOURCE["id"], "digestSRI": 7}],
    ],
)
def test_malformed_related_resources_are_refused(service: RunningService, related: Any) -> None:
    issued(service.issue(credential(relatedResource=[RESOURCE])))  # the control
    response = service.issue(credential(relatedResource=related))
    assert problem_code(response) == "INVALID_DOCUMENT"
    assert response.json()["field"].startswith("relatedResource")


def test_backdating_beyond_the_configured_limit_is_refused(tmp_path: Path) -> None:
    old = {"issuanceDate": "2020-03-16T22:37:26.544Z"}
    default = RunningService(tmp_path / "a", None)
    lenient = RunningService(tmp_path / "b", None, max_backdate=timedelta(days=3650))
    try:
        refused = default.issue(credential(context=V1, **old))
        assert problem_code(refused) == "INVALID_DOCUMENT"
        assert refused.json()["field"] == "credential.issuanceDate"
        vc = issued(lenient.issue(credential(context=V1, **old)))
        assert vc["issuanceDate"] == old["issuanceDate"]  # as the caller spelled it
        end = datetime.fromisoformat(vc["expirationDate"])
        assert timedelta(days=364) < end - datetime.now(UTC) <= timedelta(days=365)
        assert problem_code(lenient.issue(credential(validFrom="2000-01-01T00:00:00Z"))) == "INVALID_DOCUMENT"
    finally:
        default.close()
        lenient.close()


def test_credentials_issued_before_the_subjects_table_stay_within_the_kill_switchs_reach(
    tmp_path: Path, database_url: str | None
) -> None:
    """Migration 0002 copies each existing credential's subject into credential_subjects and
    marks it as carrying status entries (every credential issued before it did)."""
    from alembic import command
    from sqlalchemy import text

    from accredit.service.storage import Store, _alembic_config

    store = Store(database_url or f"sqlite:///{tmp_path / 'old.db'}")
    with store._writer.connect() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO signing_keys (id, public_key_multibase, secret_ciphertext, created_at, active)"
                " VALUES ('did:key:z#k', 'z', :secret, 0, true)"
            ),
            {"secret": b"\x00"},
        )
        for purpose, list_id in (("revocation", 1), ("suspension", 2)):
            connection.execute(
                text(
                    "INSERT INTO status_lists (id, purpose, sequence, size, version, created_at)"
                    " VALUES (:id, :purpose, 1, 8, 0, 0)"
                ),
                {"id": list_id, "purpose": purpose},
            )
        connection.execute(
            text(
                "INSERT INTO credentials (id, subject_id, types, key_id, issued_at, valid_from, valid_until,"
                " digest, revocation_list, revocation_index, suspension_list, suspension_index, revoked,"
                " suspended, document) VALUES ('urn:uuid:old', 'did:example:old-agent', '[]', 'did:key:z#k',"
                " 0, 0, NULL, 'sha256:0', 1, 3, 2, 5, false, false, '{}')"
            )
        )
        connection.commit()
    store.migrate()
    with store.read() as connection:
        subjects = connection.execute(text("SELECT credential_id, subject_id FROM credential_subjects")).all()
        marked = connection.execute(text("SELECT status_entries FROM credentials")).scalar_one()
    store.close()
    assert [tuple(row) for row in subjects] == [("urn:uuid:old", "did:example:old-agent")]
    assert bool(marked) is True
