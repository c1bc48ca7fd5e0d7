"""The presentation exchange between a counterparty's API and an agent: one protocol, used by
the verifier's HTTP embedding (``accredit.exchange.flask``, ``accredit.exchange.wsgi``) and by
the agent's ``requests`` auth (``accredit.exchange.client``).

1. The agent calls a protected route without an authorization. The API answers ``401`` with
   an RFC 9457 problem (``PRESENTATION_REQUIRED``) carrying a VC-API
   ``verifiablePresentationRequest``: a single-use challenge, the API's domain, a query for
   an AgentCredential and a MandateCredential, and ``interact.service`` — where to post the
   presentation (https://w3c-ccg.github.io/vp-request-spec/). The challenge is issued for
   this call: its method, target and body digest, and what it asks (action, amount,
   currency, this counterparty).
2. The agent posts ``{"verifiablePresentation": ...}`` there. The API decides with
   ``Verifier.authorize`` (challenge once, proofs, status, trust, the mandate chain, the
   request the challenge was issued for). "allow" answers ``200`` with a short-lived,
   single-use ``authorization`` bound to that call; "deny" and "escalate" answer ``403``
   with the decision and every reason.
3. The agent repeats the call with ``Authorization: Accredit <token>``. The token is
   accepted once, before it expires, for exactly that call; the route then runs.

Failures over HTTP are problem documents with stable codes: ``PRESENTATION_REQUIRED``,
``AUTHORIZATION_UNKNOWN``, ``AUTHORIZATION_EXPIRED``, ``AUTHORIZATION_REPLAYED``,
``AUTHORIZATION_CALL_MISMATCH``, ``PRESENTATION_DENIED``, ``ESCALATION_REQUIRED``,
``MALFORMED_INPUT``. Tokens are stored only as their SHA-256 digest. Challenges and
authorizations live in ``SingleUseStore`` s: in memory for one process, or
``accredit.exchange.stores`` (SQL through SQLAlchemy, Redis) shared by several.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .. import _json
from .._dates import format_datetime, parse_datetime
from ..agents import Money
from ..challenges import ChallengeState, InMemoryStore, SingleUseStore
from ..credentials import holder_of
from ..errors import AccreditError, ValidationError
from ..policy import AuthorizationRequest
from ..verifier import Verifier

__all__ = [
    "AUTH_SCHEME",
    "Answer",
    "Ask",
    "Authorization",
    "Call",
    "Exchange",
]

AUTH_SCHEME = "Accredit"
EXCHANGE_PATH = "/.well-known/accredit/exchanges"
MAX_BODY = 1_000_000  # a protected call's body is hashed and kept in memory: bound it
_PROBLEM_TYPE = "https://accredit.dev/problems/"


@dataclass(frozen=True)
class Call:
    """One HTTP call as the authorization binds it: method, target (path and query) and body."""

    method: str
    target: str
    body: bytes = b""

    @property
    def digest(self) -> str:
        """SHA-256 over method, target and the body's SHA-256: the call an authorization is for."""
        body = hashlib.sha256(self.body).hexdigest()
        return hashlib.sha256(f"{self.method.upper()}\n{self.target}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Ask:
    """What a protected call asks to do: ``action``, and for a monetary one ``amount`` (a
    decimal string) in ``currency``."""

    action: str
    amount: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Authorization:
    """A single-use authorization for one call. ``value`` is the SHA-256 of the bearer token
    (the token itself is never stored); ``call`` the digest of the call it unlocks;
    ``request`` what was authorized; ``holder`` the agent it was issued to."""

    value: str
    issued: datetime
    expires: datetime
    call: str
    request: Mapping[str, Any]
    holder: str

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "issued": format_datetime(self.issued),
            "expires": format_datetime(self.expires),
            "call": self.call,
            "request": dict(self.request),
            "holder": self.holder,
        }

    @classmethod
    def from_json(cls, data: Any) -> Authorization:
        """Read ``to_json``'s form back. Raises ``ValidationError``."""
        keys = ("value", "issued", "expires", "call", "holder")
        if not isinstance(data, Mapping) or not all(isinstance(data.get(k), str) for k in keys):
            raise ValidationError("a stored authorization needs value, issued, expires, call, holder")
        request = data.get("request")
        return cls(
            data["value"],
            parse_datetime(data["issued"], "issued"),
            parse_datetime(data["expires"], "expires"),
            data["call"],
            dict(request) if isinstance(request, Mapping) else {},
            data["holder"],
        )


