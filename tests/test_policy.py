"""The policy engine: every reason code, the allow/deny/escalate rule, delegation chains, and
property tests that no widening delegation is accepted and every correct attenuation is."""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import sign_as_of
from hypothesis import given
from hypothesis import strategies as st

from accredit import KeyPair, Verifier, VerifyOptions, issue_credential, sign_presentation
from accredit.agents import (
    Counterparties,
    Mandate,
    Money,
    agent_credential,
    check_attenuation,
    check_delegation,
    event_attestation,
    mandate_credential,
)
from accredit.challenges import Challenge, InMemoryChallengeStore
from accredit.errors import StatusRetrievalError, ValidationError
from accredit.policy import AuthorizationRequest, Decision, authorize, verify_attestations
from accredit.results import CheckStatus
from accredit.status import (
    StaticStatusListFetcher,
    StatusListChecker,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from accredit.trust import TrustedIssuer, TrustRegistry

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHALLENGE, DOMAIN = "n-0S1-globex", "globex.example"
VENDOR = "did:web:globex.example"
AGENT_TYPES = frozenset({"AgentCredential", "MandateCredential"})


@pytest.fixture(autouse=True)
def _signed_as_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    sign_as_of(monkeypatch, NOW)


class World:
    """Acme, its buying agent with a delegable mandate, a helper agent, and Acme's suspension
    list in memory."""

    def __init__(self) -> None:
        self.acme, self.agent, self.helper = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
        self.list_url = "https://acme.example/status/suspension"
        self.bits = new_list()
        self.trust = TrustRegistry([TrustedIssuer(self.acme.did, "Acme Corp", AGENT_TYPES)])
        self.identity = self.agent_credential(self.agent, index=1)
        self.mandate = self.mandate_for(self.identity)

    def fetch(self, url: str) -> dict[str, Any]:
        if url != self.list_url:
            raise StatusRetrievalError(f"no list at {url}", url=url)
        unsigned = status_list_credential(
            url,
            self.acme.did,
            "suspension",
            self.bits,
            valid_from=NOW - timedelta(hours=1),
            valid_until=NOW + timedelta(hours=1),
        )
        return issue_credential(unsigned, self.acme)

    def options(self) -> VerifyOptions:
        checker = StatusListChecker(StaticStatusListFetcher(self.fetch), VerifyOptions(now=NOW))
        return VerifyOptions(now=NOW, status_checker=checker)

    def agent_credential(self, agent: KeyPair, *, index: int, **overrides: Any) -> dict[str, Any]:
        return issue_credential(self.unsigned_agent_credential(agent, index=index, **overrides), self.acme)

    def unsigned_agent_credential(self, agent: KeyPair, *, index: int, **overrides: Any) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "agent": agent.did,
            "organization": {"id": self.acme.did, "name": "Acme Corp"},
            "built_by": {"name": "Example Labs"},
            "build": {"name": "acme-buyer", "version": "2.3.1"},
            "liability_contact": {"role": "Chief Procurement Officer"},
            "escalation_contact": {"url": "mailto:procurement@acme.example"},
            "kill_switch": status_entry(self.list_url, index, "suspension"),
            "valid_from": NOW - timedelta(days=10),
        }
        return agent_credential(**{**fields, **overrides})

    def mandate_for(
        self, identity: dict[str, Any], issuer: KeyPair | None = None, **overrides: Any
    ) -> dict[str, Any]:
        signer = issuer or self.acme
        fields: dict[str, Any] = {
            "issuer": signer.did,
            "agent_credential": identity,
            "actions": ["procurement.negotiate", "contract.sign"],
            "purpose": "Source office furniture",
            "valid_from": NOW - timedelta(days=1),
            "valid_until": NOW + timedelta(days=90),
            "transaction_limit": Money.of("250000.00", "USD"),
            "total_limit": Money.of("1000000.00", "USD"),
            "escalation_threshold": Money.of("200000.00", "USD"),
            "counterparties": Counterparties.of(VENDOR, "suppliers.example"),
            "delegation_depth": 1,
        }
        return issue_credential(mandate_credential(**{**fields, **overrides}), signer)

    def delegated(self, **overrides: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The helper's AgentCredential and a correct delegation to it from the agent."""
        helper_identity = self.agent_credential(self.helper, index=2)
        fields: dict[str, Any] = {
            "actions": ["procurement.negotiate"],
            "valid_from": NOW - timedelta(hours=1),
            "valid_until": NOW + timedelta(days=7),
            "transaction_limit": Money.of("50000.00", "USD"),
            "total_limit": Money.of("50000.00", "USD"),
            "escalation_threshold": Money.of("20000.00", "USD"),
            "counterparties": Counterparties.of("emea.suppliers.example"),
            "delegation_depth": 0,
            "parent": self.mandate,
        }
        child = self.mandate_for(helper_identity, self.agent, **{**fields, **overrides})
        return helper_identity, child

    def decide(
        self,
        credentials: list[dict[str, Any]] | None = None,
        *,
        holder: KeyPair | None = None,
        options: VerifyOptions | None = None,
        trust: TrustRegistry | None = None,
        non_monetary: frozenset[str] = frozenset(),
        challenges: InMemoryChallengeStore[Challenge] | None = None,
        **request: Any,
    ) -> Decision:
        presentation = sign_presentation(
            [self.identity, self.mandate] if credentials is None else credentials,
            holder or self.agent,
            challenge=CHALLENGE,
            domain=DOMAIN,
        )
        return self.authorize(
            presentation,
            options=options,
            trust=trust,
            non_monetary=non_monetary,
            challenges=challenges,
            **request,
        )

    def authorize(
        self,
        presentation: dict[str, Any],
        *,
        options: VerifyOptions | None = None,
        trust: TrustRegistry | None = None,
        non_monetary: frozenset[str] = frozenset(),
        challenges: InMemoryChallengeStore[Challenge] | None = None,
        **request: Any,
    ) -> Decision:
        """Authorize with a verifier that issued CHALLENGE just now (or with ``challenges``)."""
        if challenges is None:
            challenges = InMemoryChallengeStore()
            challenges.add(Challenge(CHALLENGE, DOMAIN, NOW, NOW + timedelta(minutes=5)))
        fields: dict[str, Any] = {
            "action": "contract.sign",
            "amount": Decimal("180000.00"),
            "currency": "USD",
            "counterparty": VENDOR,
            "at": NOW,
        }
        return authorize(
            presentation,
            AuthorizationRequest(**{**fields, **request}),
            trust=self.trust if trust is None else trust,
            options=options or self.options(),
            challenge=CHALLENGE,
            domain=DOMAIN,
            challenges=challenges,
            non_monetary=non_monetary,
        )


@pytest.fixture
def world() -> World:
    return World()


def failing(decision: Decision) -> list[tuple[str, str]]:
    return [(c.name, c.code or "") for c in decision.reasons if c.status is not CheckStatus.PASSED]


# --- allow, escalate, deny ---------------------------------------------------------------------


def test_a_request_within_the_mandate_is_allowed(world: World) -> None:
    decision = world.decide()
    assert decision.decision == "allow", failing(decision)
    assert decision.codes == () and decision.verification.verified
    assert {"request.action", "request.transactionLimit", "chain[0].issuerTrust"} <= {
        c.name for c in decision.reasons
    }
    assert json.loads(json.dumps(decision.to_dict()))["decision"] == "allow"
    with pytest.raises(TypeError):
        bool(decision)


@pytest.mark.parametrize(
    ("request_fields", "outcome", "reasons"),
    [
        ({"action": "payment.initiate"}, "deny", [("request.action", "ACTION_NOT_PERMITTED")]),
        # Omitting the amount skips no limit: the mandate limits amounts, so one is required.
        (
            {"action": "procurement.negotiate", "amount": None, "currency": None},
            "deny",
            [("request.amount", "AMOUNT_REQUIRED")],
        ),
        ({"amount": Decimal("200000.00")}, "allow", []),  # at the threshold, not above it
        ({"amount": Decimal("200000.01")}, "escalate", [("request.escalation", "ESCALATION_REQUIRED")]),
        ({"amount": Decimal("250000")}, "escalate", [("request.escalation", "ESCALATION_REQUIRED")]),
        (
            {"amount": Decimal("250000.01")},
            "deny",
            [("request.transactionLimit", "LIMIT_EXCEEDED"), ("request.escalation", "ESCALATION_REQUIRED")],
        ),
        (
            {"amount": Decimal("150000"), "spent_total": Decimal("850000.01")},
            "deny",
            [("request.totalLimit", "LIMIT_EXCEEDED")],
        ),
        ({"amount": Decimal("150000"), "spent_total": Decimal("850000")}, "allow", []),
        (
            {"currency": "EUR"},
            "deny",
            [
                ("request.transactionLimit", "CURRENCY_MISMATCH"),
                ("request.totalLimit", "CURRENCY_MISMATCH"),
                ("request.escalation", "CURRENCY_MISMATCH"),
            ],
        ),
        (
            {"counterparty": "did:web:globex.example.evil.example"},
            "deny",
            [("request.counterparty", "COUNTERPARTY_NOT_ALLOWED")],
        ),
        ({"counterparty": None}, "deny", [("request.counterparty", "COUNTERPARTY_NOT_ALLOWED")]),
        ({"counterparty": "did:web:emea.suppliers.example"}, "allow", []),
        ({"at": NOW + timedelta(days=91)}, "deny", [("chain[0].inForce", "EXPIRED")]),
        ({"at": NOW - timedelta(days=2)}, "deny", [("chain[0].inForce", "NOT_YET_VALID")]),
    ],
)
def test_requests_against_the_mandate(
    world: World, request_fields: dict[str, Any], outcome: str, reasons: list[tuple[str, str]]
) -> None:
    decision = world.decide(**request_fields)
    assert (decision.decision, failing(decision)) == (outcome, reasons)


def test_a_presentation_authorizes_once(world: World) -> None:
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge=CHALLENGE, domain=DOMAIN
    )
    challenges: InMemoryChallengeStore[Challenge] = InMemoryChallengeStore()
    challenges.add(Challenge(CHALLENGE, DOMAIN, NOW, NOW + timedelta(minutes=5)))
    assert world.authorize(presentation, challenges=challenges).decision == "allow"
    replayed = world.authorize(presentation, challenges=challenges)
    assert failing(replayed) == [("challenge", "CHALLENGE_REPLAYED")]
    unknown = world.authorize(presentation, challenges=InMemoryChallengeStore())
    assert failing(unknown) == [("challenge", "CHALLENGE_UNKNOWN")]
    late: InMemoryChallengeStore[Challenge] = InMemoryChallengeStore()
    late.add(Challenge(CHALLENGE, DOMAIN, NOW - timedelta(minutes=6), NOW - timedelta(minutes=1)))
    assert failing(world.authorize(presentation, challenges=late)) == [("challenge", "CHALLENGE_EXPIRED")]


