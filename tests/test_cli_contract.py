"""The CLI's contract, as a new user meets it: problems on stderr as one line (JSON with --json),
results on stdout, exit 0/1/2 as documented, no traceback, read-only commands create nothing,
help that teaches, and a wallet passphrase that is asked for and checked."""

from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli_serve import Served

from accredit.cli import build_parser

PASSPHRASE = "a long passphrase for the agent wallet"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    return {**env, **extra}


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accredit.cli", *args],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def problem(result: subprocess.CompletedProcess[str], exit_code: int, code: str) -> str:
    """The one stderr line of a failed command, after checking the contract around it."""
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", "a problem was printed on stdout"
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"accredit: {code}: "), result.stderr
    return result.stderr


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    directory = tmp_path_factory.mktemp("issuer")
    server = Served(directory)
    yield server, server.banner[4].split()[2]  # the admin token, shown once on first run
    server.stop()


# --- one error contract -------------------------------------------------------------------------


def test_a_wrong_token_is_a_refusal_on_stderr_for_status_and_wallet_fetch(
    issuer: tuple[Served, str], tmp_path: Path
) -> None:
    server, _ = issuer
    env = _env(ACCREDIT_ISSUER_TOKEN="acc_wrong", ACCREDIT_WALLET_PASSPHRASE=PASSPHRASE)
    status = run("status", "urn:uuid:0", "revoked", "--issuer", server.url, env=env)
    problem(status, 1, "UNAUTHORIZED")
    assert run("wallet", "init", "--wallet", str(tmp_path / "w"), env=env).returncode == 0
    (tmp_path / "role.json").write_text(json.dumps(_role()))
    fetch = run(
        "wallet",
        "fetch",
        "--wallet",
        str(tmp_path / "w"),
        "--issuer",
        server.url,
        "role.json",
        cwd=tmp_path,
        env=env,
    )
    problem(fetch, 1, "ISSUER_REQUEST_FAILED")
    as_json = run("status", "--json", "urn:uuid:0", "revoked", "--issuer", server.url, env=env)
    assert as_json.returncode == 1 and as_json.stdout == ""
    assert json.loads(as_json.stderr)["code"] == "UNAUTHORIZED"


def _role() -> dict[str, object]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2",
        ],
        "type": ["VerifiableCredential", "AgentRoleCredential"],
        "credentialSubject": {"role": "buyer"},
    }


def test_an_unreachable_issuer_and_a_url_without_scheme_say_so(tmp_path: Path) -> None:
    with __import__("socket").socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = _env(ACCREDIT_ISSUER_TOKEN="acc_x")
    unreachable = problem(
        run("status", "urn:uuid:0", "revoked", "--issuer", f"http://127.0.0.1:{port}", env=env),
        2,
        "ISSUER_UNREACHABLE",
    )
    assert "connection refused" in unreachable
    no_scheme = problem(
        run("status", "urn:uuid:0", "revoked", "--issuer", "127.0.0.1:8080", env=env), 2, "MALFORMED_INPUT"
    )
    assert "http(s) base URL" in no_scheme


def test_json_that_is_not_a_credential_is_bad_input_not_a_failed_verification(tmp_path: Path) -> None:
    (tmp_path / "hello.json").write_text('{"hello": "world"}')
    message = problem(run("verify", str(tmp_path / "hello.json")), 2, "MALFORMED_INPUT")
    assert "VerifiableCredential" in message


