"""Issue 13 against a real service on 127.0.0.1, on SQLite and PostgreSQL: shared rate limits,
the kill switch as agent state, token authority, the database alone not being the issuer, and
no 500 for hostile input."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from service_harness import RunningService
from sqlalchemy import text

from accredit import KeyPair
from accredit.agents import AGENT_CREDENTIAL, AGENTS_CONTEXT, MANDATE_CREDENTIAL, Reference
from accredit.service import ServiceConfig, create_app
from accredit.service import issuer as issuer_module
from accredit.service.issuer import Issuer
from accredit.service.storage import Store

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", database_url)
    yield running
    running.close()


def plain_credential(subject: str, *types: str) -> dict[str, Any]:
    return {
        "@context": [V2, UNDEFINED_TERMS],
        "type": ["VerifiableCredential", *types],
        "credentialSubject": {"id": subject, "role": "buyer"},
    }


def issued(service: RunningService, subject: str, **kwargs: Any) -> dict[str, Any]:
    response = service.issue(plain_credential(subject), **kwargs)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["verifiableCredential"]
    return credential


def codes(response: requests.Response) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def token(service: RunningService, **body: Any) -> str:
    response = service.request("POST", "/tokens", token=service.admin_token, json={"name": "t", **body})
    assert response.status_code == 201, response.text
    value: str = response.json()["token"]
    return value


# --- 13.1: open routes rate-limited per client address, across workers --------------------------


def test_open_routes_share_one_budget_per_address_across_workers(
    tmp_path: Path, database_url: str | None
) -> None:
    running = RunningService(tmp_path / "data", database_url, open_rate_limit_per_minute=4)
    try:
        second = running.another_worker()
        statuses = [
            requests.get(base + "/.well-known/did.json", timeout=10).status_code
            for base in [running.base, second] * 2
        ]
        refused = requests.post(second + "/credentials/verify", json={}, timeout=10)
        assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMITED")
        assert statuses == [200, 200, 200, 200]
        assert requests.get(running.base + "/.well-known/did.json", timeout=10).status_code == 429
        # An API token's routes spend the token's budget, not the address's.
        assert running.request("GET", "/audit", token=running.admin_token).status_code == 200
    finally:
        running.close()


# --- 13.4 and 13.5: the kill switch as agent state ---------------------------------------------


def test_a_suspended_agent_is_issued_nothing_until_reinstated(service: RunningService) -> None:
    agent = "did:example:rogue"
    first, held = issued(service, agent), issued(service, agent)
    service.set_status(held["id"], "suspended")  # an operator's own suspension
    switched = service.request("POST", f"/agents/{agent}/suspend", token=service.admin_token)
    assert switched.status_code == 200 and switched.json()["suspended"] == [first["id"]]
    refused = service.issue(plain_credential(agent))
    assert (refused.status_code, refused.json()["code"]) == (409, "AGENT_SUSPENDED")
    assert codes(service.verify(first)) == ["SUSPENDED"]
    assert service.issue(plain_credential("did:example:bystander")).status_code == 201

    status_token = token(service, scopes=["status"])
    not_admin = service.request("POST", f"/agents/{agent}/reinstate", token=status_token)
    assert not_admin.status_code == 403
    back = service.request("POST", f"/agents/{agent}/reinstate", token=service.admin_token)
    assert back.status_code == 200 and back.json()["reinstated"] == [first["id"]]
    assert service.verify(first).status_code == 200
    assert codes(service.verify(held)) == ["SUSPENDED"]  # the switch lifts only what it set
    assert service.verify(issued(service, agent)).status_code == 200


@pytest.mark.parametrize(
    "path", ["/agents/did:example:nobody/suspend", "/agents/did:example:nobody/reinstate"]
)
def test_an_unknown_agent_is_not_found(service: RunningService, path: str) -> None:
    response = service.request("POST", path, token=service.admin_token)
    assert (response.status_code, response.json()["code"]) == (404, "AGENT_NOT_FOUND")


def test_a_percent_encoded_did_in_the_path_and_in_a_body(service: RunningService) -> None:
    agent = "did:web:agent.example%3A8443:bots:b1"
    credential = issued(service, agent)
    as_is = service.request("POST", f"/agents/{agent}/suspend", token=service.admin_token)
    assert (as_is.status_code, as_is.json()["code"]) == (404, "AGENT_NOT_FOUND")  # decoded: another DID
    encoded = service.request("POST", f"/agents/{quote(agent, safe=':')}/suspend", token=service.admin_token)
    assert encoded.status_code == 200 and encoded.json()["agent"] == agent
    assert codes(service.verify(credential)) == ["SUSPENDED"]
    back = service.request("POST", "/agents/reinstate", token=service.admin_token, json={"agent": agent})
    assert back.status_code == 200 and back.json()["reinstated"] == [credential["id"]]
    again = service.request("POST", "/agents/suspend", token=service.admin_token, json={"agent": agent})
    assert again.status_code == 200 and again.json()["suspended"] == [credential["id"]]


def test_issuance_racing_the_kill_switch_leaves_nothing_live(service: RunningService) -> None:
    """Issuances on two workers race the switch; every credential acknowledged must then be
    suspended (issued before the switch) — none may verify."""
    agent = "did:example:racer"
    issued(service, agent)  # the agent is known
    bases = [service.base, service.another_worker()]
    acknowledged: list[dict[str, Any]] = []
    refused: list[int] = []
    start = threading.Barrier(9)

    def issue_many(base: str) -> None:
        session = requests.Session()
        start.wait()
        for _ in range(6):
            response = session.post(
                base + "/credentials/issue",
                json={"credential": plain_credential(agent)},
                headers={"Authorization": f"Bearer {service.admin_token}"},
                timeout=60,
            )
            if response.status_code == 201:
                acknowledged.append(response.json()["verifiableCredential"])
            else:
                assert (response.status_code, response.json()["code"]) == (409, "AGENT_SUSPENDED")
                refused.append(response.status_code)

    threads = [threading.Thread(target=issue_many, args=(bases[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    start.wait()
    switch = requests.post(
        bases[1] + f"/agents/{agent}/suspend",
        headers={"Authorization": f"Bearer {service.admin_token}"},
        timeout=60,
    )
    for thread in threads:
        thread.join()
    assert switch.status_code == 200
    assert refused, "the switch came after every issuance: the race was not exercised"
    live = [c["id"] for c in acknowledged if service.verify(c).status_code == 200]
    assert live == []


# --- 13.6: what a token may have signed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("credential", "code"),
    [
        (
            {
                **plain_credential("did:example:a", "BitstringStatusListCredential"),
                "credentialSubject": {
                    "id": "https://issuer.example/status/1#list",
                    "type": "BitstringStatusList",
                    "statusPurpose": "revocation",
                    "encodedList": "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
                },
            },
            "RESERVED_TYPE",
        ),
        (plain_credential("javascript:alert(1)"), "INVALID_SUBJECT_ID"),
        (plain_credential("did:example:" + "a" * 5000), "INVALID_SUBJECT_ID"),
        (plain_credential("https://agents.example/" + "a" * 2100), "INVALID_SUBJECT_ID"),
        (plain_credential("did:example:a\u0000b"), "INVALID_SUBJECT_ID"),
    ],
)
def test_the_service_refuses_to_sign_what_no_caller_should_get(
    service: RunningService, credential: dict[str, Any], code: str
) -> None:
    response = service.issue(credential)
    assert (response.status_code, response.json()["code"]) == (400, code)


def _agent_document(agent: str) -> dict[str, Any]:
    return {
        "@context": [V2, AGENTS_CONTEXT],
        "type": ["VerifiableCredential", AGENT_CREDENTIAL],
        "credentialSubject": {
            "id": agent,
            "type": "Agent",
            "actsFor": {"id": "did:example:org", "name": "Org"},
            "builtBy": {"name": "Builder"},
            "build": {"name": "procurement-bot", "version": "1.0.0"},
            "liabilityContact": {"email": "legal@org.example"},
            "governance": {"escalationContact": {"email": "ops@org.example"}},
        },
    }


def _mandate_document(agent: str, agent_credential: dict[str, Any], depth: int) -> dict[str, Any]:
    return {
        "@context": [V2, AGENTS_CONTEXT],
        "type": ["VerifiableCredential", MANDATE_CREDENTIAL],
        "credentialSubject": {
            "id": agent,
            "type": "AgentMandate",
            "agentCredential": Reference.to(agent_credential).to_json(),
            "actions": ["purchase"],
            "purpose": "buy office supplies",
            "transactionLimit": {"amount": "100.00", "currency": "USD"},
            "delegationDepth": depth,
        },
    }


def test_agent_credentials_are_read_by_their_readers_before_signing(service: RunningService) -> None:
    agent = KeyPair.generate().did
    good = service.issue(_agent_document(agent))
    assert good.status_code == 201, good.text
    broken = _agent_document(agent)
    del broken["credentialSubject"]["builtBy"]
    response = service.issue(broken)
    assert response.status_code == 400 and "builtBy" in response.json()["detail"]
    signed_agent = good.json()["verifiableCredential"]
    assert service.issue(_mandate_document(agent, signed_agent, 1)).status_code == 201
    response = service.issue(_mandate_document(agent, signed_agent, 99))
    assert (response.status_code, response.json()["field"]) == (400, "delegationDepth")


def test_tokens_expire_and_may_be_limited_to_types(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = service.request(
        "POST",
        "/tokens",
        token=service.admin_token,
        json={
            "name": "agents desk",
            "scopes": ["issue"],
            "expiresIn": 120,
            "credentialTypes": ["BuyerCredential"],
        },
    )
    assert created.status_code == 201 and created.json()["expires"].endswith("Z")
    limited = created.json()["token"]
    assert (
        service.issue(plain_credential("did:example:a", "BuyerCredential"), token=limited).status_code == 201
    )
    for types in [("SellerCredential",), ()]:
        refused = service.issue(plain_credential("did:example:a", *types), token=limited)
        assert (refused.status_code, refused.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    later = issuer_module.now_seconds() + 121
    monkeypatch.setattr(issuer_module, "now_seconds", lambda: later)
    expired = service.issue(plain_credential("did:example:a", "BuyerCredential"), token=limited)
    assert (expired.status_code, expired.json()["code"]) == (401, "UNAUTHORIZED")
    assert "expired" in expired.json()["detail"]
    too_long = service.request(
        "POST",
        "/tokens",
        token=service.admin_token,
        json={"name": "x", "scopes": ["issue"], "expiresIn": 10**8},
    )
    assert too_long.status_code == 400


# --- 13.7: write access to the database alone does not make one the issuer ----------------------


def _sql(service: RunningService, statement: str, **params: Any) -> None:
    with service.issuer.store.write() as connection:
        connection.execute(text(statement), params)


def _fresh_verifier_sees(service: RunningService, credential: dict[str, Any]) -> list[str]:
    """A new worker (no cached list) verifying ``credential``."""
    response = requests.post(
        service.another_worker() + "/credentials/verify",
        json={"verifiableCredential": credential},
        timeout=30,
    )
    return [] if response.status_code == 200 else codes(response)


def test_unrevoking_in_the_database_changes_nothing_and_is_detected(service: RunningService) -> None:
    credential = issued(service, "did:example:a")
    service.set_status(credential["id"], "revoked")
    _sql(service, "UPDATE credentials SET revoked = false")
    _sql(service, "UPDATE status_lists SET version = version + 1")
    assert _fresh_verifier_sees(service, credential) == ["REVOKED"]
    assert codes(service.verify(credential)) == ["REVOKED"]
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("state.credentials", "STATE_MISMATCH")]


def test_reinstating_a_suspended_agent_in_the_database_changes_nothing(service: RunningService) -> None:
    credential = issued(service, "did:example:a")
    service.request("POST", "/agents/did:example:a/suspend", token=service.admin_token)
    _sql(service, "UPDATE agents SET state = 'active'")
    _sql(service, "UPDATE credentials SET suspended = false")
    refused = service.issue(plain_credential("did:example:a"))
    assert refused.json()["code"] == "AGENT_SUSPENDED"
    assert _fresh_verifier_sees(service, credential) == ["SUSPENDED"]
    errors = {c.name for c in service.issuer.verify_audit().errors}
    assert errors == {"state.credentials", "state.agents"}


def test_an_inserted_or_restored_token_row_grants_nothing_and_is_detected(service: RunningService) -> None:
    import hashlib

    forged = "acc_f0f0f0f0f0f0f0f0_chosen-by-the-attacker"
    _sql(
        service,
        "INSERT INTO api_tokens (id, name, token_hash, scopes, created_at, expires_at) "
        "VALUES ('f0f0f0f0f0f0f0f0', 'x', :hash, 'admin', 0, 99999999999)",
        hash=hashlib.sha256(forged.encode()).hexdigest(),
    )
    refused = service.request("GET", "/audit", token=forged)
    assert (refused.status_code, refused.json()["code"]) == (401, "UNAUTHORIZED")
    revoked = service.request(
        "POST", "/tokens", token=service.admin_token, json={"name": "r", "scopes": ["issue"]}
    )
    service.request("DELETE", f"/tokens/{revoked.json()['id']}", token=service.admin_token)
    _sql(service, "UPDATE api_tokens SET revoked_at = NULL WHERE id = :id", id=revoked.json()["id"])
    assert service.issue(plain_credential("did:example:a"), token=revoked.json()["token"]).status_code == 401
    _sql(service, "UPDATE api_tokens SET scopes = 'admin' WHERE scopes = 'issue'")
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("state.tokens", "STATE_MISMATCH")]
    assert set(result.errors[0].evidence["rows"]) == {"f0f0f0f0f0f0f0f0", revoked.json()["id"]}


def test_an_inserted_signing_key_is_not_the_issuers(service: RunningService) -> None:
    mallory = KeyPair.generate()
    _sql(
        service,
        "INSERT INTO signing_keys (id, public_key_multibase, secret_ciphertext, created_at, active) "
        "VALUES (:id, :pk, :ct, 0, false)",
        id=f"{service.did}#key-9",
        pk=mallory.public_key.multibase,
        ct=b"\x01" + b"\x00" * 40,
    )
    document = service.request("GET", "/.well-known/did.json").json()
    assert [m["id"] for m in document["verificationMethod"]] == [f"{service.did}#key-1"]


def test_data_dir_is_private_even_when_it_existed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    (data / "notes.txt").write_text("x")
    os.chmod(data / "notes.txt", 0o644)
    running = RunningService(data, None)
    try:
        issued(running, "did:example:a")
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in data.iterdir() if p.is_file()}
        assert {"accredit.db", "master.key", "notes.txt"} <= set(modes)
        assert set(modes.values()) == {0o600}, modes
    finally:
        running.close()


def test_the_master_key_can_live_outside_the_data_dir(tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir(mode=0o700)
    key_file = secrets_dir / "accredit.key"
    running = RunningService(tmp_path / "data", None, master_key_file=key_file)
    try:
        issued(running, "did:example:a")
        assert key_file.exists() and not (tmp_path / "data" / "master.key").exists()
        with pytest.raises(Exception, match="master key"):
            config = ServiceConfig(data_dir=tmp_path / "data", database_url=None, passphrase=None)
            store = config.open_store()
            try:
                Issuer(store, config.sealer(store))
            finally:
                store.close()
    finally:
        running.close()


def test_an_existing_database_upgrades_and_its_tokens_keep_working(
    tmp_path: Path, database_url: str | None
) -> None:
    """A data dir made before 0003: the migration adds the new tables and columns, and the
    first start authenticates the token rows it finds."""
    from alembic import command

    from accredit.service.storage import _alembic_config

    running = RunningService(tmp_path / "data", database_url)
    config = running.config
    issued(running, "did:example:a")
    running.close()
    store = Store(config.url)
    with store._writer.connect() as connection:
        alembic = _alembic_config()
        alembic.attributes["connection"] = connection
        command.downgrade(alembic, "0002")
        connection.execute(text("DELETE FROM settings WHERE name = 'row_macs'"))
        connection.commit()
    store.close()
    app = create_app(config)
    client = app.test_client()
    answer = client.get("/audit", headers={"Authorization": f"Bearer {running.admin_token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    issuer: Issuer = app.extensions["accredit.issuer"]
    assert issuer.verify_audit().verified
    issuer.store.close()


# --- 13.14: no 500 for hostile input ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        (
            "POST",
            "/credentials/verify",
            b'{"verifiableCredential": ' + b"9" * 5000 + b"}",
            400,
            "MALFORMED_INPUT",
        ),
        (
            "POST",
            "/credentials/verify",
            b'{"verifiableCredential": {"id": "\\ud800"}}',
            400,
            "MALFORMED_INPUT",
        ),
        ("GET", "/status/\u00b2", None, 404, "NOT_FOUND"),
        ("GET", "/status/99999999999999999999999", None, 404, "NOT_FOUND"),
        ("GET", "/credentials/urn:uuid:%00", None, 404, "NOT_FOUND"),
        ("GET", "/credentials/" + "x" * 3000, None, 404, "NOT_FOUND"),
        ("POST", "/agents/did:example:a%00/suspend", None, 400, "INVALID_SUBJECT_ID"),
        ("DELETE", "/tokens/%00", None, 404, "NOT_FOUND"),
        (
            "POST",
            "/credentials/status",
            b'{"credentialId": "urn:uuid:\\u0000", "credentialStatus": [{"status": "revoked"}]}',
            404,
            "NOT_FOUND",
        ),
        ("POST", "/tokens", b'{"name": "a\\u0000b", "scopes": ["issue"]}', 400, "MALFORMED_INPUT"),
        ("POST", "/challenges", b'{"domain": "a\\u0000b"}', 400, "MALFORMED_INPUT"),
    ],
)
def test_hostile_input_gets_a_problem_not_a_500(
    service: RunningService, method: str, path: str, body: bytes | None, status: int, code: str
) -> None:
    response = service.request(
        method, path, token=service.admin_token, data=body, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["Content-Type"] == "application/problem+json"


def test_a_nul_in_a_credential_claim_is_stored_and_served(service: RunningService) -> None:
    credential = {
        **plain_credential("did:example:a"),
        "credentialSubject": {"id": "did:example:a", "note": "a\u0000b"},
    }
    response = service.issue(credential)
    assert response.status_code == 201, response.text
    issued_id = response.json()["verifiableCredential"]["id"]
    fetched = service.request("GET", f"/credentials/{issued_id}", token=service.admin_token)
    assert fetched.json()["verifiableCredential"]["credentialSubject"]["note"] == "a\u0000b"