def test_a_decision_is_bound_to_the_request_it_was_made_for(world: World) -> None:
    request = AuthorizationRequest("contract.sign", NOW, Decimal("180000.00"), "USD", VENDOR)
    challenges: InMemoryChallengeStore[Challenge] = InMemoryChallengeStore()
    bound = Challenge(CHALLENGE, DOMAIN, NOW, NOW + timedelta(minutes=5), request=request.to_json())
    challenges.add(bound)
    decision = world.decide(challenges=challenges)
    assert decision.decision == "allow" and decision.allows(request)
    assert not decision.allows(replace(request, amount=Decimal("190000.00")))
    # The challenge was issued for 180,000.00 USD: the same presentation cannot buy more.
    challenges = InMemoryChallengeStore()
    challenges.add(bound)
    more = world.decide(challenges=challenges, amount=Decimal("190000.00"))
    assert failing(more) == [("request.binding", "REQUEST_MISMATCH")]


def test_an_action_the_verifier_declares_non_monetary_needs_no_amount(world: World) -> None:
    request = {"action": "procurement.negotiate", "amount": None, "currency": None}
    assert failing(world.decide(**request)) == [("request.amount", "AMOUNT_REQUIRED")]
    assert world.decide(non_monetary={"procurement.negotiate"}, **request).decision == "allow"
    # Declaring one action non-monetary does not free another.
    signing = {"action": "contract.sign", "amount": None, "currency": None}
    assert failing(world.decide(non_monetary={"procurement.negotiate"}, **signing)) == [
        ("request.amount", "AMOUNT_REQUIRED")
    ]


