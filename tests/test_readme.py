"""The README walkthrough, run as written (only the port is swapped for a free one)."""

from __future__ import annotations

import ast
import os
import re
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
    repository, scratch = tmp_path / "repository", tmp_path / "scratch"
    shutil.copytree(ROOT / "examples", repository / "examples")
    scratch.mkdir()
    script = _walkthrough().replace("8080", str(free_port()))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TMPDIR"] = str(scratch)  # where its `mktemp -d` goes
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a dozen commands, each a fresh interpreter: slow on a loaded machine
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "vendor: 180,000 USD allowed" in result.stdout
    assert "vendor: 300,000 USD denied (exit 1)" in result.stdout
    assert "vendor: 220,000 USD needs a human (exit 3)" in result.stdout
    assert "vendor: refused after the kill switch (exit 1)" in result.stdout
    assert "SUSPENDED" in result.stdout
    # It wrote nothing where it was started: everything went to its scratch directory.
    assert sorted(p.name for p in repository.iterdir()) == ["examples"]
    assert (next(scratch.iterdir()) / "agent-wallet").is_dir()


def test_the_readme_lists_every_environment_variable_the_code_reads() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    code = "\n".join(p.read_text() for p in (ROOT / "src" / "accredit").rglob("*.py"))
    variables = set(re.findall(r"ACCREDIT_[A-Z_]+[A-Z]", code)) - {"ACCREDIT_ERROR"}
    assert variables and all(f"`{name}`" in section for name in variables), variables


def test_license_matches_the_package_metadata() -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert 'license = "Apache-2.0"' in (ROOT / "pyproject.toml").read_text()


def test_no_test_reads_outside_the_repository() -> None:
    # A plain clone must run the suite: test data lives in tests/ (vectors with their provenance).
    outside = re.compile(r"parents\[[2-9]\]|\.\./shared|/work/shared")
    tests = [p for p in (ROOT / "tests").rglob("*.py") if p.name != "test_readme.py"]  # not this pattern
    offenders = [p.name for p in tests if outside.search(p.read_text())]
    assert offenders == []


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


def test_the_quickstart_example_uses_only_the_public_api() -> None:
    tree = ast.parse((ROOT / "examples" / "quickstart.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {m for m in modules if m and m.startswith("accredit")} == {"accredit"}
