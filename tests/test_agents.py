"""The agent vocabulary: context, builders and readers, strictness, digests, receipt chains, and
the signed examples in docs/agents.md (regenerate them with ``python tests/test_agents.py``)."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import sign_as_of
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from accredit import KeyPair, VerifyOptions, issue_credential, verify_credential
from accredit.agents import (
    AGENTS_CONTEXT,
    VOCAB,
    AgentIdentity,
    Counterparties,
    Event,
    Mandate,
    Money,
    Receipt,
    Reference,
    action_receipt,
    agent_credential,
    credential_digest,
    digest_multibase,
    event_attestation,
    file_evidence,
    mandate_credential,
    receipt_digest,
    verify_receipt_chain,
)
from accredit.errors import InputError, ValidationError
from accredit.jsonld import default_document_loader, expand
from accredit.status import (
    StaticStatusListFetcher,
    StatusListChecker,
    new_list,
    status_entry,
    status_list_credential,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "agents.md"
CONTEXT_FILE = ROOT / "contexts" / "accredit" / "agents-v1.jsonld"
ISSUED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)
SUSPENSION_LIST = "https://acme.example/status/suspension"
_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


@pytest.fixture(autouse=True)
def _signed_as_of_now(monkeypatch: pytest.MonkeyPatch) -> None:
    sign_as_of(monkeypatch, NOW)


def seeded_key(name: str) -> KeyPair:
    """A fixed key, so the documented examples are byte-stable (Ed25519 and RDFC are deterministic)."""
    seed = hashlib.sha256(f"accredit docs example key: {name}".encode()).digest()
    return KeyPair(Ed25519PrivateKey.from_private_bytes(seed))


def status_options(issuer: KeyPair, url: str = SUSPENSION_LIST, now: datetime = NOW) -> VerifyOptions:
    """Options whose status checker serves ``issuer``'s all-clear list at ``url`` from memory."""
    unsigned = status_list_credential(
        url,
        issuer.did,
        "suspension",
        new_list(),
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=1),
    )
    fetcher = StaticStatusListFetcher({url: issue_credential(unsigned, issuer)})
    return VerifyOptions(now=now, status_checker=StatusListChecker(fetcher, VerifyOptions(now=now)))


