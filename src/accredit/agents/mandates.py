"""MandateCredential and delegation: the reader ``Mandate``, the builder
``mandate_credential``, and ``check_attenuation``/``check_delegation``, which judge whether a
delegated mandate names its parent, is issued by the parent's agent, and grants no more."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..credentials import issuer_of
from ..errors import ValidationError
from ..results import Check
from ._vocabulary import (
    _ACTION,
    _URL,
    MANDATE_CREDENTIAL,
    _new_credential,
    _object,
    _only,
    _subject,
    _text,
    _window,
    credential_digest,
)
from .values import Counterparties, Money, Reference, _within

MAX_DELEGATION_DEPTH = 16

_MANDATE_KEYS = {
    "id",
    "type",
    "agentCredential",
    "parentMandate",
    "actions",
    "transactionLimit",
    "totalLimit",
    "escalationThreshold",
    "counterparties",
    "purpose",
    "delegationDepth",
}


def _optional_money(subject: Mapping[str, Any], key: str) -> Money | None:
    return Money.from_json(subject[key], key) if key in subject else None


def _actions(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise ValidationError("actions must be a non-empty list", field="actions")
    for action in value:
        if not isinstance(action, str) or not _ACTION.match(action):
            raise ValidationError(
                f"action {action!r} must be dotted lower-case words, e.g. 'contract.sign'", field="actions"
            )
    return frozenset(value)


def _depth(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DELEGATION_DEPTH:
        raise ValidationError(
            f"delegationDepth must be an integer from 0 to {MAX_DELEGATION_DEPTH}", field="delegationDepth"
        )
    return value


@dataclass(frozen=True)
class Mandate:
    """A MandateCredential, read: what ``agent`` may do for ``issuer``.

    Absent limits, counterparties or dates mean "no constraint"; ``delegation_depth`` is how
    many further levels of delegation are allowed below this mandate (0: not delegable).
    ``parent`` is set on a delegated mandate. ``digest`` is ``credential_digest`` of the JSON.
    """

    id: str
    issuer: str
    agent: str
    agent_credential: Reference
    actions: frozenset[str]
    purpose: str
    digest: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    transaction_limit: Money | None = None
    total_limit: Money | None = None
    escalation_threshold: Money | None = None
    counterparties: Counterparties | None = None
    delegation_depth: int = 0
    parent: Reference | None = None

    @classmethod
    def from_credential(cls, credential: Any) -> Mandate:
        """Read a MandateCredential. Raises ``ValidationError`` naming the field."""
        subject = _only(
            _subject(credential, MANDATE_CREDENTIAL),
            "credentialSubject",
            _MANDATE_KEYS,
            {"id", "agentCredential", "actions", "purpose"},
        )
        valid_from, valid_until = _window(credential)
        counterparties = subject.get("counterparties")
        return cls(
            id=credential["id"],
            issuer=issuer_of(credential),
            agent=_text(subject, "id", "credentialSubject", _URL),
            agent_credential=Reference.from_json(subject["agentCredential"], "agentCredential"),
            actions=_actions(subject["actions"]),
            purpose=_text(subject, "purpose", "credentialSubject"),
            valid_from=valid_from,
            valid_until=valid_until,
            transaction_limit=_optional_money(subject, "transactionLimit"),
            total_limit=_optional_money(subject, "totalLimit"),
            escalation_threshold=_optional_money(subject, "escalationThreshold"),
            counterparties=None
            if counterparties is None
            else Counterparties.from_json(counterparties, "counterparties"),
            delegation_depth=_depth(subject.get("delegationDepth", 0)),
            parent=Reference.from_json(subject["parentMandate"], "parentMandate")
            if "parentMandate" in subject
            else None,
            digest=credential_digest(credential),
        )


def mandate_credential(
    *,
    issuer: str,
    agent_credential: Mapping[str, Any],
    actions: Iterable[str],
    purpose: str,
    valid_from: datetime,
    valid_until: datetime | None = None,
    transaction_limit: Money | None = None,
    total_limit: Money | None = None,
    escalation_threshold: Money | None = None,
    counterparties: Counterparties | None = None,
    delegation_depth: int = 0,
    parent: Mapping[str, Any] | None = None,
    status: Sequence[Mapping[str, Any]] = (),
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned MandateCredential from ``issuer`` for the agent of the signed
    ``agent_credential``. A delegated mandate names its signed ``parent`` mandate and is issued
    by the parent's agent. Raises ``ValidationError`` for a malformed field.
    """
    subject: dict[str, Any] = {
        "id": _object(agent_credential.get("credentialSubject"), "agentCredential.credentialSubject").get(
            "id"
        ),
        "agentCredential": Reference.to(agent_credential).to_json(),
        "actions": sorted(set(actions)),
        "purpose": purpose,
    }
    if parent is not None:
        subject["parentMandate"] = Reference.to(parent).to_json()
    for key, money in (
        ("transactionLimit", transaction_limit),
        ("totalLimit", total_limit),
        ("escalationThreshold", escalation_threshold),
    ):
        if money is not None:
            subject[key] = money.to_json()
    if counterparties is not None:
        subject["counterparties"] = counterparties.to_json()
    subject["delegationDepth"] = delegation_depth
    document = _new_credential(MANDATE_CREDENTIAL, issuer, subject, credential_id, valid_from, valid_until)
    if status:
        document["credentialStatus"] = [dict(entry) for entry in status]
    Mandate.from_credential(document)
    return document


