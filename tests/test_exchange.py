"""The counterparty's side over real HTTP on 127.0.0.1: the example vendor quote API
(examples/vendor_quotes.py, a Flask app protected by accredit.exchange) run as processes,
agents answering it with accredit.exchange.client.WalletAuth, Acme's kill-switch list served
by a third server; and two vendor processes sharing PostgreSQL or Redis."""

from __future__ import annotations

import hashlib
import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ChildProcess, LocalServer
from werkzeug.serving import make_server

from accredit import KeyPair, TrustRegistry, Verifier, Wallet, issue_credential
from accredit._http import FetchPolicy
from accredit.agents import Counterparties, Money, agent_credential, mandate_credential
from accredit.challenges import Challenge, ChallengeState, InMemoryStore
from accredit.errors import RequestDomainMismatchError
from accredit.exchange import Ask, Authorization, Call, Exchange
from accredit.exchange.client import WalletAuth, _endpoint
from accredit.exchange.stores import RedisStore, SQLStore
from accredit.exchange.wsgi import AccreditMiddleware
from accredit.status import HTTPStatusListFetcher, new_list, set_bit, status_entry, status_list_credential

ROOT = Path(__file__).resolve().parents[1]
PASSPHRASE = "correct horse battery staple"
ORDER = {"sku": "chair-ergo-2", "quantity": 5}  # 1200.00 USD


class Acme:
    """Acme Corp: its key, its kill-switch list served over HTTP, and its agents' wallets."""

    def __init__(self, directory: Path) -> None:
        self.key, self.directory = KeyPair.generate(), directory
        self.bits = new_list()
        self.server = LocalServer()
        self.list_url = f"{self.server.base}/status/1"
        self.publish()
        self.trust_file = directory / "trust.json"
        types = ["AgentCredential", "MandateCredential"]
        self.trust_file.write_text(json.dumps({"issuers": [{"id": self.key.did, "types": types}]}))

    def publish(self) -> None:
        now = datetime.now(UTC)
        unsigned = status_list_credential(
            self.list_url,
            self.key.did,
            "suspension",
            self.bits,
            valid_from=now - timedelta(minutes=1),
            valid_until=now + timedelta(minutes=10),
        )
        signed = issue_credential(unsigned, self.key, created=now - timedelta(minutes=1))
        self.server.json("/status/1", signed, **{"Cache-Control": "no-store"})

    def suspend(self, index: int) -> None:
        set_bit(self.bits, index, True)
        self.publish()

    def identity(self, agent: KeyPair, index: int) -> dict[str, Any]:
        now = datetime.now(UTC)
        return issue_credential(
            agent_credential(
                agent=agent.did,
                organization={"id": self.key.did, "name": "Acme Corp"},
                built_by={"name": "Example Labs"},
                build={"name": "acme-buyer", "version": "2.3.1"},
                liability_contact={"role": "Chief Procurement Officer"},
                escalation_contact={"url": "mailto:procurement@acme.example"},
                kill_switch=status_entry(self.list_url, index, "suspension"),
                valid_from=now - timedelta(days=1),
            ),
            self.key,
        )

    def mandate(
        self, identity: dict[str, Any], signer: KeyPair | None = None, **fields: Any
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        terms: dict[str, Any] = {
            "issuer": (signer or self.key).did,
            "agent_credential": identity,
            "actions": ["procurement.negotiate", "contract.sign"],
            "purpose": "Office furniture",
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=30),
            "transaction_limit": Money.of("5000.00", "USD"),
            "total_limit": Money.of("20000.00", "USD"),
            "escalation_threshold": Money.of("3000.00", "USD"),
            "counterparties": Counterparties.of("globex.example"),
            "delegation_depth": 1,
            **fields,
        }
        return issue_credential(mandate_credential(**terms), signer or self.key)

    def wallet(self, name: str, key: KeyPair, credentials: list[dict[str, Any]]) -> Wallet:
        wallet = Wallet.create(self.directory / name, key, passphrase=PASSPHRASE, scrypt_n=2**14)
        for credential in credentials:
            wallet.import_credential(credential)
        return wallet


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acme]:
    org = Acme(tmp_path_factory.mktemp("acme"))
    yield org
    org.server.close()


@pytest.fixture(scope="module")
def buyer(acme: Acme) -> tuple[KeyPair, dict[str, Any], dict[str, Any], Wallet]:
    key = KeyPair.generate()
    identity = acme.identity(key, 1)
    mandate = acme.mandate(identity)
    return key, identity, mandate, acme.wallet("buyer", key, [identity, mandate])


