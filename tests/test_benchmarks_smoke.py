"""The benchmark script runs end to end (a few iterations; no timing is asserted)."""

from __future__ import annotations

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
        "verified/s",
        "issue",
        "vs",
        "didkit",
        "verify",
        "vs",
        "didkit",
    ]
    assert "status fetching excluded" in completed.stdout
    rows = [line.split()[:2] for line in lines[lines.index(header) + 1 :]]
    assert ["accredit", "eddsa-rdfc-2022"] in rows
    assert ["accredit", "Ed25519Signature2020"] in rows
    # Without didkit the script still succeeds and says so instead of printing its row.
    if _didkit.available():
        assert ["didkit", _didkit.version()] in rows
    else:
        assert "didkit: not installed" in completed.stdout