# --- delegation -------------------------------------------------------------------------------


def _widens(field: str, message: str, **evidence: Any) -> Check:
    return Check.failed(f"delegation.{field}", "DELEGATION_WIDENS", message, field=field, **evidence)


def _ok(field: str) -> Check:
    return Check.passed(f"delegation.{field}", field=field)


def _actions_check(parent: Mandate, child: Mandate) -> Check:
    extra = sorted(child.actions - parent.actions)
    if extra:
        return _widens("actions", f"the delegated mandate adds actions {extra}", widened=extra)
    return _ok("actions")


def _money_check(field: str, parent: Money | None, child: Money | None) -> Check:
    if parent is None:
        return _ok(field)
    if child is None:
        return _widens(
            field, f"the parent sets {field} {parent}; the delegated mandate removes it", parent=str(parent)
        )
    if child.currency != parent.currency:
        return Check.failed(
            f"delegation.{field}",
            "CURRENCY_MISMATCH",
            f"{field} is in {child.currency}, the parent's in {parent.currency}: not comparable",
            field=field,
            parent=str(parent),
            child=str(child),
        )
    if child.amount > parent.amount:
        return _widens(
            field, f"{field} {child} is above the parent's {parent}", parent=str(parent), child=str(child)
        )
    return _ok(field)


def _counterparty_check(parent: Counterparties | None, child: Counterparties | None) -> Check:
    if parent is None:
        return _ok("counterparties")
    if child is None:
        return _widens("counterparties", "the parent limits counterparties; the delegated mandate does not")
    if not parent.covers(child):
        widened = sorted(d for d in child.dids if not parent.allows(d)) + sorted(
            n for n in child.domains if not any(_within(n, d) for d in parent.domains)
        )
        return _widens(
            "counterparties", f"counterparties {widened} are not allowed by the parent", widened=widened
        )
    return _ok("counterparties")


def _window_check(
    field: str, parent: datetime | None, child: datetime | None, *, later_is_narrower: bool
) -> Check:
    if parent is None:
        return _ok(field)
    if child is None or (child < parent if later_is_narrower else child > parent):
        return _widens(field, f"{field} is outside the parent's validity window", parent=parent, child=child)
    return _ok(field)


def _depth_check(parent: Mandate, child: Mandate) -> Check:
    if parent.delegation_depth == 0:
        return Check.failed(
            "delegation.delegationDepth",
            "DELEGATION_TOO_DEEP",
            "the parent mandate may not be delegated (delegationDepth 0)",
            field="delegationDepth",
        )
    if child.delegation_depth >= parent.delegation_depth:
        return _widens(
            "delegationDepth",
            f"delegationDepth {child.delegation_depth} must be below the parent's {parent.delegation_depth}",
            parent=parent.delegation_depth,
            child=child.delegation_depth,
        )
    return _ok("delegationDepth")


