"""Credentials, mandates and verification checks in plain words, for the console's pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ...agents import Mandate, Money
from ...errors import ValidationError
from ...results import Check, CheckStatus


def money(value: Money) -> str:
    return f"{value.amount:,} {value.currency}"


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def mandate_in_words(mandate: Mandate) -> list[str]:
    """One sentence per term of ``mandate``; an absent term is said to be unconstrained."""
    lines = [f"May {', '.join(sorted(mandate.actions))}, for: {mandate.purpose}."]
    if mandate.transaction_limit:
        lines.append(f"At most {money(mandate.transaction_limit)} per transaction.")
    if mandate.total_limit:
        lines.append(f"At most {money(mandate.total_limit)} in total.")
    if not mandate.transaction_limit and not mandate.total_limit:
        lines.append("No spending limit.")
    if mandate.escalation_threshold:
        lines.append(f"A person must co-sign anything above {money(mandate.escalation_threshold)}.")
    if mandate.counterparties:
        named = sorted(mandate.counterparties.dids) + [
            f"any did:web under {domain}" for domain in sorted(mandate.counterparties.domains)
        ]
        lines.append(f"Only with: {'; '.join(named)}.")
    else:
        lines.append("With any counterparty.")
    lines.append(f"Valid from {when(mandate.valid_from)} until {when(mandate.valid_until)}.")
    depth = mandate.delegation_depth
    lines.append(
        "It cannot be delegated."
        if depth == 0
        else f"It may be delegated to sub-agents, {depth} level{'s' if depth > 1 else ''} deep."
    )
    return lines


def mandate_summary(credential: Mapping[str, Any]) -> str:
    """The mandate's actions and per-transaction limit in one line (or why it cannot be read)."""
    try:
        mandate = Mandate.from_credential(credential)
    except ValidationError as error:
        return f"unreadable mandate: {error.message}"
    limit = f", at most {money(mandate.transaction_limit)} each" if mandate.transaction_limit else ""
    return f"{', '.join(sorted(mandate.actions))}{limit}"


# What each check asks, by the last part of its name (``verifiableCredential[0].proof`` → proof).
CHECK_QUESTIONS = {
    "dataModel": "Is it shaped as the VC data model requires?",
    "context": "Are its JSON-LD contexts known, so its meaning is fixed?",
    "proof": "Is the signature valid, by a key of the issuer?",
    "proofPurpose": "Was the key allowed to sign this?",
    "created": "Was the proof made in the past, not the future?",
    "validity": "Is it within its validity window now?",
    "status": "Has the issuer revoked or suspended it?",
    "issuerTrust": "Is the issuer one the verifier trusts?",
    "holderBinding": "Is it about the one presenting it?",
    "challenge": "Was the presentation made for this challenge?",
    "domain": "Was the presentation made for this domain?",
    "query": "Does it answer what was asked for?",
}

_STATUS_WORDS = {
    CheckStatus.PASSED: "passed",
    CheckStatus.FAILED: "failed",
    CheckStatus.SKIPPED: "not checked",
}


def check_in_words(check: Check) -> dict[str, str]:
    """A check for a table: its name, outcome, code and message."""
    last = check.name.rsplit(".", 1)[-1].split("[")[0]
    return {
        "name": check.name,
        "question": CHECK_QUESTIONS.get(last, ""),
        "outcome": _STATUS_WORDS[check.status],
        "code": check.code or "",
        "message": check.message,
    }
