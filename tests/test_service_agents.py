"""Issue 11 over real HTTP on 127.0.0.1, SQLite and PostgreSQL: agents as service objects,
mandates `authorize` accepts, and OpenID4VCI pre-authorized code issuance with key proofs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from service_harness import RunningService

from accredit import KeyPair, Verifier, Wallet, sign_presentation
from accredit._dates import utcnow
from accredit.agents import AgentIdentity, Mandate
from accredit.errors import IssuerRequestError
from accredit.oid4vci import accept_offer, key_proof
from accredit.policy import AuthorizationRequest
from accredit.status import StaticStatusListFetcher
from accredit.trust import TrustedIssuer, TrustRegistry

PROFILE = {
    "name": "Procurement agent",
    "builtBy": {"name": "Acme AI Lab"},
    "build": {"name": "procure-bot", "version": "2.1.0"},
    "liabilityContact": {"email": "legal@acme.example"},
    "escalationContact": {"role": "procurement lead", "email": "lead@acme.example"},
}
MANDATE = {
    "actions": ["contract.sign"],
    "purpose": "sign supplier contracts",
    "transactionLimit": {"amount": "250000.00", "currency": "USD"},
    "escalationThreshold": {"amount": "200000.00", "currency": "USD"},
    "counterparties": [{"domain": "suppliers.example"}, {"id": "did:web:parts.example"}],
    "delegationDepth": 0,
}


@pytest.fixture
def service(tmp_path: Path, database_url: str | None) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", database_url)
    yield running
    running.close()


def register(service: RunningService, agent: KeyPair) -> dict[str, Any]:
    response = service.request(
        "POST", "/agents", token=service.admin_token, json={"did": agent.did, **PROFILE}
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def mandate(service: RunningService, agent: KeyPair, body: dict[str, Any] | None = None) -> requests.Response:
    return service.request(
        "POST", f"/agents/{quote(agent.did)}/mandates", token=service.admin_token, json=body or MANDATE
    )


def offer(service: RunningService, agent: KeyPair, **body: Any) -> dict[str, Any]:
    response = service.request("POST", f"/agents/{agent.did}/offers", token=service.admin_token, json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _decide(service: RunningService, agent: KeyPair, credentials: list[dict[str, Any]], amount: str) -> Any:
    """A vendor's decision on a contract for ``amount`` USD, presented by ``agent``."""
    vendor = Verifier(
        trust=TrustRegistry([TrustedIssuer(service.did)]),
        resolver=service.issuer.resolver,
        status_fetcher=StaticStatusListFetcher(service.issuer.fetch_list),
    )
    challenge = vendor.create_request(domain="vendor.example")["challenge"]
    presentation = sign_presentation(credentials, agent, challenge=challenge, domain="vendor.example")
    request = AuthorizationRequest(
        action="contract.sign",
        at=utcnow(),
        amount=Decimal(amount),
        currency="USD",
        counterparty="did:web:parts.example",
    )
    return vendor.authorize(presentation, request, challenge=challenge, domain="vendor.example")


