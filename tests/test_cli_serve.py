"""`accredit serve` as a user runs it: a production server (slow clients cannot hold it, SIGTERM
drains), the base URL as an explicit setting, and one clear line for every way it cannot start."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import ServeProcess

SLOW_SOCKETS = 300


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCREDIT_")}
    return {**env, **extra}


class Served:
    """`accredit serve --port 0 ...` in ``cwd``; the banner tells the port it bound."""

    def __init__(self, cwd: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.stderr_path = cwd / "serve.stderr"
        served = ServeProcess(*args, cwd=cwd, env=env or _env(), stderr=self.stderr_path.open("w"))
        self.process, self.banner, self.url, self.port = (
            served.process,
            served.banner,
            served.url,
            served.port,
        )

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path, "--read-timeout", "2")
    yield server
    server.stop()


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))  # type: ignore[union-attr]


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(4096, socket.MSG_DONTWAIT) is not None  # EOF (b"") or an error reply
    except BlockingIOError:
        return False
    except OSError:
        return True


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="counts threads through /proc")
def test_slow_clients_hold_no_thread_and_are_cut_off(served: Served) -> None:
    # Each sends complete headers and one byte of a 100-byte body, then nothing: Werkzeug's
    # development server gave each a thread for ever.
    slow = []
    for _ in range(SLOW_SOCKETS):
        sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
        sock.sendall(
            b"POST /credentials/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        slow.append(sock)
    try:
        started = time.monotonic()
        answer = requests.get(f"{served.url}/.well-known/did.json", timeout=10)
        assert answer.status_code == 200
        assert time.monotonic() - started < 5, "a legitimate request waited behind slow clients"
        assert _threads(served.process.pid) < 40, "slow clients are holding threads"
        deadline = time.monotonic() + 20  # read timeout 2 s, plus a loaded machine's slack
        while time.monotonic() < deadline and not all(_closed_by_server(s) for s in slow):
            time.sleep(0.5)
        assert all(_closed_by_server(s) for s in slow), "slow clients were never cut off"
    finally:
        for sock in slow:
            sock.close()


def test_sigterm_stops_gracefully_with_no_development_server_warning(tmp_path: Path) -> None:
    server = Served(tmp_path)
    assert requests.get(f"{server.url}/", timeout=10).status_code == 200
    assert server.stop() == 0
    log = server.stderr
    assert "development server" not in log.lower() and "Traceback" not in log
    assert "\x1b[" not in log, "colour codes in a log that is not a terminal"
    assert '"GET / 1.1" 200' in log  # an access log, as plain text


def _serve_fails(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "accredit.cli", "serve", *args],
        cwd=tmp_path,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert "serving" not in result.stdout, "the banner came before the server could start"
    return result


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_outside_the_range_is_refused(tmp_path: Path, port: str) -> None:
    assert _serve_fails(tmp_path, "--port", port).stderr.startswith("accredit: USAGE: ")


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = _serve_fails(tmp_path, "--port", port)
    assert result.stderr.startswith(f"accredit: PORT_IN_USE: port {port} on 127.0.0.1 is in use")


def test_a_missing_or_bad_certificate_is_one_line_before_any_banner(tmp_path: Path) -> None:
    result = _serve_fails(tmp_path, "--port", "0", "--cert", "nope.pem", "--key", "nope.key")
    assert result.stderr.startswith("accredit: TLS_CERTIFICATE_INVALID: cannot load --cert nope.pem")
    (tmp_path / "bad.pem").write_text("not a certificate")
    result = _serve_fails(tmp_path, "--port", "0", "--cert", "bad.pem", "--key", "bad.pem")
    assert result.stderr.startswith("accredit: TLS_CERTIFICATE_INVALID: ")
    assert not (tmp_path / ".accredit").exists()


@pytest.mark.skipif(os.geteuid() == 0 and sys.platform != "linux", reason="needs a read-only directory")
def test_a_data_directory_without_write_permission_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    env = _env()
    if os.geteuid() == 0:  # root ignores permissions: use a path below a file instead
        (tmp_path / "file").write_text("")
        data_dir = str(tmp_path / "file" / "data")
    else:
        data_dir = str(locked / "data")
    result = _serve_fails(tmp_path, "--port", "0", "--data-dir", data_dir, env=env)
    assert re.match(r"accredit: (PERMISSION_DENIED|OS_ERROR): ", result.stderr), result.stderr


def test_the_base_url_follows_the_port_it_is_told(tmp_path: Path) -> None:
    first = Served(tmp_path, "--keep-admin-token")
    assert f"(credentials name {first.url})" in first.banner[1]
    assert first.stop() == 0

    # Another port, no --base-url: credentials still name the first URL, and the user is told.
    second = Served(tmp_path)
    assert f"(credentials name {first.url})" in second.banner[1]
    assert second.stop() == 0
    assert "warning: serving at" in second.stderr and "--base-url" in second.stderr
    assert ".accredit/admin-token" in second.banner[4] and "<data-dir>" not in second.banner[4]

    # The flag (or ACCREDIT_BASE_URL) changes it: new credentials' status URLs name the new one.
    third = Served(tmp_path, env=_env(ACCREDIT_BASE_URL="http://127.0.0.1:1"))
    assert "(credentials name http://127.0.0.1:1)" in third.banner[1]
    assert third.stop() == 0
    fourth = Served(tmp_path, "--base-url", "http://localhost:9")
    try:
        token = (tmp_path / ".accredit" / "admin-token").read_text().strip()
        issued = requests.post(
            f"{fourth.url}/credentials/issue",
            headers={"Authorization": f"Bearer {token}"},
            json={"credential": _credential()},
            timeout=30,
        )
        assert issued.status_code == 201, issued.text
        statuses = issued.json()["verifiableCredential"]["credentialStatus"]
        assert all(
            entry["statusListCredential"].startswith("http://localhost:9/status/") for entry in statuses
        )
        audit = requests.get(f"{fourth.url}/audit", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert "issuer.base_url" in audit.text
    finally:
        fourth.stop()


def _credential() -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2",
        ],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:agent-7", "role": "buyer"},
    }


def test_a_wildcard_address_never_becomes_the_base_url(tmp_path: Path) -> None:
    result = _serve_fails(tmp_path, "--host", "0.0.0.0", "--port", "0")
    assert result.stderr.startswith("accredit: BASE_URL_REQUIRED: ")
    refused = _serve_fails(tmp_path, "--base-url", "http://0.0.0.0:8080", "--port", "0")
    assert refused.stderr.startswith("accredit: USAGE: ") and "wildcard" in refused.stderr


def test_several_workers_share_the_port(tmp_path: Path) -> None:
    server = Served(tmp_path, "--workers", "2")
    try:
        answers = {
            requests.get(f"{server.url}/.well-known/did.json", timeout=10).status_code for _ in range(20)
        }
        assert answers == {200}
        workers = subprocess.run(
            ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(workers) == 2
    finally:
        assert server.stop() == 0


def test_the_openapi_document_describes_request_bodies_and_token_scopes(served: Served) -> None:
    document = requests.get(f"{served.url}/openapi.json", timeout=10).json()
    schemas = document["components"]["schemas"]
    assert {"@context", "type", "credentialSubject"} <= set(schemas["Credential"]["required"])
    paths = document["paths"]

    def body(path: str, method: str = "post") -> dict[str, Any]:
        return paths[path][method]["requestBody"]["content"]["application/json"]["schema"]  # type: ignore[no-any-return]

    assert body("/credentials/issue")["properties"]["credential"] == {
        "$ref": "#/components/schemas/Credential"
    }
    assert body("/credentials/verify")["properties"]["verifiableCredential"]["$ref"].endswith("/Credential")
    status_item = body("/credentials/status")["properties"]["credentialStatus"]["items"]
    assert status_item["properties"]["status"]["enum"] == ["revoked", "suspended", "active"]
    scopes = set(body("/tokens")["properties"]["scopes"]["items"]["enum"])
    assert scopes == {"admin", "issue", "status"}
    described = document["components"]["securitySchemes"]["bearer"]["description"]
    for path, operations in paths.items():
        for operation in operations.values():
            for requirement in operation.get("security", []):
                (scope,) = requirement["bearer"]
                assert scope in scopes and f"{scope}:" in described, (path, scope)


def test_connections_over_the_limit_are_closed_on_accept() -> None:
    from accredit.cli._server import bind

    listener = bind("127.0.0.1", 0)
    listener.set_limit(2)
    listener.setblocking(True)
    clients = [socket.create_connection(listener.getsockname(), timeout=5) for _ in range(3)]
    try:
        held = [listener.accept()[0] for _ in range(2)]
        with pytest.raises(BlockingIOError):
            listener.accept()  # the third: accepted, closed at once
        assert clients[2].recv(1) == b""
        held[0].close()  # a slot is free again
        extra = socket.create_connection(listener.getsockname(), timeout=5)
        accepted, _ = listener.accept()
        accepted.close()
        extra.close()
        held[1].close()
    finally:
        for client in clients:
            client.close()
        listener.close()


def test_sigterm_lets_a_request_in_flight_finish_and_accepts_no_new_one(tmp_path: Path) -> None:
    server = Served(tmp_path)
    body = b'{"verifiableCredential": {"hello": "world"}}'
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as in_flight:
        in_flight.sendall(
            b"POST /credentials/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body[:10])
        )
        time.sleep(0.5)  # the request has started when the stop comes
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", server.port), timeout=2)
        in_flight.sendall(body[10:])
        assert in_flight.recv(4096).startswith(b"HTTP/1.1 400 ")  # answered: not a credential
    assert server.process.wait(timeout=30) == 0


def test_a_body_sent_a_byte_at_a_time_meets_a_deadline(tmp_path: Path) -> None:
    # Each byte comes well within the read timeout, so only a deadline for the whole body ends it.
    server = Served(tmp_path, "--read-timeout", "2", "--body-timeout", "3")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as drip:
            drip.sendall(
                b"POST /credentials/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n"
            )
            started, answer = time.monotonic(), b""
            drip.setblocking(False)
            while time.monotonic() - started < 20 and not answer:
                try:
                    drip.send(b" ")
                    answer = drip.recv(4096)
                except BlockingIOError:
                    pass
                except OSError:
                    break
                time.sleep(0.5)
            assert answer.startswith(b"HTTP/1.1 408 "), answer
            drip.settimeout(5)
            try:
                while chunk := drip.recv(4096):
                    answer += chunk
            except OSError:
                pass
            assert b"REQUEST_TIMEOUT" in answer
            assert time.monotonic() - started < 15
    finally:
        server.stop()
