"""Drive a running issuer service with concurrent clients: issuances and verifications per
second, with p50/p99 latency.

    python benchmarks/service.py                      # starts `accredit serve` on SQLite
    python benchmarks/service.py --workers 4          # under gunicorn with 4 workers
    python benchmarks/service.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test_bench
    python benchmarks/service.py --quick              # a smoke run

Every request must succeed (201 on issue, 200 on verify) or the run fails. Verification runs
through the service's own /credentials/verify, which checks the proof, dates and both status
lists (read locally, without an HTTP round trip to itself).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

CREDENTIAL = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ],
    # A role in undefined terms: the agent vocabulary's MandateCredential is read by its strict
    # reader and comes from POST /agents/{did}/mandates.
    "type": ["VerifiableCredential", "ProcurementRoleCredential"],
    "credentialSubject": {
        "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "actsFor": {"id": "did:web:acme.example", "name": "Acme Corp"},
        "actions": ["procurement.negotiate", "contract.sign"],
        "limits": {"perTransaction": {"amount": "250000.00", "currency": "USD"}},
    },
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(data_dir: Path, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    init = subprocess.run(
        [sys.executable, "-m", "accredit.cli", "init", "--data-dir", str(data_dir), "--base-url", base],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = json.loads(init.stdout)["adminToken"]
    if workers > 1:
        env = {**env, "ACCREDIT_DATA_DIR": str(data_dir)}
        command = [
            shutil.which("gunicorn") or "gunicorn",
            "-w",
            str(workers),
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "accredit.service:create_app()",
        ]
    else:
        command = [
            sys.executable,
            "-m",
            "accredit.cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            if requests.get(base + "/", timeout=5).status_code == 200:
                return process, base, token
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not start")


def _run(
    base: str, token: str, clients: int, per_client: int, body: Any, path: str, expect: int
) -> list[float]:
    def client(_: int) -> list[float]:
        session, latencies = requests.Session(), []
        headers = {"Authorization": f"Bearer {token}"}
        for item in body(per_client):
            started = time.perf_counter()
            response = session.post(base + path, json=item, headers=headers, timeout=60)
            latencies.append(time.perf_counter() - started)
            if response.status_code != expect:
                raise SystemExit(f"{path} answered {response.status_code}: {response.text[:300]}")
        return latencies

    with ThreadPoolExecutor(clients) as pool:
        return [latency for batch in pool.map(client, range(clients)) for latency in batch]


def _issue_bodies(count: int) -> list[dict[str, Any]]:
    return [{"credential": CREDENTIAL} for _ in range(count)]


def _row(name: str, latencies: list[float], elapsed: float) -> str:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"{name:<10} {len(latencies):>6} {len(latencies) / elapsed:>10.1f} "
        f"{statistics.median(ordered) * 1000:>9.1f} {p99 * 1000:>9.1f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="per client and operation")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (1: accredit serve)")
    parser.add_argument("--database-url", help="default: SQLite in a temporary data directory")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    clients, per_client = (2, 3) if args.quick else (args.clients, args.requests)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    # This measures capacity from one client address; the per-address limit would cap it.
    env["ACCREDIT_OPEN_RATE_LIMIT"] = str(10**6)
    if args.database_url:
        env["ACCREDIT_DATABASE_URL"] = args.database_url
    with tempfile.TemporaryDirectory() as directory:
        process, base, token = _start(Path(directory) / "data", args.workers, env)
        try:
            started = time.perf_counter()
            issue_latencies = _run(base, token, clients, per_client, _issue_bodies, "/credentials/issue", 201)
            issue_elapsed = time.perf_counter() - started
            sample = requests.post(
                base + "/credentials/issue",
                json={"credential": CREDENTIAL},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            credential = sample.json()["verifiableCredential"]

            def verify_bodies(count: int) -> list[dict[str, Any]]:
                return [{"verifiableCredential": credential} for _ in range(count)]

            started = time.perf_counter()
            verify_latencies = _run(
                base, token, clients, per_client, verify_bodies, "/credentials/verify", 200
            )
            verify_elapsed = time.perf_counter() - started
        finally:
            process.terminate()
            process.wait(timeout=30)
    server = f"gunicorn x{args.workers}" if args.workers > 1 else "accredit serve"
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"accredit issuer service: {server}, {database}, {clients} concurrent clients")
    print(f"{'operation':<10} {'count':>6} {'per second':>10} {'p50 ms':>9} {'p99 ms':>9}")
    print(_row("issue", issue_latencies, issue_elapsed))
    print(_row("verify", verify_latencies, verify_elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