def check_attenuation(parent: Mandate, child: Mandate) -> list[Check]:
    """One check per field of a delegated mandate: it must attenuate its parent.

    Actions and counterparties a subset, limits and escalation threshold no higher (same
    currency), validity window inside the parent's, delegation depth below it. A failure is
    ``DELEGATION_WIDENS`` (``CURRENCY_MISMATCH``, ``DELEGATION_TOO_DEEP``) with
    ``evidence["field"]`` naming the field. Purpose text is not compared.
    """
    return [
        _actions_check(parent, child),
        _money_check("transactionLimit", parent.transaction_limit, child.transaction_limit),
        _money_check("totalLimit", parent.total_limit, child.total_limit),
        _money_check("escalationThreshold", parent.escalation_threshold, child.escalation_threshold),
        _counterparty_check(parent.counterparties, child.counterparties),
        _window_check("validFrom", parent.valid_from, child.valid_from, later_is_narrower=True),
        _window_check("validUntil", parent.valid_until, child.valid_until, later_is_narrower=False),
        _depth_check(parent, child),
    ]


def check_delegation(parent: Mandate, child: Mandate) -> list[Check]:
    """A delegation link: ``child`` names exactly ``parent`` (``DELEGATION_DIGEST_MISMATCH``),
    is issued by the parent's agent (``DELEGATION_SIGNER_MISMATCH``), and attenuates it
    (``check_attenuation``). Signatures, dates and status are the verifier's checks."""
    expected = Reference(parent.id, parent.digest)
    if child.parent != expected:
        link = Check.failed(
            "delegation.parentMandate",
            "DELEGATION_DIGEST_MISMATCH",
            "the delegated mandate does not name this exact parent mandate",
            expected=expected.to_json(),
            actual=None if child.parent is None else child.parent.to_json(),
        )
    else:
        link = Check.passed("delegation.parentMandate")
    if child.issuer != parent.agent:
        signer = Check.failed(
            "delegation.issuer",
            "DELEGATION_SIGNER_MISMATCH",
            "a delegated mandate must be issued by the agent of its parent mandate",
            expected=parent.agent,
            actual=child.issuer,
        )
    else:
        signer = Check.passed("delegation.issuer", issuer=child.issuer)
    return [link, signer, *check_attenuation(parent, child)]


# --- what one action may do under a mandate ---------------------------------------------------
# Shared by the policy engine (before an action) and receipt audits (after it).


def check_in_force(name: str, mandate: Mandate, at: datetime) -> Check:
    """``NOT_YET_VALID``/``EXPIRED`` when ``at`` is outside the mandate's validity window."""
    if mandate.valid_from is not None and at < mandate.valid_from:
        return Check.failed(
            name, "NOT_YET_VALID", "the mandate is not in force yet", at=at, validFrom=mandate.valid_from
        )
    if mandate.valid_until is not None and at > mandate.valid_until:
        return Check.failed(
            name, "EXPIRED", "the mandate is no longer in force", at=at, validUntil=mandate.valid_until
        )
    return Check.passed(name, at=at)


def check_counterparty(name: str, mandate: Mandate, counterparty: str | None) -> Check:
    """``COUNTERPARTY_NOT_ALLOWED`` when the mandate lists counterparties and ``counterparty``
    (None: not said) is not one of them."""
    allowed = mandate.counterparties
    if allowed is not None and (counterparty is None or not allowed.allows(counterparty)):
        return Check.failed(
            name,
            "COUNTERPARTY_NOT_ALLOWED",
            f"the mandate does not allow dealing with {counterparty}",
            counterparty=counterparty,
        )
    return Check.passed(name, counterparty=counterparty)


def check_within(
    name: str, bound: Money | None, value: Money, code: str, message: str, **evidence: Any
) -> Check:
    """``value`` is at most ``bound`` (no bound: passed), in the same currency
    (``CURRENCY_MISMATCH``); above it, a failure with ``code``."""
    if bound is None:
        return Check.passed(name)
    if bound.currency != value.currency:
        return Check.failed(
            name,
            "CURRENCY_MISMATCH",
            f"the amount is in {value.currency}, the mandate's {name.split('.')[-1]} in {bound.currency}",
            requested=str(value),
            bound=str(bound),
        )
    if value.amount > bound.amount:
        return Check.failed(
            name,
            code,
            f"{value} is above {bound}: {message}",
            requested=str(value),
            bound=str(bound),
            **evidence,
        )
    return Check.passed(name, requested=str(value), bound=str(bound))
