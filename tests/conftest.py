"""Shared fixtures: a real HTTP server on 127.0.0.1 serving canned responses."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from hypothesis import settings

# --- didkit's exit --------------------------------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # didkit's async runtime can abort the interpreter during finalization, after every test
    # has passed; once it was used, leave with pytest's own status before finalization.
    if "didkit" in sys.modules and _EXIT_STATUS in config.stash:
        from _didkit import exit_now

        exit_now(config.stash[_EXIT_STATUS])


_EXIT_STATUS = pytest.StashKey[int]()

# Hypothesis fails an example that runs over 200 ms: a wall-clock assertion, which a loaded
# machine (CI, the mutation run) trips at random. Tests pin work, not time.
settings.register_profile("accredit", deadline=None)
settings.load_profile("accredit")


# --- no silent skips in CI ------------------------------------------------------------------------

# CI (.ci/run) installs every peer a test needs (didkit, curl, PostgreSQL): there a test that
# skips is a test that did not run, so it fails instead of passing quietly.
REQUIRE_PEERS = os.environ.get("ACCREDIT_REQUIRE_PEERS") == "1"


def _fail_skips(report: Any) -> Any:
    if REQUIRE_PEERS and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under ACCREDIT_REQUIRE_PEERS=1, where every test must run: {reason}"
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    return _fail_skips((yield))


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Any:
    return _fail_skips((yield))  # a whole module skipped (importorskip, allow_module_level)


# --- child processes ------------------------------------------------------------------------------


class ChildProcess:
    """A command run as a child process whose standard output is read line by line with a
    deadline (a bare ``readline()`` on a pipe waits forever if the child hangs)."""

    def __init__(self, args: list[str], **popen: Any) -> None:
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, **popen)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)  # end of output

    def line(self, timeout: float = 30) -> str:
        """The next line of output. Fails the test if none comes within ``timeout`` seconds or
        the output ended."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output from {self.process.args!r} within {timeout} s")
        if line is None:
            pytest.fail(f"{self.process.args!r} ended its output (exit status {self.process.poll()})")
        return line

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        """Send ``sig`` (unless the child has ended) and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


class ServeProcess(ChildProcess):
    """``accredit serve --port 0 ARGS``: the server binds a free port itself and its banner says
    which (no port chosen beforehand that another process could take meanwhile). The socket
    is listening before the banner is printed, so ``url`` can be used at once."""

    def __init__(self, *args: str, timeout: float = 60, **popen: Any) -> None:
        popen.setdefault("stderr", subprocess.DEVNULL)
        super().__init__([sys.executable, "-m", "accredit.cli", "serve", "--port", "0", *args], **popen)
        self.banner = [self.line(timeout) for _ in range(5)]
        serving = re.search(r"^serving\s+(\S+)", self.banner[1])
        if serving is None:
            pytest.fail(f"no 'serving URL' line in the banner: {self.banner}")
        self.url = serving.group(1)
        self.port = int(self.url.rsplit(":", 1)[1])


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes


class LocalServer:
    """Serves ``routes`` (path → Route) on 127.0.0.1; counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                route = server.routes.get(self.path, Route(404, b"{}"))
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.declare_length:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def json(self, path: str, document: Any, **headers: str) -> None:
        self.routes[path] = Route(
            200, json.dumps(document).encode(), {"Content-Type": "application/json", **headers}
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago. Racy: another process may take it
    before the server binds it. Start servers with ``ServeProcess`` (port 0) instead; only the
    README walkthrough, run verbatim with its fixed port swapped, still needs one."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    server = LocalServer()
    yield server
    server.close()


# --- databases ----------------------------------------------------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "ACCREDIT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable() -> str | None:
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import create_engine, text

        engine = create_engine(POSTGRES_ADMIN_URL)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any reason at all: report it in the skip message
        return f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {type(error).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """The admin URL of a reachable PostgreSQL; skips (or fails under CI) when there is none."""
    reason = _postgres_unavailable()
    if reason:
        if os.environ.get("ACCREDIT_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (ACCREDIT_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    return POSTGRES_ADMIN_URL


@pytest.fixture
def fresh_postgres(postgres_admin: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"accredit_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield postgres_admin.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for the default SQLite in the data directory, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("fresh_postgres"))


# --- the signer's clock ---------------------------------------------------------------------------


def sign_as_of(monkeypatch: pytest.MonkeyPatch, moment: Any) -> None:
    """Make proofs created without an explicit ``created`` carry ``moment``: a test world
    verified as of a fixed NOW must also be signed then, or every proof is created in the
    future of NOW (``PROOF_CREATED_IN_FUTURE``)."""
    import accredit.proofs

    monkeypatch.setattr(accredit.proofs, "utcnow", lambda: moment)
