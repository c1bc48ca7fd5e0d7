"""Interop: an independent OpenID4VCI wallet, Sphereon's ``@sphereon/oid4vci-client`` (installed
from npm into a temporary folder), collects an agent's credential from the service over HTTP on
127.0.0.1 with the pre-authorized code flow and a ``jwt`` key proof.

That client speaks draft 13 of the specification (``proof``, ``format`` with
``credential_definition``, the ``c_nonce`` in the token response), which the service answers
beside 1.0. Skipped where node or npm is missing; under ``ACCREDIT_REQUIRE_PEERS=1`` (CI) a skip
fails the run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from service_harness import RunningService

from accredit import KeyPair, verify_credential
from accredit.agents import AgentIdentity

HERE = Path(__file__).resolve().parent / "interop"
PROFILE = {
    "builtBy": {"name": "Acme AI Lab"},
    "build": {"name": "procure-bot", "version": "2.1.0"},
    "liabilityContact": {"email": "legal@acme.example"},
    "escalationContact": {"email": "lead@acme.example"},
}


@pytest.fixture(scope="module")
def sphereon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the independent OpenID4VCI client")
    folder = tmp_path_factory.mktemp("oid4vci-client")
    for name in ("package.json", "oid4vci_client.mjs"):
        shutil.copy(HERE / name, folder / name)
    installed = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if installed.returncode != 0:
        pytest.skip(f"npm could not install @sphereon/oid4vci-client: {installed.stderr[-500:]}")
    return folder


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", None)
    yield running
    running.close()


def _collect(
    sphereon: Path, uri: str, key_file: Path, kid: str, *tx_code: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", "oid4vci_client.mjs", uri, str(key_file), kid, *tx_code],
        cwd=sphereon,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sphereons_wallet_collects_an_agent_credential(
    sphereon: Path, service: RunningService, tmp_path: Path
) -> None:
    agent = KeyPair.generate()
    registered = service.request(
        "POST", "/agents", token=service.admin_token, json={"did": agent.did, **PROFILE}
    )
    assert registered.status_code == 201, registered.text
    offer = service.request(
        "POST",
        f"/agents/{agent.did}/offers",
        token=service.admin_token,
        json={"credentials": ["AgentCredential"], "txCode": True},
    ).json()
    key_file = tmp_path / "agent.jwk"
    key_file.write_text(json.dumps(agent.to_jwk(include_private=True)))
    collected = _collect(sphereon, offer["uri"], key_file, agent.id, offer["txCode"])
    assert collected.returncode == 0, collected.stderr[-2000:]
    [credential] = json.loads(collected.stdout)["credentials"]
    assert credential == registered.json()["agentCredential"]
    assert AgentIdentity.from_credential(credential).agent == agent.did
    assert verify_credential(credential, service.issuer.verify_options()).verified


def test_sphereons_wallet_is_refused_with_another_key(
    sphereon: Path, service: RunningService, tmp_path: Path
) -> None:
    agent, mallory = KeyPair.generate(), KeyPair.generate()
    service.request("POST", "/agents", token=service.admin_token, json={"did": agent.did, **PROFILE})
    offer = service.request(
        "POST",
        f"/agents/{agent.did}/offers",
        token=service.admin_token,
        json={"credentials": ["AgentCredential"]},
    ).json()
    key_file = tmp_path / "mallory.jwk"
    key_file.write_text(json.dumps(mallory.to_jwk(include_private=True)))
    collected = _collect(sphereon, offer["uri"], key_file, mallory.id)
    assert collected.returncode == 1
    assert "400" in collected.stderr
