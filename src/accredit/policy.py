"""The policy engine: may this agent do this, now? And: is this attested event accredited?

``authorize(presentation, request, ...)`` verifies the presentation and every credential in it
(proofs, dates, status — so the kill switch — and the holder's challenge and domain), finds the
holder's MandateCredential, follows its delegation chain to a root mandate whose issuer the
``TrustRegistry`` trusts, checks each link and each agent's AgentCredential, and finally the
request against the mandate. It fails closed: any failed check denies. It escalates only when
everything else allows and the amount is above the escalation threshold.

Codes it adds to the verifier's (``PROOF_INVALID``, ``EXPIRED``, ``SUSPENDED``, ...)::

    challenge                        CHALLENGE_UNKNOWN, CHALLENGE_EXPIRED, CHALLENGE_REPLAYED,
                                     CHALLENGE_DOMAIN_MISMATCH (single use, see accredit.challenges)
    request.binding                  REQUEST_MISMATCH (the challenge was issued for another request)
    request                          REQUEST_MISSING (no request, and the challenge names none)
    mandate                          MANDATE_MISSING, MANDATE_AMBIGUOUS, INVALID_DOCUMENT
    chain[0].parentMandate           DELEGATION_PARENT_MISSING (the chain stops short of a root)
    chain[i].delegation.*            DELEGATION_DIGEST_MISMATCH, DELEGATION_SIGNER_MISMATCH,
                                     DELEGATION_WIDENS, DELEGATION_TOO_DEEP, CURRENCY_MISMATCH
    chain[0].issuerTrust             ISSUER_NOT_TRUSTED (the root organization)
    chain[i].agentCredential*        AGENT_CREDENTIAL_MISSING, AGENT_CREDENTIAL_MISMATCH,
                                     ISSUER_NOT_TRUSTED, KILL_SWITCH_MISSING, ACTS_FOR_MISMATCH
    chain[i].inForce                 NOT_YET_VALID, EXPIRED (at the request's time)
    request.*                        ACTION_NOT_PERMITTED, COUNTERPARTY_NOT_ALLOWED,
                                     LIMIT_EXCEEDED, CURRENCY_MISMATCH, ESCALATION_REQUIRED,
                                     AMOUNT_REQUIRED (limits apply, no amount given)

``verify_attestations`` adds ``ATTESTATION_MISSING`` and ``ATTESTER_NOT_ACCREDITED``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any, Literal, TypeVar

from ._dates import require_aware
from .agents import (
    AGENT_CREDENTIAL,
    EVENT_ATTESTATION,
    MANDATE_CREDENTIAL,
    MAX_DELEGATION_DEPTH,
    AgentIdentity,
    Event,
    Mandate,
    Money,
    Reference,
    check_delegation,
)
from .agents.mandates import check_counterparty, check_in_force, check_within
from .challenges import Challenge, ChallengeStore, check_challenge
from .credentials import VerifyOptions, embedded_credentials, holder_of, verify_presentation
from .errors import AccreditError, ValidationError
from .results import Check, CheckStatus, VerificationResult
from .trust import TrustRegistry

__all__ = ["AuthorizationRequest", "Decision", "authorize", "verify_attestations"]

Outcome = Literal["allow", "deny", "escalate"]
ESCALATION_REQUIRED = "ESCALATION_REQUIRED"
_T = TypeVar("_T", Mandate, AgentIdentity, Event)


@dataclass(frozen=True)
class AuthorizationRequest:
    """What an agent asks to do: ``action`` at time ``at``, optionally for ``amount`` in
    ``currency`` with ``counterparty`` (a DID).

    ``spent_total`` is what the agent has already spent under the mandate, in the same
    currency, when the verifier knows it; the total limit is checked against it plus
    ``amount`` (or ``amount`` alone). Amounts are ``Decimal``, never float. Raises
    ``ValidationError`` for a naive ``at``, a bad amount or currency, or an amount without one.
    """

    action: str
    at: datetime
    amount: Decimal | None = None
    currency: str | None = None
    counterparty: str | None = None
    spent_total: Decimal | None = None

    def __post_init__(self) -> None:
        require_aware(self.at, "at")
        if self.amount is not None or self.spent_total is not None:
            if self.currency is None:
                raise ValidationError("an amount needs a currency", field="currency")
            for value in (self.amount, self.spent_total):
                if value is not None:
                    Money(value, self.currency)

    @property
    def money(self) -> Money | None:
        """The amount with its currency, or None."""
        return None if self.amount is None or self.currency is None else Money(self.amount, self.currency)

    def to_json(self) -> dict[str, str | None]:
        """What is asked (not when, nor what was spent before): the form a challenge issued for
        this request keeps, so the decision can only be about this request."""
        return {
            "action": self.action,
            "amount": None if self.amount is None else format(self.amount, "f"),
            "currency": self.currency,
            "counterparty": self.counterparty,
        }

    @classmethod
    def from_json(cls, data: Any, at: datetime) -> AuthorizationRequest:
        """Read ``to_json``'s form back, at time ``at``. Raises ``ValidationError``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("action"), str):
            raise ValidationError("an authorization request needs an action", field="action")
        fields = {k: data.get(k) for k in ("amount", "currency", "counterparty")}
        if not all(v is None or isinstance(v, str) for v in fields.values()):
            raise ValidationError("amount, currency and counterparty must be strings", field="request")
        amount = fields["amount"]
        return cls(
            data["action"],
            at,
            None if amount is None else Money.of(amount, str(fields["currency"])).amount,
            fields["currency"],
            fields["counterparty"],
        )

    def total(self) -> Money | None:
        """``spent_total + amount`` (exactly), or None without an amount."""
        money = self.money
        if money is None or self.spent_total is None:
            return money
        with localcontext() as context:
            context.prec = 60  # both fit in 36 digits: the sum is exact
            return Money(money.amount + self.spent_total, money.currency)