def sub_agent(
    acme: Acme, buyer: tuple[KeyPair, dict[str, Any], dict[str, Any], Wallet], name: str, **terms: Any
) -> Wallet:
    """A helper agent holding a mandate delegated by the buyer, with the buyer's chain."""
    parent_key, parent_identity, parent_mandate, _ = buyer
    key = KeyPair.generate()
    identity = acme.identity(key, 2)
    fields: dict[str, Any] = {
        "actions": ["contract.sign"],
        "transaction_limit": Money.of("2000.00", "USD"),
        "total_limit": Money.of("5000.00", "USD"),
        "escalation_threshold": Money.of("1500.00", "USD"),
        "delegation_depth": 0,
        "valid_from": datetime.now(UTC) - timedelta(hours=1),
        "valid_until": datetime.now(UTC) + timedelta(days=7),
        "parent": parent_mandate,
        **terms,
    }
    delegated = acme.mandate(identity, parent_key, **fields)
    return acme.wallet(name, key, [parent_identity, parent_mandate, identity, delegated])


class Vendor:
    """examples/vendor_quotes.py as a process on 127.0.0.1."""

    def __init__(self, trust: Path, store: str | None = None) -> None:
        command = [sys.executable, str(ROOT / "examples" / "vendor_quotes.py"), "--trust", str(trust)]
        command += ["--port", "0", "--allow-private"] + (["--store", store] if store else [])
        self.process = ChildProcess(command, cwd=ROOT)
        banner = self.process.line(timeout=60)
        assert banner.startswith("Globex quotes on http://127.0.0.1:"), banner
        self.base = banner.split()[-1]  # the port the server bound itself

    def order(self, wallet: Wallet | None = None, body: dict[str, Any] = ORDER) -> requests.Response:
        auth = WalletAuth(wallet) if wallet else None
        return requests.post(f"{self.base}/orders", json=body, auth=auth, timeout=60)

    def close(self) -> None:
        assert self.process.stop() == 0


@pytest.fixture(scope="module")
def vendor(acme: Acme) -> Iterator[Vendor]:
    server = Vendor(acme.trust_file)
    yield server
    server.close()


def _codes(response: requests.Response) -> list[str]:
    return list(response.json()["decision"]["codes"])


def _present(vendor: Vendor, wallet: Wallet, body: dict[str, Any] = ORDER) -> tuple[str, dict[str, Any]]:
    """Ask for a presentation request and answer it by hand: (endpoint, posted body)."""
    asked = requests.post(f"{vendor.base}/orders", json=body, timeout=30)
    vpr = asked.json()["verifiablePresentationRequest"]
    endpoint = vpr["interact"]["service"][0]["serviceEndpoint"]
    return endpoint, {"verifiablePresentation": wallet.present(vpr, domain="127.0.0.1")}


def test_an_unauthenticated_call_gets_a_presentation_request(vendor: Vendor) -> None:
    response = requests.post(f"{vendor.base}/orders", json=ORDER, timeout=30)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Accredit realm="127.0.0.1"'
    problem = response.json()
    assert problem["code"] == "PRESENTATION_REQUIRED"
    vpr = problem["verifiablePresentationRequest"]
    assert vpr["domain"] == "127.0.0.1" and len(vpr["challenge"]) >= 32
    assert vpr["query"] == [
        {
            "type": "QueryByExample",
            "credentialQuery": [
                {"example": {"type": ["AgentCredential"]}},
                {"example": {"type": ["MandateCredential"]}},
            ],
        }
    ]
    endpoint = vpr["interact"]["service"][0]["serviceEndpoint"]
    assert endpoint == f"{vendor.base}/.well-known/accredit/exchanges/{vpr['challenge']}"
    assert (
        requests.get(f"{vendor.base}/quotes/chair-ergo-2?quantity=5", timeout=30).json()["amount"]
        == "1200.00"
    )


def test_the_buyer_within_its_mandate_places_the_order(vendor: Vendor, buyer: Any) -> None:
    response = vendor.order(buyer[3])
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["agent"] == buyer[3].did
    assert (order["action"], order["amount"], order["currency"]) == ("contract.sign", "1200.00", "USD")
    assert order["counterparty"] == "did:web:quotes.globex.example"


