"""The runnable stories in examples/: each exits 0 and tells the expected story."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (
            "procurement.py",
            [
                "sign 180000.00 USD: allow (-)",
                "sign 220000.00 USD: escalate (ESCALATION_REQUIRED)",
                "sign 300000.00 USD: deny (LIMIT_EXCEEDED",
                "replayed to another challenge: deny (CHALLENGE_MISMATCH)",
                "Acme hit the kill switch\nsign 180000.00 USD again: deny (SUSPENDED)",
            ],
        ),
        (
            "code_agent.py",
            [
                "merge-bot 1.4.2 built by Example Labs, acting for Acme Corp",
                "running configuration matches the attested digest: True",
                "audit of the receipt chain: verified=True",
                "audit finding: receipts[2].proof PROOF_INVALID",
                "audit finding: receipts[3].previousReceipt RECEIPT_CHAIN_BROKEN",
                "tampered receipts: receipts[2]",
            ],
        ),
        (
            "logistics.py",
            [
                "insurer verified the attestation: True",
                "shipment.inspected of urn:acme:shipment:SH-2026-0042 at Acme Pune warehouse, dock 3"
                " on 2026-03-03 10:30 IST",
                "photos received match the attested digests: True",
                "attestation by an unaccredited device: verified=False (ATTESTER_NOT_ACCREDITED)",
            ],
        ),
    ],
)
def test_example_runs_and_tells_its_story(script: str, expected: list[str]) -> None:
    command = [sys.executable, str(ROOT / "examples" / script)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for text in [*expected, "All outcomes as expected"]:
        assert text in completed.stdout, completed.stdout
