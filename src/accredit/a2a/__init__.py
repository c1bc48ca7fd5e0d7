"""accredit inside A2A negotiations: the accredit A2A extension (docs/a2a.md).

A vendor agent's card declares ``EXTENSION_URI`` as required (``extension``). Inside one A2A
task the extension's data travels in ``metadata[EXTENSION_URI]``:

1. The buyer agent proposes a step: ``{"step": {"action", "amount", "currency"}}``.
2. The vendor answers ``TASK_STATE_AUTH_REQUIRED``; its status message carries the ``step``,
   its ``stepDigest`` (SHA-256 over the RFC 8785 form of the task id and the step) and a
   ``verifiablePresentationRequest`` whose single-use challenge ends in that digest and was
   issued for that step only (``Verifier.create_request(for_request=..., for_call=digest)``).
3. The buyer checks the digest is the one of the step it proposed in that task, and answers in
   the same task with ``{"stepDigest", "verifiablePresentation"}`` bound to the challenge and
   the vendor's domain: its signature covers the step's digest. The presentation travels as
   its JSON text: A2A metadata is a ``google.protobuf.Struct``, whose numbers are all doubles,
   and a signed document must reach the verifier exactly as it was signed.
4. The vendor decides with ``Verifier.authorize`` for exactly that step and answers
   ``TASK_STATE_COMPLETED`` (allow), ``TASK_STATE_REJECTED`` (deny) or keeps the task waiting
   in ``TASK_STATE_AUTH_REQUIRED`` (escalate: a human must co-sign), with ``{"decision"}``.

This module is the protocol, free of the SDK (``accredit.a2a.sdk`` is the glue for
``a2a-sdk``); the challenges, their single use and the mandate decision are the exchange's
(``accredit.challenges``, ``Verifier.authorize``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _json
from .._jcs import canonicalize
from ..agents import Money
from ..errors import AccreditError, StepMismatchError, ValidationError
from ..policy import AuthorizationRequest
from ..verifier import Verifier
from ..wallet import Wallet

__all__ = [
    "EXTENSION_URI",
    "Negotiation",
    "Step",
    "answer_request",
    "extension",
    "step_digest",
]

EXTENSION_URI = "https://accredit.dev/a2a/mandates/v1"
CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")


@dataclass(frozen=True)
class Step:
    """A step a buyer agent proposes: ``action``, and for a monetary one ``amount`` (a decimal
    string) in ``currency``."""

    action: str
    amount: str | None = None
    currency: str | None = None

    def to_json(self) -> dict[str, str]:
        fields = {"action": self.action, "amount": self.amount, "currency": self.currency}
        return {key: value for key, value in fields.items() if value is not None}

    @classmethod
    def from_json(cls, data: Any) -> Step:
        """Read a proposed step. Raises ``ValidationError`` naming the field."""
        if not isinstance(data, Mapping) or not isinstance(data.get("action"), str) or not data["action"]:
            raise ValidationError("a step needs an action", field="action")
        amount, currency = data.get("amount"), data.get("currency")
        if (amount is None) != (currency is None):
            raise ValidationError("a step's amount needs a currency", field="currency")
        if amount is not None:
            Money.of(str(amount), str(currency))  # a decimal amount and an ISO 4217 code
        return cls(
            data["action"],
            None if amount is None else str(amount),
            None if currency is None else str(currency),
        )


def step_digest(task_id: str, step: Step) -> str:
    """SHA-256 (hex) over the RFC 8785 form of ``{"taskId", "step"}``: one step in one task."""
    return hashlib.sha256(canonicalize({"taskId": task_id, "step": step.to_json()})).hexdigest()


def extension(
    verifier_did: str,
    *,
    credential_types: Sequence[str] = ("AgentCredential", "MandateCredential"),
    cryptosuites: Sequence[str] = CRYPTOSUITES,
    trusted_issuers: Sequence[str] = (),
    required: bool = True,
) -> dict[str, Any]:
    """The ``capabilities.extensions`` entry (JSON form) a vendor's card declares: required
    unless ``required=False``, with the verifier's DID, what it accepts and whom it trusts."""
    params: dict[str, Any] = {
        "verifier": verifier_did,
        "credentialTypes": list(credential_types),
        "cryptosuites": list(cryptosuites),
    }
    if trusted_issuers:
        params["trustedIssuers"] = list(trusted_issuers)
    declared: dict[str, Any] = {
        "uri": EXTENSION_URI,
        "description": "Present an accredit mandate for each proposed step",
        "params": params,
    }
    if required:  # false is the default, and the SDK drops it before signing: never write it
        declared["required"] = True
    return declared