@pytest.mark.parametrize(
    ("quantity", "status", "code", "reason"),
    [
        (25, 403, "PRESENTATION_DENIED", "LIMIT_EXCEEDED"),
        (15, 403, "ESCALATION_REQUIRED", "ESCALATION_REQUIRED"),
    ],
)
def test_over_the_limit_is_denied_and_above_the_threshold_escalates(
    vendor: Vendor, buyer: Any, quantity: int, status: int, code: str, reason: str
) -> None:
    response = vendor.order(buyer[3], {"sku": "chair-ergo-2", "quantity": quantity})  # 6000 / 3600 USD
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert reason in _codes(response)


def test_a_replayed_presentation_is_refused(vendor: Vendor, buyer: Any) -> None:
    endpoint, posted = _present(vendor, buyer[3])
    assert requests.post(endpoint, json=posted, timeout=30).status_code == 200
    replay = requests.post(endpoint, json=posted, timeout=30)
    assert replay.status_code == 403 and _codes(replay) == ["CHALLENGE_REPLAYED"]


def test_an_authorization_is_single_use_and_for_its_call_only(vendor: Vendor, buyer: Any) -> None:
    endpoint, posted = _present(vendor, buyer[3])
    granted = requests.post(endpoint, json=posted, timeout=30).json()
    header = {"Authorization": f"Accredit {granted['authorization']['token']}"}
    other = requests.post(
        f"{vendor.base}/orders", json={"sku": "desk-oak-160", "quantity": 1}, headers=header, timeout=30
    )
    assert (other.status_code, other.json()["code"]) == (401, "AUTHORIZATION_CALL_MISMATCH")
    # The mismatch consumed it: a stolen authorization is tried once, for one call.
    replay = requests.post(f"{vendor.base}/orders", json=ORDER, headers=header, timeout=30)
    assert (replay.status_code, replay.json()["code"]) == (401, "AUTHORIZATION_REPLAYED")
    endpoint, posted = _present(vendor, buyer[3])
    token = requests.post(endpoint, json=posted, timeout=30).json()["authorization"]["token"]
    header = {"Authorization": f"Accredit {token}"}
    assert requests.post(f"{vendor.base}/orders", json=ORDER, headers=header, timeout=30).status_code == 201
    again = requests.post(f"{vendor.base}/orders", json=ORDER, headers=header, timeout=30)
    assert (again.status_code, again.json()["code"]) == (401, "AUTHORIZATION_REPLAYED")
    forged = requests.post(
        f"{vendor.base}/orders", json=ORDER, headers={"Authorization": "Accredit x" * 3}, timeout=30
    )
    assert forged.json()["code"] == "AUTHORIZATION_UNKNOWN"


def test_a_presentation_for_another_domain_is_refused(vendor: Vendor, buyer: Any) -> None:
    asked = requests.post(f"{vendor.base}/orders", json=ORDER, timeout=30).json()[
        "verifiablePresentationRequest"
    ]
    relayed = buyer[3].present({**asked, "domain": "evil.example"})
    endpoint = asked["interact"]["service"][0]["serviceEndpoint"]
    refused = requests.post(endpoint, json={"verifiablePresentation": relayed}, timeout=30)
    assert refused.status_code == 403 and "DOMAIN_MISMATCH" in _codes(refused)


def test_a_sub_agent_within_its_delegation_is_allowed(acme: Acme, vendor: Vendor, buyer: Any) -> None:
    helper = sub_agent(acme, buyer, "helper")
    allowed = vendor.order(helper, {"sku": "chair-ergo-2", "quantity": 5})  # 1200 USD
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["agent"] == helper.did
    over = vendor.order(helper, {"sku": "chair-ergo-2", "quantity": 10})  # 2400 USD: over its 2000
    assert over.status_code == 403 and "LIMIT_EXCEEDED" in _codes(over)


def test_a_sub_agent_that_widens_its_mandate_is_refused(acme: Acme, vendor: Vendor, buyer: Any) -> None:
    wider = sub_agent(acme, buyer, "wider", transaction_limit=Money.of("9000.00", "USD"))
    refused = vendor.order(wider, {"sku": "chair-ergo-2", "quantity": 5})
    assert refused.status_code == 403 and "DELEGATION_WIDENS" in _codes(refused)


def test_the_suspended_agent_is_refused(acme: Acme, vendor: Vendor) -> None:
    key = KeyPair.generate()
    identity = acme.identity(key, 9)
    wallet = acme.wallet("suspended", key, [identity, acme.mandate(identity)])
    assert vendor.order(wallet).status_code == 201
    acme.suspend(9)
    refused = vendor.order(wallet)
    assert refused.status_code == 403 and "SUSPENDED" in _codes(refused)