def docs_examples() -> list[dict[str, Any]]:
    """The five signed examples of docs/agents.md, in order."""
    acme, buyer, helper, camera = map(seeded_key, ("acme", "buyer", "helper", "camera"))
    identity = issue_credential(
        agent_credential(
            agent=buyer.did,
            organization={"id": acme.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={
                "name": "acme-buyer",
                "model": "example-llm-4",
                "version": "2.3.1",
                "digestMultibase": digest_multibase(b"acme-buyer 2.3.1 configuration"),
            },
            liability_contact={
                "name": "Dana Smith",
                "role": "Chief Procurement Officer",
                "email": "dana@acme.example",
            },
            escalation_contact={"role": "Procurement desk", "url": "mailto:procurement@acme.example"},
            kill_switch=status_entry(SUSPENSION_LIST, 42, "suspension"),
            valid_from=ISSUED,
            valid_until=ISSUED + timedelta(days=365),
            credential_id="urn:uuid:0b3c3d2e-5b1e-4c1a-9d0e-6f1f2a3b4c5d",
        ),
        acme,
        created=ISSUED,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=acme.did,
            agent_credential=identity,
            actions=["procurement.negotiate", "contract.sign"],
            purpose="Source office furniture for the Pune office",
            valid_from=ISSUED,
            valid_until=ISSUED + timedelta(days=90),
            transaction_limit=Money.of("250000.00", "USD"),
            total_limit=Money.of("1000000.00", "USD"),
            escalation_threshold=Money.of("200000.00", "USD"),
            counterparties=Counterparties.of("did:web:globex.example", "suppliers.example"),
            delegation_depth=1,
            credential_id="urn:uuid:7d1e6a52-2f0b-4f43-8a59-5f0e4c7b9a10",
        ),
        acme,
        created=ISSUED,
    )
    helper_identity = issue_credential(
        agent_credential(
            agent=helper.did,
            organization={"id": acme.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={"name": "acme-quote-collector", "version": "0.9.0"},
            liability_contact={"role": "Chief Procurement Officer"},
            escalation_contact={"url": "mailto:procurement@acme.example"},
            kill_switch=status_entry(SUSPENSION_LIST, 43, "suspension"),
            valid_from=ISSUED,
            credential_id="urn:uuid:4a8f0c21-9e3d-4b7a-8c65-1d2e3f405162",
        ),
        acme,
        created=ISSUED,
    )
    delegated = issue_credential(
        mandate_credential(
            issuer=buyer.did,
            agent_credential=helper_identity,
            actions=["procurement.negotiate"],
            purpose="Collect quotes for 40 desks from suppliers",
            valid_from=ISSUED + timedelta(days=1),
            valid_until=ISSUED + timedelta(days=8),
            transaction_limit=Money.of("50000.00", "USD"),
            total_limit=Money.of("50000.00", "USD"),
            escalation_threshold=Money.of("20000.00", "USD"),
            counterparties=Counterparties.of("emea.suppliers.example"),
            parent=mandate,
            credential_id="urn:uuid:c95b1f7e-0d2a-4e8b-b3c4-7a6f5e4d3c2b",
        ),
        buyer,
        created=ISSUED + timedelta(days=1),
    )
    first_receipt = issue_credential(
        action_receipt(
            agent=buyer.did,
            action="procurement.negotiate",
            mandate=mandate,
            performed_at=ISSUED + timedelta(days=2),
            counterparty="did:web:globex.example",
            credential_id="urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        ),
        buyer,
        created=ISSUED + timedelta(days=2),
    )
    receipt = issue_credential(
        action_receipt(
            agent=buyer.did,
            action="contract.sign",
            mandate=mandate,
            performed_at=ISSUED + timedelta(days=2, hours=5),
            counterparty="did:web:globex.example",
            amount=Money.of("180000.00", "USD"),
            object_ref="urn:globex:contract:2026-0311",
            previous=first_receipt,
            credential_id="urn:uuid:e2d4c6b8-a0f1-4e3d-9c8b-7a6958473625",
        ),
        buyer,
        created=ISSUED + timedelta(days=2, hours=5),
    )
    attestation = issue_credential(
        event_attestation(
            device=camera.did,
            event_type="shipment.inspected",
            occurred_at=datetime(2026, 3, 3, 5, 0, tzinfo=UTC),
            location={
                "name": "Acme Pune warehouse, dock 3",
                "address": "Chakan MIDC, Pune 410501, India",
                "latitude": "18.7606",
                "longitude": "73.8636",
            },
            object_ref="urn:acme:shipment:SH-2026-0042",
            outcome="24 pallets counted, seal 4471 intact, no visible damage",
            evidence=[file_evidence("dock-3-pallets.jpg", "image/jpeg", b"photo 1")],
            credential_id="urn:uuid:5f4e3d2c-1b0a-4f9e-8d7c-6b5a49382716",
        ),
        camera,
        created=datetime(2026, 3, 3, 5, 0, tzinfo=UTC),
    )
    return [identity, mandate, delegated, receipt, attestation]


def _docs_blocks() -> list[str]:
    return _JSON_BLOCK.findall(DOCS.read_text(encoding="utf-8"))


def write_docs_examples() -> None:
    """Replace the JSON blocks of docs/agents.md with freshly generated examples."""
    examples = iter(docs_examples())
    text = DOCS.read_text(encoding="utf-8")
    DOCS.write_text(
        _JSON_BLOCK.sub(lambda _: "```json\n" + json.dumps(next(examples), indent=2) + "\n```", text),
        encoding="utf-8",
    )


# --- the documented examples -------------------------------------------------------------------

READERS: list[Callable[[Any], Any]] = [
    AgentIdentity.from_credential,
    Mandate.from_credential,
    Mandate.from_credential,
    Receipt.from_credential,
    Event.from_credential,
]


def test_docs_hold_one_verifying_example_per_credential_type() -> None:
    blocks = [json.loads(block) for block in _docs_blocks()]
    assert [b["type"][1] for b in blocks] == [
        "AgentCredential",
        "MandateCredential",
        "MandateCredential",
        "ActionReceipt",
        "EventAttestation",
    ]
    options = status_options(seeded_key("acme"))
    for block, reader in zip(blocks, READERS, strict=True):
        result = verify_credential(block, options)
        assert result.verified, (block["type"], result.to_dict()["errors"])
        reader(block)


def test_docs_examples_are_current() -> None:
    generated = [json.dumps(example, indent=2) for example in docs_examples()]
    assert _docs_blocks() == generated, "docs/agents.md is stale: run python tests/test_agents.py"


def test_a_changed_docs_example_fails() -> None:
    block = json.loads(_docs_blocks()[1])
    block["credentialSubject"]["transactionLimit"]["amount"] = "2500000.00"
    assert "PROOF_INVALID" in verify_credential(block, VerifyOptions(now=NOW)).codes


# --- the context -------------------------------------------------------------------------------


def _vocab_iris(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
            found.update(k for k in item if k.startswith(VOCAB))
            found.update(t for t in item.get("@type", []) if isinstance(t, str) and t.startswith(VOCAB))
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _context_iris(node: Any) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.startswith(VOCAB):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def test_context_is_protected_json_ld_11_in_our_vocabulary() -> None:
    context = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))["@context"]
    assert context["@version"] == 1.1 and context["@protected"] is True
    assert default_document_loader().document(AGENTS_CONTEXT) == {"@context": context}
    scopes = [context]
    while scopes:  # every term, in every scoped context, is ours and named after itself
        scope = scopes.pop()
        assert scope["@protected"] is True
        for term, definition in scope.items():
            if term.startswith("@") or (term, definition) in (("id", "@id"), ("type", "@type")):
                continue
            iri = definition if isinstance(definition, str) else definition["@id"]
            assert iri == VOCAB + term, term
            if isinstance(definition, dict) and "@context" in definition:
                scopes.append(definition["@context"])


def test_every_term_is_used_and_every_example_expands_without_dropping_a_term() -> None:
    used: set[str] = set()
    for example in docs_examples():
        used |= _vocab_iris(expand(example, default_document_loader()))  # raises on a dropped term
    context = json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))
    assert _context_iris(context) - used == set()


