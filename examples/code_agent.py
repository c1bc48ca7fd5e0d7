"""Code agent: who built the merge bot, what it merged, and an audit that catches a forged record.

Acme runs a merge bot built by Example Labs. Its AgentCredential says who built it and which
build it is (down to the digest of its configuration). Every merge it makes is an
ActionReceipt it signs itself, chained to the previous one by digest. An auditor verifies the
chain, then finds the one receipt someone altered afterwards.

Run: ``python examples/code_agent.py``. Exits 1 if any outcome is not the expected one.
"""

from __future__ import annotations

import copy
import hashlib
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from accredit import KeyPair, VerifyOptions, issue_credential, verify_credential
from accredit.agents import (
    AgentIdentity,
    action_receipt,
    agent_credential,
    digest_multibase,
    mandate_credential,
    verify_receipt_chain,
)
from accredit.status import (
    StaticStatusListFetcher,
    StatusListChecker,
    new_list,
    status_entry,
    status_list_credential,
)

NOW = datetime(2026, 4, 14, 16, 0, tzinfo=UTC)
BOT_CONFIG = b'{"model": "example-code-2", "tools": ["git", "pytest"], "review_required": true}\n'


def suspension_list(key: KeyPair, url: str) -> StaticStatusListFetcher:
    """Acme's (all clear) suspension list, served from memory."""
    unsigned = status_list_credential(
        url,
        key.did,
        "suspension",
        new_list(),
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
    )
    return StaticStatusListFetcher({url: issue_credential(unsigned, key, created=NOW)})


def main() -> int:
    acme, labs, bot = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    list_url = "https://acme.example/status/suspension"
    identity = issue_credential(
        agent_credential(
            agent=bot.did,
            organization={"id": acme.did, "name": "Acme Corp"},
            built_by={"id": labs.did, "name": "Example Labs"},
            build={
                "name": "merge-bot",
                "model": "example-code-2",
                "version": "1.4.2",
                "digestMultibase": digest_multibase(BOT_CONFIG),
            },
            liability_contact={"role": "Head of Platform Engineering", "email": "platform@acme.example"},
            escalation_contact={"role": "On-call engineer", "url": "https://acme.example/oncall"},
            kill_switch=status_entry(list_url, 7, "suspension"),
            valid_from=NOW - timedelta(days=30),
        ),
        acme,
        created=NOW,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=acme.did,
            agent_credential=identity,
            actions=["code.merge"],
            purpose="Merge reviewed pull requests into acme/payments",
            valid_from=NOW - timedelta(days=30),
            valid_until=NOW + timedelta(days=60),
        ),
        acme,
        created=NOW,
    )

    options = VerifyOptions(
        now=NOW, status_checker=StatusListChecker(suspension_list(acme, list_url), VerifyOptions(now=NOW))
    )
    if not verify_credential(identity, options).verified:
        print("UNEXPECTED: the AgentCredential does not verify")
        return 1
    about = AgentIdentity.from_credential(identity)
    builder, owner = about.built_by["name"], about.acts_for["name"]
    print(f"merge-bot {about.build['version']} built by {builder}, acting for {owner}")
    config_ok = about.build.get("digestMultibase") == digest_multibase(BOT_CONFIG)
    print(f"running configuration matches the attested digest: {config_ok}")

    receipts: list[dict[str, Any]] = []
    for number in range(5):
        commit = hashlib.sha1(f"acme/payments change {number}".encode()).hexdigest()
        unsigned = action_receipt(
            agent=bot.did,
            action="code.merge",
            mandate=mandate,
            performed_at=NOW - timedelta(hours=5 - number),
            object_ref=f"git:acme/payments@{commit}",
            previous=receipts[-1] if receipts else None,
        )
        receipts.append(issue_credential(unsigned, bot, created=NOW))
    print(f"the bot merged {len(receipts)} pull requests and signed a receipt for each")

    audit = verify_receipt_chain(receipts, VerifyOptions(now=NOW), mandates=[mandate])
    print(f"audit of the receipt chain: verified={audit.verified}")

    tampered = copy.deepcopy(receipts)
    tampered[2]["credentialSubject"]["object"] = "git:acme/payments@" + "0" * 40
    audit_after = verify_receipt_chain(tampered, VerifyOptions(now=NOW), mandates=[mandate])
    for check in audit_after.errors:
        print(f"audit finding: {check.name} {check.code}")
    suspects = sorted({c.name.split(".")[0] for c in audit_after.errors if c.code == "PROOF_INVALID"})
    print(f"tampered receipts: {', '.join(suspects)}")

    if not (config_ok and audit.verified and not audit_after.verified and suspects == ["receipts[2]"]):
        print("UNEXPECTED outcome")
        return 1
    print("All outcomes as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