def test_a_registered_agent_and_its_mandate_are_what_authorize_accepts(service: RunningService) -> None:
    agent = KeyPair.generate()
    registered = register(service, agent)
    agent_credential = registered["agentCredential"]
    identity = AgentIdentity.from_credential(agent_credential)
    suspension = next(e for e in agent_credential["credentialStatus"] if e["statusPurpose"] == "suspension")
    assert identity.kill_switch == suspension["id"] and identity.acts_for["id"] == service.did
    issued = mandate(service, agent)
    assert issued.status_code == 201, issued.text
    mandate_credential = issued.json()["mandate"]
    assert Mandate.from_credential(mandate_credential).agent_credential.digest == identity.digest
    credentials = [agent_credential, mandate_credential]
    assert [_decide(service, agent, credentials, a).decision for a in ("180000", "300000", "220000")] == [
        "allow",
        "deny",
        "escalate",
    ]
    shown = service.request("GET", f"/agents/{agent.did}", token=service.admin_token).json()
    assert shown["state"] == "active" and shown["name"] == PROFILE["name"]
    assert sorted((c["id"], c["status"]) for c in shown["credentials"]) == sorted(
        [(agent_credential["id"], "active"), (mandate_credential["id"], "active")]
    )
    listed = service.request("GET", "/agents", token=service.admin_token).json()["agents"]
    assert [a["agent"] for a in listed] == [agent.did]
    service.request("POST", f"/agents/{agent.did}/suspend", token=service.admin_token)
    assert _decide(service, agent, credentials, "1000").decision == "deny"
    again = mandate(service, agent)
    assert (again.status_code, again.json()["code"]) == (409, "AGENT_SUSPENDED")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"transactionLimit": {"amount": "1e5", "currency": "USD"}}, "transactionLimit.amount"),
        ({"delegationDepth": 99}, "delegationDepth"),
        ({"counterparties": [{"domain": "Not A Domain"}]}, "counterparties"),
        ({"spendEverything": True}, "spendEverything"),
        ({"actions": []}, "actions"),
    ],
)
def test_a_malformed_mandate_is_refused_with_the_field_named(
    service: RunningService, change: dict[str, Any], field: str
) -> None:
    agent = KeyPair.generate()
    register(service, agent)
    response = mandate(service, agent, {**MANDATE, **change})
    assert response.status_code == 400, response.text
    assert response.json()["field"].startswith(field), response.json()


def test_registration_errors(service: RunningService) -> None:
    agent = KeyPair.generate()
    missing = service.request("POST", "/agents", token=service.admin_token, json={"did": agent.did})
    assert missing.status_code == 400 and missing.json()["field"] == "build"
    register(service, agent)
    twice = service.request("POST", "/agents", token=service.admin_token, json={"did": agent.did, **PROFILE})
    assert (twice.status_code, twice.json()["code"]) == (409, "CONFLICT")
    unknown = mandate(service, KeyPair.generate())
    assert (unknown.status_code, unknown.json()["code"]) == (404, "AGENT_NOT_FOUND")


def test_reissue_replaces_the_agent_credential_and_its_mandates(service: RunningService) -> None:
    agent = KeyPair.generate()
    old_agent = register(service, agent)["agentCredential"]
    old_mandate = mandate(service, agent).json()["mandate"]
    response = service.request("POST", f"/agents/{agent.did}/reissue", token=service.admin_token, json={})
    assert response.status_code == 201, response.text
    new_agent, [new_mandate] = response.json()["agentCredential"], response.json()["mandates"]
    assert Mandate.from_credential(new_mandate).agent_credential.id == new_agent["id"]
    assert _decide(service, agent, [new_agent, new_mandate], "1000").decision == "allow"
    assert _decide(service, agent, [old_agent, old_mandate], "1000").decision == "deny"


# --- OpenID4VCI -------------------------------------------------------------------------------


def test_an_agent_collects_its_credentials_with_an_offer(service: RunningService, tmp_path: Path) -> None:
    agent = KeyPair.generate()
    register(service, agent)
    mandate(service, agent)
    made = offer(service, agent)
    assert made["uri"].startswith("openid-credential-offer://?credential_offer=")
    wallet = Wallet.create(
        tmp_path / "wallet", passphrase="a long passphrase for tests", scrypt_n=2**14, key=agent
    )
    collected = wallet.accept_offer(made["uri"])
    assert [c["type"][1] for c in collected] == ["AgentCredential", "MandateCredential"]
    assert wallet.credentials("MandateCredential") == [collected[1]]
    again = pytest.raises(IssuerRequestError, accept_offer, made["uri"], agent)
    assert again.value.issuer_code == "invalid_grant"  # single use