# --- values ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1e5", "-1", "+1", "1.", ".5", "01", " 1", "1,000", "NaN", "1" * 19])
def test_amounts_are_plain_decimal_strings(amount: str) -> None:
    with pytest.raises(ValidationError):
        Money.of(amount, "USD")


def test_money_is_exact() -> None:
    assert Money.of("0.1", "USD").amount + Money.of("0.2", "USD").amount == Decimal("0.3")
    assert Money.of("250000.00", "USD").amount == Money.of("250000", "USD").amount
    assert Money(Decimal("1E+5"), "EUR").to_json() == {"amount": "100000", "currency": "EUR"}
    with pytest.raises(ValidationError):
        Money.of("1", "usd")
    with pytest.raises(ValidationError):
        Money(Decimal("NaN"), "USD")
    with pytest.raises(ValidationError):
        Money(1.5, "USD")  # type: ignore[arg-type]


def test_counterparty_name_constraints() -> None:
    allowed = Counterparties.of("did:key:z6MkExample", "suppliers.example")
    assert allowed.allows("did:key:z6MkExample")
    assert allowed.allows("did:web:suppliers.example")
    assert allowed.allows("did:web:emea.suppliers.example")
    # The name and its subdomains only: not a port on the host, not a path under it.
    assert not allowed.allows("did:web:suppliers.example%3A8443")
    assert not allowed.allows("did:web:suppliers.example:users:mallory")
    assert not allowed.allows("did:web:emea.suppliers.example%3A8443:vendors:globex")
    assert not allowed.allows("did:web:SUPPLIERS.example")
    assert not allowed.allows("did:web:evilsuppliers.example")
    assert not allowed.allows("did:web:suppliers.example.evil.example")
    assert not allowed.allows("did:key:z6MkOther")
    assert allowed.covers(Counterparties.of("emea.suppliers.example", "did:web:x.suppliers.example"))
    assert not allowed.covers(Counterparties.of("example"))
    with pytest.raises(ValidationError):
        Counterparties.of("Suppliers.Example")


