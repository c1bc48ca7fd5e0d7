"""Commands on documents, without a service: keys, DIDs, signing, presenting, verifying, requests."""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from .._dates import parse_datetime, utcnow
from ..agents import Money
from ..credentials import (
    VerifyOptions,
    issue_credential,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from ..dids import default_resolver, resolve
from ..errors import AccreditError, InputError
from ..keys import KEY_TYPES, KeyPair
from ..proofs import RECOMMENDED_SUITES, SUITES
from ..results import VerificationResult
from ._io import EXIT_CODES, EXIT_ESCALATE, EXIT_OK, EXIT_REFUSED, emit, load_key, read_json
from .verdicts import describe_decision, describe_result

TRUST_FORMAT = """\
trust registry (--trust FILE), JSON:
  {"issuers": [{"id": "did:web:acme.example", "name": "Acme Corp",
                "types": ["AgentRoleCredential"]}]}
  "name" and "types" are optional; without "types" the issuer is trusted for any type."""

CHALLENGE_STORE = """\
challenges: `accredit request` remembers each challenge it issues in
  $ACCREDIT_VERIFIER_DIR/challenges.sqlite (default ./.accredit-verifier); `verify` and
  `authorize` accept a presentation only for such a challenge, once."""


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
    emit(key.to_multikey())
    return EXIT_OK


def cmd_did_resolve(args: argparse.Namespace) -> int:
    resolver = default_resolver(allow_private=args.allow_private, allow_http=args.allow_private)
    emit(resolve(args.did, resolver))
    return EXIT_OK


def cmd_sign(args: argparse.Namespace) -> int:
    credential = read_json(args.credential)
    key = load_key(args.key)
    emit(issue_credential(credential, key, suite=args.suite, created=args.created, purpose=args.purpose))
    return EXIT_OK


def cmd_present(args: argparse.Namespace) -> int:
    credentials = [read_json(path) for path in args.credentials]
    key = load_key(args.key)
    emit(
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


# --- the counterparty's commands: request, verify, authorize -------------------------------------

VERIFIER_DIR_ENV = "ACCREDIT_VERIFIER_DIR"
DEFAULT_VERIFIER_DIR = ".accredit-verifier"


def _challenges() -> Any:
    """The challenges `accredit request` issued, kept in a small SQLite file so that `verify`
    and `authorize` accept each once (``$ACCREDIT_VERIFIER_DIR``, default ./.accredit-verifier)."""
    from ..challenges import Challenge
    from ..exchange.stores import SQLStore

    directory = Path(os.environ.get(VERIFIER_DIR_ENV) or DEFAULT_VERIFIER_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SQLStore(f"sqlite:///{directory / 'challenges.sqlite'}", Challenge)


def _verifier(args: argparse.Namespace, trust: Any) -> Any:
    """The counterparty's verifier: trust registry, status lists, the local challenge store."""
    from .._http import FetchPolicy
    from ..status import HTTPStatusListFetcher
    from ..verifier import Verifier

    policy = FetchPolicy(allow_private=args.allow_private, allow_http=args.allow_private)
    return Verifier(
        trust=trust,
        resolver=default_resolver(allow_private=args.allow_private, allow_http=args.allow_private),
        status_fetcher=HTTPStatusListFetcher(policy),
        clock=(lambda: args.now) if args.now else utcnow,
        accepted_suites=RECOMMENDED_SUITES | set(args.accept_suite),
        challenge_store=_challenges(),
        non_monetary_actions=getattr(args, "non_monetary", ()),
    )


def _untrusted_presentation(args: argparse.Namespace, document: Any) -> VerificationResult:
    """A presentation without a trust registry: the challenge once, then the core checks."""
    from ..challenges import check_challenge

    moment = args.now or utcnow()
    challenge, _ = check_challenge(_challenges(), args.challenge, args.domain, moment)
    options = VerifyOptions(
        resolver=default_resolver(allow_private=args.allow_private, allow_http=args.allow_private),
        now=moment,
        accepted_suites=RECOMMENDED_SUITES | set(args.accept_suite),
    )
    core = verify_presentation(document, options, challenge=args.challenge, domain=args.domain)
    return VerificationResult.of("presentation", [challenge, *core.checks])


def _kind(document: Any) -> str:
    """``credential`` or ``presentation``; anything else is bad input, not a failed verification."""
    types = document.get("type") if isinstance(document, dict) else None
    types = types if isinstance(types, list) else [types]
    if "VerifiablePresentation" in types:
        return "presentation"
    if "VerifiableCredential" in types:
        return "credential"
    raise InputError(
        'not a credential or presentation: its "type" must include VerifiableCredential or '
        "VerifiablePresentation"
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from ..trust import TrustRegistry

    document = read_json(args.file)
    presentation = _kind(document) == "presentation"
    if presentation and (not args.challenge or not args.domain):
        raise InputError("verifying a presentation needs --challenge and --domain (from `accredit request`)")
    if args.trust:
        verifier = _verifier(args, TrustRegistry.from_file(args.trust))
        result = (
            verifier.verify_presentation(document, challenge=args.challenge, domain=args.domain)
            if presentation
            else verifier.verify_credential(document)
        )
    elif presentation:
        result = _untrusted_presentation(args, document)
    else:
        options = VerifyOptions(
            resolver=default_resolver(allow_private=args.allow_private, allow_http=args.allow_private),
            now=args.now,
            accepted_suites=RECOMMENDED_SUITES | set(args.accept_suite),
        )
        result = verify_credential(document, options)
    if getattr(args, "json", False):
        emit(result.to_dict())
    else:
        print(describe_result(result, trust_checked=bool(args.trust)))
    return EXIT_OK if result.verified else EXIT_REFUSED


def cmd_authorize(args: argparse.Namespace) -> int:
    from ..policy import AuthorizationRequest
    from ..trust import TrustRegistry

    document = read_json(args.file)
    if _kind(document) != "presentation":
        raise InputError("authorize needs a presentation (`accredit wallet present` makes one)")
    if (args.amount is None) != (args.currency is None):
        raise InputError("--amount and --currency go together")
    verifier = _verifier(args, TrustRegistry.from_file(args.trust))
    amount = None if args.amount is None else Money.of(args.amount, args.currency).amount
    request = AuthorizationRequest(args.action, verifier.now(), amount, args.currency, args.counterparty)
    decision = verifier.authorize(document, request, challenge=args.challenge, domain=args.domain)
    if getattr(args, "json", False):
        emit(decision.to_dict())
    else:
        print(describe_decision(decision))
    return {"allow": EXIT_OK, "deny": EXIT_REFUSED, "escalate": EXIT_ESCALATE}[decision.decision]


def cmd_request(args: argparse.Namespace) -> int:
    from ..verifier import Verifier

    verifier = Verifier(trust=None, challenge_store=_challenges())
    emit(verifier.create_request(domain=args.domain, query=args.type or None))
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Sign an agent's identity and mandate, verify the mandate, then show a tampered copy fail."""
    from ..agents import Mandate, Money, agent_credential, mandate_credential
    from ..status import status_entry

    organization, agent = KeyPair.generate(), KeyPair.generate()
    now = utcnow()
    identity = issue_credential(
        agent_credential(
            agent=agent.did,
            organization={"id": organization.did, "name": "Acme Corp"},
            built_by={"name": "Example Labs"},
            build={"name": "acme-buyer", "version": "1.0.0"},
            liability_contact={"name": "Dana Smith", "role": "Chief Procurement Officer"},
            escalation_contact={"role": "Procurement desk", "url": "mailto:procurement@acme.example"},
            kill_switch=status_entry("https://acme.example/status/1", 42, "suspension"),
            valid_from=now,
        ),
        organization,
    )
    mandate = issue_credential(
        mandate_credential(
            issuer=organization.did,
            agent_credential=identity,
            actions=["procurement.negotiate", "contract.sign"],
            purpose="Source office furniture",
            valid_from=now,
            valid_until=now + timedelta(days=90),
            transaction_limit=Money.of("250000.00", "USD"),
        ),
        organization,
    )
    print(f"organization {organization.did}\nagent        {agent.did}\n")
    print("signed MandateCredential (the agents vocabulary, docs/agents.md):")
    emit(mandate)
    result = verify_credential(mandate)
    limit = Mandate.from_credential(mandate).transaction_limit
    print(f"\nverify original: verified={result.verified} (transaction limit {limit})")
    mandate["credentialSubject"]["transactionLimit"]["amount"] = "2500000.00"
    tampered = verify_credential(mandate)
    print(
        f"verify tampered (limit raised tenfold): verified={tampered.verified} codes={list(tampered.codes)}"
    )
    return EXIT_OK if result.verified and not tampered.verified else EXIT_REFUSED


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the document commands to ``commands`` (the top-level subparsers)."""
    key = commands.add_parser("key", help="key pairs", parents=[common]).add_subparsers(
        dest="key_command", required=True, metavar="COMMAND"
    )
    generate = key.add_parser(
        "generate",
        parents=[common],
        help="generate a key pair into a Multikey file (mode 0600)",
        description="Generate a key pair and write it as a Multikey JSON file (mode 0600); print the "
        "public half (Multikey JSON) on stdout.",
        epilog="example:\n  accredit key generate -o org-key.json\n  accredit key generate --type P-256 -o "
        "device-key.json\n\n" + EXIT_CODES,
    )
    generate.add_argument("--type", choices=KEY_TYPES, default="Ed25519", help="key type (default Ed25519)")
    generate.add_argument("-o", "--output", required=True, type=Path, help="the key file to write")
    generate.add_argument("--controller", help="controlling DID (default: the key's did:key)")
    generate.add_argument("--force", action="store_true", help="replace an existing file")
    generate.set_defaults(func=cmd_key_generate)

    did = commands.add_parser("did", help="DIDs", parents=[common]).add_subparsers(
        dest="did_command", required=True, metavar="COMMAND"
    )
    did_resolve = did.add_parser(
        "resolve",
        parents=[common],
        help="resolve a did:key or did:web to its document",
        description="Print the DID document of a did:key (computed) or did:web (fetched over https).",
        epilog="example:\n  accredit did resolve did:web:issuer.acme.example\n\n" + EXIT_CODES,
    )
    did_resolve.add_argument("did", help="the DID, e.g. did:key:z6Mk... or did:web:example.com")
    _network_flag(did_resolve)
    did_resolve.set_defaults(func=cmd_did_resolve)

    sign = commands.add_parser(
        "sign",
        parents=[common],
        help="sign a credential (written to stdout)",
        description="Sign a credential with a Data Integrity proof; the issuer must be the key's DID "
        "(or its controller). The signed credential is printed on stdout.",
        epilog="example:\n  accredit sign --key org-key.json credential.json > signed.json\n\n" + EXIT_CODES,
    )
    sign.add_argument("--key", required=True, help="the signer's Multikey key file (accredit key generate)")
    _proof_flags(sign)
    sign.add_argument("--purpose", default="assertionMethod", help="proof purpose (default assertionMethod)")
    sign.add_argument("credential", help="credential JSON file, or - for stdin")
    sign.set_defaults(func=cmd_sign)

    present = commands.add_parser(
        "present",
        parents=[common],
        help="sign a presentation of credentials",
        description="Sign a verifiable presentation of credentials, bound to a verifier's challenge "
        "and domain (a holder usually answers with `accredit wallet present` instead).",
        epilog="example:\n  accredit present --key agent-key.json --challenge 9f2c... "
        "--domain vendor.example vc.json\n\n" + EXIT_CODES,
    )
    present.add_argument("--key", required=True, help="the holder's Multikey key file")
    present.add_argument("--challenge", required=True, help="the verifier's challenge (single use)")
    present.add_argument("--domain", required=True, help="the verifier's domain")
    _proof_flags(present)
    present.add_argument("credentials", nargs="*", help="credential JSON files, - for stdin")
    present.set_defaults(func=cmd_present)

    verify = commands.add_parser(
        "verify",
        parents=[common],
        help="verify a credential or presentation",
        description="Verify a credential or presentation: proofs, DIDs, dates and (with --trust) issuer "
        "trust and status lists. A presentation must answer a challenge from `accredit request`, "
        "accepted once. Prints a short verdict (what was checked, what failed and why); --json "
        "prints the full result, every check with its code.",
        epilog="examples:\n  accredit verify signed.json\n  accredit verify --trust trust.json "
        "--challenge=$CHALLENGE --domain vendor.example presentation.json\n\n"
        + TRUST_FORMAT
        + "\n\n"
        + CHALLENGE_STORE
        + "\n\n"
        + EXIT_CODES,
    )
    verify.add_argument("file", help="JSON file, or - for stdin")
    verify.add_argument("--challenge", help="the challenge of your `accredit request` (presentations)")
    verify.add_argument("--domain", help="the domain a presentation must be bound to")
    _verifier_flags(verify)
    verify.add_argument("--trust", help="trust registry JSON: also check issuer trust and status lists")
    verify.set_defaults(func=cmd_verify)

    authorize = commands.add_parser(
        "authorize",
        parents=[common],
        help="decide whether an agent's presentation authorizes an action",
        description="Decide whether the agent that made a presentation may do an action: the "
        "challenge (from `accredit request`, accepted once), every proof, status (so the kill "
        "switch), issuer trust, the MandateCredential and its delegation chain, and the action, "
        "amount and counterparty against the mandate. Prints allow, deny or escalate with every "
        "reason (--json: the full decision).",
        epilog="example:\n  accredit request --domain vendor.example --type AgentCredential --type "
        "MandateCredential > request.json\n  accredit authorize --trust trust.json --challenge=$CHALLENGE "
        "--domain vendor.example \\\n    --action contract.sign --amount 1200.00 --currency USD "
        "--counterparty did:web:vendor.example presentation.json\n\n"
        "exit codes:\n  0  allow\n  1  deny\n  2  error: bad input or usage (nothing was decided)\n"
        "  3  escalate: the mandate asks a human to co-sign\n\n" + TRUST_FORMAT + "\n\n" + CHALLENGE_STORE,
    )
    authorize.add_argument("file", help="the presentation JSON file, or - for stdin")
    authorize.add_argument("--trust", required=True, help="trust registry JSON: the organizations you accept")
    authorize.add_argument("--challenge", required=True, help="the challenge of your `accredit request`")
    authorize.add_argument("--domain", required=True, help="your domain; the presentation is bound to it")
    authorize.add_argument("--action", required=True, help="the action asked, e.g. contract.sign")
    authorize.add_argument("--amount", help="the amount, a decimal string such as 1200.00")
    authorize.add_argument("--currency", help="the amount's ISO 4217 currency, e.g. USD")
    authorize.add_argument("--counterparty", help="your DID: the mandate must allow dealing with it")
    authorize.add_argument(
        "--non-monetary",
        action="append",
        default=[],
        metavar="ACTION",
        help="an action that moves no money, so needs no --amount under a mandate with limits",
    )
    _verifier_flags(authorize)
    authorize.set_defaults(func=cmd_authorize)

    request = commands.add_parser(
        "request",
        parents=[common],
        help="make a presentation request as a verifier",
        description="Print a presentation request: a fresh single-use challenge for your domain, and "
        "the credential types you ask for, one credential of each. Give it to the agent "
        "(`accredit wallet present`); `verify` and `authorize` accept its answer once.",
        epilog="example:\n  accredit request --domain vendor.example --type AgentCredential "
        "--type MandateCredential > request.json\n\n"
        'output (a presentation request), JSON:\n  {"query": [{"type": "QueryByExample", "credentialQuery":\n'
        '     [{"example": {"type": ["AgentCredential"]}}, {"example": {"type": ["MandateCredential"]}}]}],\n'
        '   "challenge": "<64 hex digits>", "domain": "vendor.example"}\n\n'
        + CHALLENGE_STORE
        + "\n\n"
        + EXIT_CODES,
    )
    request.add_argument("--domain", required=True, help="your domain; the presentation is bound to it")
    request.add_argument(
        "--type", action="append", help="a credential type to ask for (repeatable: one credential of each)"
    )
    request.set_defaults(func=cmd_request)

    commands.add_parser(
        "demo",
        parents=[common],
        help="sign, verify and tamper with an agent's mandate (no server)",
        description="Sign an AgentCredential and a MandateCredential (250,000 USD per transaction), "
        "verify the mandate, then raise its limit tenfold and show the proof fail.",
        epilog=EXIT_CODES,
    ).set_defaults(func=cmd_demo)


def _proof_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suite",
        choices=sorted(SUITES),
        default="eddsa-rdfc-2022",
        help="cryptosuite (default eddsa-rdfc-2022)",
    )
    parser.add_argument("--created", type=_datetime_arg, help="proof creation time (ISO 8601; default now)")


def _verifier_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", type=_datetime_arg, help="decide as of this time (ISO 8601)")
    parser.add_argument(
        "--accept-suite",
        action="append",
        default=[],
        choices=sorted(SUITES),
        help="also accept this cryptosuite (e.g. Ed25519Signature2020)",
    )
    _network_flag(parser)


def _network_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-private",
        action="store_true",
        help="let did:web and status lists resolve to private/loopback addresses over http (tests)",
    )
