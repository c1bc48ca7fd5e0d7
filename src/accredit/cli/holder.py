"""The agent's commands (its wallet) and the issuer-client command ``accredit status``."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import InputError
from ._io import EXIT_CODES, EXIT_OK, CommandError, Refused, emit, load_key, read_json, wallet_passphrase

TOKEN_ENV = "ACCREDIT_ISSUER_TOKEN"
TX_CODE_ENV = "ACCREDIT_TX_CODE"
_ISSUER_TIMEOUT = 30


def _wallet(args: argparse.Namespace) -> Any:
    from ..wallet import Wallet

    return Wallet.open(args.wallet, passphrase=wallet_passphrase(new=False))


def cmd_wallet_init(args: argparse.Namespace) -> int:
    from ..wallet import Wallet

    key = load_key(args.key) if args.key else None
    wallet = Wallet.create(args.wallet, key, passphrase=wallet_passphrase(new=True))
    emit({"did": wallet.did, "path": str(wallet.path)})
    return EXIT_OK


def cmd_wallet_import(args: argparse.Namespace) -> int:
    wallet = _wallet(args)
    emit([wallet.import_credential(read_json(path))["id"] for path in args.files])
    return EXIT_OK


def cmd_wallet_list(args: argparse.Namespace) -> int:
    emit(_wallet(args).credentials(args.type))
    return EXIT_OK


def cmd_wallet_fetch(args: argparse.Namespace) -> int:
    token = issuer_token()
    credential = read_json(args.credential)
    emit(_wallet(args).request_credential(issuer_url(args.issuer), credential, token=token))
    return EXIT_OK


def cmd_wallet_accept(args: argparse.Namespace) -> int:
    tx_code = os.environ.get(TX_CODE_ENV) or None
    emit([credential["id"] for credential in _wallet(args).accept_offer(args.uri, tx_code=tx_code)])
    return EXIT_OK


def cmd_wallet_present(args: argparse.Namespace) -> int:
    emit(_wallet(args).present(read_json(args.request), domain=args.domain))
    return EXIT_OK


def cmd_status_set(args: argparse.Namespace) -> int:
    import requests

    base = issuer_url(args.issuer)
    body = {
        "credentialId": args.credential_id,
        "credentialStatus": [{"type": "BitstringStatusListCredential", "status": args.status}],
    }
    try:
        response = requests.post(
            f"{base}/credentials/status",
            json=body,
            timeout=_ISSUER_TIMEOUT,
            headers={"Authorization": f"Bearer {issuer_token()}"},
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise CommandError(
            "ISSUER_UNREACHABLE", f"cannot reach the issuer at {base}: {_reason(error)}", url=base
        ) from None
    try:
        answer = response.json() if response.content else {}
    except ValueError:
        answer = {}
    if response.status_code != 200:
        problem = answer if isinstance(answer, dict) else {}
        raise Refused(
            str(problem.get("code") or f"HTTP_{response.status_code}"),
            f"the issuer refused (HTTP {response.status_code}): "
            f"{problem.get('detail') or problem.get('title') or ''}",
            status=response.status_code,
        )
    emit(answer)
    return EXIT_OK


def _reason(error: Exception) -> str:
    text = str(error)
    if "Connection refused" in text:
        return "connection refused (is `accredit serve` running there?)"
    if "timed out" in text.lower():
        return "timed out"
    return type(error).__name__


def issuer_url(value: str) -> str:
    """An issuer service's base URL, checked before any request is made."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"--issuer must be the service's http(s) base URL, such as http://127.0.0.1:8080 (got {value!r})"
        )
    return value.rstrip("/")


def issuer_token() -> str:
    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        raise CommandError(
            "ISSUER_TOKEN_REQUIRED",
            f"set {TOKEN_ENV} to an issuer API token (tokens are never passed as arguments)",
        )
    return token


_WALLET_HELP = """\
The wallet keeps the agent's key, encrypted at rest under a passphrase taken from
$ACCREDIT_WALLET_PASSPHRASE, or asked for on a terminal when that is unset. A new wallet's
passphrase has at least 12 characters, at least 6 of them different."""


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    wallet = commands.add_parser(
        "wallet",
        parents=[common],
        help="an agent's wallet: key, credentials, presentations",
        description=_WALLET_HELP,
    )
    actions = wallet.add_subparsers(dest="wallet_command", required=True, metavar="COMMAND")
    examples = {
        "init": "accredit wallet init --wallet agent-wallet",
        "import": "accredit wallet import --wallet agent-wallet vc.json",
        "list": "accredit wallet list --wallet agent-wallet --type AgentRoleCredential",
        "fetch": "ACCREDIT_ISSUER_TOKEN=... accredit wallet fetch --wallet agent-wallet "
        "--issuer http://127.0.0.1:8080 examples/agent-role.json",
        "present": "accredit wallet present --wallet agent-wallet --domain vendor.example request.json",
        "accept": "accredit wallet accept --wallet agent-wallet 'openid-credential-offer://?credential_offer=...'",
    }

    def action(name: str, summary: str, handler: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name,
            parents=[common],
            help=summary,
            description=f"{summary[0].upper()}{summary[1:]}.\n\n{_WALLET_HELP}",
            epilog=f"example:\n  {examples[name]}\n\n{EXIT_CODES}",
        )
        parser.add_argument("--wallet", required=True, type=Path, help="the wallet directory")
        parser.set_defaults(func=handler)
        return parser

    init = action("init", "create a wallet with a new (or given) key", cmd_wallet_init)
    init.add_argument("--key", help="a Multikey key file to import instead of generating one")
    imports = action("import", "import credential files", cmd_wallet_import)
    imports.add_argument("files", nargs="+", help="credential JSON files")
    listing = action("list", "list the wallet's credentials", cmd_wallet_list)
    listing.add_argument("--type", help="only credentials of this type")
    fetch = action("fetch", "have an issuer service issue a credential to this wallet", cmd_wallet_fetch)
    fetch.add_argument("--issuer", required=True, help="the issuer service's base URL")
    fetch.add_argument(
        "credential", help="the credential to request (JSON; the subject id defaults to the wallet's DID)"
    )
    fetch.epilog = f"the token: ${TOKEN_ENV}\n\n{fetch.epilog}"
    accept = action(
        "accept",
        "collect the credentials of an issuer's OpenID4VCI offer, proving this key",
        cmd_wallet_accept,
    )
    accept.add_argument("uri", help="the offer: openid-credential-offer://?credential_offer=...")
    accept.epilog = f"the transaction code, if the offer asks for one: ${TX_CODE_ENV}\n\n{accept.epilog}"
    present = action(
        "present", "answer a presentation request with a signed presentation", cmd_wallet_present
    )
    present.add_argument(
        "request", help="the verifier's presentation request (JSON, from `accredit request`)"
    )
    present.add_argument("--domain", help="refuse a request made for another domain (recommended)")

    status = commands.add_parser(
        "status",
        parents=[common],
        help="change a credential's status at an issuer service",
        description="Revoke (final), suspend or reinstate a credential at the issuer service. "
        f"The API token (scope status) comes from ${TOKEN_ENV}.",
        epilog="example:\n  accredit status urn:uuid:... revoked --issuer http://127.0.0.1:8080\n\n"
        + EXIT_CODES,
    )
    status.add_argument("credential_id", help='the credential\'s id (its "id", urn:uuid:...)')
    status.add_argument("status", choices=["revoked", "suspended", "active"], help="the new status")
    status.add_argument("--issuer", required=True, help="the issuer service's base URL")
    status.set_defaults(func=cmd_status_set)