@dataclass(frozen=True)
class Answer:
    """An HTTP answer for the glue to send: ``status``, a JSON ``body`` and ``headers``;
    ``authorization`` is set when the call may proceed (then nothing is sent)."""

    status: int
    body: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    authorization: Authorization | None = None

    def json(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def _problem(status: int, code: str, detail: str, **members: Any) -> Answer:
    body = {"type": _PROBLEM_TYPE + code.lower(), "title": detail, "status": status, "code": code, **members}
    return Answer(status, body, {"Content-Type": "application/problem+json"})


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Exchange:
    """The verifier's side of the exchange for one API: ``domain`` is the API's own name (the
    presentation is bound to it), ``counterparty`` the API owner's DID (the mandate must allow
    dealing with it). ``query`` names the credential types asked for, each its own query.
    Authorizations live ``authorization_ttl`` in ``authorizations`` (in memory by default;
    share a store, and the verifier's challenge store, between processes).
    """

    def __init__(
        self,
        verifier: Verifier,
        *,
        domain: str,
        counterparty: str,
        query: Sequence[str] = ("AgentCredential", "MandateCredential"),
        authorizations: SingleUseStore[Authorization] | None = None,
        authorization_ttl: timedelta = timedelta(seconds=60),
        path: str = EXCHANGE_PATH,
    ) -> None:
        if authorization_ttl <= timedelta(0):
            raise ValueError("authorization_ttl must be positive")
        self.verifier, self.domain, self.counterparty = verifier, domain, counterparty
        self.query = [
            {"type": "QueryByExample", "credentialQuery": [{"example": {"type": [kind]}} for kind in query]}
        ]
        self.authorizations: SingleUseStore[Authorization] = authorizations or InMemoryStore()
        self.authorization_ttl = authorization_ttl
        self.path = path.rstrip("/")

    # --- step 1: a call without an authorization -----------------------------------------------

    def request_presentation(self, call: Call, ask: Ask, base_url: str) -> Answer:
        """``401 PRESENTATION_REQUIRED`` with a presentation request issued for ``call``;
        ``base_url`` is where this API is reached (for the presentation endpoint)."""
        try:
            amount = None if ask.amount is None else Money.of(ask.amount, str(ask.currency)).amount
            request = AuthorizationRequest(
                ask.action, self.verifier.now(), amount, ask.currency, self.counterparty
            )
        except ValidationError as error:
            return _problem(400, error.code, f"the call cannot be authorized: {error.message}")
        vpr = self.verifier.create_request(
            domain=self.domain, query=self.query, for_request=request, for_call=call.digest
        )
        endpoint = f"{base_url.rstrip('/')}{self.path}/{vpr['challenge']}"
        vpr["interact"] = {
            "service": [{"type": "UnmediatedPresentationService2021", "serviceEndpoint": endpoint}]
        }
        problem = _problem(
            401,
            "PRESENTATION_REQUIRED",
            f"present credentials that authorize {ask.action}",
            verifiablePresentationRequest=vpr,
        )
        challenge_header = {"WWW-Authenticate": f'{AUTH_SCHEME} realm="{self.domain}"'}
        return Answer(problem.status, problem.body, {**problem.headers, **challenge_header})

    # --- step 2: the presentation ----------------------------------------------------------------

    def accept(self, challenge: str, body: bytes) -> Answer:
        """Decide on a posted ``{"verifiablePresentation": ...}`` answering ``challenge``:
        ``200`` with an authorization for the call the challenge was issued for, or ``403``
        with the decision (``PRESENTATION_DENIED``, ``ESCALATION_REQUIRED``)."""
        try:
            document = _json.loads(body)
        except AccreditError as error:
            return _problem(400, error.code, error.message)
        presentation = document.get("verifiablePresentation") if isinstance(document, dict) else None
        if not isinstance(presentation, dict):
            return _problem(400, "MALFORMED_INPUT", 'post {"verifiablePresentation": {...}}')
        decision = self.verifier.authorize(presentation, None, challenge=challenge, domain=self.domain)
        issued_for = decision.challenge.call if decision.challenge is not None else None
        if decision.decision != "allow" or decision.request is None or issued_for is None:
            code = "ESCALATION_REQUIRED" if decision.decision == "escalate" else "PRESENTATION_DENIED"
            return _problem(
                403,
                code,
                f"the presentation does not authorize this call ({decision.decision})",
                decision=decision.summary(),
            )
        token = secrets.token_urlsafe(32)
        now = self.verifier.now()
        authorization = Authorization(
            _token_digest(token),
            now,
            now + self.authorization_ttl,
            issued_for,
            decision.request.to_json(),
            str(holder_of(presentation)),
        )
        self.authorizations.add(authorization)
        return Answer(
            200,
            {
                "authorization": {
                    "type": AUTH_SCHEME,
                    "token": token,
                    "expires": format_datetime(authorization.expires),
                },
                "decision": decision.summary(),
            },
            {"Content-Type": "application/json", "Cache-Control": "no-store"},
        )

    # --- step 3: the authorized call -------------------------------------------------------------

    def guard(
        self, call: Call, authorization_header: str | None, ask: Callable[[Call], Ask], base_url: str
    ) -> Answer:
        """The answer to a call of a protected route: ``authorization`` set when the call may
        run, else a problem (a presentation request when the call carries no authorization)."""
        scheme, _, token = (authorization_header or "").partition(" ")
        if scheme != AUTH_SCHEME or not token:
            return self.request_presentation(call, ask(call), base_url)
        state, authorization = self.authorizations.consume(_token_digest(token.strip()), self.verifier.now())
        if state is ChallengeState.UNKNOWN or authorization is None:
            return _problem(
                401, "AUTHORIZATION_UNKNOWN", "this API did not issue the authorization (or forgot it)"
            )
        if state is ChallengeState.REPLAYED:
            return _problem(401, "AUTHORIZATION_REPLAYED", "the authorization was already used")
        if state is ChallengeState.EXPIRED:
            return _problem(401, "AUTHORIZATION_EXPIRED", "the authorization has expired")
        if authorization.call != call.digest:
            return _problem(
                401, "AUTHORIZATION_CALL_MISMATCH", "the authorization was issued for another call"
            )
        return Answer(200, authorization=authorization)
