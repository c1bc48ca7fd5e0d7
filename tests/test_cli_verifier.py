"""The counterparty's commands for people: `accredit request` for several credential types,
`accredit authorize` (exit 0 allow, 1 deny, 3 escalate, every reason), challenges accepted once
through the CLI's local store, human verdicts by default and --json for machines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import LocalServer

from accredit import KeyPair, Wallet, issue_credential
from accredit.agents import Counterparties, Money, agent_credential, mandate_credential
from accredit.status import new_list, status_entry, status_list_credential

PASSPHRASE = "correct horse battery staple"
DOMAIN = "vendor.example"


def accredit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCREDIT_WALLET_PASSPHRASE": PASSPHRASE}
    env.pop("ACCREDIT_VERIFIER_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def agent(tmp_path: Path, local_server: LocalServer) -> Path:
    """An agent's wallet with an AgentCredential and a MandateCredential from Acme, whose
    kill-switch list is served on 127.0.0.1; trust.json names Acme."""
    acme, key, now = KeyPair.generate(), KeyPair.generate(), datetime.now(UTC)
    list_url = f"{local_server.base}/status/1"
    status_list = status_list_credential(
        list_url,
        acme.did,
        "suspension",
        new_list(),
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(minutes=10),
    )
    local_server.json("/status/1", issue_credential(status_list, acme, created=now - timedelta(minutes=1)))
    identity = issue_credential(
        agent_credential(
            agent=key.did,
            organization={"id": acme.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={"name": "acme-buyer", "version": "2.3.1"},
            liability_contact={"role": "Chief Procurement Officer"},
            escalation_contact={"url": "mailto:procurement@acme.example"},
            kill_switch=status_entry(list_url, 3, "suspension"),
            valid_from=now - timedelta(days=1),
        ),
        acme,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=acme.did,
            agent_credential=identity,
            actions=["contract.sign"],
            purpose="Office furniture",
            valid_from=now - timedelta(days=1),
            valid_until=now + timedelta(days=30),
            transaction_limit=Money.of("5000.00", "USD"),
            escalation_threshold=Money.of("3000.00", "USD"),
            counterparties=Counterparties.of(DOMAIN),
        ),
        acme,
    )
    wallet = Wallet.create(tmp_path / "wallet", key, passphrase=PASSPHRASE, scrypt_n=2**14)
    wallet.import_credential(identity)
    wallet.import_credential(mandate)
    (tmp_path / "trust.json").write_text(json.dumps({"issuers": [{"id": acme.did}]}))
    return tmp_path


def presented(cwd: Path, *, by_cli: bool = False) -> tuple[str, Path]:
    """A request for both credential types, answered by the wallet (through `accredit wallet
    present` when ``by_cli``): (challenge, presentation file)."""
    request = accredit(
        "request", "--domain", DOMAIN, "--type", "AgentCredential", "--type", "MandateCredential", cwd=cwd
    )
    assert request.returncode == 0, request.stderr
    (cwd / "request.json").write_text(request.stdout)
    if by_cli:
        answer = accredit("wallet", "present", "--wallet", "wallet", "request.json", cwd=cwd)
        assert answer.returncode == 0, answer.stderr  # one credential of each type
        presentation = json.loads(answer.stdout)
    else:
        wallet = Wallet.open(cwd / "wallet", passphrase=PASSPHRASE)
        presentation = wallet.present(json.loads(request.stdout), domain=DOMAIN)
    assert len(presentation["verifiableCredential"]) == 2
    (cwd / "presentation.json").write_text(json.dumps(presentation))
    return json.loads(request.stdout)["challenge"], cwd / "presentation.json"


def authorize(cwd: Path, challenge: str, *flags: str) -> subprocess.CompletedProcess[str]:
    common = ["--trust", "trust.json", f"--challenge={challenge}", "--domain", DOMAIN, "--allow-private"]
    return accredit(
        "authorize",
        *common,
        "--action",
        "contract.sign",
        "--counterparty",
        "did:web:vendor.example",
        *flags,
        "presentation.json",
        cwd=cwd,
    )


def test_authorize_allows_once_and_says_why_in_plain_words(agent: Path) -> None:
    challenge, _ = presented(agent, by_cli=True)
    allowed = authorize(agent, challenge, "--amount", "1200.00", "--currency", "USD")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    lines = allowed.stdout.splitlines()
    assert lines[0] == "ALLOW: contract.sign 1200.00 USD with did:web:vendor.example"
    assert "checked: single-use challenge" in lines[-1] and "transaction limit" in lines[-1]
    replayed = authorize(agent, challenge, "--amount", "1200.00", "--currency", "USD")
    assert replayed.returncode == 1 and replayed.stdout.startswith("DENY")
    assert "(CHALLENGE_REPLAYED)" in replayed.stdout


@pytest.mark.parametrize(
    ("flags", "exit_code", "code"),
    [
        (["--amount", "6000.00", "--currency", "USD"], 1, "LIMIT_EXCEEDED"),
        (["--amount", "4000.00", "--currency", "USD"], 3, "ESCALATION_REQUIRED"),
        ([], 1, "AMOUNT_REQUIRED"),
        (["--amount", "10.00", "--currency", "EUR"], 1, "CURRENCY_MISMATCH"),
    ],
)
def test_authorize_exit_codes_and_reasons(agent: Path, flags: list[str], exit_code: int, code: str) -> None:
    challenge, _ = presented(agent)
    decided = authorize(agent, challenge, "--json", *flags)
    assert decided.returncode == exit_code, decided.stdout + decided.stderr
    decision = json.loads(decided.stdout)
    assert code in decision["codes"]
    assert decision["decision"] == {0: "allow", 1: "deny", 3: "escalate"}[exit_code]


def test_authorize_words_an_escalation_and_a_non_monetary_action(agent: Path) -> None:
    challenge, _ = presented(agent)
    escalated = authorize(agent, challenge, "--amount", "4000.00", "--currency", "USD")
    assert escalated.returncode == 3 and escalated.stdout.startswith("ESCALATE: contract.sign 4000.00 USD")
    assert "escalation contact: {'url': 'mailto:procurement@acme.example'}" in escalated.stdout
    challenge, _ = presented(agent)
    declared = authorize(agent, challenge, "--non-monetary", "contract.sign")
    assert declared.returncode == 0, declared.stdout


def test_authorize_refuses_bad_input_with_exit_2(agent: Path) -> None:
    challenge, _ = presented(agent)
    half = authorize(agent, challenge, "--amount", "10.00")
    assert half.returncode == 2 and half.stdout == ""
    assert half.stderr.startswith("accredit: MALFORMED_INPUT: --amount and --currency go together")
    negative = authorize(agent, challenge, "--amount", "-1", "--currency", "USD")
    assert negative.returncode == 2 and "INVALID_DOCUMENT" in negative.stderr


def test_verify_with_trust_says_what_was_checked(agent: Path) -> None:
    challenge, presentation = presented(agent)
    common = ["--challenge=" + challenge, "--domain", DOMAIN, "--allow-private", str(presentation)]
    verified = accredit("verify", "--trust", "trust.json", *common, cwd=agent)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.startswith("VERIFIED: presentation\n")
    assert "issuer trust" in verified.stdout and "not checked" not in verified.stdout