@dataclass(frozen=True)
class Decision:
    """The answer: ``decision`` is "allow", "deny" or "escalate" (a human co-signature is
    needed); ``reasons`` holds the presentation's failed checks and every policy check;
    ``verification`` the full presentation result; ``request`` what was decided (None when
    no request could be known) and ``challenge`` the challenge the decision consumed. Not a
    truth value: read ``decision``."""

    decision: Outcome
    reasons: tuple[Check, ...]
    verification: VerificationResult
    request: AuthorizationRequest | None
    challenge: Challenge | None = None

    def allows(self, request: AuthorizationRequest) -> bool:
        """True only for an "allow" decided for exactly ``request`` (a decision is not
        transferable to another action, amount or counterparty)."""
        return self.decision == "allow" and self.request == request

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the reasons that did not pass, in order."""
        return tuple(c.code for c in self.reasons if c.status is not CheckStatus.PASSED and c.code)

    def __bool__(self) -> bool:
        raise TypeError("a Decision is not a truth value; compare decision.decision with 'allow'")

    def summary(self) -> dict[str, Any]:
        """The decision without the full verification, for the holder it answers: what was
        decided, for which request, and every reason that did not pass."""
        return {
            "decision": self.decision,
            "request": None if self.request is None else self.request.to_json(),
            "codes": list(self.codes),
            "reasons": [c.to_dict() for c in self.reasons if c.code],
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``decision``, ``codes``, ``reasons`` and ``verification``."""
        return {
            "decision": self.decision,
            "request": None if self.request is None else self.request.to_json(),
            "codes": list(self.codes),
            "reasons": [c.to_dict() for c in self.reasons],
            "verification": self.verification.to_dict(),
        }


# --- reading the presentation -----------------------------------------------------------------


def _read(
    presentation: Mapping[str, Any], credential_type: str, reader: Callable[[Any], _T]
) -> tuple[list[tuple[_T, Mapping[str, Any]]], list[Check]]:
    """Every embedded credential of ``credential_type``, read; a failure is a check."""
    found: list[tuple[_T, Mapping[str, Any]]] = []
    errors: list[Check] = []
    for index, credential in enumerate(embedded_credentials(presentation)):
        types = credential.get("type") if isinstance(credential, dict) else None
        if credential_type not in (types if isinstance(types, list) else [types]):
            continue
        try:
            found.append((reader(credential), credential))
        except AccreditError as error:
            errors.append(Check.from_error(f"verifiableCredential[{index}].{credential_type}", error))
    return found, errors