def test_usage_errors_are_one_line_with_exit_2() -> None:
    problem(run("verify"), 2, "USAGE")
    problem(run("no-such-command"), 2, "USAGE")


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte, like `| head` after its lines
    try:
        result = subprocess.run(
            [sys.executable, "-m", "accredit.cli", "demo"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write)
    assert result.returncode == 0 and result.stderr == "", result.stderr


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A directory this process cannot create files in (root ignores modes: use +i then)."""
    directory = tmp_path / "unwritable"
    directory.mkdir()
    if os.geteuid() == 0:
        if (
            shutil.which("chattr") is None
            or subprocess.run(["chattr", "+i", str(directory)], check=False).returncode
        ):
            pytest.skip("root, and no immutable attribute on this filesystem")
        yield directory
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)


@pytest.mark.parametrize(
    "command",
    [
        ["init", "--data-dir", "{dir}/data"],
        ["key", "generate", "-o", "{dir}/key.json"],
        ["wallet", "init", "--wallet", "{dir}/wallet"],
        ["serve", "--port", "0", "--data-dir", "{dir}/data"],
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_no_permission_to_write_is_one_line(unwritable: Path, command: list[str]) -> None:
    args = [part.replace("{dir}", str(unwritable)) for part in command]
    message = problem(run(*args, env=_env(ACCREDIT_WALLET_PASSPHRASE=PASSPHRASE)), 2, "PERMISSION_DENIED")
    assert str(unwritable) in message


def test_read_only_commands_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "does" / "not" / "exist"
    problem(run("audit", "verify", "--data-dir", str(missing)), 2, "NO_ISSUER")
    problem(
        run("wallet", "list", "--wallet", str(missing), env=_env(ACCREDIT_WALLET_PASSPHRASE=PASSPHRASE)),
        2,
        "WALLET_NOT_FOUND",
    )
    assert not (tmp_path / "does").exists()


# --- discoverability ----------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("accredit 0.")


def _leaves(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    children = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not children:
        yield " ".join(path), parser
    for action in children:
        for name, child in action.choices.items():
            yield from _leaves(child, (*path, name))


def test_every_command_documents_its_options_examples_and_exit_codes() -> None:
    top = build_parser()
    assert "exit codes" in top.format_help() and "ACCREDIT_WALLET_PASSPHRASE" in top.format_help()
    leaves = dict(_leaves(top))
    assert {"serve", "init", "verify", "wallet init", "wallet present", "request", "status"} <= set(leaves)
    for name, parser in leaves.items():
        undocumented = [a.dest for a in parser._actions if not a.help and a.dest != "help"]
        assert not undocumented, f"accredit {name}: options without a description: {undocumented}"
        text = parser.format_help()
        assert "exit codes:" in text, f"accredit {name} --help does not give its exit codes"
        assert "example" in text or name == "demo", f"accredit {name} --help has no example"
        assert "``" not in text and ":func:" not in text, f"accredit {name}: markup in help"
    assert '"issuers"' in leaves["verify"].format_help()  # the trust registry's format
    assert '"challenge"' in leaves["request"].format_help()  # the presentation request's format


# --- the wallet passphrase ----------------------------------------------------------------------


def test_a_weak_or_missing_passphrase_is_refused_with_the_rule(tmp_path: Path) -> None:
    weak = problem(
        run(
            "wallet",
            "init",
            "--wallet",
            str(tmp_path / "w"),
            env=_env(ACCREDIT_WALLET_PASSPHRASE="aaaaaaaaaaaaaaaa"),
        ),
        2,
        "WEAK_PASSPHRASE",
    )
    assert "at least 12 characters" in weak and not (tmp_path / "w").exists()
    problem(run("wallet", "init", "--wallet", str(tmp_path / "w")), 2, "WALLET_PASSPHRASE_REQUIRED")


def test_on_a_terminal_the_wallet_asks_for_its_passphrase(tmp_path: Path) -> None:
    wallet = tmp_path / "w"
    pid, terminal = pty.fork()
    if pid == 0:  # the child: a command on a terminal, with no passphrase in the environment
        os.execve(
            sys.executable,
            [sys.executable, "-m", "accredit.cli", "wallet", "init", "--wallet", str(wallet)],
            _env(),
        )
    output = b""
    try:
        for answer in (PASSPHRASE, PASSPHRASE):
            output += _read_until(terminal, b": ")
            os.write(terminal, answer.encode() + b"\n")
        output += _read_until(terminal, b"}")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert b"wallet passphrase:" in output and PASSPHRASE.encode() not in output  # not echoed
    opened = run("wallet", "list", "--wallet", str(wallet), env=_env(ACCREDIT_WALLET_PASSPHRASE=PASSPHRASE))
    assert opened.returncode == 0 and json.loads(opened.stdout) == []


def _read_until(fd: int, marker: bytes, timeout: float = 30) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
    return seen
