"""Verdicts a person reads at a glance: what was checked, what failed and why, in plain words.
``--json`` gives machines the full result instead."""

from __future__ import annotations

import re

from ..policy import Decision
from ..results import Check, CheckStatus, VerificationResult

# The check names of the library, by what a person would call them.
_PLAIN = {
    "dataModel": "document shape",
    "context": "JSON-LD contexts",
    "proof": "signatures",
    "proofPurpose": "signatures",
    "challenge": "single-use challenge",
    "domain": "domain binding",
    "created": "signatures",
    "expires": "signatures",
    "validity": "validity dates",
    "status": "revocation and suspension",
    "issuerTrust": "issuer trust",
    "holderBinding": "holder binding",
    "holder": "holder binding",
    "query": "what was asked for",
    "inForce": "mandate dates",
    "delegation": "delegation chain",
    "parentMandate": "delegation chain",
    "agentCredential": "agent identity",
    "killSwitch": "kill switch",
    "actsFor": "agent acts for the organization",
    "mandate": "mandate",
    "action": "action permitted",
    "counterparty": "counterparty allowed",
    "amount": "amount given",
    "transactionLimit": "transaction limit",
    "totalLimit": "total limit",
    "escalation": "escalation threshold",
    "binding": "request binding",
}
_INDEX = re.compile(r"\[\d+\]")
TRUST_NOT_CHECKED = "issuer trust was not checked: pass --trust FILE to say whose credentials you accept"


def _topic(check: Check) -> str:
    parts = [_INDEX.sub("", part) for part in check.name.split(".")]
    for part in reversed(parts):
        if part in _PLAIN:
            return _PLAIN[part]
    return parts[-1]


def _checked(checks: tuple[Check, ...]) -> str:
    topics: list[str] = []
    for check in checks:
        topic = _topic(check)
        if topic not in topics:
            topics.append(topic)
    return ", ".join(topics)


def _failures(checks: tuple[Check, ...]) -> list[str]:
    return [
        f"  {'failed ' if c.status is CheckStatus.FAILED else 'skipped'}  {c.name}: {c.message} ({c.code})"
        for c in checks
        if c.status is not CheckStatus.PASSED
    ]


def describe_result(result: VerificationResult, *, trust_checked: bool) -> str:
    """``VERIFIED``/``NOT VERIFIED``, the checks that failed with their reasons, what was
    checked, and a plain warning when issuer trust was not checked."""
    checks = result.checks
    passed = sum(c.status is CheckStatus.PASSED for c in checks)
    lines = [f"{'VERIFIED' if result.verified else 'NOT VERIFIED'}: {result.kind}", *_failures(checks)]
    lines.append(f"  {passed} of {len(checks)} checks passed; checked: {_checked(checks)}")
    if not trust_checked:
        lines.append(f"  note: {TRUST_NOT_CHECKED}")
    return "\n".join(lines)


def describe_decision(decision: Decision) -> str:
    """``ALLOW``/``DENY``/``ESCALATE`` for the request, every reason that did not pass, what
    was checked, and for an escalation whom to ask."""
    asked = "the request"
    if decision.request is not None:
        request = decision.request
        money = f" {request.money}" if request.money is not None else ""
        asked = f"{request.action}{money}" + (f" with {request.counterparty}" if request.counterparty else "")
    lines = [f"{decision.decision.upper()}: {asked}", *_failures(decision.reasons)]
    passed = sum(c.status is CheckStatus.PASSED for c in decision.reasons)
    lines.append(
        f"  {passed} of {len(decision.reasons)} checks passed; checked: {_checked(decision.reasons)}"
    )
    if decision.decision == "escalate":
        contacts = [
            c.evidence.get("escalationContact") for c in decision.reasons if c.code == "ESCALATION_REQUIRED"
        ]
        contact = next((c for c in contacts if c), None)
        lines.append(f"  a human must co-sign; escalation contact: {contact or 'not given'}")
    return "\n".join(lines)