def test_metadata_describes_the_endpoints(service: RunningService) -> None:
    issuer = service.request("GET", "/.well-known/openid-credential-issuer").json()
    assert issuer["credential_issuer"] == service.base
    assert issuer["credential_endpoint"] == service.base + "/credential"
    configuration = issuer["credential_configurations_supported"]["MandateCredential"]
    assert configuration["format"] == "ldp_vc"
    assert configuration["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == [
        "ES256",
        "EdDSA",
    ]
    server = service.request("GET", "/.well-known/oauth-authorization-server").json()
    assert server["token_endpoint"] == service.base + "/token"
    assert server["pre-authorized_grant_anonymous_access_supported"] is True


def _token(service: RunningService, made: dict[str, Any], **extra: str) -> requests.Response:
    code = made["offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"][
        "pre-authorized_code"
    ]
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        "pre-authorized_code": code,
        **extra,
    }
    return service.request("POST", "/token", data=form)


def _nonce(service: RunningService) -> str:
    response = service.request("POST", "/nonce")
    assert response.headers["Cache-Control"] == "no-store"
    value: str = response.json()["c_nonce"]
    return value


def _credential(
    service: RunningService, access_token: str, proof: str, configuration: str = "AgentCredential"
) -> requests.Response:
    return service.request(
        "POST",
        "/credential",
        json={"credential_configuration_id": configuration, "proofs": {"jwt": [proof]}},
        headers={"Authorization": f"Bearer {access_token}"},
    )


def test_the_token_endpoint_checks_the_transaction_code(service: RunningService) -> None:
    agent = KeyPair.generate()
    register(service, agent)
    made = offer(service, agent, txCode=True)
    assert (
        made["offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"]
        == 6
    )
    assert _token(service, made).json()["error"] == "invalid_request"
    wrong = "000000" if made["txCode"] != "000000" else "111111"
    refused = _token(service, made, tx_code=wrong)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_grant")
    granted = _token(service, made, tx_code=made["txCode"])
    assert granted.status_code == 200 and granted.json()["token_type"] == "Bearer"
    assert _token(service, made, tx_code=made["txCode"]).json()["error"] == "invalid_grant"  # used
    unsupported = service.request("POST", "/token", data={"grant_type": "password"})
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_guessing_the_transaction_code_spends_the_offer(service: RunningService) -> None:
    agent = KeyPair.generate()
    register(service, agent)
    made = offer(service, agent, txCode=True)
    wrong = [f"{n:06d}" for n in range(7) if f"{n:06d}" != made["txCode"]][:5]
    for guess in wrong:
        assert _token(service, made, tx_code=guess).json()["error"] == "invalid_grant"
    assert _token(service, made, tx_code=made["txCode"]).json()["error"] == "invalid_grant"


