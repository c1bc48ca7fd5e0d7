"""Procurement: Acme's buying agent signs a contract with a vendor — until Acme hits the kill switch.

Acme issues its agent an AgentCredential (with a kill-switch entry on Acme's suspension list)
and a MandateCredential: negotiate and sign contracts up to 250,000 USD each, only with listed
vendors, human co-signature above 200,000 USD. Globex, a vendor, asks the agent for a
presentation bound to its own single-use challenge and authorizes each contract with its
Verifier before signing.

Run: ``python examples/procurement.py``. Exits 1 if any outcome is not the expected one.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from accredit import KeyPair, Verifier, issue_credential, sign_presentation
from accredit.agents import Counterparties, Money, agent_credential, mandate_credential
from accredit.errors import StatusRetrievalError
from accredit.policy import AuthorizationRequest, Decision
from accredit.status import (
    StaticStatusListFetcher,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from accredit.trust import TrustedIssuer, TrustRegistry

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUERY = ["AgentCredential", "MandateCredential"]  # one credential of each type


class SuspensionList:
    """Acme's suspension (kill-switch) list, kept in memory; the issuer service serves it over HTTP."""

    def __init__(self, key: KeyPair) -> None:
        self.key, self.url, self.bits = key, "https://acme.example/status/suspension", new_list()

    def entry(self, index: int) -> dict[str, str]:
        return status_entry(self.url, index, "suspension")

    def fetch(self, url: str) -> dict[str, Any]:
        if url != self.url:
            raise StatusRetrievalError(f"no status list at {url}", url=url)
        unsigned = status_list_credential(
            self.url,
            self.key.did,
            "suspension",
            self.bits,
            valid_from=NOW - timedelta(minutes=5),
            valid_until=NOW + timedelta(minutes=5),
        )
        return issue_credential(unsigned, self.key, created=NOW)


def expect(label: str, decision: Decision, outcome: str, code: str | None = None) -> bool:
    codes = ", ".join(decision.codes) or "-"
    print(f"{label}: {decision.decision} ({codes})")
    ok = decision.decision == outcome and (code is None or code in decision.codes)
    if not ok:
        print(f"  UNEXPECTED: wanted {outcome} {code or ''}".rstrip())
    return ok


def main() -> int:
    acme, agent, globex = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    kill_switch = SuspensionList(acme)

    identity = issue_credential(
        agent_credential(
            agent=agent.did,
            organization={"id": acme.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={"name": "acme-buyer", "model": "example-llm-4", "version": "2.3.1"},
            liability_contact={"name": "Dana Smith", "role": "Chief Procurement Officer"},
            escalation_contact={"role": "Procurement desk", "url": "mailto:procurement@acme.example"},
            kill_switch=kill_switch.entry(42),
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=365),
        ),
        acme,
        created=NOW,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=acme.did,
            agent_credential=identity,
            actions=["procurement.negotiate", "contract.sign"],
            purpose="Source office furniture for the Pune office",
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=90),
            transaction_limit=Money.of("250000.00", "USD"),
            total_limit=Money.of("1000000.00", "USD"),
            escalation_threshold=Money.of("200000.00", "USD"),
            counterparties=Counterparties.of(globex.did, "suppliers.example"),
        ),
        acme,
        created=NOW,
    )
    print("Acme issued an AgentCredential and a mandate: contract.sign up to 250000.00 USD, listed vendors")

    # Globex, the vendor: trusts Acme for agent credentials and mandates, checks status lists.
    globex_verifier = Verifier(
        trust=TrustRegistry(
            [TrustedIssuer(acme.did, "Acme Corp", frozenset({"AgentCredential", "MandateCredential"}))]
        ),
        status_fetcher=StaticStatusListFetcher(kill_switch.fetch),
        clock=lambda: NOW,
    )
    domain = "globex.example"

    def present() -> tuple[dict[str, Any], str]:
        """Globex asks for a presentation; the agent answers it, bound to its challenge."""
        request = globex_verifier.create_request(domain=domain, query=QUERY)
        presentation = sign_presentation(
            [identity, mandate], agent, challenge=request["challenge"], domain=domain, created=NOW
        )
        return presentation, request["challenge"]

    def ask(amount: str, answer: tuple[dict[str, Any], str] | None = None) -> Decision:
        presentation, challenge = answer or present()
        request = AuthorizationRequest(
            action="contract.sign", at=NOW, amount=Decimal(amount), currency="USD", counterparty=globex.did
        )
        return globex_verifier.authorize(presentation, request, challenge=challenge, domain=domain)

    print("The agent answers each of Globex's presentation requests, bound to its challenge")
    answered = present()
    results = [
        expect("sign 180000.00 USD", ask("180000.00", answered), "allow"),
        expect("sign 220000.00 USD", ask("220000.00"), "escalate", "ESCALATION_REQUIRED"),
        expect("sign 300000.00 USD", ask("300000.00"), "deny", "LIMIT_EXCEEDED"),
        expect("the same presentation again", ask("1000", answered), "deny", "CHALLENGE_REPLAYED"),
    ]
    other = globex_verifier.create_request(domain=domain, query=QUERY)["challenge"]
    stolen = globex_verifier.authorize(
        answered[0],
        AuthorizationRequest(
            action="contract.sign", at=NOW, amount=Decimal("1000"), currency="USD", counterparty=globex.did
        ),
        challenge=other,
        domain=domain,
    )
    results.append(expect("replayed to another challenge", stolen, "deny", "CHALLENGE_MISMATCH"))

    set_bit(kill_switch.bits, 42, True)
    print("Acme hit the kill switch")
    results.append(expect("sign 180000.00 USD again", ask("180000.00"), "deny", "SUSPENDED"))

    if not all(results):
        return 1
    print("All outcomes as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
