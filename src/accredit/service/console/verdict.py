"""The public verdict page: paste or upload a credential or presentation and read the verdict,
then every check, in plain words. No sign-in; each request spends the client address's budget.

A credential is verified as ``POST /credentials/verify`` does, plus issuer trust when a trust
registry is given. A presentation needs the challenge and domain it was signed for; the page
did not issue that challenge, so it checks the binding, not freshness or single use. Given an
action (and amount), an agent presentation is put to ``authorize``: the mandate in plain words
and the decision with its reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, render_template, request

from ... import _json
from ...agents import MANDATE_CREDENTIAL, Mandate
from ...challenges import Challenge, InMemoryChallengeStore
from ...credentials import embedded_credentials, issuer_of
from ...errors import AccreditError, ValidationError
from ...policy import AuthorizationRequest
from ...results import CheckStatus, VerificationResult
from ...status import StaticStatusListFetcher
from ...trust import TrustRegistry
from ...verifier import Verifier
from ..presentations import EveryIssuer
from . import Console
from .words import check_in_words, mandate_in_words

FIELDS = ("document", "challenge", "domain", "trust", "action", "amount", "currency", "counterparty")
OUTCOMES = {
    "allow": "Allowed: the mandate covers this action.",
    "deny": "Denied: the agent may not do this.",
    "escalate": "Needs a person: the mandate requires a human co-signature for this.",
}


def _subjects(credential: Any) -> str:
    subject = credential.get("credentialSubject") if isinstance(credential, dict) else None
    subjects = subject if isinstance(subject, list) else [subject]
    ids = [str(s.get("id")) for s in subjects if isinstance(s, dict) and s.get("id")]
    return ", ".join(ids) or "no subject id"


def _facts(credential: Any) -> dict[str, str]:
    """Issuer, subject, validity window of a (possibly malformed) credential, for display."""
    if not isinstance(credential, dict):
        return {}
    try:
        issuer = issuer_of(credential)
    except ValidationError:
        issuer = "unreadable"
    valid_from = credential.get("validFrom") or credential.get("issuanceDate") or "—"
    valid_until = credential.get("validUntil") or credential.get("expirationDate") or "no end"
    return {
        "issuer": issuer,
        "subject": _subjects(credential),
        "validity": f"{valid_from} until {valid_until}",
    }


def _status_words(result: VerificationResult) -> str:
    status = [c for c in result.checks if "status" in c.name.lower()]
    if not status:
        return "carries no status entry"
    failed = [c for c in status if c.status is not CheckStatus.PASSED]
    if not failed:
        return "not revoked, not suspended"
    return "; ".join(f"{c.message} ({c.code})" for c in failed)


def _sentence(kind: str, result: VerificationResult, trusted: bool) -> str:
    if result.verified:
        caveat = (
            ""
            if trusted
            else " (no trust registry was given, so any issuer is accepted: judge the issuer named below)"
        )
        return f"This {kind} is verified: every check below passed{caveat}."
    first = result.errors[0]
    more = len(result.errors) - 1
    tail = f", and {more} more check{'s' if more > 1 else ''} did not pass" if more else ""
    return f"This {kind} is NOT verified: {first.message or first.code} ({first.code}){tail}."


def _checks(result: VerificationResult, trusted: bool) -> list[dict[str, str]]:
    checks = [check_in_words(c) for c in result.checks]
    for check in checks:
        if check["name"].endswith("issuerTrust") and not trusted and check["outcome"] == "passed":
            check["message"] = "not judged: no trust registry was given, so any issuer is accepted"
    return checks


def _request(form: dict[str, str], now: datetime) -> AuthorizationRequest:
    amount: Decimal | None = None
    if form["amount"]:
        try:
            amount = Decimal(form["amount"])
        except InvalidOperation:
            raise ValidationError(
                "the amount is a decimal number such as 180000.00", field="amount"
            ) from None
    return AuthorizationRequest(
        action=form["action"],
        at=now,
        amount=amount,
        currency=form["currency"] or None if amount is not None else None,
        counterparty=form["counterparty"] or None,
    )


def add_routes(blueprint: Blueprint, console: Console) -> None:
    issuer = console.issuer

    def verifier(trust: TrustRegistry, challenge: str = "", domain: str = "") -> Verifier:
        store = InMemoryChallengeStore[Challenge]()
        if challenge:
            # The page did not issue this challenge: it is taken as given, to check the binding.
            now = datetime.now(UTC)
            store.add(Challenge(challenge, domain, now, now + timedelta(minutes=1)))
        return Verifier(
            trust=trust,
            resolver=issuer.resolver,
            status_fetcher=StaticStatusListFetcher(issuer.fetch_list),
            challenge_store=store,
        )

    def judge(form: dict[str, str], document: Any) -> dict[str, Any]:
        trusted = bool(form["trust"])
        trust: TrustRegistry = (
            TrustRegistry.from_dict(_json.loads(form["trust"])) if trusted else EveryIssuer()
        )
        types = document.get("type") if isinstance(document, dict) else None
        is_presentation = "VerifiablePresentation" in (types if isinstance(types, list) else [types])
        if not is_presentation:
            result = verifier(trust).verify_credential(document)
            return {
                "kind": "credential",
                "sentence": _sentence("credential", result, trusted),
                "verified": result.verified,
                "checks": _checks(result, trusted),
                "facts": {**_facts(document), "status": _status_words(result)},
                "mandates": [_mandate(document)] if _is_mandate(document) else [],
            }
        if not form["challenge"] or not form["domain"]:
            raise ValidationError(
                "a presentation is checked against the challenge and domain it was signed for",
                field="challenge",
            )
        check = verifier(trust, form["challenge"], form["domain"])
        mandates = [_mandate(c) for c in embedded_credentials(document) if _is_mandate(c)]
        if form["action"]:
            decision = check.authorize(
                document, _request(form, check.now()), challenge=form["challenge"], domain=form["domain"]
            )
            result = decision.verification
            answer = {
                "decision": decision.decision,
                "decisionSentence": OUTCOMES[decision.decision],
                "reasons": [check_in_words(c) for c in decision.reasons],
            }
        else:
            result = check.verify_presentation(document, challenge=form["challenge"], domain=form["domain"])
            answer = {}
        credentials = embedded_credentials(document)
        return {
            "kind": "presentation",
            "sentence": _sentence("presentation", result, trusted),
            "verified": result.verified,
            "checks": _checks(result, trusted),
            "facts": {**_facts(credentials[0] if credentials else None), "status": _status_words(result)},
            "mandates": mandates,
            **answer,
        }

    @blueprint.route("/verdict", methods=["GET", "POST"])
    def verdict() -> Any:
        form = {name: request.form.get(name, "").strip() for name in FIELDS}
        if request.method == "GET":
            return render_template("verdict.html", form=form, verdict=None, error=None)
        console.guard.open_route()
        upload = request.files.get("file")
        text = upload.read() if upload and upload.filename else form["document"].encode()
        try:
            if not text:
                raise ValidationError(
                    "paste a credential or presentation, or choose a file", field="document"
                )
            outcome = judge(form, _json.loads(text))
        except AccreditError as error:
            return render_template("verdict.html", form=form, verdict=None, error=error.message), 400
        return render_template("verdict.html", form=form, verdict=outcome, error=None)


def _is_mandate(credential: Any) -> bool:
    types = credential.get("type") if isinstance(credential, dict) else None
    return isinstance(types, list) and MANDATE_CREDENTIAL in types


def _mandate(credential: Any) -> list[str]:
    try:
        return mandate_in_words(Mandate.from_credential(credential))
    except ValidationError as error:
        return [f"This mandate cannot be read: {error.message} ({error.code})"]