def test_the_kill_switch_denies_the_same_presentation(world: World) -> None:
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge=CHALLENGE, domain=DOMAIN
    )
    assert world.authorize(presentation).decision == "allow"
    set_bit(world.bits, 1, True)
    decision = world.authorize(presentation)
    assert (decision.decision, failing(decision)) == (
        "deny",
        [("verifiableCredential[0].status", "SUSPENDED")],
    )


def test_without_a_status_checker_nothing_is_allowed(world: World) -> None:
    decision = world.decide(options=VerifyOptions(now=NOW))
    assert decision.decision == "deny" and "STATUS_UNCHECKED" in decision.codes


def test_options_now_defaults_to_the_request_time(world: World) -> None:
    options = replace(world.options(), now=None)
    assert world.decide(options=options).decision == "allow"
    assert "EXPIRED" in world.decide(options=options, at=NOW + timedelta(days=400)).codes


def test_a_presentation_for_another_challenge_is_denied(world: World) -> None:
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge="other", domain=DOMAIN
    )
    decision = world.authorize(presentation)
    assert decision.decision == "deny" and "CHALLENGE_MISMATCH" in decision.codes


def test_a_tampered_mandate_is_denied(world: World) -> None:
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge=CHALLENGE, domain=DOMAIN
    )
    presentation["verifiableCredential"][1]["credentialSubject"]["transactionLimit"]["amount"] = "2500000.00"
    decision = world.authorize(presentation, amount=Decimal("300000"))
    assert decision.decision == "deny" and "PROOF_INVALID" in decision.codes


