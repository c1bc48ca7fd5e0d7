"""ActionReceipt: the reader ``Receipt``, the builder ``action_receipt`` (each receipt names
the digest of the one before), ``receipt_digest``, and ``verify_receipt_chain``, which audits
one agent's hash-chained receipts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import localcontext
from typing import Any

from .._dates import format_datetime, parse_datetime, require_aware
from ..credentials import VerifyOptions, issuer_of, verify_credential
from ..errors import AccreditError, ValidationError
from ..results import Check, VerificationResult
from ._vocabulary import (
    _ACTION,
    _URL,
    ACTION_RECEIPT,
    _new_credential,
    _only,
    _subject,
    _text,
    _texts,
    credential_digest,
)
from .mandates import Mandate, check_counterparty, check_in_force, check_within
from .values import Money, Reference


def receipt_digest(receipt: Mapping[str, Any]) -> str:
    """The digest a receipt's successor names in ``previousReceipt`` (``credential_digest``)."""
    return credential_digest(receipt)


_RECEIPT_KEYS = {
    "type",
    "action",
    "counterparty",
    "amount",
    "currency",
    "object",
    "performedAt",
    "mandate",
    "sequence",
    "previousReceipt",
}


@dataclass(frozen=True)
class Receipt:
    """An ActionReceipt, read: ``agent`` did ``action`` at ``performed_at`` under ``mandate``;
    ``sequence`` counts from 0 and ``previous`` names receipt ``sequence - 1``."""

    id: str
    agent: str
    action: str
    performed_at: datetime
    mandate: Reference
    sequence: int
    previous: Reference | None
    counterparty: str | None
    amount: Money | None
    object: str | None
    digest: str

    @classmethod
    def from_credential(cls, credential: Any) -> Receipt:
        """Read an ActionReceipt. Raises ``ValidationError`` naming the field."""
        subject = _only(
            _subject(credential, ACTION_RECEIPT),
            "credentialSubject",
            _RECEIPT_KEYS,
            {"action", "performedAt", "mandate", "sequence"},
        )
        sequence = subject["sequence"]
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            raise ValidationError("sequence must be a non-negative integer", field="sequence")
        if (sequence == 0) != ("previousReceipt" not in subject):
            raise ValidationError(
                "exactly the receipts after the first name a previousReceipt", field="previousReceipt"
            )
        if ("amount" in subject) != ("currency" in subject):
            raise ValidationError("amount and currency go together", field="amount")
        fields = _texts(subject, "credentialSubject", {"counterparty": _URL, "object": None})
        return cls(
            id=credential["id"],
            agent=issuer_of(credential),
            action=_text(subject, "action", "credentialSubject", _ACTION),
            performed_at=parse_datetime(subject["performedAt"], "performedAt"),
            mandate=Reference.from_json(subject["mandate"], "mandate"),
            sequence=sequence,
            previous=Reference.from_json(subject["previousReceipt"], "previousReceipt") if sequence else None,
            counterparty=fields.get("counterparty"),
            amount=Money.from_json({k: subject[k] for k in ("amount", "currency")}, "amount")
            if "amount" in subject
            else None,
            object=fields.get("object"),
            digest=credential_digest(credential),
        )


