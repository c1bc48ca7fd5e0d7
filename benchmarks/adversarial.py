"""Legitimate issuance latency while an attacker sends expensive verifications in a loop.

    python benchmarks/adversarial.py            # `accredit serve` on SQLite
    python benchmarks/adversarial.py --quick    # a smoke run

The attack (issue 13, item 1): one unauthenticated ``POST /credentials/verify`` of a VC 2.0
credential whose subject holds 6,000 small objects, under a proof set of eight forged
eddsa-rdfc-2022 proofs by a random did:key. Issuance p50/p99 is measured first alone, then
with attackers sending the attack back to back; the attack's own answers are counted by
status and timed. Issuances must answer 201, or the run fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service import _issue_bodies, _row, _run, _start  # noqa: E402

from accredit import KeyPair  # noqa: E402
from accredit.keys import multibase_encode  # noqa: E402


def attack(items: int, proofs: int = 8) -> dict[str, Any]:
    key = KeyPair.generate()
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2",
        ],
        "type": ["VerifiableCredential"],
        "issuer": key.did,
        "credentialSubject": {"items": [{"v": str(i)} for i in range(items)]},
        "proof": [
            {
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2025-01-01T00:00:00Z",
                "verificationMethod": key.id,
                "proofPurpose": "assertionMethod",
                "proofValue": multibase_encode(os.urandom(64)),
            }
            for _ in range(proofs)
        ],
    }
    return {"verifiableCredential": credential}


class Attackers:
    """Threads sending the attack back to back until stopped."""

    def __init__(self, base: str, body: dict[str, Any], count: int) -> None:
        self.base, self.body = base, body
        self.statuses: Counter[str] = Counter()
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(count)]

    def _loop(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status = str(
                    session.post(self.base + "/credentials/verify", json=self.body, timeout=600).status_code
                )
            except requests.RequestException as error:
                if self._stop.is_set():
                    return  # the server was stopped under this request
                status = type(error).__name__
            self.latencies.append(time.perf_counter() - started)
            self.statuses[status] += 1

    def __enter__(self) -> Attackers:
        for thread in self._threads:
            thread.start()
        time.sleep(0.5)  # let the attack take hold before measuring
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()


def _issuance(base: str, token: str, clients: int, per_client: int) -> str:
    started = time.perf_counter()
    latencies = _run(base, token, clients, per_client, _issue_bodies, "/credentials/issue", 201)
    return _row("issue", latencies, time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2, help="legitimate issuing clients")
    parser.add_argument("--requests", type=int, default=40, help="issuances per client")
    parser.add_argument("--attackers", type=int, default=2)
    parser.add_argument("--items", type=int, default=6000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    per_client = 3 if args.quick else args.requests
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    with tempfile.TemporaryDirectory() as directory:
        process, base, token = _start(Path(directory) / "data", 1, env)
        try:
            alone = _issuance(base, token, args.clients, per_client)
            with Attackers(base, attack(args.items), args.attackers) as attackers:
                attacked = _issuance(base, token, args.clients, per_client)
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"accredit serve, SQLite; {args.clients} issuing clients; {args.attackers} attackers")
    print(f"attack: {args.items} subject objects, 8 forged eddsa-rdfc-2022 proofs, sent back to back")
    print(f"{'operation':<10} {'count':>6} {'per second':>10} {'p50 ms':>9} {'p99 ms':>9}")
    print(alone + "   (no attack)")
    print(attacked + "   (under attack)")
    answered = sorted(attackers.latencies)
    if answered:
        p99 = answered[min(len(answered) - 1, int(len(answered) * 0.99))]
        print(
            f"attack answers: {dict(attackers.statuses)}; "
            f"p50 {statistics.median(answered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
        )
    else:
        print("attack answers: none completed while issuance was measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