def test_a_signature_preserving_rewrite_of_the_mandate_is_denied(world: World) -> None:
    """The holder moves the limit into @included: every signature holds, yet it is refused."""
    rewritten = copy.deepcopy(world.mandate)
    limit = rewritten["credentialSubject"].pop("transactionLimit")
    rewritten["@included"] = [{"id": world.agent.did, "type": "AgentMandate", "transactionLimit": limit}]
    decision = world.decide([world.identity, rewritten], amount=Decimal("190000"))
    # The core refuses the rewrite (dataModel), and the mandate reader refuses it on its own too.
    assert (decision.decision, failing(decision)) == (
        "deny",
        [
            ("verifiableCredential[1].dataModel", "INVALID_DOCUMENT"),
            ("verifiableCredential[1].context", "NOT_CHECKED"),
            ("verifiableCredential[1].proof", "NOT_CHECKED"),
            ("verifiableCredential[1].MandateCredential", "INVALID_DOCUMENT"),
            ("mandate", "MANDATE_MISSING"),
        ],
    )


# --- trust, mandates and agent credentials -----------------------------------------------------


def test_an_untrusted_organization_is_denied(world: World) -> None:
    decision = world.decide(trust=TrustRegistry())
    assert failing(decision) == [
        ("chain[0].issuerTrust", "ISSUER_NOT_TRUSTED"),
        ("chain[0].agentCredential.issuerTrust", "ISSUER_NOT_TRUSTED"),
    ]
    agents_only = TrustRegistry([TrustedIssuer(world.acme.did, types=frozenset({"AgentCredential"}))])
    assert failing(world.decide(trust=agents_only)) == [("chain[0].issuerTrust", "ISSUER_NOT_TRUSTED")]


def test_the_holder_needs_exactly_one_mandate(world: World) -> None:
    assert failing(world.decide([world.identity])) == [("mandate", "MANDATE_MISSING")]
    second = world.mandate_for(world.identity, actions=["payment.initiate"])
    assert failing(world.decide([world.identity, world.mandate, second])) == [
        ("mandate", "MANDATE_AMBIGUOUS")
    ]
    other = world.decide(holder=world.helper)  # the helper presents the agent's credentials
    assert other.decision == "deny" and ("mandate", "MANDATE_MISSING") in failing(other)


def test_the_mandates_agent_credential_must_be_presented_exactly(world: World) -> None:
    assert failing(world.decide([world.mandate])) == [
        ("chain[0].agentCredential", "AGENT_CREDENTIAL_MISSING")
    ]
    reissued = world.agent_credential(
        world.agent, index=1, credential_id=world.identity["id"], valid_from=NOW
    )
    assert failing(world.decide([reissued, world.mandate])) == [
        ("chain[0].agentCredential", "AGENT_CREDENTIAL_MISMATCH")
    ]


def test_the_mandates_agent_credential_must_be_the_holders(world: World) -> None:
    # The mandate names, by its exact digest, an AgentCredential of another agent: the holder
    # would borrow the helper's identity (builder, liability contact, kill switch).
    helper_identity = world.agent_credential(world.helper, index=2)
    unsigned = mandate_credential(
        issuer=world.acme.did,
        agent_credential=helper_identity,
        actions=["contract.sign"],
        purpose="Sign contracts",
        valid_from=NOW - timedelta(days=1),
    )
    unsigned["credentialSubject"]["id"] = world.agent.did
    mandate = issue_credential(unsigned, world.acme)
    assert failing(world.decide([helper_identity, mandate], amount=None, currency=None)) == [
        ("chain[0].agentCredential", "AGENT_CREDENTIAL_MISMATCH")
    ]


def test_an_agent_credential_without_a_kill_switch_is_denied(world: World) -> None:
    unsigned = world.unsigned_agent_credential(world.agent, index=1)
    del unsigned["credentialSubject"]["governance"]["killSwitch"]
    identity = issue_credential(unsigned, world.acme)
    decision = world.decide([identity, world.mandate_for(identity)])
    assert failing(decision) == [("chain[0].agentCredential.killSwitch", "KILL_SWITCH_MISSING")]


