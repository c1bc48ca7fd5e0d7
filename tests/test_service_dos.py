"""One unauthenticated verification must not stall the service (issue 13, item 1).

The attack: a credential whose subject holds thousands of small objects, under a proof set of
eight forged eddsa-rdfc-2022 proofs by a random did:key. It once cost ~85 s of CPU while
issuance queued behind it on the document loader's lock.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pyld.jsonld import JsonLdProcessor
from service_harness import RunningService

from accredit import KeyPair
from accredit.keys import multibase_encode

V2 = "https://www.w3.org/ns/credentials/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"


def forged(subject: dict[str, Any], proofs: int = 8) -> dict[str, Any]:
    """A credential under ``proofs`` random signatures by a fresh did:key."""
    key = KeyPair.generate()
    return {
        "@context": [V2, UNDEFINED_TERMS],
        "type": ["VerifiableCredential"],
        "issuer": key.did,
        "credentialSubject": subject,
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


def attack(items: int = 6000) -> dict[str, Any]:
    return forged({"items": [{"v": str(i)} for i in range(items)]})


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    running = RunningService(tmp_path / "data", None)
    yield running
    running.close()


def verify_in_own_session(service: RunningService, credential: dict[str, Any]) -> int:
    """Verify from another thread (the harness's session belongs to the test's thread)."""
    body = {"verifiableCredential": credential}
    return requests.post(f"{service.base}/credentials/verify", json=body, timeout=30).status_code


def _codes(response: Any) -> set[str]:
    return {error["code"] for error in response.json()["errors"]}


def test_the_many_objects_attack_is_refused_before_any_json_ld_work(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    expansions: list[Any] = []
    original = JsonLdProcessor.expand
    monkeypatch.setattr(
        JsonLdProcessor, "expand", lambda self, *a: expansions.append(a) or original(self, *a)
    )

    started = time.monotonic()
    response = service.verify(attack())
    elapsed = time.monotonic() - started

    assert response.status_code == 400
    assert "CANONICALIZATION_LIMIT" in _codes(response)
    assert expansions == []  # measured on the JSON: no JSON-LD processing at all
    assert elapsed < 3  # generous for a loaded machine; it took ~85 s of CPU before


def test_issuance_never_waits_behind_a_verification(
    service: RunningService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hold one verification inside JSON-LD expansion, where the loader's lock used to be held,
    # and issue meanwhile.
    inside, release = threading.Event(), threading.Event()
    original = JsonLdProcessor.expand

    def expand_holding_the_marked_document(self: Any, document: Any, options: Any) -> Any:
        if isinstance(document, dict) and document.get("credentialSubject") == {"hold": "here"}:
            inside.set()
            release.wait(30)
        return original(self, document, options)

    monkeypatch.setattr(JsonLdProcessor, "expand", expand_holding_the_marked_document)
    verdicts: list[int] = []
    verification = threading.Thread(
        target=lambda: verdicts.append(verify_in_own_session(service, forged({"hold": "here"}, proofs=1)))
    )
    verification.start()
    try:
        assert inside.wait(10)
        credential = {
            "@context": [V2, UNDEFINED_TERMS],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:agent", "role": "buyer"},
        }
        issued = service.issue(credential)
        assert issued.status_code == 201, issued.text
        assert verification.is_alive()  # the verification is still held while issuance completed
    finally:
        release.set()
        verification.join(30)
    assert verdicts == [400]


def test_an_attack_in_a_loop_leaves_issuance_working(service: RunningService) -> None:
    stop = threading.Event()
    answers: list[int] = []

    def attacker() -> None:
        body = attack()
        while not stop.is_set():
            answers.append(verify_in_own_session(service, body))

    attackers = [threading.Thread(target=attacker) for _ in range(2)]
    for thread in attackers:
        thread.start()
    try:
        for index in range(5):
            response = service.issue(
                {
                    "@context": [V2, UNDEFINED_TERMS],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": f"did:example:agent-{index}", "role": "buyer"},
                }
            )
            assert response.status_code == 201, response.text
    finally:
        stop.set()
        for thread in attackers:
            thread.join(30)
    assert answers and set(answers) == {400}
