"""Issue and verify throughput of accredit against two independent peers, in one run.

    python benchmarks/verify.py [--quick] [--iterations N] [--rounds R]

One agent-mandate credential, four ways:

- accredit, VC 2.0, ``eddsa-rdfc-2022`` (what accredit issues by default);
- the reference JS stack (``@digitalbazaar/vc`` + ``eddsa-rdfc-2022-cryptosuite``, through
  ``benchmarks/js``; ``npm install`` there first), on the same VC 2.0 credentials;
- accredit, VC 1.1, ``Ed25519Signature2020`` (the form didkit speaks);
- didkit, VC 1.1, ``Ed25519Signature2020`` (through ``tests/_didkit.py``), when installed.

Every credential is distinct (its own id, agent and status index) and every verification
must succeed, or the script fails: a fast verifier that says "no" measures nothing. Each
measurement runs ``--rounds`` times with the peers in alternating order; the table shows the
best round and the spread (worst to best, as a share of the best), and ratios of best rounds.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the one didkit adapter
sys.path.insert(0, str(Path(__file__).resolve().parent))

import _didkit  # noqa: E402
import js_reference  # noqa: E402

from accredit import KeyPair, issue_credential, verify_credential  # noqa: E402
from accredit.results import Check  # noqa: E402

CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
# The published VC 2.0 context has no @vocab (it moved to this opt-in context), so custom
# claims such as "mandate" need it to be defined at all.
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
ED25519_2020 = "https://w3id.org/security/suites/ed25519-2020/v1"
UNDEFINED_TERM = "https://www.w3.org/ns/credentials/undefined-term#"  # that context's @vocab
STATUS = "https://www.w3.org/ns/credentials/status#"
STATUS_LIST = "https://status.acme.example/credentials/status/3"
JS_WARMUP = 50  # credentials the JS stack issues and verifies untimed before each round
HEADER = ("implementation", "suite", "model", "issued/s", "spread", "verified/s", "spread")


def _status_not_fetched(credential: Any) -> list[Check]:
    # Fetching and decoding the status list is network and cache work, not signature work.
    return [Check.passed("status", "not fetched (benchmark)")]


def mandate_claims(agent: str) -> dict[str, Any]:
    """An AI agent's mandate: whom it acts for, what it may do, how much it may spend."""
    return {
        "id": agent,
        "organization": {"id": "did:web:acme.example", "name": "Acme Corp"},
        "mandate": {
            "allowedActions": ["search_catalog", "request_quote", "place_order", "cancel_order"],
            "spendingLimits": [
                {"amount": "500.00", "currency": "EUR", "per": "transaction"},
                {"amount": "2500.00", "currency": "EUR", "per": "month"},
            ],
        },
    }


def status_entry(index: int) -> dict[str, str]:
    return {
        "id": f"{STATUS_LIST}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(index),
        "statusListCredential": STATUS_LIST,
    }


def credential_v2(issuer: str, agent: str, index: int, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V2, UNDEFINED_TERMS],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "AgentMandateCredential"],
        "issuer": issuer,
        "validFrom": _xsd(start),
        "validUntil": _xsd(end),
        "credentialSubject": mandate_claims(agent),
        "credentialStatus": status_entry(index),
    }