def test_the_root_agent_must_act_for_the_mandating_organization(world: World) -> None:
    unsigned = world.unsigned_agent_credential(world.agent, index=1)
    unsigned["credentialSubject"]["actsFor"] = {"id": "did:web:other.example", "name": "Other Corp"}
    identity = issue_credential(unsigned, world.acme)
    decision = world.decide([identity, world.mandate_for(identity)])
    assert failing(decision) == [("chain[0].actsFor", "ACTS_FOR_MISMATCH")]


# --- delegation chains -------------------------------------------------------------------------


def _chain_request(world: World, credentials: list[dict[str, Any]], **request: Any) -> Decision:
    fields: dict[str, Any] = {
        "action": "procurement.negotiate",
        "amount": Decimal("15000"),
        "counterparty": "did:web:emea.suppliers.example",
    }
    return world.decide(credentials, holder=world.helper, **{**fields, **request})


def test_a_correct_delegation_chain_is_allowed(world: World) -> None:
    helper_identity, child = world.delegated()
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert decision.decision == "allow", failing(decision)
    assert "chain[1].delegation.actions" in {c.name for c in decision.reasons}
    escalated = _chain_request(
        world, [world.identity, world.mandate, helper_identity, child], amount=Decimal("20000.01")
    )
    assert escalated.decision == "escalate"


def test_the_root_agents_kill_switch_stops_its_sub_agents(world: World) -> None:
    helper_identity, child = world.delegated()
    set_bit(world.bits, 1, True)
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert failing(decision) == [("verifiableCredential[0].status", "SUSPENDED")]


def test_a_widening_delegation_is_denied_naming_the_field(world: World) -> None:
    helper_identity, child = world.delegated(actions=["procurement.negotiate", "payment.initiate"])
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert failing(decision) == [("chain[1].delegation.actions", "DELEGATION_WIDENS")]
    widened = next(c for c in decision.reasons if c.code == "DELEGATION_WIDENS")
    assert widened.evidence["field"] == "actions" and widened.evidence["widened"] == ["payment.initiate"]


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"transaction_limit": Money.of("300000.00", "USD")}, "transactionLimit", "DELEGATION_WIDENS"),
        ({"total_limit": None}, "totalLimit", "DELEGATION_WIDENS"),
        ({"escalation_threshold": Money.of("200000.01", "USD")}, "escalationThreshold", "DELEGATION_WIDENS"),
        ({"transaction_limit": Money.of("100.00", "EUR")}, "transactionLimit", "CURRENCY_MISMATCH"),
        ({"counterparties": None}, "counterparties", "DELEGATION_WIDENS"),
        ({"counterparties": Counterparties.of("other.example")}, "counterparties", "DELEGATION_WIDENS"),
        ({"valid_from": NOW - timedelta(days=2)}, "validFrom", "DELEGATION_WIDENS"),
        ({"valid_until": NOW + timedelta(days=91)}, "validUntil", "DELEGATION_WIDENS"),
    ],
)
def test_each_widened_field_is_denied_naming_it(
    world: World, change: dict[str, Any], field: str, code: str
) -> None:
    helper_identity, child = world.delegated(**change)
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert (f"chain[1].delegation.{field}", code) in failing(decision)
    assert decision.decision == "deny"


def test_delegating_a_non_delegable_mandate_is_too_deep(world: World) -> None:
    world.mandate = world.mandate_for(world.identity, delegation_depth=0)
    helper_identity, child = world.delegated()
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert failing(decision) == [("chain[1].delegation.delegationDepth", "DELEGATION_TOO_DEEP")]


def test_a_delegation_must_lower_the_delegation_depth(world: World) -> None:
    helper_identity, child = world.delegated(delegation_depth=1)  # the parent's own depth
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert failing(decision) == [("chain[1].delegation.delegationDepth", "DELEGATION_WIDENS")]


def test_mandates_that_name_each_other_as_parents_end_the_walk(world: World) -> None:
    # Parents are found by digest, else by id (to report a mismatch): two mandates naming each
    # other's id form a cycle, which the chain walk must cut off rather than follow forever.
    helper_identity, child = world.delegated()
    parent = copy.deepcopy(world.mandate)
    parent["credentialSubject"]["parentMandate"] = {
        "id": child["id"],
        "digestMultibase": child["credentialSubject"]["parentMandate"]["digestMultibase"],
    }
    outcome: list[Decision] = []
    walk = threading.Thread(
        target=lambda: outcome.append(
            _chain_request(world, [world.identity, parent, helper_identity, child])
        ),
        daemon=True,
    )
    walk.start()
    walk.join(timeout=60)  # unbounded, the walk never ends: this only stops the test waiting
    assert outcome, "the chain walk did not end"
    assert ("chain", "DELEGATION_TOO_DEEP") in failing(outcome[0])


