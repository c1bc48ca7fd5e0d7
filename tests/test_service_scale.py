"""The service under load as separate processes: several instances on one PostgreSQL never share
a status index, and a server killed with SIGKILL loses no acknowledged credential."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ServeProcess
from sqlalchemy import create_engine, text

from accredit import VerifyOptions, verify_credential
from accredit._http import FetchPolicy
from accredit.status import (
    HTTPStatusListFetcher,
    StaticStatusListFetcher,
    StatusListChecker,
    decode_list,
    get_bit,
)

CREDENTIAL = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ],
    "type": ["VerifiableCredential"],
    "credentialSubject": {"id": "did:example:agent", "role": "buyer"},
}


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


# The issuer's public name, as behind a load balancer: every instance serves it. Instances bind
# free ports themselves (port 0), so this name is mapped to one of them where a test fetches.
ISSUER_URL = "http://issuer.test"


class Server:
    """``accredit serve --port 0`` in a child process; ``base`` is the port it bound."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.served = ServeProcess("--data-dir", str(data_dir), env=env)
        self.base = self.served.url

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.served.stop(sig)


class Load:
    """Issues credentials from worker threads. Only complete 201 answers are acknowledged; any
    other answer is kept for the main thread to assert on (an assertion inside a worker thread
    would only become a warning)."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.acknowledged: list[str] = []
        self.unexpected: list[str] = []
        self._progress = threading.Condition()

    def run(self, count: int) -> list[str]:
        session, ids = requests.Session(), []
        for _ in range(count):
            try:
                response = session.post(
                    f"{self.base}/credentials/issue",
                    json={"credential": CREDENTIAL},
                    headers={"Authorization": f"Bearer {self.token}"},
                    timeout=30,
                )
            except requests.RequestException:
                break  # the server died, maybe mid-answer: only complete answers were acknowledged
            with self._progress:
                if response.status_code != 201:
                    self.unexpected.append(f"{response.status_code} {response.text[:300]}")
                    self._progress.notify_all()
                    break
                ids.append(response.json()["verifiableCredential"]["id"])
                self.acknowledged.append(ids[-1])
                self._progress.notify_all()
        return ids

    def wait_for(self, acknowledged: int, timeout: float) -> None:
        """Block until ``acknowledged`` credentials were issued (or an answer was unexpected)."""
        with self._progress:
            self._progress.wait_for(
                lambda: len(self.acknowledged) >= acknowledged or self.unexpected, timeout
            )
        assert not self.unexpected, self.unexpected
        assert len(self.acknowledged) >= acknowledged, "the load did not get going"


def _slots(database_url: str) -> tuple[int, int, int]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        counts = [
            connection.execute(
                text(f"SELECT count(*) FROM (SELECT DISTINCT {columns} FROM credentials) AS t")
            ).scalar_one()
            for columns in ("id", "revocation_list, revocation_index", "suspension_list, suspension_index")
        ]
    engine.dispose()
    return int(counts[0]), int(counts[1]), int(counts[2])


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    yield {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}


def test_four_instances_on_one_postgres_never_share_an_index(
    tmp_path: Path, fresh_postgres: str, env: dict[str, str]
) -> None:
    env = {**env, "ACCREDIT_DATABASE_URL": fresh_postgres}
    data_dir = tmp_path / "data"  # shared: it holds the master key every instance needs
    init = json.loads(_cli("init", "--data-dir", str(data_dir), "--base-url", ISSUER_URL, env=env).stdout)
    servers = [Server(data_dir, env) for _ in range(4)]
    try:
        loads = [Load(server.base, init["adminToken"]) for server in servers]
        with ThreadPoolExecutor(4) as pool:
            batches = list(pool.map(lambda load: load.run(250), loads))
        assert [load.unexpected for load in loads] == [[]] * 4
        ids = [i for batch in batches for i in batch]
        assert len(ids) == len(set(ids)) == 1000
        assert _slots(fresh_postgres) == (1000, 1000, 1000)
        credentials = [_get(servers[i % 4], init["adminToken"], cid) for i, cid in enumerate(ids)]
        _assert_statuses(credentials, revoked=set(), served_by=servers[0])
        victim = random.choice(credentials)
        body = {
            "credentialId": victim["id"],
            "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
        }
        revoked = requests.post(
            f"{servers[2].base}/credentials/status",
            json=body,
            headers={"Authorization": f"Bearer {init['adminToken']}"},
            timeout=30,
        )
        assert revoked.status_code == 200
        _assert_statuses(credentials, revoked={victim["id"]}, served_by=servers[1])
    finally:
        for server in servers:
            server.stop()


def _get(server: Server, token: str, credential_id: str) -> dict[str, Any]:
    response = requests.get(
        f"{server.base}/credentials/{credential_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert response.status_code == 200
    credential: dict[str, Any] = response.json()["verifiableCredential"]
    return credential


def _assert_statuses(credentials: list[dict[str, Any]], revoked: set[str], served_by: Server) -> None:
    """Every credential's revocation entry resolves in a signed list, and exactly ``revoked``
    have their bit set; a sample verifies end to end."""
    http = HTTPStatusListFetcher(FetchPolicy(allow_private=True, allow_http=True))
    fetcher = StaticStatusListFetcher(lambda url: http.fetch(url.replace(ISSUER_URL, served_by.base, 1)))
    lists: dict[str, bytes] = {}
    for credential in credentials:
        entry = credential["credentialStatus"][0]
        url = entry["statusListCredential"]
        if url not in lists:
            status_list = fetcher.fetch(url)
            assert verify_credential(status_list).verified
            lists[url] = decode_list(status_list["credentialSubject"]["encodedList"])
        assert get_bit(lists[url], int(entry["statusListIndex"])) == (credential["id"] in revoked)
    checker = StatusListChecker(fetcher)
    for credential in random.sample(credentials, 10) + [c for c in credentials if c["id"] in revoked]:
        codes = list(verify_credential(credential, VerifyOptions(status_checker=checker)).codes)
        assert codes == (["REVOKED"] if credential["id"] in revoked else [])


def test_sigkill_mid_load_loses_no_acknowledged_credential(tmp_path: Path, env: dict[str, str]) -> None:
    data_dir = tmp_path / "data"
    init = json.loads(_cli("init", "--data-dir", str(data_dir), "--base-url", ISSUER_URL, env=env).stdout)
    server = Server(data_dir, env)
    load = Load(server.base, init["adminToken"])
    with ThreadPoolExecutor(4) as pool:
        workers = [pool.submit(load.run, 10_000) for _ in range(4)]
        load.wait_for(50, timeout=60)  # killed mid-load, once it is well under way
        server.stop(signal.SIGKILL)
        for worker in workers:
            worker.result(timeout=60)
    assert not load.unexpected, load.unexpected
    acknowledged = load.acknowledged

    restarted = Server(data_dir, env)
    try:
        database = f"sqlite:///{(data_dir / 'accredit.db').resolve()}"
        for credential_id in acknowledged:
            credential = _get(restarted, init["adminToken"], credential_id)
            verified = requests.post(
                f"{restarted.base}/credentials/verify", json={"verifiableCredential": credential}, timeout=30
            )
            assert verified.status_code == 200, verified.text
        after = Load(restarted.base, init["adminToken"])
        assert len(after.run(20)) == 20 and not after.unexpected
        total, revocation_slots, suspension_slots = _slots(database)
        assert total >= len(acknowledged) + 20
        assert revocation_slots == suspension_slots == total
    finally:
        restarted.stop()
