"""The ``accredit`` command: a thin shell over the library.

Exit codes: 0 success (verified), 1 not verified, 2 bad input or misuse. Errors are printed
to stderr as JSON ``{"code", "message"}``; never a traceback, never a secret.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import _json
from ._dates import parse_datetime, utcnow
from .credentials import (
    VerifyOptions,
    issue_credential,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from .dids import default_resolver, resolve
from .errors import AccreditError, InputError
from .keys import KEY_TYPES, KeyPair
from .proofs import RECOMMENDED_SUITES, SUITES

EXIT_OK, EXIT_NOT_VERIFIED, EXIT_BAD_INPUT = 0, 1, 2

Handler = Callable[[argparse.Namespace], int]


def _read_json(path: str) -> Any:
    """Read a JSON file strictly (``-`` is stdin). Raises ``InputError`` subclasses."""
    if path == "-":
        data = sys.stdin.buffer.read(_json.MAX_BYTES + 1)
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read(_json.MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror}", path=path) from None
    return _json.loads(data)


def _print(value: Any) -> None:
    print(_json.dumps(value))


def _load_key(path: str) -> KeyPair:
    try:
        return KeyPair.from_file(path)
    except OSError as exc:
        raise InputError(f"cannot read key file {path}: {exc.strerror}", path=path) from None


def _datetime_arg(value: str) -> Any:
    try:
        return parse_datetime(value, "argument")
    except AccreditError as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def cmd_key_generate(args: argparse.Namespace) -> int:
    key = KeyPair.generate(args.type, **({"controller": args.controller} if args.controller else {}))
    try:
        key.to_file(args.output, overwrite=args.force)
    except FileExistsError:
        raise InputError(f"{args.output} exists; pass --force to replace it") from None
    _print(key.to_multikey())
    return EXIT_OK


def cmd_did_resolve(args: argparse.Namespace) -> int:
    resolver = default_resolver(allow_private=args.allow_private, allow_http=args.allow_private)
    _print(resolve(args.did, resolver))
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    credential = _read_json(args.credential)
    key = _load_key(args.key)
    _print(issue_credential(credential, key, suite=args.suite, created=args.created, purpose=args.purpose))
    return EXIT_OK


def cmd_present(args: argparse.Namespace) -> int:
    credentials = [_read_json(path) for path in args.credentials]
    key = _load_key(args.key)
    _print(
        sign_presentation(
            credentials,
            key,
            challenge=args.challenge,
            domain=args.domain,
            suite=args.suite,
            created=args.created,
        )
    )
    return EXIT_OK


def _verify_with_trust(args: argparse.Namespace, document: Any, presentation: bool) -> Any:
    """The counterparty's verifier: trust registry, status lists, single-use challenge."""
    from ._http import FetchPolicy
    from .status import HTTPStatusListFetcher
    from .trust import TrustRegistry
    from .verifier import Verifier

    policy = FetchPolicy(allow_private=args.allow_private, allow_http=args.allow_private)
    verifier = Verifier(
        trust=TrustRegistry.from_file(args.trust),
        resolver=default_resolver(allow_private=args.allow_private, allow_http=args.allow_private),
        status_fetcher=HTTPStatusListFetcher(policy),
        clock=(lambda: args.now) if args.now else utcnow,
        accepted_suites=RECOMMENDED_SUITES | set(args.accept_suite),
    )
    if not presentation:
        return verifier.verify_credential(document)
    # A one-shot command cannot have issued the challenge itself: register the one given.
    verifier.create_request(domain=args.domain, challenge=args.challenge)
    return verifier.verify_presentation(document, challenge=args.challenge, domain=args.domain)


def cmd_verify(args: argparse.Namespace) -> int:
    document = _read_json(args.file)
    options = VerifyOptions(
        resolver=default_resolver(allow_private=args.allow_private, allow_http=args.allow_private),
        now=args.now,
        accepted_suites=RECOMMENDED_SUITES | set(args.accept_suite),
    )
    types = document.get("type") if isinstance(document, dict) else None
    types = types if isinstance(types, list) else [types]
    presentation = "VerifiablePresentation" in types
    if presentation and (not args.challenge or not args.domain):
        raise InputError("verifying a presentation needs --challenge and --domain")
    if args.trust:
        result = _verify_with_trust(args, document, presentation)
    elif presentation:
        result = verify_presentation(document, options, challenge=args.challenge, domain=args.domain)
    else:
        result = verify_credential(document, options)
    _print(result.to_dict())
    return EXIT_OK if result.verified else EXIT_NOT_VERIFIED