def _lookup(
    reference: Reference, items: Sequence[tuple[_T, Mapping[str, Any]]], digest: Callable[[_T], str]
) -> tuple[_T, Mapping[str, Any]] | None:
    """The credential ``reference`` names: by digest, else one with its id (so a mismatch is
    reported as such rather than as missing)."""
    by_id = None
    for item in items:
        if digest(item[0]) == reference.digest:
            return item
        if item[1].get("id") == reference.id:
            by_id = item
    return by_id


# --- the chain --------------------------------------------------------------------------------


def _leaf(
    presentation: Mapping[str, Any], mandates: Sequence[tuple[Mandate, Mapping[str, Any]]]
) -> Check | tuple[Mandate, Mapping[str, Any]]:
    """The holder's one mandate, or the failed check saying why there is none."""
    try:
        holder = holder_of(presentation)
    except ValidationError as error:
        return Check.from_error("mandate", error)
    mine = [m for m in mandates if m[0].agent == holder]
    if not mine:
        return Check.failed(
            "mandate", "MANDATE_MISSING", "no MandateCredential names the holder", holder=holder
        )
    if len(mine) > 1:
        return Check.failed(
            "mandate",
            "MANDATE_AMBIGUOUS",
            "present exactly one mandate for the holder",
            mandates=[m[0].id for m in mine],
        )
    return mine[0]


def _chain(
    leaf: tuple[Mandate, Mapping[str, Any]], mandates: Sequence[tuple[Mandate, Mapping[str, Any]]]
) -> tuple[list[tuple[Mandate, Mapping[str, Any]]], list[Check]]:
    """The chain root first, and a failed check if it cannot be followed to a root."""
    chain = [leaf]
    while (reference := chain[-1][0].parent) is not None:
        if len(chain) > MAX_DELEGATION_DEPTH:
            return chain[::-1], [
                Check.failed("chain", "DELEGATION_TOO_DEEP", f"more than {MAX_DELEGATION_DEPTH} delegations")
            ]
        parent = _lookup(reference, mandates, lambda m: m.digest)
        if parent is None:
            return chain[::-1], [
                Check.failed(
                    "chain[0].parentMandate",  # the top of what could be followed
                    "DELEGATION_PARENT_MISSING",
                    "the parent mandate is not in the presentation",
                    parentMandate=reference.id,
                )
            ]
        chain.append(parent)
    return chain[::-1], []


def _agent_checks(
    name: str,
    mandate: Mandate,
    agents: Sequence[tuple[AgentIdentity, Mapping[str, Any]]],
    trust: TrustRegistry,
) -> tuple[list[Check], AgentIdentity | None]:
    name = f"{name}.agentCredential"
    found = _lookup(mandate.agent_credential, agents, lambda a: a.digest)
    if found is None:
        missing = Check.failed(
            name, "AGENT_CREDENTIAL_MISSING", "the mandate's AgentCredential is not presented"
        )
        return [missing], None
    identity, credential = found
    if identity.digest != mandate.agent_credential.digest or identity.agent != mandate.agent:
        mismatch = Check.failed(
            name,
            "AGENT_CREDENTIAL_MISMATCH",
            "the presented AgentCredential is not the one the mandate names, or is for another agent",
            agent=mandate.agent,
        )
        return [mismatch], None
    checks = [Check.passed(name, agent=identity.agent), trust.check(credential, f"{name}.issuerTrust")]
    if identity.kill_switch is None:
        checks.append(
            Check.failed(
                f"{name}.killSwitch",
                "KILL_SWITCH_MISSING",
                "governance.killSwitch must name one of the credential's credentialStatus entries",
            )
        )
    return checks, identity


def _chain_checks(
    chain: Sequence[tuple[Mandate, Mapping[str, Any]]],
    agents: Sequence[tuple[AgentIdentity, Mapping[str, Any]]],
    trust: TrustRegistry,
    at: datetime,
    complete: bool,
) -> tuple[list[Check], AgentIdentity | None]:
    """Every link, every agent credential, the root's trust (when the chain reached a root);
    and the acting agent's identity."""
    root, root_credential = chain[0]
    checks = [trust.check(root_credential, "chain[0].issuerTrust")] if complete else []
    identity = None
    for index, (mandate, _) in enumerate(chain):
        name = f"chain[{index}]"
        if index:
            checks += [c.prefixed(name) for c in check_delegation(chain[index - 1][0], mandate)]
        checks.append(check_in_force(f"{name}.inForce", mandate, at))
        agent_checks, identity = _agent_checks(name, mandate, agents, trust)
        checks += agent_checks
        if complete and index == 0 and identity is not None and identity.acts_for.get("id") != root.issuer:
            checks.append(
                Check.failed(
                    "chain[0].actsFor",
                    "ACTS_FOR_MISMATCH",
                    "the root agent does not act for the organization that gave the mandate",
                    actsFor=identity.acts_for.get("id"),
                    issuer=root.issuer,
                )
            )
    return checks, identity