def test_digests_are_sha256_multihashes_of_the_canonical_json() -> None:
    multihash = b"\x12\x20" + hashlib.sha256(b'{"a":2,"b":[1,"x"]}').digest()
    expected = "u" + base64.urlsafe_b64encode(multihash).decode().rstrip("=")
    assert credential_digest({"b": [1, "x"], "a": 2}) == expected
    assert receipt_digest({"a": 2, "b": [1, "x"]}) == credential_digest({"b": [1, "x"], "a": 2})
    assert digest_multibase(b"") != digest_multibase(b" ")


# --- builders and strict readers -----------------------------------------------------------------


@pytest.fixture(scope="module")
def signed() -> dict[str, dict[str, Any]]:
    identity, mandate, delegated, receipt, attestation = docs_examples()
    return {
        "identity": identity,
        "mandate": mandate,
        "delegated": delegated,
        "receipt": receipt,
        "event": attestation,
    }


def test_readers_return_what_the_builders_wrote(signed: dict[str, dict[str, Any]]) -> None:
    identity = AgentIdentity.from_credential(signed["identity"])
    assert identity.acts_for == {"id": seeded_key("acme").did, "name": "Acme Corp"}
    assert identity.kill_switch == SUSPENSION_LIST + "#42"
    mandate = Mandate.from_credential(signed["mandate"])
    assert mandate.actions == {"procurement.negotiate", "contract.sign"}
    assert mandate.transaction_limit == Money.of("250000", "USD")
    assert mandate.agent_credential == Reference.to(signed["identity"])
    delegated = Mandate.from_credential(signed["delegated"])
    assert delegated.parent == Reference(mandate.id, mandate.digest) and delegated.delegation_depth == 0
    receipt = Receipt.from_credential(signed["receipt"])
    assert (receipt.sequence, receipt.amount) == (1, Money.of("180000.00", "USD"))
    assert (
        receipt.previous is not None
        and receipt.previous.id == "urn:uuid:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
    )
    event = Event.from_credential(signed["event"])
    assert event.evidence[0]["digestMultibase"] == digest_multibase(b"photo 1")


def test_holder_rewrites_that_keep_the_signature_are_refused(signed: dict[str, dict[str, Any]]) -> None:
    """An RDF-preserving JSON rewrite moves the limit where a JSON reader would not see it."""
    rewritten = copy.deepcopy(signed["mandate"])
    subject = rewritten["credentialSubject"]
    limit = subject.pop("transactionLimit")
    rewritten["@included"] = [{"id": subject["id"], "type": "AgentMandate", "transactionLimit": limit}]
    # The signature still holds, but the core refuses JSON that hides part of the graph.
    assert "INVALID_DOCUMENT" in verify_credential(rewritten, VerifyOptions(now=NOW)).codes
    with pytest.raises(ValidationError, match="@included"):
        Mandate.from_credential(rewritten)

    split = copy.deepcopy(signed["mandate"])
    subject = split["credentialSubject"]
    split["credentialSubject"] = [
        {k: v for k, v in subject.items() if k != "transactionLimit"},
        {"id": subject["id"], "type": "AgentMandate", "transactionLimit": subject["transactionLimit"]},
    ]
    assert "INVALID_DOCUMENT" in verify_credential(split, VerifyOptions(now=NOW)).codes
    with pytest.raises(ValidationError, match="same node twice"):
        Mandate.from_credential(split)