def cmd_demo(args: argparse.Namespace) -> int:
    """Sign an agent mandate, verify it, then show a tampered copy fail."""
    organization, agent = KeyPair.generate(), KeyPair.generate()
    credential = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/undefined-terms/v2",
        ],
        "type": ["VerifiableCredential", "MandateCredential"],
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {
            "id": agent.did,
            "actions": ["procurement.negotiate"],
            "spendingLimit": {"amount": "250000.00", "currency": "USD"},
        },
    }
    vc = issue_credential(credential, organization)
    print(f"organization {organization.did}\nagent        {agent.did}\n")
    print("signed credential:")
    _print(vc)
    result = verify_credential(vc)
    print(f"\nverify original: verified={result.verified}")
    vc["credentialSubject"]["spendingLimit"]["amount"] = "2500000.00"
    tampered = verify_credential(vc)
    print(
        f"verify tampered (limit raised tenfold): verified={tampered.verified} codes={list(tampered.codes)}"
    )
    return EXIT_OK if result.verified and not tampered.verified else EXIT_NOT_VERIFIED


def _service_config(args: argparse.Namespace) -> Any:
    from .service.config import ServiceConfig

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    return ServiceConfig(allow_private_fetch=getattr(args, "allow_private", False), **overrides)


def _initialize(config: Any, base_url: str, did_web: bool) -> tuple[str, str]:
    from .service.issuer import Issuer

    store = config.open_store()
    try:
        return Issuer.initialize(store, config.sealer(store, create=True), base_url=base_url, did_web=did_web)
    finally:
        store.close()


def cmd_init(args: argparse.Namespace) -> int:
    config = _service_config(args)
    if args.did_web:
        local = args.did_web.split(":")[0] in ("127.0.0.1", "localhost")
        base_url = args.base_url or f"{'http' if local else 'https'}://{args.did_web}"
    else:
        base_url = args.base_url or "http://127.0.0.1:8080"
    did, token = _initialize(config, base_url, did_web=bool(args.did_web))
    _print(
        {
            "did": did,
            "adminToken": token,
            "baseUrl": base_url,
            "dataDir": str(config.data_dir),
            "database": config.url if config.database_url is None else "(ACCREDIT_DATABASE_URL)",
        }
    )
    return EXIT_OK


def _first_run(config: Any, host: str, port: int, scheme: str) -> str | None:
    """Initialise a local did:key issuer when the database has none; return the token file."""
    store = config.open_store()
    try:
        with store.read() as connection:
            if store.setting(connection, "did") is not None:
                return None
    finally:
        store.close()
    _, token = _initialize(config, f"{scheme}://{host}:{port}", did_web=False)
    config.prepare_data_dir()
    token_file = config.data_dir / "admin-token"
    descriptor = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    return str(token_file)


def cmd_serve(args: argparse.Namespace) -> int:
    from .service import create_app

    config = _service_config(args)
    scheme = "https" if args.cert else "http"
    token_file = _first_run(config, args.host, args.port, scheme)
    app = create_app(config)
    issuer = app.extensions["accredit.issuer"]
    print(f"accredit issuer   {issuer.did}")
    print(f"serving           {scheme}://{args.host}:{args.port}  (credentials name {issuer.base_url})")
    print(f"DID document      {issuer.base_url}/.well-known/did.json")
    print(f"API description   {issuer.base_url}/openapi.json")
    print(f"admin token       {token_file or 'shown once by `accredit init` (or in <data-dir>/admin-token)'}")
    sys.stdout.flush()
    ssl_context = (args.cert, args.key) if args.cert else None
    app.run(host=args.host, port=args.port, threaded=True, ssl_context=ssl_context)
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from .service.issuer import Issuer

    config = _service_config(args)
    store = config.open_store()
    try:
        result = Issuer(store, config.sealer(store)).verify_audit()
    finally:
        store.close()
    _print(result.to_dict())
    return EXIT_OK if result.verified else EXIT_NOT_VERIFIED


