"""The benchmark scripts run end to end (a few iterations; no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import _didkit

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_quick_run_prints_the_table() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "verify.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    header = next(line for line in lines if line.startswith("implementation"))
    assert header.split() == [
        "implementation",
        "suite",
        "model",
        "issued/s",
        "spread",
        "verified/s",
        "spread",
    ]
    assert "status fetching excluded" in completed.stdout
    rows = [line.split()[:2] for line in lines[lines.index(header) + 1 :]]
    assert ["accredit", "eddsa-rdfc-2022"] in rows
    assert ["accredit", "Ed25519Signature2020"] in rows
    # Without didkit the script still succeeds and says so instead of printing its row.
    if _didkit.available():
        assert ["didkit", _didkit.version()] in rows
        assert any(line.startswith(f"accredit / didkit {_didkit.version()}") for line in lines)
    else:
        assert "didkit: not installed" in completed.stdout


def test_adversarial_benchmark_quick_run_reports_issuance_under_attack() -> None:
    completed = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "adversarial.py"), "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "(no attack)" in completed.stdout
    assert "(under attack)" in completed.stdout
    # Refused for its size (400) or, once open routes are rate-limited, for its rate (429).
    assert re.search(r"attack answers: \{'(400|429)': \d+", completed.stdout), completed.stdout
