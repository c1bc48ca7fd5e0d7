"""The issuer's commands: ``accredit init``, ``accredit serve``, ``accredit audit verify``."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import os
import ssl
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import _server
from ._io import EXIT_CODES, EXIT_OK, EXIT_REFUSED, CommandError, emit

_WILDCARDS = ("0.0.0.0", "::", "")
_LOOPBACK_NAMES = ("localhost",)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (0-65535; 0 picks a free one)")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0
    if not 0 < number <= 3600:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0-3600)")
    return number


def base_url_arg(value: str) -> str:
    """A base URL clients can reach: http(s), a real host (never a wildcard address), no query."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or parts.hostname is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL such as https://issuer.example")
    if parts.hostname in _WILDCARDS or parts.hostname == "[::]":
        raise argparse.ArgumentTypeError(
            f"{value!r} names a wildcard address: give the host name or address clients use"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{value!r}: a base URL has no user, query or fragment")
    return value.rstrip("/")


def _config(args: argparse.Namespace) -> Any:
    from ..service.config import ServiceConfig

    overrides: dict[str, Any] = {"data_dir": args.data_dir} if args.data_dir else {}
    if getattr(args, "base_url", None):
        overrides["base_url"] = args.base_url
    config = ServiceConfig(allow_private_fetch=getattr(args, "allow_private", False), **overrides)
    if config.base_url is not None and getattr(args, "base_url", None) is None:
        try:
            base_url_arg(config.base_url)
        except argparse.ArgumentTypeError as error:
            raise CommandError("INVALID_BASE_URL", f"ACCREDIT_BASE_URL: {error}") from None
    return config


def _has_issuer(config: Any) -> bool:
    store = config.open_store()
    try:
        with store.read() as connection:
            return store.setting(connection, "did") is not None
    finally:
        store.close()


def _initialize(config: Any, base_url: str, did_web: bool, name: str | None = None) -> tuple[str, str]:
    from ..service.issuer import Issuer

    store = config.open_store()
    try:
        sealer = config.sealer(store, create=True)
        return Issuer.initialize(store, sealer, base_url=base_url, did_web=did_web, name=name)
    finally:
        store.close()


def cmd_init(args: argparse.Namespace) -> int:
    config = _config(args)
    if _has_issuer(config):
        where = config.data_dir if config.database_url is None else "ACCREDIT_DATABASE_URL"
        raise CommandError(
            "CONFLICT",
            f"{where} already holds an issuer: run `accredit serve`, and pass --base-url URL "
            "to it to change the URL credentials name",
        )
    if args.did_web:
        local = args.did_web.split(":")[0] in ("127.0.0.1", "localhost")
        base_url = config.base_url or f"{'http' if local else 'https'}://{args.did_web}"
    else:
        base_url = config.base_url or "http://127.0.0.1:8080"
    did, token = _initialize(config, base_url, did_web=bool(args.did_web), name=args.name)
    emit(
        {
            "did": did,
            "adminToken": token,
            "baseUrl": base_url,
            "dataDir": str(config.data_dir),
            "database": config.url if config.database_url is None else "(ACCREDIT_DATABASE_URL)",
        }
    )
    return EXIT_OK


def _write_token_file(config: Any, token: str) -> None:
    config.prepare_data_dir()
    descriptor = os.open(config.data_dir / "admin-token", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")


def _admin_token_line(token_file: Path, created: str | None, kept: bool) -> str:
    """The banner's admin token line. A token kept on disk is named by its file, never printed; a
    new token not kept is printed this once (only its hash is stored, so it cannot be shown again)."""
    if created is not None and not kept:
        return f"{created}  (shown once and not stored: copy it now)"
    if token_file.exists():
        return f"{token_file}  (mode 0600)"
    return "shown once when this issuer was created"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host in _LOOPBACK_NAMES


def _mismatch(base_url: str, serving: str, host: str) -> bool:
    """True when credentials would name a URL that this server is visibly not at: a loopback
    base URL on another port or scheme. A public name is assumed to reach us through a proxy."""
    base, here = urlsplit(base_url), urlsplit(serving)
    if base.hostname is None or not _is_loopback(base.hostname):
        return False
    if not (_is_loopback(host) or host in _WILDCARDS):
        return True
    return (base.scheme, base.port) != (here.scheme, here.port)


def _listen(host: str, port: int) -> _server.Listener:
    try:
        return _server.bind(host, port)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CommandError(
                "PORT_IN_USE", f"port {port} on {host} is in use: pass another --port"
            ) from None
        if error.errno == errno.EACCES:
            raise CommandError(
                "PERMISSION_DENIED",
                f"not allowed to listen on port {port} (ports below 1024 need privileges)",
            ) from None
        raise CommandError(
            "CANNOT_LISTEN", f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if bool(args.cert) != bool(args.key):
        raise CommandError("USAGE", "https needs both --cert and --key")
    if not args.cert:
        return None
    try:
        return _server.tls_context(args.cert, args.key)
    except (OSError, ssl.SSLError) as error:
        reason = getattr(error, "strerror", None) or getattr(error, "reason", None) or str(error)
        raise CommandError(
            "TLS_CERTIFICATE_INVALID",
            f"cannot load --cert {args.cert} / --key {args.key}: {reason} "
            "(a PEM certificate and its private key)",
        ) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from ..service import create_app

    config = _config(args)
    tls = _tls(args)
    requested = _server.catch_stop_signals()
    listener = _listen(args.host, args.port)  # before the banner: we know the port is ours
    scheme = "https" if tls else "http"
    port = listener.getsockname()[1]
    serving = f"{scheme}://{_url_host(args.host)}:{port}"
    admin = config.data_dir / "admin-token"
    created_token = None
    if not _has_issuer(config):
        if config.base_url is None and args.host in _WILDCARDS:
            raise CommandError(
                "BASE_URL_REQUIRED",
                f"serving on all interfaces ({args.host or 'any'}): pass --base-url (or set "
                "ACCREDIT_BASE_URL) to the URL clients reach this service at; credentials name it",
            )
        _, created_token = _initialize(config, config.base_url or serving, did_web=False)
        if args.keep_admin_token:
            _write_token_file(config, created_token)

    app = create_app(config)
    issuer = app.extensions["accredit.issuer"]
    if config.base_url is not None:
        issuer.change_base_url(config.base_url)
    print(f"accredit issuer   {issuer.did}")
    print(f"serving           {serving}  (credentials name {issuer.base_url})")
    print(f"DID document      {issuer.base_url}/.well-known/did.json")
    print(f"API description   {issuer.base_url}/openapi.json")
    print(f"admin token       {_admin_token_line(admin, created_token, args.keep_admin_token)}")
    sys.stdout.flush()
    if _mismatch(issuer.base_url, serving, args.host):
        print(
            f"accredit: warning: serving at {serving} but credentials name {issuer.base_url}: "
            "pass --base-url (or set ACCREDIT_BASE_URL) to the URL clients reach this service at",
            file=sys.stderr,
        )
    limits = _server.Limits(
        threads=args.threads,
        max_connections=args.max_connections,
        read_timeout=args.read_timeout,
        body_timeout=args.body_timeout,
        max_body_bytes=config.max_body_bytes,
    )
    if args.workers > 1:
        issuer.store.close()  # each worker opens its own database connections after the fork
        return _server.serve(lambda: create_app(config), listener, limits, tls, args.workers, requested)
    return _server.serve(lambda: app, listener, limits, tls, 1, requested)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from ..service.issuer import Issuer

    config = _config(args)
    if config.database_url is None and not (config.data_dir / "accredit.db").is_file():
        # Read-only: never create the directory or a database just to find it empty.
        raise CommandError(
            "NO_ISSUER", f"no issuer database in {config.data_dir}: pass --data-dir, or run `accredit init`"
        )
    store = config.open_store()
    try:
        result = Issuer(store, config.sealer(store)).verify_audit()
    finally:
        store.close()
    emit(result.to_dict())
    return EXIT_OK if result.verified else EXIT_REFUSED


_SERVE_EPILOG = (
    """\
examples:
  accredit serve                                   # http://127.0.0.1:8080, data in ./.accredit
  accredit serve --port 8443 --cert cert.pem --key key.pem
  accredit serve --host 0.0.0.0 --base-url https://issuer.acme.example --workers 4

The base URL is the address clients reach the service at; credential ids and status list URLs
name it. It is set on first run (from --base-url, $ACCREDIT_BASE_URL, else the serving address)
and changed by passing another one (audited; credentials issued before keep their URLs).

Limits (per worker): --threads requests run the app at once; --max-connections open
connections (more are closed at once); a client that sends nothing for --read-timeout seconds,
while sending its headers or its body, is disconnected; a body must arrive whole within
--body-timeout seconds (else 408); bodies over 1 MB are refused. SIGTERM
stops accepting and lets requests in flight finish (10 s at most).

"""
    + EXIT_CODES
)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    init = commands.add_parser(
        "init",
        parents=[common],
        help="create an issuer: DID, keys, admin token",
        description="Create the organization's issuer in the data directory (or $ACCREDIT_DATABASE_URL): "
        "its DID, a sealed signing key and an admin API token, printed once as JSON.",
        epilog="examples:\n  accredit init                                  # a local did:key issuer\n"
        "  accredit init --did-web issuer.acme.example    # did:web, base URL https://issuer.acme.example\n\n"
        + EXIT_CODES,
    )
    _data_dir_flag(init)
    init.add_argument("--did-web", metavar="HOST", help="issue as did:web:HOST (default: a local did:key)")
    init.add_argument("--name", help="the organization's name, as agents' credentials name it (actsFor)")
    _base_url_flag(init, "default: https://HOST for --did-web, else http://127.0.0.1:8080")
    init.set_defaults(func=cmd_init)

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="run the issuer service (initialises one on first run)",
        description="Run the issuer service (VC-API, status lists, kill switch, audit) on a production "
        "HTTP server. On first run it creates a local did:key issuer and prints its admin token once "
        "in the banner; it is stored nowhere (only its hash), unless --keep-admin-token.",
        epilog=_SERVE_EPILOG,
    )
    _data_dir_flag(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    _base_url_flag(serve, "default: the one set on first run")
    serve.add_argument("--cert", help="TLS certificate chain (PEM) to serve https")
    serve.add_argument("--key", help="the certificate's private key (PEM)")
    serve.add_argument("--workers", type=_positive, default=1, help="worker processes (default 1)")
    serve.add_argument("--threads", type=_positive, default=16, help="threads per worker (default 16)")
    serve.add_argument(
        "--max-connections", type=_positive, default=1000, help="open connections per worker (default 1000)"
    )
    serve.add_argument(
        "--read-timeout", type=_seconds, default=10.0, help="seconds a client may stay silent (default 10)"
    )
    serve.add_argument(
        "--body-timeout",
        type=_seconds,
        default=30.0,
        help="seconds a request's whole body may take to arrive (default 30)",
    )
    serve.add_argument(
        "--keep-admin-token",
        action="store_true",
        help="on first run, keep the admin token in <data dir>/admin-token (mode 0600) instead of "
        "printing it once; for scripts that read it from there",
    )
    serve.add_argument(
        "--allow-private-fetch",
        dest="allow_private",
        action="store_true",
        help="let did:web and status list fetches reach private addresses (tests)",
    )
    serve.set_defaults(func=cmd_serve)

    audit = commands.add_parser("audit", parents=[common], help="the audit log").add_subparsers(
        dest="audit_command", required=True, metavar="COMMAND"
    )
    audit_verify = audit.add_parser(
        "verify",
        parents=[common],
        help="check the audit chain and signatures (exit 1 if broken)",
        description="Check the hash chain and signature of every audit entry. Reads only: creates nothing.",
        epilog="example:\n  accredit audit verify --data-dir .accredit\n\n" + EXIT_CODES,
    )
    _data_dir_flag(audit_verify)
    audit_verify.set_defaults(func=cmd_audit_verify)


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, help="issuer data directory (default $ACCREDIT_DATA_DIR, else ./.accredit)"
    )


def _base_url_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--base-url",
        type=base_url_arg,
        help=f"the URL clients reach the service at; credentials name it ($ACCREDIT_BASE_URL; {default})",
    )
