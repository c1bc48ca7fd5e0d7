"""The service commands: `accredit init`, the README's first-run `accredit serve`, `audit verify`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests
from conftest import ServeProcess


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}


def _accredit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_first_run_serve_initialises_and_prints_did_and_urls(tmp_path: Path) -> None:
    server = ServeProcess(cwd=tmp_path, env=_env())
    try:
        lines = server.banner
        assert lines[0].startswith("accredit issuer   did:key:z6Mk")
        assert server.url == f"http://127.0.0.1:{server.port}" and server.port > 0
        assert f"(credentials name http://127.0.0.1:{server.port})" in lines[1]  # the bound port, not 0
        assert lines[2].strip().endswith("/.well-known/did.json")
        assert (tmp_path / ".accredit" / "master.key").stat().st_mode & 0o777 == 0o600
        response = requests.get(f"{server.url}/.well-known/did.json", timeout=10)
        assert response.json()["id"] == lines[0].split()[-1]
    finally:
        server.stop()


def _audit_status(url: str, token: str) -> int:
    return requests.get(f"{url}/audit", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code


def test_first_run_shows_the_admin_token_once_and_leaves_no_file(tmp_path: Path) -> None:
    first = ServeProcess(cwd=tmp_path, env=_env())
    try:
        shown = first.banner[4].split()  # admin token  acc_...  (shown once and not stored: ...)
        assert shown[2].startswith("acc_") and "shown once" in first.banner[4]
        assert not (tmp_path / ".accredit" / "admin-token").exists()
        assert _audit_status(first.url, shown[2]) == 200
    finally:
        first.stop()
    # A later run cannot show it again: only its hash is stored.
    again = ServeProcess(cwd=tmp_path, env=_env())
    try:
        assert shown[2] not in "".join(again.banner) and "shown once" in again.banner[4]
        assert _audit_status(again.url, shown[2]) == 200
    finally:
        again.stop()
    assert not (tmp_path / ".accredit" / "admin-token").exists()


def test_keep_admin_token_keeps_it_in_a_private_file_and_never_prints_it(tmp_path: Path) -> None:
    server = ServeProcess("--keep-admin-token", cwd=tmp_path, env=_env())
    try:
        token_file = tmp_path / ".accredit" / "admin-token"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert token.startswith("acc_") and token not in "".join(server.banner)
        assert str(token_file.relative_to(tmp_path)) in server.banner[4]
        assert _audit_status(server.url, token) == 200
    finally:
        server.stop()


def test_init_once_then_audit_verify_detects_tampering(tmp_path: Path) -> None:
    created = _accredit("init", "--data-dir", "issuer", "--did-web", "issuer.acme.example", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    output = json.loads(created.stdout)
    assert output["did"] == "did:web:issuer.acme.example" and output["adminToken"].startswith("acc_")
    assert output["baseUrl"] == "https://issuer.acme.example"
    again = _accredit("init", "--data-dir", "issuer", cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.startswith("accredit: CONFLICT: ")
    assert "--base-url" in again.stderr  # says how to change what a second init might have been for
    assert output["adminToken"] not in (tmp_path / "issuer" / "accredit.db").read_bytes().decode("latin-1")

    verified = _accredit("audit", "verify", "--data-dir", "issuer", cwd=tmp_path)
    assert verified.returncode == 0 and json.loads(verified.stdout)["verified"] is True
    with sqlite3.connect(tmp_path / "issuer" / "accredit.db") as connection:
        connection.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    broken = _accredit("audit", "verify", "--data-dir", "issuer", cwd=tmp_path)
    assert broken.returncode == 1
    assert [e["code"] for e in json.loads(broken.stdout)["errors"]] == ["AUDIT_CHAIN_BROKEN"]


def test_wrong_master_key_is_a_clear_error(tmp_path: Path) -> None:
    assert _accredit("init", "--data-dir", "issuer", cwd=tmp_path).returncode == 0
    (tmp_path / "issuer" / "master.key").write_bytes(os.urandom(32))
    served = subprocess.run(
        [sys.executable, "-m", "accredit.cli", "serve", "--data-dir", "issuer", "--port", "0"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 2
    assert served.stderr.startswith("accredit: SEALING_ERROR: ") and served.stderr.count("\n") == 1
    assert "Traceback" not in served.stderr