def test_the_buyer_agent_example_runs(acme: Acme, vendor: Vendor, buyer: Any) -> None:
    command = [sys.executable, str(ROOT / "examples" / "buyer_agent.py"), "--wallet", str(buyer[3].path)]
    command += ["--vendor", vendor.base, "--sku", "desk-oak-160", "--quantity", "2"]
    child = ChildProcess(
        command, cwd=ROOT, env={"ACCREDIT_WALLET_PASSPHRASE": PASSPHRASE, "PATH": "/usr/bin"}
    )
    lines = [child.line(timeout=120)]
    while lines[-1] != "}\n":
        lines.append(child.line(timeout=30))
    output = "".join(lines)
    assert child.process.wait(timeout=60) == 0, output
    assert '"status": 201' in output and '"amount": "1220.00"' in output


# --- several vendor processes ------------------------------------------------------------------


@pytest.fixture(params=["postgresql", "redis"])
def shared_store(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgresql":
        yield str(request.getfixturevalue("fresh_postgres"))
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis on 127.0.0.1:6379: {error}")
    yield "redis://127.0.0.1:6379/0"


def test_two_vendor_processes_accept_a_presentation_once(acme: Acme, buyer: Any, shared_store: str) -> None:
    first, second = Vendor(acme.trust_file, shared_store), Vendor(acme.trust_file, shared_store)
    try:
        endpoint, posted = _present(first, buyer[3])
        granted = requests.post(endpoint, json=posted, timeout=30)
        assert granted.status_code == 200, granted.text
        at_second = endpoint.replace(first.base, second.base)
        replay = requests.post(at_second, json=posted, timeout=30)
        assert replay.status_code == 403 and _codes(replay) == ["CHALLENGE_REPLAYED"]
        # The authorization from the first is accepted once, by whichever process gets the call.
        header = {"Authorization": f"Accredit {granted.json()['authorization']['token']}"}
        assert (
            requests.post(f"{second.base}/orders", json=ORDER, headers=header, timeout=30).status_code == 201
        )
        again = requests.post(f"{first.base}/orders", json=ORDER, headers=header, timeout=30)
        assert again.json()["code"] == "AUTHORIZATION_REPLAYED"
        # And the whole flow works through either process.
        assert second.order(buyer[3]).status_code == 201
    finally:
        first.close()
        second.close()


# --- the stores --------------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite", "postgresql", "redis"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        shared: Any = InMemoryStore()
        return lambda kind: shared
    if request.param == "sqlite":
        return lambda kind: SQLStore(f"sqlite:///{tmp_path / 'single-use.db'}", kind)
    if request.param == "postgresql":
        url = str(request.getfixturevalue("fresh_postgres"))
        return lambda kind: SQLStore(url, kind)
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis on 127.0.0.1:6379: {error}")
    prefix = f"accredit-test:{KeyPair.generate().did[-12:]}:"
    return lambda kind: RedisStore(url, kind, prefix=prefix)


def test_each_store_accepts_a_challenge_once_under_concurrency(store_factory: Any) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    issued = Challenge("c" * 40, "globex.example", now, now + timedelta(minutes=5), request={"action": "a"})
    store = store_factory(Challenge)
    store.add(issued)
    with pytest.raises(ValueError):
        store.add(issued)
    stores = [store_factory(Challenge) for _ in range(4)]  # as several processes would
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: stores[i % 4].consume(issued.value, now), range(32)))
    states = [state for state, _ in results]
    assert states.count(ChallengeState.VALID) == 1 and states.count(ChallengeState.REPLAYED) == 31
    assert all(found == issued for _, found in results)  # kept whole, request binding included
    assert store.consume("unknown-value", now) == (ChallengeState.UNKNOWN, None)
    late = Challenge("l" * 40, "globex.example", now, now + timedelta(seconds=1))
    store.add(late)
    assert store.consume(late.value, now + timedelta(seconds=2))[0] is ChallengeState.EXPIRED


# --- plain WSGI, and the README -----------------------------------------------------------------