class Negotiation:
    """The vendor's side of the extension: ``domain`` is the vendor agent's name (presentations
    are bound to it), ``counterparty`` its DID (the mandate must allow dealing with it)."""

    def __init__(
        self,
        verifier: Verifier,
        *,
        domain: str,
        counterparty: str,
        query: Sequence[str] = ("AgentCredential", "MandateCredential"),
    ) -> None:
        self.verifier, self.domain, self.counterparty = verifier, domain, counterparty
        self.query = list(query)

    def challenge(self, task_id: str, step: Step) -> dict[str, Any]:
        """The extension data of the ``AUTH_REQUIRED`` status message for ``step`` in
        ``task_id``. Raises ``ValidationError`` for a step no mandate could allow."""
        digest = step_digest(task_id, step)
        amount = None if step.amount is None else Money.of(step.amount, str(step.currency)).amount
        request = AuthorizationRequest(
            step.action, self.verifier.now(), amount, step.currency, self.counterparty
        )
        vpr = self.verifier.create_request(
            domain=self.domain,
            query=self.query,
            challenge=f"{secrets.token_hex(32)}.{digest}",
            for_request=request,
            for_call=digest,
        )
        return {"step": step.to_json(), "stepDigest": digest, "verifiablePresentationRequest": vpr}

    def decide(self, task_id: str, pending: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """The decision (``{"decision", "request", "codes", "reasons"}``) on the buyer's
        ``answer`` to the ``pending`` challenge (the data ``challenge`` returned, as kept in
        the task): the challenge is consumed whatever the outcome."""
        vpr = pending.get("verifiablePresentationRequest")
        challenge = vpr.get("challenge") if isinstance(vpr, Mapping) else None
        if not isinstance(challenge, str):
            return _refusal("A2A_NO_PENDING_STEP", "no step of this task awaits a presentation")
        presentation = _presentation(answer.get("verifiablePresentation"))
        decision = self.verifier.authorize(presentation, None, challenge=challenge, domain=self.domain)
        expected = step_digest(task_id, Step.from_json(pending.get("step")))
        issued_for = decision.challenge.call if decision.challenge is not None else None
        if issued_for is not None and (issued_for != expected or answer.get("stepDigest") != expected):
            return _refusal("A2A_STEP_MISMATCH", "the presentation is not for this task's proposed step")
        return decision.summary()


def _presentation(text: Any) -> dict[str, Any]:
    """The presentation from its JSON text; ``{}`` (refused, but the challenge is still
    consumed: no retries with variations) when it is not one."""
    try:
        document = _json.loads(text) if isinstance(text, str) else None
    except AccreditError:
        document = None
    return document if isinstance(document, dict) else {}


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {
        "decision": "deny",
        "request": None,
        "codes": [code],
        "reasons": [{"code": code, "message": message}],
    }


def answer_request(
    wallet: Wallet, task_id: str, step: Step, data: Mapping[str, Any], *, domain: str
) -> dict[str, Any]:
    """The buyer's answer (extension data) to the vendor's ``AUTH_REQUIRED`` ``data`` for the
    ``step`` it proposed in ``task_id``: a presentation from ``wallet`` bound to the challenge
    and ``domain`` (the vendor it meant to talk to). Raises ``StepMismatchError`` when the
    request is not for that step in that task, and the wallet's errors."""
    digest = step_digest(task_id, step)
    vpr = data.get("verifiablePresentationRequest")
    challenge = vpr.get("challenge") if isinstance(vpr, Mapping) else None
    # The challenge ends in the step's digest, so the presentation's signature covers the step.
    if (
        not isinstance(vpr, Mapping)
        or data.get("stepDigest") != digest
        or not str(challenge).endswith("." + digest)
    ):
        raise StepMismatchError("the vendor asks to authorize another step or task", expected=digest)
    presentation = wallet.present(vpr, domain=domain)
    return {"stepDigest": digest, "verifiablePresentation": json.dumps(presentation, separators=(",", ":"))}