# --- the request ------------------------------------------------------------------------------


def _action_check(mandate: Mandate, request: AuthorizationRequest) -> Check:
    if request.action not in mandate.actions:
        return Check.failed(
            "request.action",
            "ACTION_NOT_PERMITTED",
            f"the mandate does not permit {request.action!r}",
            action=request.action,
            permitted=sorted(mandate.actions),
        )
    return Check.passed("request.action", action=request.action)


def _amount_check(mandate: Mandate, request: AuthorizationRequest, non_monetary: Collection[str]) -> Check:
    # A verifier that forgets the amount must not skip every limit: under a mandate with limits
    # an amount is required, unless the verifier declared the action non-monetary.
    limits = (mandate.transaction_limit, mandate.total_limit, mandate.escalation_threshold)
    limited = any(limit is not None for limit in limits)
    if request.money is None and limited and request.action not in non_monetary:
        return Check.failed(
            "request.amount",
            "AMOUNT_REQUIRED",
            f"the mandate limits amounts, so {request.action!r} needs an amount and currency "
            "(or must be declared non-monetary by the verifier)",
            action=request.action,
        )
    return Check.passed("request.amount", amount=None if request.money is None else str(request.money))


def _request_checks(
    mandate: Mandate,
    request: AuthorizationRequest,
    identity: AgentIdentity | None,
    non_monetary: Collection[str],
) -> list[Check]:
    checks = [
        _action_check(mandate, request),
        check_counterparty("request.counterparty", mandate, request.counterparty),
        _amount_check(mandate, request, non_monetary),
    ]
    money, total = request.money, request.total()
    if money is None or total is None:
        return checks
    contact = dict(identity.escalation_contact) if identity is not None else {}
    return [
        *checks,
        check_within(
            "request.transactionLimit", mandate.transaction_limit, money, "LIMIT_EXCEEDED", "over the limit"
        ),
        check_within(
            "request.totalLimit", mandate.total_limit, total, "LIMIT_EXCEEDED", "over the total limit"
        ),
        check_within(
            "request.escalation",
            mandate.escalation_threshold,
            money,
            ESCALATION_REQUIRED,
            "a human co-signature is required",
            escalationContact=contact,
        ),
    ]


# --- deciding ---------------------------------------------------------------------------------


def _decide(reasons: Sequence[Check]) -> Outcome:
    failing = [c for c in reasons if c.status is not CheckStatus.PASSED]
    if any(c.code != ESCALATION_REQUIRED for c in failing):
        return "deny"
    return "escalate" if failing else "allow"


def _policy_checks(
    presentation: Mapping[str, Any],
    request: AuthorizationRequest,
    trust: TrustRegistry,
    non_monetary: Collection[str],
) -> list[Check]:
    mandates, errors = _read(presentation, MANDATE_CREDENTIAL, Mandate.from_credential)
    agents, agent_errors = _read(presentation, AGENT_CREDENTIAL, AgentIdentity.from_credential)
    errors += agent_errors
    leaf = _leaf(presentation, mandates)
    if isinstance(leaf, Check):
        return [*errors, leaf]
    chain, chain_errors = _chain(leaf, mandates)
    checks, identity = _chain_checks(chain, agents, trust, request.at, complete=not chain_errors)
    return [*errors, *chain_errors, *checks, *_request_checks(leaf[0], request, identity, non_monetary)]


def _bound_request_check(issued: Challenge | None, request: AuthorizationRequest) -> list[Check]:
    # A challenge issued for one call authorizes that call only: a presentation answering it
    # cannot be spent on another action, amount or counterparty.
    if issued is None or issued.request is None:
        return []
    if dict(issued.request) != request.to_json():
        return [
            Check.failed(
                "request.binding",
                "REQUEST_MISMATCH",
                "the challenge was issued for another request",
                expected=dict(issued.request),
                actual=request.to_json(),
            )
        ]
    return [Check.passed("request.binding")]