def test_keywords_are_refused_at_any_depth(signed: dict[str, dict[str, Any]]) -> None:
    """Nested in the issuer object, @included moves validUntil off the credential unseen."""
    rewritten = copy.deepcopy(signed["mandate"])
    until = rewritten.pop("validUntil")
    included = {"id": rewritten["id"], "type": "VerifiableCredential", "validUntil": until}
    rewritten["issuer"] = {"id": rewritten["issuer"], "@included": [included]}
    assert "INVALID_DOCUMENT" in verify_credential(rewritten, VerifyOptions(now=NOW)).codes
    with pytest.raises(ValidationError, match="@included"):
        Mandate.from_credential(rewritten)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("credentialSubject", "spendingLimit"), "1"),  # unknown property
        (("credentialSubject", "delegationDepth"), "1"),  # same RDF as 1, but not the shape we read
        (("credentialSubject", "delegationDepth"), True),
        (("credentialSubject", "delegationDepth"), 17),
        (("credentialSubject", "actions"), []),
        (("credentialSubject", "actions"), ["Contract.Sign"]),
        (("credentialSubject", "transactionLimit", "amount"), 250000),
        (("credentialSubject", "type"), ["AgentMandate", "Agent"]),
        (("credentialSubject", "counterparties"), [{"id": "did:web:a.example", "domain": "a.example"}]),
        (("credentialSubject", "agentCredential", "digestMultibase"), "sha256:abc"),
        (("termsOfUse",), {"type": "Policy"}),
    ],
)
def test_malformed_mandates_are_refused(
    signed: dict[str, dict[str, Any]], path: tuple[str, ...], value: Any
) -> None:
    document = copy.deepcopy(signed["mandate"])
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError):
        Mandate.from_credential(document)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return [prefix] + [path for key, value in items for path in _paths(value, (*prefix, key))]


