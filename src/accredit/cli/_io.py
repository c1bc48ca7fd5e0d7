"""What every command shares: the exit codes, reading input, writing results, reporting problems."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any, NoReturn

from .. import _json
from ..errors import AccreditError, InputError
from ..keys import KeyPair

EXIT_OK = 0  # done; verified; allowed
EXIT_REFUSED = 1  # a definite no: not verified, denied, or the service refused the request
EXIT_ERROR = 2  # no answer: bad input or usage, a file or service that cannot be used
EXIT_ESCALATE = 3  # a policy decision that a human must take

EXIT_CODES = """\
exit codes:
  0  success (verified, allowed)
  1  refused: not verified, denied, or the issuer service refused the request
  2  error: bad input or usage, unreadable file, unreachable service (nothing was decided)
  3  escalate: the mandate asks a human to decide"""


class CommandError(AccreditError):
    """A problem found by the command line itself (a file, a port, a flag); ``code`` is per case."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


class Refused(AccreditError):
    """A definite no from a service or policy: reported like an error, but exits 1."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


def wants_json(argv: list[str]) -> bool:
    return "--json" in argv


def report(problem: dict[str, Any], as_json: bool) -> None:
    """One line on stderr: ``accredit: CODE: message`` (or the problem as JSON with --json)."""
    if as_json:
        line = _json.dumps(problem)
    else:
        line = (
            f"accredit: {problem.get('code', 'ERROR')}: {' '.join(str(problem.get('message', '')).split())}"
        )
    print(line, file=sys.stderr)


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2) that follow the CLI's error contract."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        report(
            {"code": "USAGE", "message": f"{self.prog}: {message} (see `{self.prog} --help`)"},
            wants_json(sys.argv[1:]),
        )
        sys.exit(EXIT_ERROR)


def emit(value: Any) -> None:
    """A result, as JSON on stdout."""
    print(_json.dumps(value))


def read_json(path: str) -> Any:
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


def load_key(path: str) -> KeyPair:
    try:
        return KeyPair.from_file(path)
    except OSError as exc:
        raise InputError(f"cannot read key file {path}: {exc.strerror}", path=path) from None


def os_problem(error: OSError) -> CommandError:
    """An OSError as one line: which file, what went wrong, what to do."""
    where = error.filename or "a file"
    if isinstance(error, PermissionError):
        return CommandError(
            "PERMISSION_DENIED", f"cannot write or read {where}: permission denied (choose another directory)"
        )
    return CommandError("OS_ERROR", f"{where}: {error.strerror or error}")


# --- the wallet passphrase ----------------------------------------------------------------------

PASSPHRASE_ENV = "ACCREDIT_WALLET_PASSPHRASE"
MIN_PASSPHRASE_LENGTH = 12
MIN_DISTINCT_CHARACTERS = 6
PASSPHRASE_RULE = (
    f"a wallet passphrase has at least {MIN_PASSPHRASE_LENGTH} characters, "
    f"at least {MIN_DISTINCT_CHARACTERS} of them different"
)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


def wallet_passphrase(*, new: bool) -> str:
    """The wallet passphrase: ``$ACCREDIT_WALLET_PASSPHRASE``, else asked on the terminal (twice
    for a new wallet). A new wallet's passphrase must follow ``PASSPHRASE_RULE``."""
    passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        if not _interactive():
            raise CommandError(
                "WALLET_PASSPHRASE_REQUIRED",
                f"set {PASSPHRASE_ENV} to the wallet passphrase (or run on a terminal to be asked)",
            )
        passphrase = getpass.getpass("wallet passphrase: ")
        if new and getpass.getpass("again: ") != passphrase:
            raise CommandError("PASSPHRASE_MISMATCH", "the two passphrases differ; nothing was created")
    if new and (len(passphrase) < MIN_PASSPHRASE_LENGTH or len(set(passphrase)) < MIN_DISTINCT_CHARACTERS):
        raise CommandError("WEAK_PASSPHRASE", f"passphrase refused: {PASSPHRASE_RULE}")
    return passphrase
