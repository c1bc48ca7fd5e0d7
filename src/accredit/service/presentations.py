"""Presentations over HTTP with the rules of ``accredit.Verifier``: ``POST /challenges`` hands
out a single-use challenge bound to a domain (kept in the database, so any instance accepts
it once), and ``POST /presentations/verify`` accepts a presentation only for such a challenge,
once, with each credential about the presentation's holder (holder binding).

The service verifies proofs, status and validity; whom to trust is the caller's decision, so
every issuer whose proof verifies passes ``issuerTrust`` here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, jsonify

from ..credentials import issuer_of
from ..errors import InputError, ValidationError
from ..results import Check
from ..status import StaticStatusListFetcher
from ..trust import TrustRegistry
from ..verifier import Challenge, ChallengeState, Verifier
from .http import Guard, json_body
from .issuer import Issuer
from .storage import Store
from .vcapi import read_verify_options

CHALLENGE_TTL = timedelta(minutes=5)
MAX_CHALLENGE = 128


class DatabaseChallengeStore:
    """``accredit.verifier.ChallengeStore`` over the service's database (shared by instances)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, challenge: Challenge) -> None:
        row = {
            "value": challenge.value,
            "domain": challenge.domain,
            "query": json.dumps(challenge.query),
            "issued_at": int(challenge.issued.timestamp()),
            "expires_at": int(challenge.expires.timestamp()),
        }
        if not self.store.add_challenge(row):
            raise ValueError("this challenge value is already in use")

    def consume(self, value: str, now: datetime) -> tuple[ChallengeState, Challenge | None]:
        row, first_use = self.store.consume_challenge(value)
        if row is None:
            return ChallengeState.UNKNOWN, None
        challenge = Challenge(
            row["value"],
            row["domain"],
            datetime.fromtimestamp(row["issued_at"], UTC),
            datetime.fromtimestamp(row["expires_at"], UTC),
            None if row["query"] is None else json.loads(row["query"]),
        )
        if not first_use:
            return ChallengeState.REPLAYED, challenge
        if now > challenge.expires:
            return ChallengeState.EXPIRED, challenge
        return ChallengeState.VALID, challenge


class EveryIssuer(TrustRegistry):
    """Trust is the caller's decision on the VC-API verify routes: name the issuer, accept it."""

    def check(self, credential: Mapping[str, Any], name: str = "issuerTrust") -> Check:
        try:
            return Check.passed(name, issuer=issuer_of(credential))
        except ValidationError as error:
            return Check.from_error(name, error)


def _text_option(options: Mapping[str, Any], name: str, limit: int) -> str:
    value = options.get(name)
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise InputError(f"options.{name} must be a printable string of 1 to {limit} characters")
    return value


def register(app: Flask, issuer: Issuer, guard: Guard) -> None:
    verifier = Verifier(
        trust=EveryIssuer(),
        resolver=issuer.resolver,
        status_fetcher=StaticStatusListFetcher(issuer.fetch_list),
        challenge_ttl=CHALLENGE_TTL,
        challenge_store=DatabaseChallengeStore(issuer.store),
    )

    @app.post("/challenges")
    def create_challenge() -> tuple[Response, int]:
        guard.open_route()
        body = json_body()
        domain = _text_option(body, "domain", 512)
        request = verifier.create_request(domain=domain, query=body.get("query"))
        return jsonify(request), 201

    @app.post("/presentations/verify")
    def verify_presentation() -> tuple[Response, int]:
        guard.open_route()
        body = json_body()
        options = read_verify_options(body)
        if not options:
            raise InputError(
                'options is required: {"challenge": "...", "domain": "..."} from POST /challenges'
            )
        challenge = _text_option(options, "challenge", MAX_CHALLENGE)
        domain = _text_option(options, "domain", 512)
        result = verifier.verify_presentation(
            body.get("verifiablePresentation"), challenge=challenge, domain=domain
        )
        return jsonify(result.to_dict()), 200 if result.verified else 400


__all__ = ["DatabaseChallengeStore", "EveryIssuer", "register"]