def _at(node: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        node = node[key]
    return node


def test_readers_raise_only_validation_errors(signed: dict[str, dict[str, Any]]) -> None:
    """Every field of every example replaced by JSON of another shape, or deleted: the reader
    refuses it with a typed input error naming the field, or the change is one it may accept
    (a deletion or null, a value of the same JSON type, the proof and status entries it does
    not read, a malformed killSwitch read as no kill switch)."""
    readers = [
        AgentIdentity.from_credential,
        Mandate.from_credential,
        Receipt.from_credential,
        Event.from_credential,
    ]
    values: list[Any] = [
        None,
        True,
        -1,
        1.5,
        "",
        "did:x",
        [],
        ["a", 1],
        {},
        {"id": 1},
        {"@included": []},
        2**60,
    ]
    refused = 0
    for name, reader in zip(("identity", "mandate", "receipt", "event"), readers, strict=True):
        for path in _paths(signed[name])[1:]:
            for value in [*values, KeyError]:
                document = copy.deepcopy(signed[name])
                target = document
                for key in path[:-1]:
                    target = target[key]
                if value is KeyError:
                    del target[path[-1]]
                else:
                    target[path[-1]] = value
                try:
                    read = reader(document)
                except ValidationError as error:
                    assert error.details.get("field"), (name, path, value, error.message)
                    refused += 1
                    continue
                except InputError as error:  # JSON that cannot be canonicalized for the digest
                    assert value == 2**60 and error.code == "MALFORMED_INPUT", (name, path, error)
                    refused += 1
                    continue
                if (
                    value in (KeyError, None)  # JSON-LD null: the same graph as absent
                    or path[0] in ("proof", "credentialStatus")  # read by the verifier, not the reader
                    or type(value) is type(_at(signed[name], path))
                ):
                    continue
                assert path[-1] == "killSwitch" and read.kill_switch is None, (name, path, value)
    assert refused > 1000


def test_builders_refuse_malformed_input(signed: dict[str, dict[str, Any]]) -> None:
    with pytest.raises(ValidationError):
        mandate_credential(
            issuer="did:example:org",
            agent_credential=signed["identity"],
            actions=["bad action"],
            purpose="x",
            valid_from=NOW,
        )
    with pytest.raises(ValidationError):
        agent_credential(
            agent="did:example:agent",
            organization={"name": "no id"},
            built_by={"name": "Lab"},
            build={"name": "bot"},
            liability_contact={"role": "owner"},
            escalation_contact={"role": "desk"},
            kill_switch=status_entry(SUSPENSION_LIST, 1, "suspension"),
            valid_from=NOW,
        )
    with pytest.raises(ValidationError):
        event_attestation(
            device="did:example:cam", event_type="x", occurred_at=NOW, location={"address": "no name"}
        )


def test_kill_switch_must_name_a_status_entry(signed: dict[str, dict[str, Any]]) -> None:
    document = copy.deepcopy(signed["identity"])
    document["credentialSubject"]["governance"]["killSwitch"] = "https://acme.example/status/other#1"
    assert AgentIdentity.from_credential(document).kill_switch is None


# --- receipt chains ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chain(signed: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    buyer = seeded_key("buyer")
    receipts: list[dict[str, Any]] = []
    for number in range(5):
        unsigned = action_receipt(
            agent=buyer.did,
            action="procurement.negotiate",
            mandate=signed["mandate"],
            performed_at=ISSUED + timedelta(hours=number),
            object_ref=f"urn:acme:rfq:{number}",
            previous=receipts[-1] if receipts else None,
        )
        receipts.append(issue_credential(unsigned, buyer, created=ISSUED))
    return receipts


def _chain_codes(receipts: list[dict[str, Any]], **kwargs: Any) -> list[tuple[str, str]]:
    result = verify_receipt_chain(receipts, VerifyOptions(now=NOW), **kwargs)
    return [(c.name, c.code or "") for c in result.errors]


def test_an_intact_chain_verifies(chain: list[dict[str, Any]], signed: dict[str, dict[str, Any]]) -> None:
    result = verify_receipt_chain(chain, VerifyOptions(now=NOW), mandates=[signed["mandate"]])
    assert result.verified, result.to_dict()["errors"]
    assert [Receipt.from_credential(r).sequence for r in chain] == [0, 1, 2, 3, 4]


def test_a_tampered_receipt_is_found(chain: list[dict[str, Any]]) -> None:
    tampered = copy.deepcopy(chain)
    tampered[2]["credentialSubject"]["object"] = "urn:acme:rfq:forged"
    assert _chain_codes(tampered) == [
        ("receipts[2].proof", "PROOF_INVALID"),
        ("receipts[3].previousReceipt", "RECEIPT_CHAIN_BROKEN"),
    ]


def test_gaps_and_reordering_are_found(chain: list[dict[str, Any]]) -> None:
    assert _chain_codes([chain[0], chain[1], chain[3], chain[4]]) == [
        ("receipts[2].previousReceipt", "RECEIPT_GAP")
    ]
    assert _chain_codes([chain[0], chain[2], chain[1]]) == [
        ("receipts[1].previousReceipt", "RECEIPT_GAP"),
        ("receipts[2].previousReceipt", "RECEIPT_OUT_OF_ORDER"),
    ]


def test_a_segment_needs_its_anchor(chain: list[dict[str, Any]]) -> None:
    assert _chain_codes(chain[2:]) == [("receipts[0].previousReceipt", "RECEIPT_CHAIN_BROKEN")]
    assert _chain_codes(chain[2:], anchor=chain[1]) == []
    assert _chain_codes(chain[2:], anchor=chain[0]) == [("receipts[0].previousReceipt", "RECEIPT_GAP")]
    assert _chain_codes([]) == [("receipts", "RECEIPT_CHAIN_EMPTY")]


def test_a_receipt_re_signed_by_another_agent_is_found(
    chain: list[dict[str, Any]], signed: dict[str, dict[str, Any]]
) -> None:
    intruder = seeded_key("intruder")
    forged = action_receipt(
        agent=intruder.did,
        action="procurement.negotiate",
        mandate=signed["mandate"],
        performed_at=ISSUED + timedelta(hours=2),
        previous=chain[1],
    )
    codes = _chain_codes(
        [chain[0], chain[1], issue_credential(forged, intruder)], mandates=[signed["mandate"]]
    )
    assert codes == [
        ("receipts[2].issuer", "RECEIPT_AGENT_MISMATCH"),
        ("receipts[2].mandate", "ACTION_NOT_PERMITTED"),
    ]


def test_a_backdated_receipt_is_out_of_order(
    chain: list[dict[str, Any]], signed: dict[str, dict[str, Any]]
) -> None:
    buyer = seeded_key("buyer")
    early = action_receipt(
        agent=buyer.did,
        action="contract.sign",
        mandate=signed["mandate"],
        performed_at=ISSUED,
        previous=chain[1],
    )
    assert _chain_codes([chain[0], chain[1], issue_credential(early, buyer)]) == [
        ("receipts[2].previousReceipt", "RECEIPT_OUT_OF_ORDER")
    ]


def test_receipts_must_name_a_known_mandate_that_permits_the_action(
    chain: list[dict[str, Any]], signed: dict[str, dict[str, Any]]
) -> None:
    buyer = seeded_key("buyer")
    unknown = action_receipt(
        agent=buyer.did, action="contract.sign", mandate=signed["identity"], performed_at=NOW
    )
    assert _chain_codes([issue_credential(unknown, buyer)], mandates=[signed["mandate"]]) == [
        ("receipts[0].mandate", "RECEIPT_MANDATE_UNKNOWN")
    ]
    pay = action_receipt(
        agent=buyer.did, action="payment.initiate", mandate=signed["mandate"], performed_at=NOW
    )
    assert _chain_codes([issue_credential(pay, buyer)], mandates=[signed["mandate"]]) == [
        ("receipts[0].mandate", "ACTION_NOT_PERMITTED")
    ]


def _receipts(signed: dict[str, dict[str, Any]], *actions: dict[str, Any]) -> list[dict[str, Any]]:
    buyer = seeded_key("buyer")
    receipts: list[dict[str, Any]] = []
    for fields in actions:
        unsigned = action_receipt(
            agent=buyer.did,
            action="contract.sign",
            mandate=signed["mandate"],
            previous=receipts[-1] if receipts else None,
            **{
                "performed_at": ISSUED + timedelta(days=1),
                "counterparty": "did:web:globex.example",
                **fields,
            },
        )
        receipts.append(issue_credential(unsigned, buyer, created=ISSUED))
    return receipts


def test_receipts_must_keep_within_every_constraint_of_their_mandate(
    signed: dict[str, dict[str, Any]],
) -> None:
    # 99,000,000 EUR to an unlisted counterparty 400 days after the mandate (USD, 90 days) ended.
    rogue = _receipts(
        signed,
        {
            "amount": Money.of("99000000.00", "EUR"),
            "counterparty": "did:web:mallory.example",
            "performed_at": ISSUED + timedelta(days=490),
        },
    )
    later = NOW + timedelta(days=500)  # the receipt's own signature and dates are not in question
    result = verify_receipt_chain(rogue, VerifyOptions(now=later), mandates=[signed["mandate"]])
    assert [(c.name, c.code) for c in result.errors] == [
        ("receipts[0].mandate.inForce", "EXPIRED"),
        ("receipts[0].mandate.counterparty", "COUNTERPARTY_NOT_ALLOWED"),
        ("receipts[0].mandate.transactionLimit", "CURRENCY_MISMATCH"),
        ("receipts[0].mandate.totalLimit", "CURRENCY_MISMATCH"),
    ]
    early = _receipts(signed, {"performed_at": ISSUED - timedelta(seconds=1)})
    assert _chain_codes(early, mandates=[signed["mandate"]]) == [
        ("receipts[0].mandate.inForce", "NOT_YET_VALID")
    ]
    over = _receipts(signed, {"amount": Money.of("250000.01", "USD")})
    assert _chain_codes(over, mandates=[signed["mandate"]]) == [
        ("receipts[0].mandate.transactionLimit", "LIMIT_EXCEEDED")
    ]


def test_receipts_together_must_keep_within_the_total_limit(signed: dict[str, dict[str, Any]]) -> None:
    # Four at the transaction limit reach the 1,000,000.00 USD total exactly; a fifth cent is over.
    at_limit = [{"amount": Money.of("250000.00", "USD")}] * 4
    receipts = _receipts(signed, *at_limit, {"amount": Money.of("0.01", "USD")}, {})
    assert _chain_codes(receipts, mandates=[signed["mandate"]]) == [
        ("receipts[4].mandate.totalLimit", "LIMIT_EXCEEDED")
    ]
    assert _chain_codes(receipts[:4], mandates=[signed["mandate"]]) == []


def test_a_malformed_receipt_breaks_the_chain(chain: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(chain)
    broken[1]["credentialSubject"]["sequence"] = "1"
    # "1" and 1 are the same xsd:integer to the signature, but not the shape the reader accepts.
    assert _chain_codes(broken) == [
        ("receipts[1].receipt", "INVALID_DOCUMENT"),
        ("receipts[2].previousReceipt", "RECEIPT_CHAIN_BROKEN"),
    ]


if __name__ == "__main__":
    write_docs_examples()
    print(f"rewrote the examples in {DOCS.relative_to(ROOT)}", file=sys.stderr)