def _wallet(args: argparse.Namespace) -> Any:
    from .wallet import Wallet

    return Wallet.open(args.wallet)


def cmd_wallet_init(args: argparse.Namespace) -> int:
    from .wallet import Wallet

    wallet = Wallet.create(args.wallet, _load_key(args.key) if args.key else None)
    _print({"did": wallet.did, "path": str(wallet.path)})
    return EXIT_OK


def cmd_wallet_import(args: argparse.Namespace) -> int:
    wallet = _wallet(args)
    _print([wallet.import_credential(_read_json(path))["id"] for path in args.files])
    return EXIT_OK


def cmd_wallet_list(args: argparse.Namespace) -> int:
    _print(_wallet(args).credentials(args.type))
    return EXIT_OK


def cmd_wallet_fetch(args: argparse.Namespace) -> int:
    token = _issuer_token()
    _print(_wallet(args).request_credential(args.issuer, _read_json(args.credential), token=token))
    return EXIT_OK


def cmd_wallet_present(args: argparse.Namespace) -> int:
    _print(_wallet(args).present(_read_json(args.request), domain=args.domain))
    return EXIT_OK


def cmd_request(args: argparse.Namespace) -> int:
    from .verifier import Verifier

    request = Verifier(trust=None).create_request(domain=args.domain, query=args.type or None)
    _print(request)
    return EXIT_OK


