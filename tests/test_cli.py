"""The accredit command, run as a real process: outputs, exit codes, no tracebacks, no secrets."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

V2 = "https://www.w3.org/ns/credentials/v2"


def run(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        input=stdin,
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
    )


def out(result: subprocess.CompletedProcess[bytes]) -> Any:
    assert b"Traceback" not in result.stderr, result.stderr.decode()
    return json.loads(result.stdout)


@pytest.fixture
def key_file(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "key.json"
    result = run("key", "generate", "-o", str(path))
    assert result.returncode == 0, result.stderr
    public = out(result)
    assert "secretKeyMultibase" not in public
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    return path, public


def credential_file(tmp_path: Path, issuer: str) -> Path:
    path = tmp_path / "credential.json"
    path.write_text(
        json.dumps(
            {
                "@context": [V2, "https://www.w3.org/ns/credentials/undefined-terms/v2"],
                "type": ["VerifiableCredential"],
                "issuer": issuer,
                "validFrom": "2026-01-01T00:00:00Z",
                "credentialSubject": {"id": "did:example:agent", "role": "buyer"},
            }
        )
    )
    return path


def test_key_generate_refuses_to_overwrite(key_file: tuple[Path, dict[str, Any]]) -> None:
    path, _ = key_file
    result = run("key", "generate", "-o", str(path))
    assert result.returncode == 2 and b"--force" in result.stderr


def test_sign_verify_tamper(tmp_path: Path, key_file: tuple[Path, dict[str, Any]]) -> None:
    path, public = key_file
    signed = run(
        "sign",
        "--key",
        str(path),
        "--created",
        "2026-02-01T00:00:00Z",
        str(credential_file(tmp_path, public["controller"])),
    )
    assert signed.returncode == 0, signed.stderr
    vc = out(signed)
    assert vc["proof"]["created"] == "2026-02-01T00:00:00Z"
    verified = run("verify", "--json", "-", stdin=signed.stdout)
    assert verified.returncode == 0 and out(verified)["verified"] is True
    vc["credentialSubject"]["role"] = "admin"
    tampered = run("verify", "--json", "-", stdin=json.dumps(vc).encode())
    assert tampered.returncode == 1
    assert [e["code"] for e in out(tampered)["errors"]] == ["PROOF_INVALID"]
    # For people: what failed and why in a few lines, and that no one vouched for the issuer.
    verdict = run("verify", "-", stdin=json.dumps(vc).encode()).stdout.decode()
    assert verdict.startswith("NOT VERIFIED: credential\n  failed   proof: ")
    assert "(PROOF_INVALID)" in verdict and "issuer trust was not checked" in verdict
    assert len(verdict.splitlines()) <= 5


@pytest.mark.parametrize("suite", ["eddsa-jcs-2022", "Ed25519Signature2020"])
def test_sign_with_other_suites(tmp_path: Path, key_file: tuple[Path, dict[str, Any]], suite: str) -> None:
    path, public = key_file
    signed = run(
        "sign", "--key", str(path), "--suite", suite, str(credential_file(tmp_path, public["controller"]))
    )
    assert signed.returncode == 0, signed.stderr
    accept = ["--accept-suite", suite] if suite == "Ed25519Signature2020" else []
    assert run("verify", *accept, "-", stdin=signed.stdout).returncode == 0


def test_present_and_verify_presentation(tmp_path: Path, key_file: tuple[Path, dict[str, Any]]) -> None:
    path, public = key_file
    vc_path = tmp_path / "vc.json"
    vc_path.write_bytes(
        run("sign", "--key", str(path), str(credential_file(tmp_path, public["controller"]))).stdout
    )

    def asked() -> str:
        return str(json.loads(run("request", "--domain", "vendor.example", cwd=tmp_path).stdout)["challenge"])

    challenge = asked()
    vp = run(
        "present", "--key", str(path), f"--challenge={challenge}", "--domain", "vendor.example", str(vc_path)
    )
    assert vp.returncode == 0, vp.stderr

    def verify(value: str, *flags: str) -> subprocess.CompletedProcess[bytes]:
        return run(
            "verify",
            *flags,
            f"--challenge={value}",
            "--domain",
            "vendor.example",
            "-",
            stdin=vp.stdout,
            cwd=tmp_path,
        )

    ok = verify(challenge)
    assert ok.returncode == 0, ok.stdout
    assert ok.stdout.decode().startswith("VERIFIED: presentation\n")
    assert b"issuer trust was not checked" in ok.stdout
    replay = verify(challenge, "--json")  # a challenge is accepted once
    assert replay.returncode == 1 and [e["code"] for e in out(replay)["errors"]] == ["CHALLENGE_REPLAYED"]
    wrong = verify(asked(), "--json")  # a challenge the verifier issued, but not this presentation's
    assert wrong.returncode == 1 and "CHALLENGE_MISMATCH" in [e["code"] for e in out(wrong)["errors"]]
    unknown = verify("0" * 64)
    assert unknown.returncode == 1 and b"(CHALLENGE_UNKNOWN)" in unknown.stdout
    missing = run("verify", "-", stdin=vp.stdout)
    assert missing.returncode == 2 and b"--challenge" in missing.stderr


@pytest.mark.parametrize(
    "data,code",
    [
        (b"{not json", "MALFORMED_INPUT"),
        (b'{"a": 1, "a": 2}', "MALFORMED_INPUT"),
        (b"[" * 5000 + b"]" * 5000, "INPUT_TOO_DEEP"),
        (b" " * 1_000_001 + b"{}", "INPUT_TOO_LARGE"),
        (b'"a string"', "MALFORMED_INPUT"),
    ],
)
def test_bad_input_exits_2_with_a_json_error(data: bytes, code: str) -> None:
    result = run("verify", "--json", "-", stdin=data)
    assert result.returncode == 2 and result.stdout == b""
    assert b"Traceback" not in result.stderr
    assert json.loads(result.stderr)["code"] == code


def test_missing_file_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("verify", str(tmp_path / "absent.json"))
    assert result.returncode == 2 and result.stdout == b""
    assert result.stderr.decode().startswith("accredit: MALFORMED_INPUT: cannot read ")
    assert result.stderr.count(b"\n") == 1


def test_did_resolve_did_key(key_file: tuple[Path, dict[str, Any]]) -> None:
    _, public = key_file
    document = out(run("did", "resolve", public["controller"]))
    assert document["id"] == public["controller"]
    assert document["verificationMethod"][0]["publicKeyMultibase"] == public["publicKeyMultibase"]
    bad = run("did", "resolve", "did:key:zNotAKey")
    assert bad.returncode == 2 and bad.stderr.startswith(b"accredit: INVALID_DID: ")


def test_demo_runs() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert b"verified=True" in result.stdout and b"PROOF_INVALID" in result.stdout
    # The agents vocabulary, with no undefined terms: the demo teaches the real shapes.
    signed = json.loads(result.stdout.split(b"docs/agents.md):\n", 1)[1].split(b"\nverify original", 1)[0])
    assert "MandateCredential" in signed["type"] and "transactionLimit" in signed["credentialSubject"]
    assert not any("undefined-terms" in context for context in signed["@context"])
