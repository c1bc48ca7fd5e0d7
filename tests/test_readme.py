"""The README walkthrough, run as written (only the port is swapped for a free one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


def _walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- walkthrough -->", 1)[1]
    return block.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walkthrough waits for the server with curl")
def test_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    script = _walkthrough().replace("8080", str(free_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vendor: verified" in result.stdout
    assert (
        "CHALLENGE_REPLAYED" in result.stdout
        and "vendor: the same presentation again is a replay" in result.stdout
    )
    assert "vendor: refused: ['REVOKED']" in result.stdout


def test_quickstart_example_runs_the_whole_loop() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vendor   verified=True" in result.stdout
    assert "after revocation: verified=False ['REVOKED']" in result.stdout
