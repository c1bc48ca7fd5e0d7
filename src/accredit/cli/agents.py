"""The organization's agent commands: ``accredit agent register | mandate | list | show |
suspend | reinstate | offer`` — a client of a running issuer service (``--issuer``, token in
``$ACCREDIT_ISSUER_TOKEN``). Human-readable lines by default; ``--json`` prints the service's
JSON answer instead."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import quote

from ._io import EXIT_CODES, EXIT_OK, CommandError, Refused, emit, read_json
from .holder import TOKEN_ENV, issuer_token, issuer_url

_TIMEOUT = 30


def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    import requests

    base = issuer_url(args.issuer)
    try:
        response = requests.request(
            method,
            base + path,
            json=body,
            timeout=_TIMEOUT,
            headers={"Authorization": f"Bearer {issuer_token()}"},
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise CommandError(
            "ISSUER_UNREACHABLE", f"cannot reach the issuer at {base}: {type(error).__name__}"
        ) from None
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 300:
        problem = answer if isinstance(answer, dict) else {}
        code = problem.get("code") or problem.get("error") or f"HTTP_{response.status_code}"
        detail = problem.get("detail") or problem.get("error_description") or ""
        raise Refused(
            str(code),
            f"the issuer refused (HTTP {response.status_code}): {detail}",
            status=response.status_code,
        )
    return answer


def _agent_path(did: str, suffix: str = "") -> str:
    return "/agents/" + quote(did, safe=":") + suffix  # one percent-encoded path segment


def _show(args: argparse.Namespace, answer: Any, lines: list[str]) -> int:
    if getattr(args, "json", False):
        emit(answer)
    else:
        sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_OK


def cmd_register(args: argparse.Namespace) -> int:
    answer = _call(args, "POST", "/agents", read_json(args.profile))
    credential = answer["agentCredential"]
    return _show(args, answer, [f"registered {answer['agent']}", f"AgentCredential {credential['id']}"])


def cmd_mandate(args: argparse.Namespace) -> int:
    answer = _call(args, "POST", _agent_path(args.did, "/mandates"), read_json(args.mandate))
    return _show(args, answer, [f"MandateCredential {answer['mandate']['id']} for {answer['agent']}"])


def cmd_list(args: argparse.Namespace) -> int:
    answer = _call(args, "GET", "/agents")
    lines = [f"{a['state']:<10} {a['agent']}  {a.get('name') or ''}".rstrip() for a in answer["agents"]]
    return _show(args, answer, lines or ["no agents"])


def cmd_show(args: argparse.Namespace) -> int:
    answer = _call(args, "GET", _agent_path(args.did))
    lines = [f"{answer['agent']}  {answer['state']}"] + [
        f"  {c['status']:<10} {c['type'][-1]:<20} {c['id']}" for c in answer["credentials"]
    ]
    return _show(args, answer, lines)


def cmd_suspend(args: argparse.Namespace) -> int:
    answer = _call(args, "POST", _agent_path(args.did, "/suspend"))
    return _show(args, answer, [f"suspended {answer['agent']}: {len(answer['suspended'])} credential(s)"])


def cmd_reinstate(args: argparse.Namespace) -> int:
    answer = _call(args, "POST", _agent_path(args.did, "/reinstate"))
    return _show(args, answer, [f"reinstated {answer['agent']}: {len(answer['reinstated'])} credential(s)"])


def cmd_offer(args: argparse.Namespace) -> int:
    body: dict[str, Any] = {"txCode": bool(args.tx_code)}
    if args.credential:
        body["credentials"] = args.credential
    answer = _call(args, "POST", _agent_path(args.did, "/offers"), body)
    lines = [answer["uri"]]
    if "txCode" in answer:
        lines.append(f"transaction code (send it separately): {answer['txCode']}")
    return _show(args, answer, lines)


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    agent = commands.add_parser(
        "agent",
        help="register agents, issue mandates, pull the kill switch, make offers (issuer client)",
        description=f"Manage the organization's agents on a running issuer service. Token: ${TOKEN_ENV}.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = agent.add_subparsers(dest="agent_command", required=True, metavar="ACTION")

    issuer = "--issuer http://127.0.0.1:8080"
    examples = {
        "register": f"accredit agent register {issuer} agent.json",
        "mandate": f"accredit agent mandate {issuer} did:key:z6Mk... examples/procurement-mandate.json",
        "list": f"accredit agent list {issuer}",
        "show": f"accredit agent show {issuer} did:key:z6Mk...",
        "suspend": f"accredit agent suspend {issuer} did:key:z6Mk...",
        "reinstate": f"accredit agent reinstate {issuer} did:key:z6Mk...",
        "offer": f"accredit agent offer {issuer} did:key:z6Mk... --tx-code",
    }

    def action(
        name: str, help_text: str, handler: Any, *positionals: tuple[str, str]
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(
            name,
            help=help_text,
            parents=[common],
            description=f"{help_text[0].upper()}{help_text[1:]}. The API token comes from ${TOKEN_ENV}.",
            epilog=f"example:\n  {examples[name]}\n\n{EXIT_CODES}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument(
            "--issuer", required=True, help="the issuer service's base URL, e.g. http://127.0.0.1:8080"
        )
        for positional, text in positionals:
            parser.add_argument(positional, help=text)
        parser.set_defaults(func=handler)
        return parser

    action(
        "register",
        "register an agent and issue its AgentCredential",
        cmd_register,
        (
            "profile",
            'JSON: {"did", "name", "builtBy", "build", "liabilityContact", "escalationContact"} '
            "(- for stdin)",
        ),
    )
    action(
        "mandate",
        "issue a MandateCredential for a registered agent",
        cmd_mandate,
        ("did", "the agent's DID"),
        (
            "mandate",
            'JSON: {"actions", "purpose", "transactionLimit", "escalationThreshold", "counterparties", ...}',
        ),
    )
    action("list", "every agent and its state", cmd_list)
    action("show", "an agent's state and credentials", cmd_show, ("did", "the agent's DID"))
    action(
        "suspend",
        "the kill switch: the agent is issued nothing, its credentials suspended",
        cmd_suspend,
        ("did", "the agent's DID"),
    )
    action("reinstate", "lift the kill switch", cmd_reinstate, ("did", "the agent's DID"))
    offer = action(
        "offer",
        "an OpenID4VCI offer for the agent to collect its credentials",
        cmd_offer,
        ("did", "the agent's DID"),
    )
    offer.add_argument("--tx-code", action="store_true", help="also require a 6-digit transaction code")
    offer.add_argument(
        "--credential",
        action="append",
        choices=["AgentCredential", "MandateCredential"],
        help="what to offer (default both)",
    )