def authorize(
    presentation: Any,
    request: AuthorizationRequest | None,
    *,
    trust: TrustRegistry,
    options: VerifyOptions,
    challenge: str,
    domain: str,
    challenges: ChallengeStore,
    non_monetary: Collection[str] = (),
) -> Decision:
    """Decide whether the presentation's holder may do ``request``.

    ``challenge`` must be one ``challenges`` issued for ``domain``, unexpired and unused; it is
    consumed whatever the outcome, so a presentation authorizes once. A challenge issued for
    one request (``Challenge.request``) authorizes that request only (``REQUEST_MISMATCH``);
    ``request=None`` means that request, at ``options.now`` (``REQUEST_MISSING`` if the
    challenge names none). ``options`` verify the presentation (give a ``status_checker``:
    agent credentials carry a kill switch); its ``now`` defaults to ``request.at``. Actions in
    ``non_monetary`` need no amount under a mandate with limits; any other does
    (``AMOUNT_REQUIRED``). Returns a ``Decision`` with every reason; raises only
    ``InputError`` when ``presentation`` is not a JSON object. ``accredit.Verifier.authorize``
    calls this with its own collaborators.
    """
    opts = options if options.now is not None or request is None else replace(options, now=request.at)
    challenge_check, issued = check_challenge(challenges, challenge, domain, opts.moment())
    verification = verify_presentation(presentation, opts, challenge=challenge, domain=domain)
    reasons = [challenge_check, *verification.errors]
    if request is None:
        request = _request_of(issued, opts.moment())
        if request is None:
            if issued is not None:
                reasons.append(
                    Check.failed(
                        "request", "REQUEST_MISSING", "no request given, and the challenge names none"
                    )
                )
            return Decision("deny", tuple(reasons), verification, None, issued)
    reasons += [
        *_bound_request_check(issued, request),
        *_policy_checks(presentation, request, trust, non_monetary),
    ]
    return Decision(_decide(reasons), tuple(reasons), verification, request, issued)


def _request_of(issued: Challenge | None, at: datetime) -> AuthorizationRequest | None:
    if issued is None or issued.request is None:
        return None
    try:
        return AuthorizationRequest.from_json(issued.request, at)
    except ValidationError:
        return None  # a shared store returned something else: nothing to authorize


# --- attestations -----------------------------------------------------------------------------


def verify_attestations(
    presentation: Any, *, trust: TrustRegistry, options: VerifyOptions, challenge: str, domain: str
) -> VerificationResult:
    """Verify a presentation carrying EventAttestations: the presentation and every credential
    in it, and for each attestation an AgentCredential of its issuing device, from an issuer
    ``trust`` accepts for AgentCredential (``ATTESTER_NOT_ACCREDITED``, ``ISSUER_NOT_TRUSTED``).
    No attestation is ``ATTESTATION_MISSING``. Raises only ``InputError`` like
    ``verify_presentation``."""
    verification = verify_presentation(presentation, options, challenge=challenge, domain=domain)
    events, errors = _read(presentation, EVENT_ATTESTATION, Event.from_credential)
    agents, agent_errors = _read(presentation, AGENT_CREDENTIAL, AgentIdentity.from_credential)
    checks = [*verification.checks, *errors, *agent_errors]
    if not events and not errors:
        checks.append(
            Check.failed("attestation", "ATTESTATION_MISSING", "the presentation holds no EventAttestation")
        )
    for index, (event, _) in enumerate(events):
        name = f"attestation[{index}].attester"
        trusts = [
            trust.check(vc, f"{name}.issuerTrust")
            for identity, vc in agents
            if identity.agent == event.device
        ]
        if not trusts:
            checks.append(
                Check.failed(
                    name,
                    "ATTESTER_NOT_ACCREDITED",
                    "no AgentCredential for the attesting device",
                    device=event.device,
                )
            )
        else:  # one credential from a trusted issuer suffices
            checks.append(next((c for c in trusts if c.status is CheckStatus.PASSED), trusts[0]))
    return VerificationResult.of("presentation", checks)