def test_the_wsgi_middleware_protects_a_plain_wsgi_application(acme: Acme, buyer: Any) -> None:
    seen: list[Any] = []

    def pay(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        seen.append((environ["accredit.authorization"].request["amount"], body))
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b'{"paid": true}']

    def ask(call: Call) -> Ask:
        return Ask("contract.sign", json.loads(call.body)["amount"], "USD")

    verifier = Verifier(
        trust=TrustRegistry.from_file(acme.trust_file),
        status_fetcher=HTTPStatusListFetcher(FetchPolicy(allow_private=True, allow_http=True)),
    )
    exchange = Exchange(verifier, domain="127.0.0.1", counterparty="did:web:pay.globex.example")
    app = AccreditMiddleware(pay, exchange, {("POST", "/pay"): ask})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        unauthenticated = requests.post(f"{base}/pay", json={"amount": "10.00"}, timeout=30)
        assert unauthenticated.json()["code"] == "PRESENTATION_REQUIRED" and seen == []
        paid = requests.post(f"{base}/pay", json={"amount": "10.00"}, auth=WalletAuth(buyer[3]), timeout=30)
        assert paid.status_code == 201 and paid.json() == {"paid": True}
        assert seen == [("10.00", b'{"amount": "10.00"}')]  # the application read the body it was sent
        huge = requests.post(f"{base}/pay", data=b"x" * 1_000_001, timeout=30)
        assert (huge.status_code, huge.json()["code"]) == (413, "INPUT_TOO_LARGE") and len(seen) == 1
        over = requests.post(f"{base}/pay", json={"amount": "9000.00"}, auth=WalletAuth(buyer[3]), timeout=30)
        assert over.status_code == 403 and "LIMIT_EXCEEDED" in _codes(over)
    finally:
        server.shutdown()
        server.server_close()


def test_the_agent_refuses_a_presentation_endpoint_on_another_origin(vendor: Vendor, buyer: Any) -> None:
    asked = requests.post(f"{vendor.base}/orders", json=ORDER, timeout=30).json()[
        "verifiablePresentationRequest"
    ]
    asked["interact"]["service"][0]["serviceEndpoint"] = "http://evil.example/collect"
    with pytest.raises(RequestDomainMismatchError):
        _endpoint(asked, f"{vendor.base}/orders")


def _example_block(name: str, marker: str) -> str:
    lines = (ROOT / "examples" / name).read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if marker in line) + 1
    end = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("# ----"))
    return textwrap.dedent("\n".join(lines[start:end])).strip("\n")


def test_the_readme_shows_the_tested_examples_lines() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, marker in [
        ("vendor_quotes.py", "the vendor's few lines"),
        ("buyer_agent.py", "the agent's few lines"),
    ]:
        assert f"```python\n{_example_block(name, marker)}\n```" in readme, name


def test_the_exchange_answers_every_failure_with_its_code() -> None:
    now = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    verifier = Verifier(trust=TrustRegistry(), clock=lambda: now[0])
    exchange = Exchange(verifier, domain="globex.example", counterparty="did:web:globex.example")
    call = Call("POST", "/orders", b'{"sku": "x"}')
    token = "t" * 43
    exchange.authorizations.add(
        Authorization(
            hashlib.sha256(token.encode()).hexdigest(),
            now[0],
            now[0] + timedelta(seconds=60),
            call.digest,
            {},
            "did:x",
        )
    )
    now[0] += timedelta(seconds=61)
    expired = exchange.guard(
        call, f"Accredit {token}", lambda c: Ask("contract.sign"), "https://globex.example"
    )
    assert (expired.status, expired.body["code"]) == (401, "AUTHORIZATION_EXPIRED")
    assert exchange.accept("c" * 64, b"{not json").body["code"] == "MALFORMED_INPUT"
    assert exchange.accept("c" * 64, b'{"presentation": {}}').body["code"] == "MALFORMED_INPUT"
    unknown = exchange.accept("c" * 64, b'{"verifiablePresentation": {}}')
    assert (unknown.status, unknown.body["code"]) == (403, "PRESENTATION_DENIED")
    assert "CHALLENGE_UNKNOWN" in unknown.body["decision"]["codes"]
    priced = exchange.guard(call, None, lambda c: Ask("contract.sign", "-5", "USD"), "https://globex.example")
    assert (priced.status, priced.body["code"]) == (400, "INVALID_DOCUMENT")
    # A challenge not issued for a call (a plain presentation request) buys no authorization.
    plain = verifier.create_request(domain="globex.example")
    refused = exchange.accept(plain["challenge"], b'{"verifiablePresentation": {}}')
    assert refused.status == 403 and exchange.authorizations.consume("anything", now[0])[1] is None