def test_the_credential_endpoint_needs_the_agents_key_a_fresh_nonce_and_this_issuer(
    service: RunningService,
) -> None:
    agent, mallory = KeyPair.generate(), KeyPair.generate()
    register(service, agent)
    access = _token(service, offer(service, agent)).json()["access_token"]
    by_other_key = _credential(
        service, access, key_proof(mallory, audience=service.base, nonce=_nonce(service))
    )
    assert (by_other_key.status_code, by_other_key.json()["error"]) == (400, "invalid_proof")
    other_audience = _credential(
        service, access, key_proof(agent, audience="https://evil.example", nonce=_nonce(service))
    )
    assert other_audience.json()["error"] == "invalid_proof"
    unknown_nonce = _credential(service, access, key_proof(agent, audience=service.base, nonce="made-up"))
    assert unknown_nonce.json()["error"] == "invalid_nonce"
    proof = key_proof(agent, audience=service.base, nonce=_nonce(service))
    good = _credential(service, access, proof)
    assert good.status_code == 200, good.text
    assert good.json()["credentials"][0]["credential"]["credentialSubject"]["id"] == agent.did
    replayed = _credential(service, access, proof)
    assert replayed.json()["error"] == "invalid_nonce"
    unoffered = _credential(
        service, access, key_proof(agent, audience=service.base, nonce=_nonce(service)), "Other"
    )
    assert unoffered.json()["error"] == "unknown_credential_configuration"
    no_token = _credential(
        service, "not-a-token", key_proof(agent, audience=service.base, nonce=_nonce(service))
    )
    assert no_token.status_code == 401 and no_token.json()["error"] == "invalid_token"
    assert no_token.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_offer_expires_and_a_suspended_agent_gets_nothing(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from accredit.service import oid4vci

    agent = KeyPair.generate()
    register(service, agent)
    made = offer(service, agent)
    later = oid4vci.now_seconds() + oid4vci.OFFER_LIFETIME + 1
    monkeypatch.setattr(oid4vci, "now_seconds", lambda: later)
    assert _token(service, made).json()["error"] == "invalid_grant"
    monkeypatch.undo()
    access = _token(service, offer(service, agent)).json()["access_token"]
    service.request("POST", f"/agents/{agent.did}/suspend", token=service.admin_token)
    denied = _credential(service, access, key_proof(agent, audience=service.base, nonce=_nonce(service)))
    assert denied.json()["error"] == "credential_request_denied"
    refused = service.request("POST", f"/agents/{agent.did}/offers", token=service.admin_token, json={})
    assert refused.status_code in (404, 409)


def test_an_offer_uri_carries_the_offer_by_value(service: RunningService) -> None:
    agent = KeyPair.generate()
    register(service, agent)
    made = offer(service, agent, credentials=["AgentCredential"])
    value = json.loads(parse_qs(urlsplit(made["uri"]).query)["credential_offer"][0])
    assert value == made["offer"] and value["credential_configuration_ids"] == ["AgentCredential"]
    assert timedelta(seconds=made["expires_in"]) <= timedelta(minutes=10)


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_registers_issues_offers_and_the_wallet_accepts(
    service: RunningService, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    env |= {
        "ACCREDIT_ISSUER_TOKEN": service.admin_token,
        "ACCREDIT_WALLET_PASSPHRASE": "a long passphrase for tests",
    }
    created = _cli("wallet", "init", "--wallet", "agent-wallet", env=env, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    did = json.loads(created.stdout)["did"]
    (tmp_path / "agent.json").write_text(json.dumps({"did": did, **PROFILE}))
    (tmp_path / "mandate.json").write_text(json.dumps(MANDATE))
    issuer = ["--issuer", service.base]
    registered = _cli("agent", "register", *issuer, "agent.json", env=env, cwd=tmp_path)
    assert registered.returncode == 0 and registered.stdout.startswith(f"registered {did}"), registered.stderr
    mandated = _cli("agent", "mandate", *issuer, did, "mandate.json", "--json", env=env, cwd=tmp_path)
    assert (
        mandated.returncode == 0 and json.loads(mandated.stdout)["mandate"]["type"][1] == "MandateCredential"
    )
    offered = _cli("agent", "offer", *issuer, did, "--json", env=env, cwd=tmp_path)
    uri = json.loads(offered.stdout)["uri"]
    accepted = _cli("wallet", "accept", "--wallet", "agent-wallet", uri, env=env, cwd=tmp_path)
    assert accepted.returncode == 0, accepted.stderr
    assert len(json.loads(accepted.stdout)) == 2
    shown = _cli("agent", "show", *issuer, did, env=env, cwd=tmp_path)
    assert shown.stdout.splitlines()[0] == f"{did}  active" and shown.stdout.count("active") == 3
    assert _cli("agent", "suspend", *issuer, did, env=env, cwd=tmp_path).returncode == 0
    listed = _cli("agent", "list", *issuer, env=env, cwd=tmp_path)
    assert listed.stdout.startswith(f"suspended  {did}")
    refused = _cli("agent", "mandate", *issuer, did, "mandate.json", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and "AGENT_SUSPENDED" in refused.stderr
    assert _cli("agent", "reinstate", *issuer, did, env=env, cwd=tmp_path).returncode == 0
    unknown = _cli("agent", "show", *issuer, "did:example:nobody", env=env, cwd=tmp_path)
    assert unknown.returncode == 1 and "AGENT_NOT_FOUND" in unknown.stderr