def test_a_delegation_must_be_signed_by_the_parents_agent(world: World) -> None:
    helper_identity = world.agent_credential(world.helper, index=2)
    child = world.mandate_for(
        helper_identity, actions=["procurement.negotiate"], delegation_depth=0, parent=world.mandate
    )
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert failing(decision) == [("chain[1].delegation.issuer", "DELEGATION_SIGNER_MISMATCH")]


def test_the_parent_mandate_must_be_presented_exactly(world: World) -> None:
    helper_identity, child = world.delegated()
    assert failing(_chain_request(world, [helper_identity, child])) == [
        ("chain[0].parentMandate", "DELEGATION_PARENT_MISSING")
    ]
    reissued = world.mandate_for(world.identity, credential_id=world.mandate["id"], purpose="Other purpose")
    decision = _chain_request(world, [world.identity, reissued, helper_identity, child])
    assert failing(decision) == [("chain[1].delegation.parentMandate", "DELEGATION_DIGEST_MISMATCH")]


def test_a_delegated_limit_in_another_currency_is_refused(world: World) -> None:
    helper_identity, child = world.delegated(transaction_limit=Money.of("40000", "EUR"))
    decision = _chain_request(world, [world.identity, world.mandate, helper_identity, child])
    assert ("chain[1].delegation.transactionLimit", "CURRENCY_MISMATCH") in failing(decision)


# --- requests and attestations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"at": datetime(2026, 3, 2)},  # naive
        {"amount": Decimal("1")},  # no currency
        {"amount": Decimal("-1"), "currency": "USD"},
        {"amount": Decimal("1"), "currency": "dollars"},
        {"amount": 1.5, "currency": "USD"},
    ],
)
def test_malformed_requests_raise(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AuthorizationRequest(**{"action": "contract.sign", "at": NOW, **fields})


def test_attestations_need_an_accredited_attester(world: World) -> None:
    camera = KeyPair.generate()
    unsigned = event_attestation(
        device=camera.did,
        event_type="shipment.inspected",
        occurred_at=NOW,
        location={"name": "Pune warehouse"},
    )
    attestation = issue_credential(unsigned, camera)
    camera_identity = world.agent_credential(camera, index=3)

    def verify(credentials: list[dict[str, Any]], trust: TrustRegistry | None = None) -> tuple[str, ...]:
        presentation = sign_presentation(credentials, world.agent, challenge=CHALLENGE, domain=DOMAIN)
        result = verify_attestations(
            presentation,
            trust=world.trust if trust is None else trust,
            options=world.options(),
            challenge=CHALLENGE,
            domain=DOMAIN,
        )
        return result.codes

    assert verify([attestation, camera_identity]) == ()
    assert verify([attestation, world.identity]) == ("ATTESTER_NOT_ACCREDITED",)
    assert verify([attestation, camera_identity], TrustRegistry()) == ("ISSUER_NOT_TRUSTED",)
    assert verify([world.identity]) == ("ATTESTATION_MISSING",)


# --- property tests: attenuation ----------------------------------------------------------------

ACTIONS = ("procurement.negotiate", "contract.sign", "payment.initiate", "code.merge", "code.review")
PARTIES = ("did:key:z6MkAlpha", "did:key:z6MkBravo", "did:web:globex.example", "did:web:acme.example")
DOMAINS = ("suppliers.example", "emea.suppliers.example", "vendors.example")
BASE = datetime(2026, 1, 1, tzinfo=UTC)
PARENT_AGENT, CHILD_AGENT = "did:key:z6MkParentAgent", "did:key:z6MkChildAgent"
MONEY_FIELDS = {
    "transactionLimit": "transaction_limit",
    "totalLimit": "total_limit",
    "escalationThreshold": "escalation_threshold",
}
amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False).map(abs)


def _identity(agent: str) -> dict[str, Any]:
    return agent_credential(
        agent=agent,
        organization={"id": "did:web:acme.example"},
        built_by={"name": "Lab"},
        build={"name": "bot"},
        liability_contact={"role": "owner"},
        escalation_contact={"role": "desk"},
        kill_switch=status_entry("https://acme.example/status/suspension", 1, "suspension"),
        valid_from=BASE,
        credential_id=f"urn:example:{agent}",
    )


IDENTITIES = {agent: _identity(agent) for agent in (PARENT_AGENT, CHILD_AGENT)}