def cmd_status_set(args: argparse.Namespace) -> int:
    import requests

    body = {
        "credentialId": args.credential_id,
        "credentialStatus": [{"type": "BitstringStatusListCredential", "status": args.status}],
    }
    try:
        response = requests.post(
            f"{args.issuer.rstrip('/')}/credentials/status",
            json=body,
            timeout=30,
            headers={"Authorization": f"Bearer {_issuer_token()}"},
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise InputError(f"cannot reach the issuer: {type(error).__name__}") from None
    _print(response.json() if response.content else {})
    return EXIT_OK if response.status_code == 200 else EXIT_NOT_VERIFIED


def _issuer_token() -> str:
    token = os.environ.get("ACCREDIT_ISSUER_TOKEN", "")
    if not token:
        raise InputError("set ACCREDIT_ISSUER_TOKEN to an issuer API token (never pass tokens as arguments)")
    return token


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accredit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    key = commands.add_parser("key", help="key pairs").add_subparsers(dest="key_command", required=True)
    generate = key.add_parser("generate", help="generate a key pair into a Multikey file (mode 0600)")
    generate.add_argument("--type", choices=KEY_TYPES, default="Ed25519")
    generate.add_argument("-o", "--output", required=True, type=Path)
    generate.add_argument("--controller", help="controlling DID (default: the key's did:key)")
    generate.add_argument("--force", action="store_true", help="replace an existing file")
    generate.set_defaults(func=cmd_key_generate)

    did = commands.add_parser("did", help="DIDs").add_subparsers(dest="did_command", required=True)
    did_resolve = did.add_parser("resolve", help="resolve a did:key or did:web to its document")
    did_resolve.add_argument("did")
    _network_flag(did_resolve)
    did_resolve.set_defaults(func=cmd_did_resolve)

    sign = commands.add_parser("sign", help="sign a credential (written to stdout)")
    sign.add_argument("--key", required=True)
    _proof_flags(sign)
    sign.add_argument("--purpose", default="assertionMethod")
    sign.add_argument("credential", help="credential JSON file, or - for stdin")
    sign.set_defaults(func=cmd_sign)

    present = commands.add_parser("present", help="sign a presentation of credentials")
    present.add_argument("--key", required=True)
    present.add_argument("--challenge", required=True)
    present.add_argument("--domain", required=True)
    _proof_flags(present)
    present.add_argument("credentials", nargs="*", help="credential JSON files, - for stdin")
    present.set_defaults(func=cmd_present)

    verify = commands.add_parser("verify", help="verify a credential or presentation")
    verify.add_argument("file", help="JSON file, or - for stdin")
    verify.add_argument("--challenge")
    verify.add_argument("--domain")
    verify.add_argument("--now", type=_datetime_arg, help="verify as of this time (ISO 8601)")
    verify.add_argument("--trust", help="trust registry JSON: also check issuer trust and status lists")
    verify.add_argument(
        "--accept-suite",
        action="append",
        default=[],
        choices=sorted(SUITES),
        help="also accept this cryptosuite (e.g. Ed25519Signature2020)",
    )
    _network_flag(verify)
    verify.set_defaults(func=cmd_verify)

    commands.add_parser("demo", help="sign, verify and tamper with a credential").set_defaults(func=cmd_demo)
    _service_commands(commands)
    _holder_commands(commands)
    return parser


def _holder_commands(commands: Any) -> None:
    wallet = commands.add_parser("wallet", help="an agent's wallet (passphrase: $ACCREDIT_WALLET_PASSPHRASE)")
    actions = wallet.add_subparsers(dest="wallet_command", required=True)
    init = actions.add_parser("init", help="create a wallet with a new (or given) key")
    init.add_argument("--key", help="a Multikey key file to import instead of generating one")
    imports = actions.add_parser("import", help="import credential files")
    imports.add_argument("files", nargs="+")
    listing = actions.add_parser("list", help="list the wallet's credentials")
    listing.add_argument("--type")
    fetch = actions.add_parser("fetch", help="have an issuer service issue a credential to this wallet")
    fetch.add_argument("--issuer", required=True, help="the issuer service's base URL")
    fetch.add_argument("credential", help="the credential to request (JSON); token: $ACCREDIT_ISSUER_TOKEN")
    present = actions.add_parser(
        "present", help="answer a presentation request (JSON) with a signed presentation"
    )
    present.add_argument("request")
    present.add_argument("--domain", help="refuse a request made for another domain")
    handlers = {
        init: cmd_wallet_init,
        imports: cmd_wallet_import,
        listing: cmd_wallet_list,
        fetch: cmd_wallet_fetch,
        present: cmd_wallet_present,
    }
    for parser, handler in handlers.items():
        parser.add_argument("--wallet", required=True, type=Path, help="the wallet directory")
        parser.set_defaults(func=handler)

    request = commands.add_parser("request", help="make a presentation request as a verifier")
    request.add_argument("--domain", required=True)
    request.add_argument("--type", action="append", help="a credential type to ask for (repeatable)")
    request.set_defaults(func=cmd_request)

    status = commands.add_parser("status", help="change a credential's status at an issuer service")
    status.add_argument("credential_id")
    status.add_argument("status", choices=["revoked", "suspended", "active"])
    status.add_argument("--issuer", required=True, help="the issuer service's base URL")
    status.set_defaults(func=cmd_status_set)


def _service_commands(commands: Any) -> None:
    init = commands.add_parser("init", help="create an issuer: DID, keys, admin token")
    _data_dir_flag(init)
    init.add_argument("--did-web", metavar="HOST", help="issue as did:web:HOST (default: a local did:key)")
    init.add_argument("--base-url", help="the URL the service is reached at (default from --did-web)")
    init.set_defaults(func=cmd_init)

    serve = commands.add_parser("serve", help="run the issuer service (initialises one on first run)")
    _data_dir_flag(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--cert", help="TLS certificate (PEM) to serve https")
    serve.add_argument("--key", help="TLS private key (PEM)")
    serve.add_argument(
        "--allow-private-fetch",
        dest="allow_private",
        action="store_true",
        help="let did:web and status list fetches reach private addresses (tests)",
    )
    serve.set_defaults(func=cmd_serve)

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True
    )
    audit_verify = audit.add_parser("verify", help="check the audit chain and signatures (exit 1 if broken)")
    _data_dir_flag(audit_verify)
    audit_verify.set_defaults(func=cmd_audit_verify)


def _data_dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="issuer data directory (default ./.accredit)")


def _proof_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", choices=sorted(SUITES), default="eddsa-rdfc-2022")
    parser.add_argument("--created", type=_datetime_arg, help="proof creation time (ISO 8601)")


def _network_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="let did:web resolve to private/loopback addresses over http (tests)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.func
    try:
        return handler(args)
    except AccreditError as error:
        print(_json.dumps(error.to_dict()), file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
