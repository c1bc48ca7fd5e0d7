"""accredit inside A2A negotiations, with the real a2a-sdk client and server on 127.0.0.1: the
example supplier agent (examples/a2a_supplier.py, served once for the module) and the example
buyer (examples/a2a_buyer.py) negotiating furniture orders, Acme's kill switch served by a
local status list; and signed Agent Cards checked both ways against the SDK's own signer and
verifier."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("a2a")

import uvicorn  # noqa: E402
from a2a.client import ClientCallContext, ClientConfig, create_client  # noqa: E402
from a2a.types import AgentCard, Message, Part, Role, SendMessageRequest, TaskState  # noqa: E402
from a2a.utils.errors import ExtensionSupportRequiredError  # noqa: E402
from a2a.utils.signing import (  # noqa: E402
    InvalidSignaturesError,
    NoSignatureError,
    create_agent_card_signer,
    create_signature_verifier,
)
from google.protobuf.json_format import MessageToDict, ParseDict  # noqa: E402
from jwt import PyJWK  # noqa: E402
from test_exchange import Acme, _example_block  # noqa: E402

from accredit import KeyPair, TrustRegistry, Verifier, Wallet  # noqa: E402
from accredit._jcs import canonicalize as jcs_canonicalize  # noqa: E402
from accredit.a2a import EXTENSION_URI, Negotiation, Step, answer_request, step_digest  # noqa: E402
from accredit.a2a.cards import sign_card, verify_card  # noqa: E402
from accredit.a2a.sdk import WalletInterceptor, extension_data, negotiate  # noqa: E402
from accredit.dids import StaticResolver, did_key_document, public_key_of  # noqa: E402
from accredit.errors import (  # noqa: E402
    AgentCardError,
    AgentCardSignatureError,
    AgentCardUnsignedError,
    StepMismatchError,
)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import a2a_buyer  # noqa: E402
import a2a_supplier  # noqa: E402

WITHIN = Step("contract.sign", "1200.00", "USD")  # the mandate: up to 5000, a human above 3000
ABOVE_ESCALATION = Step("contract.sign", "4000.00", "USD")
OVER_LIMIT = Step("contract.sign", "6000.00", "USD")


class Supplier:
    """examples/a2a_supplier.py served by uvicorn in a thread on 127.0.0.1."""

    def __init__(self, trust_file: Path) -> None:
        self.key = KeyPair.generate()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        app = a2a_supplier.create_app(
            self.key, TrustRegistry.from_file(trust_file), url=self.url, allow_private=True
        )
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the supplier agent did not start"
            time.sleep(0.02)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acme]:
    org = Acme(tmp_path_factory.mktemp("acme-a2a"))
    yield org
    org.server.close()


@pytest.fixture(scope="module")
def supplier(acme: Acme) -> Iterator[Supplier]:
    server = Supplier(acme.trust_file)
    yield server
    server.close()


def buyer_wallet(acme: Acme, index: int) -> Wallet:
    key = KeyPair.generate()
    identity = acme.identity(key, index)
    return acme.wallet(f"buyer-{uuid.uuid4().hex[:8]}", key, [identity, acme.mandate(identity)])


@pytest.fixture(scope="module")
def wallet(acme: Acme) -> Wallet:
    return buyer_wallet(acme, 10)


async def sdk_client(supplier: Supplier, http: httpx.AsyncClient, interceptors: Any = None) -> Any:
    """The SDK's client for the supplier's served card (non-streaming, to read each task)."""
    card = ParseDict((await http.get(supplier.url + ".well-known/agent-card.json")).json(), AgentCard())
    config = ClientConfig(streaming=False, httpx_client=http)
    return await create_client(card, client_config=config, interceptors=interceptors)


def order(supplier: Supplier, wallet: Wallet, step: Step) -> dict[str, Any]:
    return asyncio.run(a2a_buyer.order(wallet, supplier.url, supplier.key.did, step))


# --- the negotiation ----------------------------------------------------------------------------


def test_a_step_within_the_mandate_completes_the_task(supplier: Supplier, wallet: Wallet) -> None:
    outcome = order(supplier, wallet, WITHIN)
    assert outcome["state"] == "TASK_STATE_COMPLETED"
    assert outcome["decision"]["decision"] == "allow"
    assert outcome["decision"]["request"]["amount"] == "1200.00"
    assert outcome["decision"]["request"]["counterparty"] == a2a_supplier.GLOBEX


def test_a_step_over_the_limit_is_rejected_with_its_reasons(supplier: Supplier, wallet: Wallet) -> None:
    outcome = order(supplier, wallet, OVER_LIMIT)
    assert outcome["state"] == "TASK_STATE_REJECTED"
    assert outcome["decision"]["decision"] == "deny"
    assert "LIMIT_EXCEEDED" in outcome["decision"]["codes"]


def test_a_step_above_the_escalation_threshold_keeps_the_task_waiting(
    supplier: Supplier, wallet: Wallet
) -> None:
    outcome = order(supplier, wallet, ABOVE_ESCALATION)
    assert outcome["state"] == "TASK_STATE_AUTH_REQUIRED"
    assert outcome["decision"]["decision"] == "escalate"


# --- by hand, with the SDK client: the attacks -----------------------------------------------------


class Buyer:
    """An SDK client that activates the extension and sends messages by hand."""

    def __init__(self, supplier: Supplier) -> None:
        self.supplier = supplier

    async def send(self, message: Message, extensions: str | None = EXTENSION_URI) -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            client = await sdk_client(self.supplier, http)
            parameters = {"A2A-Extensions": extensions} if extensions else {}
            context = ClientCallContext(service_parameters=parameters)
            async for response in client.send_message(SendMessageRequest(message=message), context=context):
                return response.task

    def propose(self, step: Step) -> Any:
        return asyncio.run(self.send(_message({"step": step.to_json()})))

    def answer(self, task: Any, data: dict[str, Any]) -> Any:
        return asyncio.run(self.send(_message(data, task)))


def _message(data: dict[str, Any], task: Any = None) -> Message:
    message = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()))
    if task is not None:
        message.task_id, message.context_id = task.id, task.context_id
    message.parts.append(Part(text="furniture"))
    message.metadata.update({EXTENSION_URI: data})
    return message


def _decision(task: Any) -> dict[str, Any]:
    return dict(extension_data(task.status.message)["decision"])


def test_the_challenge_is_bound_to_the_task_and_the_step(supplier: Supplier) -> None:
    task = Buyer(supplier).propose(WITHIN)
    assert task.status.state == TaskState.TASK_STATE_AUTH_REQUIRED
    data = extension_data(task.status.message)
    digest = step_digest(task.id, WITHIN)
    assert data["stepDigest"] == digest
    assert data["verifiablePresentationRequest"]["challenge"].endswith("." + digest)
    assert data["verifiablePresentationRequest"]["domain"] == supplier.key.did


def test_a_replayed_presentation_is_refused(supplier: Supplier, wallet: Wallet) -> None:
    buyer = Buyer(supplier)
    task = buyer.propose(ABOVE_ESCALATION)
    data = extension_data(task.status.message)
    answer = answer_request(wallet, task.id, ABOVE_ESCALATION, data, domain=supplier.key.did)
    waiting = buyer.answer(task, answer)
    assert _decision(waiting)["decision"] == "escalate"
    replayed = buyer.answer(task, answer)
    assert replayed.status.state == TaskState.TASK_STATE_REJECTED
    assert "CHALLENGE_REPLAYED" in _decision(replayed)["codes"]


def test_a_presentation_for_another_task_is_refused(supplier: Supplier, wallet: Wallet) -> None:
    buyer = Buyer(supplier)
    first, second = buyer.propose(WITHIN), buyer.propose(WITHIN)
    answer = answer_request(
        wallet, first.id, WITHIN, extension_data(first.status.message), domain=supplier.key.did
    )
    refused = buyer.answer(second, answer)
    assert refused.status.state == TaskState.TASK_STATE_REJECTED
    assert _decision(refused)["codes"] == ["A2A_STEP_MISMATCH"]
    third = buyer.propose(WITHIN)  # the same presentation, claiming to be for the third task
    relabelled = buyer.answer(third, {**answer, "stepDigest": step_digest(third.id, WITHIN)})
    assert relabelled.status.state == TaskState.TASK_STATE_REJECTED
    assert "CHALLENGE_MISMATCH" in _decision(relabelled)["codes"]
    # and the wallet will not sign for a request naming another task's step
    with pytest.raises(StepMismatchError):
        answer_request(
            wallet, first.id, WITHIN, extension_data(second.status.message), domain=supplier.key.did
        )


def test_the_kill_switch_pulled_mid_negotiation_is_refused(acme: Acme, supplier: Supplier) -> None:
    wallet = buyer_wallet(acme, 11)
    buyer = Buyer(supplier)
    task = buyer.propose(WITHIN)
    answer = answer_request(
        wallet, task.id, WITHIN, extension_data(task.status.message), domain=supplier.key.did
    )
    acme.suspend(11)
    refused = buyer.answer(task, answer)
    assert refused.status.state == TaskState.TASK_STATE_REJECTED
    assert "SUSPENDED" in " ".join(_decision(refused)["codes"])


def test_a_call_without_the_required_extension_is_refused_and_the_header_echoed(supplier: Supplier) -> None:
    with pytest.raises(ExtensionSupportRequiredError, match="requires the extension"):
        asyncio.run(Buyer(supplier).send(_message({"step": WITHIN.to_json()}), extensions=None))
    body = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "SendMessage",
        "params": {"message": MessageToDict(_message({"step": WITHIN.to_json()}))},
    }
    answered = httpx.post(
        supplier.url, json=body, headers={"A2A-Extensions": EXTENSION_URI, "A2A-Version": "1.0"}
    )
    assert answered.headers["A2A-Extensions"] == EXTENSION_URI
    assert answered.json()["result"]["task"]["status"]["state"] == "TASK_STATE_AUTH_REQUIRED"


def test_the_interceptor_activates_the_extension(supplier: Supplier, wallet: Wallet) -> None:
    async def run() -> Any:
        async with httpx.AsyncClient(timeout=30) as http:
            interceptor = WalletInterceptor(wallet, domain=supplier.key.did)
            return await negotiate(await sdk_client(supplier, http, [interceptor]), WITHIN)

    assert asyncio.run(run()).status.state == TaskState.TASK_STATE_COMPLETED


# --- signed Agent Cards ---------------------------------------------------------------------------


def _card(key: KeyPair) -> dict[str, Any]:
    return a2a_supplier.card(key, "http://127.0.0.1:1/", [])


def test_the_served_card_verifies_against_the_supplier_did(supplier: Supplier) -> None:
    served = httpx.get(supplier.url + ".well-known/agent-card.json").json()
    assert verify_card(served, did=supplier.key.did) == supplier.key.id
    [declared] = served["capabilities"]["extensions"]
    assert declared["uri"] == EXTENSION_URI and declared["required"] is True
    assert declared["params"]["verifier"] == supplier.key.did


def test_the_buyer_refuses_a_supplier_whose_card_another_did_signed(
    supplier: Supplier, wallet: Wallet
) -> None:
    impostor = KeyPair.generate()
    with pytest.raises(AgentCardSignatureError):
        asyncio.run(a2a_buyer.order(wallet, supplier.url, impostor.did, WITHIN))


def test_unsigned_forged_and_other_agents_cards_are_refused() -> None:
    key, other = KeyPair.generate(), KeyPair.generate()
    signed = _card(key)
    with pytest.raises(AgentCardUnsignedError):
        verify_card({k: v for k, v in signed.items() if k != "signatures"}, did=key.did)
    with pytest.raises(AgentCardSignatureError):
        verify_card({**signed, "description": "Sells anything to anyone"}, did=key.did)
    with pytest.raises(AgentCardSignatureError):
        verify_card(signed, did=other.did)  # a valid signature, but not by the agent expected
    with pytest.raises(AgentCardSignatureError):
        verify_card(sign_card({k: v for k, v in signed.items() if k != "signatures"}, other), did=key.did)


def _signed_with_header(card: dict[str, Any], key: KeyPair, header: dict[str, Any]) -> dict[str, Any]:
    """``card`` signed by ``key`` under a JWS protected ``header`` of the test's choosing."""

    def b64url(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    unsigned = {k: v for k, v in card.items() if k != "signatures"}
    protected = b64url(json.dumps(header).encode("utf-8"))
    signature = key.sign(f"{protected}.{b64url(jcs_canonicalize(unsigned))}".encode("ascii"))
    return {**unsigned, "signatures": [{"protected": protected, "signature": b64url(signature)}]}


def test_a_card_signature_must_say_eddsa_and_nothing_critical() -> None:
    key = KeyPair.generate()
    card = _card(key)
    assert verify_card(_signed_with_header(card, key, {"alg": "EdDSA", "kid": key.id}), did=key.did) == key.id
    for header in (
        {"alg": "ES256", "kid": key.id},
        {"alg": "EdDSA", "kid": key.id, "crit": ["exp"], "exp": 1},
    ):
        with pytest.raises(AgentCardSignatureError) as refused:
            verify_card(_signed_with_header(card, key, header), did=key.did)
        assert refused.value.code == "AGENT_CARD_SIGNATURE_INVALID"


def test_a_card_with_an_empty_value_is_not_signed() -> None:
    key = KeyPair.generate()
    with pytest.raises(AgentCardError) as empty:
        sign_card({**_card(key), "defaultInputModes": []}, key)
    assert empty.value.details["path"] == "$.defaultInputModes"
    with pytest.raises(AgentCardError):
        sign_card({k: v for k, v in _card(key).items() if k != "skills"}, key)


def _sdk_key_provider(did: str) -> Any:
    def provide(kid: str | None, jku: str | None) -> PyJWK:
        assert kid is not None and kid.startswith(did)
        public = did_key_document(did)["verificationMethod"][0]
        return PyJWK(public_key_of(public).to_jwk(), algorithm="EdDSA")

    return provide


def test_a_card_signed_by_accredit_verifies_with_the_sdk() -> None:
    key = KeyPair.generate()
    card = ParseDict(_card(key), AgentCard())
    verifier = create_signature_verifier(_sdk_key_provider(key.did), ["EdDSA"])
    verifier(card)  # raises if no signature verifies
    card.description = "tampered"
    with pytest.raises(InvalidSignaturesError):
        verifier(card)
    with pytest.raises(NoSignatureError):
        verifier(ParseDict({"name": "x"}, AgentCard()))


def test_a_card_signed_by_the_sdk_verifies_with_accredit() -> None:
    key = KeyPair.generate()
    unsigned = ParseDict({k: v for k, v in _card(key).items() if k != "signatures"}, AgentCard())
    signer = create_agent_card_signer(
        PyJWK(key.to_jwk(include_private=True), algorithm="EdDSA"),
        {"alg": "EdDSA", "kid": key.id, "jku": None, "typ": "JOSE"},
    )
    signed = MessageToDict(signer(unsigned))
    resolver = StaticResolver({key.did: did_key_document(key.did)})
    assert verify_card(signed, did=key.did, resolver=resolver) == key.id


def test_the_readme_shows_the_tested_examples_lines() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, marker in [
        ("a2a_supplier.py", "the supplier's few lines"),
        ("a2a_buyer.py", "the buyer's few lines"),
    ]:
        assert f"```python\n{_example_block(name, marker)}\n```" in readme, name


def test_a_malformed_step_is_rejected_and_an_answer_without_a_pending_step_refused(
    supplier: Supplier,
) -> None:
    task = Buyer(supplier).propose(Step("contract.sign", "-5", "USD"))
    assert task.status.state == TaskState.TASK_STATE_REJECTED
    assert _decision(task)["codes"] == ["INVALID_DOCUMENT"]
    negotiation = Negotiation(Verifier(trust=TrustRegistry()), domain="did:x", counterparty="did:y")
    assert negotiation.decide("task", {}, {"verifiablePresentation": "{}"})["codes"] == [
        "A2A_NO_PENDING_STEP"
    ]
