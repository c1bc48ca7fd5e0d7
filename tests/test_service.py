"""The issuer service over real HTTP on 127.0.0.1, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_harness import RunningService
from sqlalchemy import text

from accredit import KeyPair, VerifyOptions, sign_presentation, verify_credential
from accredit._http import FetchPolicy
from accredit.dids import default_resolver
from accredit.service.audit import entry_digest
from accredit.status import HTTPStatusListFetcher, StatusListChecker

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", database_url)
    yield running
    running.close()


def agent_credential(agent: str, **claims: Any) -> dict[str, Any]:
    return {
        "@context": [V2, UNDEFINED_TERMS],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": agent, "role": "buyer", **claims},
    }


def _issued(service: RunningService, agent: str = "did:example:agent-1") -> dict[str, Any]:
    response = service.issue(agent_credential(agent))
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()["verifiableCredential"]
    return credential


def _codes(response: Any) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_issue_sets_identity_dates_status_and_proof(service: RunningService) -> None:
    credential = _issued(service)
    assert credential["issuer"] == service.did and service.did.startswith("did:web:127.0.0.1%3A")
    assert credential["id"].startswith("urn:uuid:")
    purposes = [entry["statusPurpose"] for entry in credential["credentialStatus"]]
    assert purposes == ["revocation", "suspension"]
    assert credential["proof"]["verificationMethod"] == f"{service.did}#key-1"
    assert service.verify(credential).status_code == 200
    fetched = service.request("GET", f"/credentials/{credential['id']}", token=service.admin_token)
    assert fetched.json()["verifiableCredential"] == credential


def test_an_outside_verifier_checks_did_web_and_status_over_http(service: RunningService) -> None:
    credential = _issued(service)
    policy = FetchPolicy(allow_private=True, allow_http=True)
    resolver = default_resolver(allow_private=True, allow_http=True)
    checker = StatusListChecker(HTTPStatusListFetcher(policy), VerifyOptions(resolver=resolver))
    options = VerifyOptions(resolver=resolver, status_checker=checker)
    assert verify_credential(credential, options).verified
    service.set_status(credential["id"], "revoked")
    fresh = StatusListChecker(HTTPStatusListFetcher(policy), VerifyOptions(resolver=resolver))
    result = verify_credential(credential, VerifyOptions(resolver=resolver, status_checker=fresh))
    assert list(result.codes) == ["REVOKED"]


def test_a_freshly_signed_status_list_holds_for_a_verifier_slightly_behind(service: RunningService) -> None:
    """Lists are re-signed on the first fetch after a change; a verifier whose verdict is "as
    of" a moment just before that fetch (or whose clock is behind) must still accept them."""
    behind = datetime.now(UTC) - timedelta(seconds=30)
    valid_from = (behind - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    response = service.issue(agent_credential("did:example:agent-1"), validFrom=valid_from)
    credential = response.json()["verifiableCredential"]
    service.set_status(credential["id"], "suspended")
    service.set_status(credential["id"], "active")
    policy = FetchPolicy(allow_private=True, allow_http=True)
    resolver = default_resolver(allow_private=True, allow_http=True)
    # The credential's proof is created 30 s after `behind`: a verifier that far behind needs a
    # clock skew allowance for it (PROOF_CREATED_IN_FUTURE otherwise); the list must need none.
    list_options = VerifyOptions(resolver=resolver, now=behind)
    checker = StatusListChecker(HTTPStatusListFetcher(policy), list_options)
    list_options = replace(list_options, max_clock_skew=timedelta(seconds=45))
    result = verify_credential(credential, replace(list_options, status_checker=checker))
    assert result.verified, result.codes


def test_revoke_suspend_reinstate(service: RunningService) -> None:
    credential = _issued(service)
    assert service.set_status(credential["id"], "suspended").status_code == 200
    assert _codes(service.verify(credential)) == ["SUSPENDED"]
    assert service.set_status(credential["id"], "active").status_code == 200
    assert service.verify(credential).status_code == 200
    assert service.set_status(credential["id"], "revoked").status_code == 200
    response = service.verify(credential)
    assert response.status_code == 400 and _codes(response) == ["REVOKED"]
    reinstated = service.set_status(credential["id"], "active")
    assert (reinstated.status_code, reinstated.json()["code"]) == (409, "CONFLICT")
    assert service.set_status("urn:uuid:unknown", "revoked").status_code == 404


def test_kill_switch_suspends_every_live_credential_of_one_agent(service: RunningService) -> None:
    first, second = _issued(service, "did:example:rogue"), _issued(service, "did:example:rogue")
    bystander = _issued(service, "did:example:good")
    assert service.verify(first).status_code == 200  # the list is signed and served before the switch
    response = service.request("POST", "/agents/did:example:rogue/suspend", token=service.admin_token)
    assert sorted(response.json()["suspended"]) == sorted([first["id"], second["id"]])
    assert _codes(service.verify(first)) == ["SUSPENDED"]
    assert _codes(service.verify(second)) == ["SUSPENDED"]
    assert service.verify(bystander).status_code == 200


def test_kill_switch_reaches_a_verifier_that_already_fetched_the_list(service: RunningService) -> None:
    credential = _issued(service, "did:example:rogue")
    policy = FetchPolicy(allow_private=True, allow_http=True)
    resolver = default_resolver(allow_private=True, allow_http=True)
    clock = [datetime.now(UTC).timestamp()]
    checker = StatusListChecker(
        HTTPStatusListFetcher(policy, clock=lambda: clock[0]), VerifyOptions(resolver=resolver)
    )
    options = VerifyOptions(resolver=resolver, status_checker=checker)
    assert verify_credential(credential, options).verified
    switched = service.request("POST", "/agents/did:example:rogue/suspend", token=service.admin_token)
    clock[0] += service.config.list_max_age + 1  # the list's max-age is the kill switch's delay
    assert list(verify_credential(credential, options).codes) == ["SUSPENDED"]
    assert switched.json()["suspended"] == [credential["id"]]


def _challenge(service: RunningService, domain: str = "vendor.example") -> str:
    response = service.request("POST", "/challenges", json={"domain": domain})
    assert response.status_code == 201, response.text
    assert response.json()["domain"] == domain
    challenge: str = response.json()["challenge"]
    return challenge


def test_an_expired_challenge_is_refused(service: RunningService) -> None:
    agent = KeyPair.generate()
    credential = _issued(service, agent.did)
    challenge = _challenge(service)
    presentation = sign_presentation([credential], agent, challenge=challenge, domain="vendor.example")
    with service.issuer.store.write() as connection:  # its lifetime has passed
        connection.execute(
            text("UPDATE challenges SET expires_at = issued_at - 1 WHERE value = :v"), {"v": challenge}
        )
    body = {
        "verifiablePresentation": presentation,
        "options": {"challenge": challenge, "domain": "vendor.example"},
    }
    response = service.request("POST", "/presentations/verify", json=body)
    assert response.status_code == 400 and _codes(response) == ["CHALLENGE_EXPIRED"]


def test_presentation_verification_binds_challenge(service: RunningService) -> None:
    agent = KeyPair.generate()
    credential = _issued(service, agent.did)
    challenge = _challenge(service)
    presentation = sign_presentation([credential], agent, challenge=challenge, domain="vendor.example")
    body = {
        "verifiablePresentation": presentation,
        "options": {"challenge": challenge, "domain": "vendor.example"},
    }
    assert service.request("POST", "/presentations/verify", json=body).status_code == 200
    replayed = service.request("POST", "/presentations/verify", json=body)
    assert replayed.status_code == 400 and "CHALLENGE_REPLAYED" in _codes(replayed)
    body["options"]["challenge"] = "c-43-never-issued-by-the-service"
    response = service.request("POST", "/presentations/verify", json=body)
    assert response.status_code == 400 and "CHALLENGE_UNKNOWN" in _codes(response)
    missing = service.request("POST", "/presentations/verify", json={"verifiablePresentation": presentation})
    assert missing.status_code == 400 and missing.json()["code"] == "MALFORMED_INPUT"
    no_challenge = {"verifiablePresentation": presentation, "options": {"domain": "vendor.example"}}
    response = service.request("POST", "/presentations/verify", json=no_challenge)
    assert (response.status_code, response.json().get("code")) == (400, "MALFORMED_INPUT")


def test_presentation_of_another_agents_credential_is_refused(service: RunningService) -> None:
    """Issue 13.13: agent B presenting agent A's credential, signed with B's own key."""
    agent_a, agent_b = KeyPair.generate(), KeyPair.generate()
    credential_of_a = _issued(service, agent_a.did)
    for _ in range(2):
        challenge = _challenge(service)
        presentation = sign_presentation(
            [credential_of_a], agent_b, challenge=challenge, domain="vendor.example"
        )
        body = {
            "verifiablePresentation": presentation,
            "options": {"challenge": challenge, "domain": "vendor.example"},
        }
        response = service.request("POST", "/presentations/verify", json=body)
        assert _codes(response) == ["HOLDER_BINDING_MISMATCH"]
        assert response.status_code == 400


def test_a_challenge_is_bound_to_its_domain(service: RunningService) -> None:
    agent = KeyPair.generate()
    credential = _issued(service, agent.did)
    challenge = _challenge(service, "vendor.example")
    presentation = sign_presentation([credential], agent, challenge=challenge, domain="evil.example")
    body = {
        "verifiablePresentation": presentation,
        "options": {"challenge": challenge, "domain": "evil.example"},
    }
    response = service.request("POST", "/presentations/verify", json=body)
    assert response.status_code == 400 and "CHALLENGE_DOMAIN_MISMATCH" in _codes(response)


@pytest.mark.parametrize(
    ("credential", "options", "code"),
    [
        ({**agent_credential("did:example:a"), "issuer": "did:example:forged"}, None, "PROTECTED_PROPERTY"),
        (
            {
                **agent_credential("did:example:a"),
                "credentialStatus": {
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": "revocation",
                    "statusListCredential": "{base}/status/1",
                    "statusListIndex": "7",
                },
            },
            None,
            "PROTECTED_PROPERTY",
        ),
        (agent_credential("did:example:a"), {"credentialId": "urn:x"}, "UNKNOWN_OPTION"),
        (agent_credential("did:example:a"), {"validUntil": "2020-01-01T00:00:00Z"}, "INVALID_DOCUMENT"),
        (agent_credential("did:example:a"), {"validUntil": "2030-01-01T00:00:00"}, "INVALID_DOCUMENT"),
        ({**agent_credential("did:example:a"), "@context": [V2]}, None, "UNDEFINED_TERM"),
        (
            {**agent_credential("did:example:a"), "@context": [V2, "https://evil.example/v1"]},
            None,
            "UNKNOWN_CONTEXT",
        ),
        (
            {
                "@context": [V2],
                "type": ["VerifiableCredential"],
                "credentialSubject": [{"id": "did:e:a"}, {}],
            },
            None,
            "INVALID_DOCUMENT",
        ),
        (
            {**agent_credential("did:example:a"), "@context": [V2, {"role": "https://x.example/role"}]},
            None,
            "INLINE_CONTEXT",
        ),
    ],
)
def test_bad_issue_requests_are_refused_with_a_code_and_store_nothing(
    service: RunningService, credential: dict[str, Any], options: dict[str, Any] | None, code: str
) -> None:
    before = len(service.issuer.audit_entries(limit=1000))
    credential = json.loads(json.dumps(credential).replace("{base}", service.base))
    response = service.issue(credential, **(options or {}))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert response.headers["Content-Type"] == "application/problem+json"
    assert len(service.issuer.audit_entries(limit=1000)) == before


def test_an_already_expired_credential_is_not_issued(service: RunningService) -> None:
    now = datetime.now(UTC)
    window = {
        "validFrom": (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "validUntil": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    response = service.issue(agent_credential("did:example:a"), **window)
    assert (response.status_code, response.json()["code"]) == (400, "INVALID_DOCUMENT")
    assert response.json()["field"] == "options.validUntil"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "MALFORMED_INPUT"),
        (b'{"credential": {}, "credential": {}}', 400, "MALFORMED_INPUT"),
        (b'{"credential": NaN}', 400, "MALFORMED_INPUT"),
        (b"[" * 200 + b"]" * 200, 400, "INPUT_TOO_DEEP"),
        (b'{"credential": "' + b"a" * 1_100_000 + b'"}', 413, "INPUT_TOO_LARGE"),
        (b"", 400, "MALFORMED_INPUT"),
    ],
)
def test_malformed_bodies_get_problems_not_tracebacks(
    service: RunningService, body: bytes, status: int, code: str
) -> None:
    response = service.request(
        "POST",
        "/credentials/issue",
        token=service.admin_token,
        data=body,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert "Traceback" not in response.text


def test_tokens_scopes_and_revocation(service: RunningService) -> None:
    assert service.issue(agent_credential("did:example:a"), token="acc_wrong").status_code == 401
    no_token = service.request("POST", "/credentials/issue", json={"credential": agent_credential("did:e:a")})
    assert (no_token.status_code, no_token.json()["code"]) == (401, "UNAUTHORIZED")
    created = service.request(
        "POST", "/tokens", token=service.admin_token, json={"name": "status desk", "scopes": ["status"]}
    )
    assert created.status_code == 201
    status_token = created.json()["token"]
    refused = service.issue(agent_credential("did:example:a"), token=status_token)
    assert (refused.status_code, refused.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    credential = _issued(service)
    assert service.set_status(credential["id"], "suspended", token=status_token).status_code == 200
    assert (
        service.request("DELETE", f"/tokens/{created.json()['id']}", token=service.admin_token).status_code
        == 204
    )
    after_revocation = service.set_status(credential["id"], "active", token=status_token)
    assert (after_revocation.status_code, after_revocation.json()["code"]) == (401, "UNAUTHORIZED")
    bad_scope = service.request(
        "POST", "/tokens", token=service.admin_token, json={"name": "x", "scopes": ["root"]}
    )
    assert (bad_scope.status_code, bad_scope.json()["code"]) == (400, "INVALID_DOCUMENT")
    rows = service.issuer.store
    with rows.read() as connection:
        stored = connection.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert status_token not in stored and service.admin_token not in stored


@pytest.mark.parametrize("scope", ["issue", "status"])
def test_only_an_admin_token_creates_or_revokes_tokens(service: RunningService, scope: str) -> None:
    created = service.request(
        "POST", "/tokens", token=service.admin_token, json={"name": f"{scope} desk", "scopes": [scope]}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    for scopes in (["admin"], [scope]):
        minted = service.request("POST", "/tokens", token=token, json={"name": "escalate", "scopes": scopes})
        assert (minted.status_code, minted.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    revoked = service.request("DELETE", f"/tokens/{created.json()['id']}", token=token)
    assert (revoked.status_code, revoked.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    for method, path in (("GET", "/audit"), ("POST", "/keys/rotate")):
        response = service.request(method, path, token=token)
        assert (response.status_code, response.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    credential = _issued(service)
    if scope == "issue":
        refused = service.set_status(credential["id"], "revoked", token=token)
    else:
        refused = service.issue(agent_credential("did:example:a"), token=token)
    assert (refused.status_code, refused.json()["code"]) == (403, "INSUFFICIENT_SCOPE")
    assert [e["action"] for e in service.issuer.audit_entries(limit=1000)].count("token.create") == 1


def test_key_rotation_keeps_old_keys_while_their_credentials_live(service: RunningService) -> None:
    old = _issued(service)
    rotated = service.request("POST", "/keys/rotate", token=service.admin_token)
    assert rotated.status_code == 201 and rotated.json()["keyId"] == f"{service.did}#key-2"
    new = _issued(service)
    assert new["proof"]["verificationMethod"] == f"{service.did}#key-2"
    document = service.request("GET", "/.well-known/did.json").json()
    assert [m["id"] for m in document["verificationMethod"]] == [
        f"{service.did}#key-1",
        f"{service.did}#key-2",
    ]
    assert service.verify(old).status_code == 200 and service.verify(new).status_code == 200
    service.set_status(old["id"], "revoked")  # the only live credential of key-1 is gone
    document = service.request("GET", "/.well-known/did.json").json()
    assert [m["id"] for m in document["verificationMethod"]] == [f"{service.did}#key-2"]


def test_status_list_is_signed_cacheable_and_large(service: RunningService) -> None:
    credential = _issued(service)
    url = credential["credentialStatus"][0]["statusListCredential"]
    response = service.request("GET", url[len(service.base) :])
    assert response.headers["Cache-Control"] == f"max-age={service.config.list_max_age}"
    status_list = response.json()
    assert status_list["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert service.verify(status_list).status_code == 200
    assert service.request("GET", "/status/999").status_code == 404


def test_audit_log_is_chained_signed_and_tamper_evident(service: RunningService) -> None:
    credential = _issued(service)
    service.set_status(credential["id"], "revoked")
    entries = service.request("GET", "/audit", token=service.admin_token).json()["entries"]
    assert [e["action"] for e in entries] == ["issuer.init", "credential.issue", "credential.status"]
    assert entries[1]["previousDigest"] == entries[0]["digest"]
    assert service.issuer.verify_audit().verified
    with service.issuer.store.write() as connection:
        connection.execute(
            text("UPDATE audit_log SET details = :d WHERE seq = 2"),
            {"d": json.dumps({"id": "urn:uuid:someone-else"})},
        )
    result = service.issuer.verify_audit()
    assert not result.verified and [c.name for c in result.errors] == ["audit[2]"]
    with service.issuer.store.write() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    assert "AUDIT_CHAIN_BROKEN" in service.issuer.verify_audit().codes


def test_audit_entries_are_signed_not_only_hashed(service: RunningService) -> None:
    """Someone with write access to the database rewrites the last entry and recomputes its
    digest and the head: the chain is consistent again, only the signature tells."""
    credential = _issued(service)
    service.set_status(credential["id"], "revoked")
    assert service.issuer.verify_audit().verified
    with service.issuer.store.write() as connection:
        row = connection.execute(text("SELECT * FROM audit_log WHERE seq = 3")).mappings().one()
        details = {"id": credential["id"], "status": "active"}
        digest = entry_digest(
            row["seq"], row["at"], row["actor"], row["action"], details, row["previous_digest"]
        )
        connection.execute(
            text("UPDATE audit_log SET details = :details, digest = :digest WHERE seq = 3"),
            {"details": json.dumps(details), "digest": digest},
        )
        connection.execute(text("UPDATE audit_head SET digest = :digest"), {"digest": digest})
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("audit[3]", "AUDIT_CHAIN_BROKEN")]
    assert "signature" in result.errors[0].message


def _rewind_audit(service: RunningService, to_seq: int) -> None:
    """Set the head back to entry ``to_seq`` (as a restored backup would), keeping later rows."""
    with service.issuer.store.write() as connection:
        digest = connection.execute(
            text("SELECT digest FROM audit_log WHERE seq = :s"), {"s": to_seq}
        ).scalar()
        connection.execute(text("UPDATE audit_head SET seq = :s, digest = :d"), {"s": to_seq, "d": digest})


def test_audit_entries_spliced_from_two_histories_are_detected(service: RunningService) -> None:
    """Every entry is genuine and signed, numbered 1, 2, 3, the head matches the last one: but
    entry 3 continues another history than entry 2 (a log restored from a backup, then mixed)."""
    _issued(service)  # entry 2 of the first history
    with service.issuer.store.read() as connection:
        first = dict(connection.execute(text("SELECT * FROM audit_log WHERE seq = 2")).mappings().one())
    with service.issuer.store.write() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    _rewind_audit(service, 1)
    _issued(service, "did:example:agent-2")  # entries 2 and 3 of the second history
    _issued(service, "did:example:agent-3")
    with service.issuer.store.write() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        columns = ", ".join(first)
        connection.execute(text(f"INSERT INTO audit_log ({columns}) VALUES (:{', :'.join(first)})"), first)
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("audit[3]", "AUDIT_CHAIN_BROKEN")]
    assert "previousDigest" in result.errors[0].message


def test_a_missing_audit_entry_is_detected_even_when_the_links_hold(service: RunningService) -> None:
    """Entry 3 is lost and the log went on from entry 2: each entry links to the one before
    it, but the numbering has a gap."""
    _issued(service)
    with service.issuer.store.write() as connection:
        connection.execute(text("UPDATE audit_head SET seq = 3"))
    _issued(service, "did:example:agent-2")  # entry 4, linked to entry 2
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("audit[4]", "AUDIT_CHAIN_BROKEN")]
    assert "entries are missing" in result.errors[0].message


def test_audit_log_cut_off_at_the_end_is_detected(service: RunningService) -> None:
    credential = _issued(service)
    service.set_status(credential["id"], "revoked")
    with service.issuer.store.write() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    result = service.issuer.verify_audit()
    assert [(c.name, c.code) for c in result.errors] == [("audit.head", "AUDIT_CHAIN_BROKEN")]


def test_every_route_is_in_the_openapi_document(service: RunningService) -> None:
    documented = {
        (path, method.upper()) for path, item in service.openapi["paths"].items() for method in item
    }
    served = set()
    for rule in service.app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.startswith("console."):
            continue  # the console's HTML pages are not the API
        from service_harness import _RULES

        for method in rule.methods - {"HEAD", "OPTIONS"}:
            served.add((_RULES.get(rule.rule, rule.rule), method))
    assert served == documented


def test_rate_limit_per_token(tmp_path: Path) -> None:
    running = RunningService(tmp_path / "data", None, rate_limit_per_minute=3)
    try:
        responses = [running.request("GET", "/audit", token=running.admin_token) for _ in range(4)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429]
        assert responses[3].json()["code"] == "RATE_LIMITED"
    finally:
        running.close()


def test_did_key_issuer_cannot_rotate(tmp_path: Path) -> None:
    running = RunningService(tmp_path / "data", None, did_web=False)
    try:
        assert running.did.startswith("did:key:")
        credential = _issued(running)
        assert running.verify(credential).status_code == 200
        response = running.request("POST", "/keys/rotate", token=running.admin_token)
        assert (response.status_code, response.json()["code"]) == (409, "CONFLICT")
    finally:
        running.close()


def test_a_new_status_list_opens_when_one_fills(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from accredit.service import storage

    monkeypatch.setattr(storage, "LIST_FILL", 2)
    running = RunningService(tmp_path / "data", None)
    try:
        issued = [_issued(running, f"did:example:agent-{n}") for n in range(3)]
        lists = [c["credentialStatus"][0]["statusListCredential"] for c in issued]
        assert lists[0] == lists[1] != lists[2]
        assert all(running.verify(c).status_code == 200 for c in issued)
        running.set_status(issued[2]["id"], "revoked")
        assert _codes(running.verify(issued[2])) == ["REVOKED"]
        assert running.verify(issued[0]).status_code == 200
    finally:
        running.close()