def action_receipt(
    *,
    agent: str,
    action: str,
    mandate: Mapping[str, Any],
    performed_at: datetime,
    previous: Mapping[str, Any] | None = None,
    counterparty: str | None = None,
    amount: Money | None = None,
    object_ref: str | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned ActionReceipt, issued by ``agent``, for one action under the signed
    ``mandate``. ``previous`` is the agent's last signed receipt (None for the first):
    its digest and sequence + 1 chain this one to it. ``object_ref`` names what was acted on
    (an order, a commit). Raises ``ValidationError`` for a malformed field.
    """
    require_aware(performed_at, "performed_at")
    subject: dict[str, Any] = {"action": action}
    if counterparty is not None:
        subject["counterparty"] = counterparty
    if amount is not None:
        subject.update(amount.to_json())
    if object_ref is not None:
        subject["object"] = object_ref
    subject["performedAt"] = format_datetime(performed_at)
    subject["mandate"] = Reference.to(mandate).to_json()
    subject["sequence"] = 0 if previous is None else Receipt.from_credential(previous).sequence + 1
    if previous is not None:
        subject["previousReceipt"] = Reference.to(previous).to_json()
    document = _new_credential(ACTION_RECEIPT, agent, subject, credential_id)
    Receipt.from_credential(document)
    return document


def _link_check(name: str, previous: Receipt | None, current: Receipt, first: bool) -> Check:
    name = f"{name}.previousReceipt"
    if previous is None:
        if first and current.sequence == 0:
            return Check.passed(name, sequence=0)
        reason = (
            "the chain starts mid-way; pass the receipt before it as anchor"
            if first
            else "previous unreadable"
        )
        return Check.failed(name, "RECEIPT_CHAIN_BROKEN", reason, sequence=current.sequence)
    expected = previous.sequence + 1
    if current.sequence != expected:
        code = "RECEIPT_GAP" if current.sequence > expected else "RECEIPT_OUT_OF_ORDER"
        return Check.failed(
            name, code, f"sequence {current.sequence}, expected {expected}", expected=expected
        )
    if current.previous != Reference(previous.id, previous.digest):
        return Check.failed(
            name,
            "RECEIPT_CHAIN_BROKEN",
            "previousReceipt does not match the digest of the receipt before it: one of them was altered",
            expected=previous.digest,
            actual=None if current.previous is None else current.previous.digest,
        )
    if current.performed_at < previous.performed_at:
        return Check.failed(
            name,
            "RECEIPT_OUT_OF_ORDER",
            "the action is dated before the previous one",
            performedAt=current.performed_at,
            previous=previous.performed_at,
        )
    return Check.passed(name, sequence=current.sequence)


def _mandate_checks(
    name: str, receipt: Receipt, mandates: Mapping[Reference, Mandate], spent: dict[Reference, Money]
) -> list[Check]:
    """Everything a performed action can break in its mandate: agent and action, validity at
    ``performedAt``, counterparty, the amount (limit and currency) and, with ``spent`` (what
    the receipts before it spent under each mandate), the total limit."""
    name = f"{name}.mandate"
    mandate = mandates.get(receipt.mandate)
    if mandate is None:
        return [
            Check.failed(
                name,
                "RECEIPT_MANDATE_UNKNOWN",
                "the receipt names a mandate not given",
                mandate=receipt.mandate.id,
            )
        ]
    if mandate.agent != receipt.agent or receipt.action not in mandate.actions:
        permitted = Check.failed(
            name,
            "ACTION_NOT_PERMITTED",
            f"{receipt.action!r} by {receipt.agent} is not permitted by mandate {mandate.id}",
            action=receipt.action,
        )
    else:
        permitted = Check.passed(name, mandate=mandate.id)
    checks = [permitted, check_in_force(f"{name}.inForce", mandate, receipt.performed_at)]
    if receipt.counterparty is not None:  # a receipt naming nobody dealt with nobody
        checks.append(check_counterparty(f"{name}.counterparty", mandate, receipt.counterparty))
    if receipt.amount is None:
        return checks
    amount = receipt.amount
    checks.append(
        check_within(
            f"{name}.transactionLimit", mandate.transaction_limit, amount, "LIMIT_EXCEEDED", "over the limit"
        )
    )
    before = spent.get(receipt.mandate)
    if before is not None and before.currency == amount.currency:
        with localcontext() as context:
            context.prec = 60  # sums of 36-digit amounts stay exact
            total = Money(before.amount + amount.amount, amount.currency)
    else:
        total = amount if before is None else before  # another currency: the comparison says so
    spent[receipt.mandate] = total
    checks.append(
        check_within(
            f"{name}.totalLimit", mandate.total_limit, total, "LIMIT_EXCEEDED", "over the total limit"
        )
    )
    return checks


def verify_receipt_chain(
    receipts: Sequence[Mapping[str, Any]],
    options: VerifyOptions | None = None,
    *,
    anchor: Mapping[str, Any] | None = None,
    mandates: Sequence[Mapping[str, Any]] = (),
) -> VerificationResult:
    """Audit one agent's receipts, oldest first: every receipt verifies (``PROOF_INVALID`` ...),
    has one issuer (``RECEIPT_AGENT_MISMATCH``), numbers on without gaps (``RECEIPT_GAP``,
    ``RECEIPT_OUT_OF_ORDER``), and names the digest of the one before (``RECEIPT_CHAIN_BROKEN``).

    The chain starts at sequence 0 unless ``anchor`` — the trusted receipt just before it —
    is given. With ``mandates``, each receipt's mandate must be one of them and permit the
    action (``RECEIPT_MANDATE_UNKNOWN``, ``ACTION_NOT_PERMITTED``), be in force at
    ``performedAt`` (``NOT_YET_VALID``, ``EXPIRED``), allow the counterparty
    (``COUNTERPARTY_NOT_ALLOWED``) and the amount (``LIMIT_EXCEEDED``, ``CURRENCY_MISMATCH``),
    and the receipts given must not spend more than its total limit together (counted from the
    first receipt given: an anchored segment does not know what was spent before it). A receipt
    without an amount spends nothing. Checks are named ``receipts[i]...``. Raises
    ``InputError`` for a receipt that is not a JSON object and ``ValidationError`` for a
    malformed ``anchor`` or mandate.
    """
    opts = options or VerifyOptions()
    if not receipts:
        return VerificationResult.of(
            "receiptChain", [Check.failed("receipts", "RECEIPT_CHAIN_EMPTY", "no receipts")]
        )
    known = {Reference(m.id, m.digest): m for m in map(Mandate.from_credential, mandates)}
    previous = None if anchor is None else Receipt.from_credential(anchor)
    agent = None if previous is None else previous.agent
    checks: list[Check] = []
    spent: dict[Reference, Money] = {}
    for index, document in enumerate(receipts):
        name = f"receipts[{index}]"
        checks += [c.prefixed(name) for c in verify_credential(document, opts).checks]
        try:
            current = Receipt.from_credential(document)
        except AccreditError as error:
            checks.append(Check.from_error(f"{name}.receipt", error))
            previous = None
            continue
        agent = agent or current.agent
        if current.agent != agent:
            checks.append(
                Check.failed(
                    f"{name}.issuer", "RECEIPT_AGENT_MISMATCH", "signed by another agent", expected=agent
                )
            )
        checks.append(_link_check(name, previous, current, first=index == 0 and anchor is None))
        if mandates:
            checks += _mandate_checks(name, current, known, spent)
        previous = current
    return VerificationResult.of("receiptChain", checks)