def _absolute(value: Any, vocabulary: str) -> Any:
    """``value`` with every key but id/type, and every type, written as an absolute IRI."""
    if isinstance(value, list):
        return [_absolute(item, vocabulary) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key == "id":
            out[key] = item
        elif key == "type":
            out[key] = vocabulary + item
        else:
            out[vocabulary + key] = _absolute(item, vocabulary)
    return out


def credential_v1(issuer: str, agent: str, index: int, start: datetime, end: datetime) -> dict[str, Any]:
    # credentials/v1 has no @vocab and didkit knows no context that adds one, so the same
    # claims are spelled as the absolute IRIs the VC 2.0 form's @vocab gives them.
    status = _absolute(status_entry(index), STATUS)
    status[STATUS + "statusListCredential"] = {"id": STATUS_LIST}  # an IRI, as in VC 2.0
    return {
        "@context": [CREDENTIALS_V1, ED25519_2020],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", UNDEFINED_TERM + "AgentMandateCredential"],
        "issuer": issuer,
        "issuanceDate": _xsd(start),
        "expirationDate": _xsd(end),
        "credentialSubject": _absolute(mandate_claims(agent), UNDEFINED_TERM),
        "credentialStatus": status,
    }


def _xsd(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Round:
    issued_per_second: float
    verified_per_second: float


@dataclass
class Peer:
    """One implementation: a function running one timed round of ``n`` credentials."""

    implementation: str
    suite: str
    model: str
    run_round: Callable[[int], Round]
    rounds: list[Round]

    def best(self) -> Round:
        return Round(
            max(r.issued_per_second for r in self.rounds), max(r.verified_per_second for r in self.rounds)
        )


def _spread(values: list[float]) -> str:
    return f"{(max(values) - min(values)) / max(values) * 100:.0f}%"


def timed_round(
    issue: Callable[[int], dict[str, Any]], verify: Callable[[dict[str, Any]], None], count: int
) -> Round:
    """Time ``count`` issuances, then the verification of each credential they made."""
    verify(issue(count))  # warm-up: context parsing and caches are one-off costs
    started = time.perf_counter()
    credentials = [issue(i) for i in range(count)]
    issued = time.perf_counter() - started
    started = time.perf_counter()
    for credential in credentials:
        verify(credential)
    verified = time.perf_counter() - started
    return Round(count / issued, count / verified)


def accredit_verifier(suite: str) -> Callable[[dict[str, Any]], None]:
    def verify(credential: dict[str, Any]) -> None:
        verify_credential(
            credential, accepted_suites={suite}, status_checker=_status_not_fetched
        ).raise_for_status()

    return verify


def didkit_verify(credential: dict[str, Any]) -> None:
    errors = _didkit.verify(credential)
    if errors:
        raise RuntimeError(f"didkit did not verify a credential: {errors}")


def peers(iterations: int) -> list[Peer]:
    now = datetime.now(UTC).replace(microsecond=0)
    start, end = now - timedelta(days=1), now + timedelta(days=365)
    agents = [KeyPair.generate().did for _ in range(iterations + 1)]  # +1 for the warm-up
    issuer = KeyPair.generate()
    unsigned_v2 = [credential_v2(issuer.did, agents[i], i, start, end) for i in range(iterations + 1)]
    found = [
        Peer(
            "accredit",
            "eddsa-rdfc-2022",
            "VC 2.0",
            lambda n: timed_round(
                lambda i: issue_credential(unsigned_v2[i], issuer), accredit_verifier("eddsa-rdfc-2022"), n
            ),
            [],
        ),
    ]
    if js_reference.available():

        def js_round(n: int) -> Round:
            # Warm-up credentials go first (V8 compiles hot code after some calls); node times
            # issuance and verification itself.
            warmup = [credential_v2(issuer.did, agents[n], n, start, end) for _ in range(JS_WARMUP)]
            result = js_reference.run("bench", issuer, [*warmup, *unsigned_v2[:n]], warmup=JS_WARMUP)
            return Round(n / result["issueSeconds"], n / result["verifySeconds"])

        version = js_reference.versions()["@digitalbazaar/vc"]
        found.append(Peer(f"JS vc {version}", "eddsa-rdfc-2022", "VC 2.0", js_round, []))
    found.append(
        Peer(
            "accredit",
            "Ed25519Signature2020",
            "VC 1.1",
            lambda n: timed_round(
                lambda i: issue_credential(
                    credential_v1(issuer.did, agents[i], i, start, end), issuer, suite="Ed25519Signature2020"
                ),
                accredit_verifier("Ed25519Signature2020"),
                n,
            ),
            [],
        )
    )
    if _didkit.available():
        jwk = _didkit.generate_key()
        did, method = _didkit.did_of(jwk), _didkit.verification_method_of(jwk)
        found.append(
            Peer(
                f"didkit {_didkit.version()}",
                "Ed25519Signature2020",
                "VC 1.1",
                lambda n: timed_round(
                    lambda i: _didkit.issue(
                        credential_v1(did, agents[i], i, start, end), jwk, verification_method=method
                    ),
                    didkit_verify,
                    n,
                ),
                [],
            )
        )
    return found


def run(iterations: int, rounds: int) -> list[Peer]:
    """Every peer ``rounds`` times, alternating the order so no peer always runs first."""
    found = peers(iterations)
    for index in range(rounds):
        order = found if index % 2 == 0 else list(reversed(found))
        for peer in order:
            peer.rounds.append(peer.run_round(iterations))
    return found


def table(found: list[Peer]) -> str:
    lines = [HEADER]
    for peer in found:
        best = peer.best()
        lines.append(
            (
                peer.implementation,
                peer.suite,
                peer.model,
                f"{best.issued_per_second:.0f}",
                _spread([r.issued_per_second for r in peer.rounds]),
                f"{best.verified_per_second:.0f}",
                _spread([r.verified_per_second for r in peer.rounds]),
            )
        )
    widths = [max(len(line[c]) for line in lines) for c in range(len(HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def ratios(found: list[Peer]) -> list[str]:
    """accredit's best rounds over each peer's, for the same suite and data model."""
    lines = []
    for mine in (p for p in found if p.implementation == "accredit"):
        for other in (p for p in found if p.implementation != "accredit" and p.suite == mine.suite):
            a, b = mine.best(), other.best()
            lines.append(
                f"accredit / {other.implementation} ({mine.suite}): "
                f"issue {a.issued_per_second / b.issued_per_second:.2f}x, "
                f"verify {a.verified_per_second / b.verified_per_second:.2f}x"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations, one round (smoke test)")
    parser.add_argument(
        "--iterations", "-n", type=int, default=300, help="credentials per round (default 300)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per peer, best one shown (default 3)")
    args = parser.parse_args(argv)
    iterations, rounds = (3, 1) if args.quick else (args.iterations, args.rounds)
    if iterations < 1 or rounds < 1:
        parser.error("--iterations and --rounds must be at least 1")

    key, today = KeyPair.generate(), datetime.now(UTC)
    sample = issue_credential(credential_v2(key.did, key.did, 0, today, today), key)
    accredit_version = importlib.metadata.version("accredit")
    print(f"python {platform.python_version()} ({platform.machine()}), accredit {accredit_version}")
    print(f"didkit: {_didkit.version() if _didkit.available() else 'not installed'}")
    reference = js_reference.versions() if js_reference.available() else None
    print(f"reference JS stack: {reference or 'not installed (cd benchmarks/js && npm install)'}")
    size = len(json.dumps(sample))
    print(f"{iterations} distinct credentials per round, best of {rounds} rounds in alternating order;")
    print(f"a signed VC 2.0 mandate is {size} bytes")
    print("status fetching excluded: accredit and the JS stack get a status check that passes without")
    print("fetching; didkit ignores credentialStatus and expiry, so it verifies the proof only.\n")
    found = run(iterations, rounds)
    print(table(found))
    print()
    print("\n".join(ratios(found)))
    return 0


if __name__ == "__main__":
    status = main()
    if _didkit.available():
        _didkit.exit_now(status)
    sys.exit(status)
