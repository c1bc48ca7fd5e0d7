"""The ``accredit`` command: a thin shell over the library.

The contract every command follows (new commands too):

- Results go to stdout (JSON, or the banner of ``serve``); problems go to stderr, never stdout,
  as one line ``accredit: CODE: message`` — or as one JSON object ``{"code", "message", ...}``
  with ``--json``. Never a traceback, never a secret.
- Exit codes: 0 success; 1 refused (not verified, denied, or the issuer refused the request);
  2 error (bad input or usage, a file or service that cannot be used: nothing was decided);
  3 escalate (a policy decision for a human). Raise ``AccreditError`` (exit 2), ``Refused``
  (exit 1), or return the code from the handler.
- Read-only commands create nothing. Secrets come from the environment or a terminal prompt,
  never from arguments.

Modules by command area: ``documents`` (key, did, sign, present, verify, authorize, request,
demo; ``verdicts`` words their results for people),
``holder`` (wallet, status), ``agents`` (agent), ``service`` (init, serve, audit); ``_io`` holds
the contract's pieces and ``_server`` the production HTTP server.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import metadata

from ..errors import AccreditError, IssuerRequestError
from . import agents, documents, holder, service
from ._io import (
    EXIT_CODES,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REFUSED,
    Parser,
    Refused,
    os_problem,
    report,
    wants_json,
)

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]

ENVIRONMENT = """\
environment:
  ACCREDIT_DATA_DIR           issuer data directory (default ./.accredit)
  ACCREDIT_DATABASE_URL       issuer database (default SQLite in the data directory;
                              postgresql+psycopg://... for several instances)
  ACCREDIT_PASSPHRASE         seal the issuer's keys with a passphrase instead of master.key
  ACCREDIT_BASE_URL           the URL clients reach the issuer service at (like --base-url)
  ACCREDIT_VERIFY_SUITES      cryptosuites the service's verify routes accept (comma-separated)
  ACCREDIT_MAX_BACKDATE_SECONDS  how far back an issued credential's validity may start
  ACCREDIT_ISSUER_TOKEN       API token for `wallet fetch` and `status`
  ACCREDIT_WALLET_PASSPHRASE  the wallet passphrase (else asked on a terminal)
  ACCREDIT_VERIFIER_DIR       where `request` keeps its challenges for `verify` and `authorize`
                              (default ./.accredit-verifier)
  ACCREDIT_TX_CODE            the transaction code of an offer, for `wallet accept`"""


def _version() -> str:
    try:
        return metadata.version("accredit")
    except metadata.PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="report problems as JSON on stderr"
    )
    parser = Parser(
        prog="accredit",
        description="Verifiable identity, mandates and attestations for AI agents (W3C VCs, DIDs).",
        epilog="start here:\n  accredit serve          # the issuer service on http://127.0.0.1:8080\n"
        "  accredit demo           # sign, verify and tamper with a mandate, no server\n"
        "  accredit COMMAND --help # each command's options, examples and file formats\n\n"
        "output: results on stdout (JSON); problems on stderr, one line `accredit: CODE: message`\n"
        "(one JSON object with --json).\n\n" + EXIT_CODES + "\n\n" + ENVIRONMENT,
    )
    parser.add_argument("--version", action="version", version=f"accredit {_version()}")
    parser.add_argument(
        "--json", action="store_true", default=False, help="report problems as JSON on stderr"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    service.register(commands, common)
    holder.register(commands, common)
    agents.register(commands, common)
    documents.register(commands, common)
    return parser


def _exit_code(error: AccreditError) -> int:
    if isinstance(error, Refused):
        return EXIT_REFUSED
    if isinstance(error, IssuerRequestError) and error.status is not None:
        return EXIT_REFUSED  # the issuer answered, and said no
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(arguments)
    as_json = bool(getattr(args, "json", False)) or wants_json(arguments)
    handler: Handler = args.func
    try:
        code = handler(args)
        sys.stdout.flush()
        return code
    except AccreditError as error:
        report(error.to_dict(), as_json)
        return _exit_code(error)
    except BrokenPipeError:
        # The reader went away (`| head`): what it read is all it wanted. Silence the final flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as error:
        report(os_problem(error).to_dict(), as_json)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