@st.composite
def mandates(draw: st.DrawFn, *, constrained: bool) -> dict[str, Any]:
    """Keyword arguments of ``mandate_credential`` for a parent; all constraints set if ``constrained``."""

    def maybe(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(strategy if constrained else st.one_of(st.none(), strategy))

    start = BASE + timedelta(hours=draw(st.integers(0, 1000)))
    return {
        "issuer": "did:web:acme.example",
        "agent_credential": IDENTITIES[PARENT_AGENT],
        "actions": draw(st.sets(st.sampled_from(ACTIONS), min_size=1)),
        "purpose": "parent",
        "valid_from": start,
        "valid_until": maybe(st.integers(1, 1000).map(lambda h: start + timedelta(hours=h))),
        "transaction_limit": maybe(amounts.map(lambda a: Money(a, "USD"))),
        "total_limit": maybe(amounts.map(lambda a: Money(a, "USD"))),
        "escalation_threshold": maybe(amounts.map(lambda a: Money(a, "USD"))),
        "counterparties": maybe(
            st.tuples(st.sets(st.sampled_from(PARTIES)), st.sets(st.sampled_from(DOMAINS), min_size=1)).map(
                lambda entries: Counterparties.of(*entries[0], *entries[1])
            )
        ),
        "delegation_depth": draw(st.integers(1, 5)),
    }


def _narrower_money(draw: st.DrawFn, limit: Money | None) -> Money | None:
    if limit is None:
        return draw(st.one_of(st.none(), amounts.map(lambda a: Money(a, "USD"))))
    return Money(abs(draw(st.decimals(min_value=0, max_value=limit.amount, places=2))), "USD")


def _narrower_counterparties(draw: st.DrawFn, allowed: Counterparties | None) -> Counterparties | None:
    if allowed is None:
        return draw(
            st.one_of(
                st.none(),
                st.sets(st.sampled_from(PARTIES + DOMAINS), min_size=1).map(lambda e: Counterparties.of(*e)),
            )
        )
    candidates = [*allowed.dids, *allowed.domains, *(f"emea.{d}" for d in allowed.domains)]
    candidates += [f"did:web:shop.{d}" for d in allowed.domains]
    return Counterparties.of(*draw(st.sets(st.sampled_from(sorted(candidates)), min_size=1)))


@st.composite
def attenuations(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A parent mandate and a correctly attenuated child, as unsigned credentials."""
    parent_fields = draw(mandates(constrained=False))
    parent = mandate_credential(**parent_fields)
    start, end = parent_fields["valid_from"], parent_fields["valid_until"]
    child_start = start + timedelta(hours=draw(st.integers(0, 500)))
    if end is not None and child_start >= end:
        child_start = start
    span = None if end is None else int((end - child_start).total_seconds() // 3600)
    child_end = (
        draw(st.one_of(st.none(), st.integers(1, 1000).map(lambda h: child_start + timedelta(hours=h))))
        if span is None
        else child_start + timedelta(hours=draw(st.integers(0, span)))
    )
    child = mandate_credential(
        issuer=PARENT_AGENT,
        agent_credential=IDENTITIES[CHILD_AGENT],
        actions=draw(st.sets(st.sampled_from(sorted(parent_fields["actions"])), min_size=1)),
        purpose="child",
        valid_from=child_start,
        valid_until=child_end,
        transaction_limit=_narrower_money(draw, parent_fields["transaction_limit"]),
        total_limit=_narrower_money(draw, parent_fields["total_limit"]),
        escalation_threshold=_narrower_money(draw, parent_fields["escalation_threshold"]),
        counterparties=_narrower_counterparties(draw, parent_fields["counterparties"]),
        delegation_depth=draw(st.integers(0, parent_fields["delegation_depth"] - 1)),
        parent=parent,
    )
    return parent, child


@given(attenuations())
def test_every_correct_attenuation_is_accepted(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    parent, child = map(Mandate.from_credential, pair)
    checks = check_delegation(parent, child)
    assert all(c.status is CheckStatus.PASSED for c in checks), [c.to_dict() for c in checks if c.code]


def _widen(data: st.DataObject, field: str, parent: Mandate, child: Mandate) -> Mandate:
    """``child`` with exactly ``field`` widened beyond ``parent`` (or its constraint dropped)."""
    draw = data.draw
    drop = draw(st.booleans()) and field != "actions" and field != "delegationDepth"
    if field == "actions":
        return replace(
            child, actions=child.actions | {draw(st.sampled_from(["admin.delete", "payment.refund"]))}
        )
    if field in MONEY_FIELDS:
        bound: Money = getattr(parent, MONEY_FIELDS[field])
        raised = Money(
            bound.amount + abs(draw(st.decimals(min_value="0.01", max_value=10**6, places=2))), "USD"
        )
        changes: dict[str, Any] = {MONEY_FIELDS[field]: None if drop else raised}
        return replace(child, **changes)
    if field == "counterparties":
        assert parent.counterparties is not None
        # None of these is in PARTIES or under DOMAINS ("example" is above every domain there).
        outsider = draw(
            st.sampled_from(["did:key:z6MkOutsider", "evil.example", "example", "did:web:example"])
        )
        wider = Counterparties.of(*parent.counterparties.dids, *parent.counterparties.domains, outsider)
        return replace(child, counterparties=None if drop else wider)
    hours = timedelta(hours=draw(st.integers(1, 1000)))
    if field == "validFrom":
        assert parent.valid_from is not None
        return replace(child, valid_from=None if drop else parent.valid_from - hours)
    if field == "validUntil":
        assert parent.valid_until is not None
        return replace(child, valid_until=None if drop else parent.valid_until + hours)
    return replace(child, delegation_depth=parent.delegation_depth + draw(st.integers(0, 3)))


FIELDS = ("actions", *MONEY_FIELDS, "counterparties", "validFrom", "validUntil", "delegationDepth")


@given(st.data(), st.sampled_from(FIELDS))
def test_every_widening_of_one_field_is_rejected_naming_it(data: st.DataObject, field: str) -> None:
    parent = Mandate.from_credential(mandate_credential(**data.draw(mandates(constrained=True))))
    faithful = replace(
        parent, issuer=PARENT_AGENT, agent=CHILD_AGENT, delegation_depth=parent.delegation_depth - 1
    )
    assert all(c.status is CheckStatus.PASSED for c in check_attenuation(parent, faithful))
    widened = _widen(data, field, parent, faithful)
    failed = [
        (c.code, c.evidence["field"])
        for c in check_attenuation(parent, widened)
        if c.status is CheckStatus.FAILED
    ]
    assert failed == [("DELEGATION_WIDENS", field)]


# --- one verifier object for the whole decision --------------------------------------------------


def _verifier(world: World) -> Verifier:
    return Verifier(trust=world.trust, status_fetcher=StaticStatusListFetcher(world.fetch), clock=lambda: NOW)


def test_the_verifier_authorizes_root_mandates_and_delegation_chains_once(world: World) -> None:
    verifier = _verifier(world)
    helper_identity, child = world.delegated()
    cases = [
        (world.agent, [world.identity, world.mandate], "contract.sign", VENDOR),
        (
            world.helper,
            [world.identity, world.mandate, helper_identity, child],
            "procurement.negotiate",
            "did:web:emea.suppliers.example",
        ),
    ]
    for holder, credentials, action, counterparty in cases:
        asked = verifier.create_request(domain=DOMAIN, query=["AgentCredential", "MandateCredential"])
        presentation = sign_presentation(credentials, holder, challenge=asked["challenge"], domain=DOMAIN)
        request = AuthorizationRequest(action, NOW, Decimal("15000"), "USD", counterparty)
        decision = verifier.authorize(presentation, request, challenge=asked["challenge"], domain=DOMAIN)
        assert decision.decision == "allow", failing(decision)
        assert decision.allows(request)
        again = verifier.authorize(presentation, request, challenge=asked["challenge"], domain=DOMAIN)
        assert failing(again) == [("challenge", "CHALLENGE_REPLAYED")]


def test_the_verifier_authorizes_the_request_its_challenge_was_issued_for(world: World) -> None:
    verifier = _verifier(world)
    request = AuthorizationRequest("contract.sign", NOW, Decimal("180000.00"), "USD", VENDOR)
    asked = verifier.create_request(domain=DOMAIN, query=["MandateCredential"], for_request=request)
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge=asked["challenge"], domain=DOMAIN
    )
    decision = verifier.authorize(presentation, None, challenge=asked["challenge"], domain=DOMAIN)
    assert decision.decision == "allow" and decision.request == request
    assert decision.challenge is not None and decision.challenge.value == asked["challenge"]
    plain = verifier.create_request(domain=DOMAIN)
    presentation = sign_presentation(
        [world.identity, world.mandate], world.agent, challenge=plain["challenge"], domain=DOMAIN
    )
    missing = verifier.authorize(presentation, None, challenge=plain["challenge"], domain=DOMAIN)
    assert failing(missing) == [("request", "REQUEST_MISSING")]
