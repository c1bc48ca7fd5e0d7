"""The embeddable verifier: a counterparty's one object for checking credentials and
presentations from agents.

``Verifier`` composes the core checks (``accredit.credentials``) with what a real
counterparty also needs: a trust registry of accepted issuers, Bitstring Status List
checks fetched over a cache, an injectable clock with a clock-skew tolerance, and
single-use challenges for presentations (VC-API ``VerifiablePresentationRequest`` with
``QueryByExample``, https://w3c-ccg.github.io/vp-request-spec/).

Everything fails closed: no trust registry trusts nobody, an unreachable status list is
``STATUS_RETRIEVAL_ERROR``, an unknown, expired or reused challenge fails the presentation.
Results are the core's ``VerificationResult``; the checks this module adds are:

    issuerTrust        ISSUER_NOT_TRUSTED
    challenge          CHALLENGE_UNKNOWN, CHALLENGE_EXPIRED, CHALLENGE_REPLAYED,
                       CHALLENGE_DOMAIN_MISMATCH
    query              QUERY_NOT_SATISFIED
    holderBinding      HOLDER_BINDING_MISMATCH

``Verifier.authorize`` makes the whole decision on an agent's presentation — the challenge
once, proofs, status, trust, then the mandate and its delegation chain (``accredit.policy``,
whose codes its ``Decision`` carries). Challenges live in a ``ChallengeStore``
(``accredit.challenges``; shared SQL and Redis stores in ``accredit.exchange.stores``).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ._dates import require_aware, utcnow
from ._http import FetchPolicy
from .challenges import (
    Challenge,
    ChallengeState,
    ChallengeStore,
    InMemoryChallengeStore,
    check_challenge,
)
from .credentials import (
    VerifyOptions,
    embedded_credentials,
    holder_of,
    issuer_of,
    types_of,
    validate_credential,
    verify_credential,
    verify_presentation,
)
from .dids import Resolver, default_resolver
from .errors import PresentationRequestError, UnsupportedQueryError, ValidationError
from .jsonld import DocumentLoader, default_document_loader
from .policy import AuthorizationRequest, Decision, authorize
from .proofs import RECOMMENDED_SUITES
from .results import Check, CheckStatus, VerificationResult
from .status import HTTPStatusListFetcher, StatusListChecker, StatusListFetcher
from .trust import TrustRegistry

__all__ = [
    "Challenge",
    "ChallengeState",
    "ChallengeStore",
    "CredentialQuery",
    "InMemoryChallengeStore",
    "PresentationRequest",
    "PresentationRequestError",
    "UnsupportedQueryError",
    "Verifier",
]

MAX_QUERIES = 32  # a request is attacker-chosen input for a wallet: bound the work it asks for


# --- presentation requests ---------------------------------------------------------------------


@dataclass(frozen=True)
class CredentialQuery:
    """One ``credentialQuery`` of a ``QueryByExample``: the credential ``types`` wanted (all of
    them) and, when non-empty, the only ``trusted_issuers`` accepted.

    Of the example, only ``type`` and ``trustedIssuer`` are honoured; other example members
    (``credentialSubject`` values, ``@context``) are not matched.
    """

    types: frozenset[str]
    trusted_issuers: frozenset[str] = frozenset()
    required: bool = True
    reason: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> CredentialQuery:
        """Parse ``{"example": {"type", "trustedIssuer"?}, "required"?, "reason"?}``.
        Raises ``PresentationRequestError``."""
        example = data.get("example") if isinstance(data, Mapping) else None
        if not isinstance(example, Mapping):
            raise PresentationRequestError("a credentialQuery needs an example object")
        types = frozenset(types_of(example)) - {"VerifiableCredential"}
        if not types:
            raise PresentationRequestError("a credentialQuery example needs a credential type")
        issuers = example.get("trustedIssuer", [])
        if not isinstance(issuers, list) or not all(
            isinstance(i, Mapping) and isinstance(i.get("issuer"), str) for i in issuers
        ):
            raise PresentationRequestError('trustedIssuer must be a list of {"issuer": DID}')
        # An issuer listed with required: false is only a preference; it narrows nothing.
        trusted = frozenset(i["issuer"] for i in issuers if i.get("required", True) is not False)
        required = data.get("required", True)
        reason = data.get("reason", "")
        return cls(types, trusted, required is not False, reason if isinstance(reason, str) else "")

    def matches(self, credential: Mapping[str, Any]) -> bool:
        """True if ``credential`` has every wanted type and, if issuers are listed, one of them."""
        if not self.types <= set(types_of(credential)):
            return False
        if not self.trusted_issuers:
            return True
        try:
            return issuer_of(credential) in self.trusted_issuers
        except ValidationError:
            return False


def _parse_query_by_example(query: Mapping[str, Any]) -> list[CredentialQuery]:
    raw = query.get("credentialQuery")
    entries = raw if isinstance(raw, list) else [raw]
    if not entries or len(entries) > MAX_QUERIES:
        raise PresentationRequestError(f"QueryByExample needs 1 to {MAX_QUERIES} credentialQuery entries")
    return [CredentialQuery.from_dict(entry) for entry in entries]


def _parse_did_authentication(query: Mapping[str, Any]) -> list[CredentialQuery]:
    return []  # the holder's authentication proof is the whole answer


# Query types by name. DIF Presentation Exchange ("PresentationDefinition") and DCQL for
# OpenID4VP plug in here as further parsers into the same CredentialQuery values.
_QUERY_PARSERS: dict[str, Callable[[Mapping[str, Any]], list[CredentialQuery]]] = {
    "QueryByExample": _parse_query_by_example,
    "DIDAuthentication": _parse_did_authentication,
}


def _parse_queries(raw: Any) -> tuple[CredentialQuery, ...]:
    queries = raw if isinstance(raw, list) else [raw]
    if not queries or len(queries) > MAX_QUERIES:
        raise PresentationRequestError(f"a request needs 1 to {MAX_QUERIES} queries")
    parsed: list[CredentialQuery] = []
    for query in queries:
        kind = query.get("type") if isinstance(query, Mapping) else None
        if not isinstance(kind, str):
            raise PresentationRequestError("each query needs a type")
        if kind not in _QUERY_PARSERS:
            raise UnsupportedQueryError(
                f"query type {kind!r} is not supported; supported: {sorted(_QUERY_PARSERS)}", type=kind
            )
        parsed += _QUERY_PARSERS[kind](query)
    if len(parsed) > MAX_QUERIES:
        raise PresentationRequestError(f"a request may ask for at most {MAX_QUERIES} credentials")
    return tuple(parsed)


@dataclass(frozen=True)
class PresentationRequest:
    """A parsed ``VerifiablePresentationRequest``: challenge, domain and credential queries
    (empty for a ``DIDAuthentication``-only request)."""

    challenge: str
    domain: str
    credential_queries: tuple[CredentialQuery, ...]

    @classmethod
    def from_dict(cls, data: Any) -> PresentationRequest:
        """Parse a request, or a VC-API exchange's ``{"verifiablePresentationRequest": ...}``.
        Raises ``PresentationRequestError`` or ``UnsupportedQueryError``."""
        if isinstance(data, Mapping) and isinstance(data.get("verifiablePresentationRequest"), Mapping):
            data = data["verifiablePresentationRequest"]
        if not isinstance(data, Mapping):
            raise PresentationRequestError("a presentation request must be a JSON object")
        challenge, domain = data.get("challenge"), data.get("domain")
        if not isinstance(challenge, str) or not challenge or not isinstance(domain, str) or not domain:
            raise PresentationRequestError("a presentation request needs a challenge and a domain")
        return cls(challenge, domain, _parse_queries(data.get("query")))


def _build_query(query: str | Sequence[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None) -> Any:
    if query is None:
        return [{"type": "DIDAuthentication"}]
    if isinstance(query, str):
        query = [query]
    if isinstance(query, Mapping):
        return [dict(query)]
    items = list(query)
    if items and all(isinstance(item, str) for item in items):
        # One credential of each type (not one credential carrying them all).
        return [{"type": "QueryByExample", "credentialQuery": [{"example": {"type": [t]}} for t in items]}]
    if not all(isinstance(item, Mapping) for item in items):
        raise PresentationRequestError("query must be credential types or VPR query objects, not a mix")
    return [dict(item) for item in items if isinstance(item, Mapping)]


# --- the verifier ------------------------------------------------------------------------------

MIN_CHALLENGE_LENGTH = 16  # a challenge only stops replay if it cannot be guessed in advance


class Verifier:
    """A counterparty's verifier: core checks, issuer trust, status, clock and challenges.

    ``trust`` is required and explicit: ``None`` trusts no issuer, so every credential fails
    ``ISSUER_NOT_TRUSTED``. ``resolver`` defaults to did:key and SSRF-safe did:web;
    ``status_fetcher`` to an SSRF-safe, caching HTTP fetcher on this verifier's clock.
    ``clock`` returns an aware ``datetime``; ``max_clock_skew`` widens every validity window by
    that much on both sides. With ``require_holder_binding`` (the default) each presented
    credential must be about the presentation's holder. Challenges from ``create_request`` are
    accepted once, for ``challenge_ttl``, by ``verify_presentation`` or ``authorize``, from
    ``challenge_store`` (in memory by default; ``accredit.exchange.stores`` has SQL and Redis
    stores shared by several processes). ``non_monetary_actions`` need no amount in
    ``authorize`` under a mandate with limits.

    Raises ``ValueError`` for a negative skew or a non-positive challenge lifetime.
    """

    def __init__(
        self,
        *,
        trust: TrustRegistry | None,
        resolver: Resolver | None = None,
        status_fetcher: StatusListFetcher | None = None,
        document_loader: DocumentLoader | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_clock_skew: timedelta = timedelta(0),
        accepted_suites: Collection[str] = RECOMMENDED_SUITES,
        require_holder_binding: bool = True,
        challenge_ttl: timedelta = timedelta(minutes=5),
        challenge_store: ChallengeStore | None = None,
        non_monetary_actions: Collection[str] = (),
    ) -> None:
        if max_clock_skew < timedelta(0):
            raise ValueError("max_clock_skew must not be negative")
        if challenge_ttl <= timedelta(0):
            raise ValueError("challenge_ttl must be positive")
        self.trust = trust
        self.resolver = resolver or default_resolver()
        self.status_fetcher = status_fetcher or HTTPStatusListFetcher(
            FetchPolicy(), clock=lambda: self.now().timestamp()
        )
        self.document_loader = document_loader or default_document_loader()
        self.clock = clock
        self.max_clock_skew = max_clock_skew
        self.accepted_suites = frozenset(accepted_suites)
        self.require_holder_binding = require_holder_binding
        self.challenge_ttl = challenge_ttl
        self.challenges: ChallengeStore = challenge_store or InMemoryChallengeStore()
        self.non_monetary_actions = frozenset(non_monetary_actions)

    def now(self) -> datetime:
        """This verifier's clock (an aware datetime)."""
        return require_aware(self.clock(), "clock()")

    def _options(self, now: datetime) -> VerifyOptions:
        # One moment per verification: the credential, its status lists and the challenge are
        # all judged at the same instant.
        base = VerifyOptions(
            resolver=self.resolver,
            document_loader=self.document_loader,
            now=now,
            max_clock_skew=self.max_clock_skew,
            accepted_suites=self.accepted_suites,
        )
        return replace(base, status_checker=StatusListChecker(self.status_fetcher, base))

    def _trust_check(self, credential: Any, name: str = "issuerTrust") -> Check:
        try:
            validate_credential(credential)
        except ValidationError:
            return Check.skipped(name, "NOT_CHECKED", "not checked: the credential is malformed")
        if self.trust is None:
            return Check.failed(
                name,
                "ISSUER_NOT_TRUSTED",
                "this verifier has no trust registry, so it trusts no issuer",
                issuer=issuer_of(credential),
            )
        return self.trust.check(credential, name)

    def verify_credential(self, credential: Any) -> VerificationResult:
        """Verify a credential: structure, contexts, proof, validity window (with the clock
        skew), every status entry, and that its issuer is trusted for its types.

        Returns a result listing every check; raises only ``InputError`` for input that is not
        a JSON object or is too deep.
        """
        core = verify_credential(credential, self._options(self.now()))
        return VerificationResult.of("credential", [*core.checks, self._trust_check(credential)])

    def create_request(
        self,
        *,
        domain: str,
        query: str | Sequence[str] | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        challenge: str | None = None,
        for_request: AuthorizationRequest | None = None,
        for_call: str | None = None,
    ) -> dict[str, Any]:
        """A VC-API ``VerifiablePresentationRequest`` bound to ``domain`` with a fresh
        single-use challenge (or ``challenge``, which must be unguessable and unused).

        ``query`` is credential type names (one ``QueryByExample`` asking for one credential
        of each type), VPR query objects, or ``None`` for ``DIDAuthentication`` only. With
        ``for_request``, an answer to this request can only ``authorize`` that request;
        ``for_call`` is kept with the challenge (the digest of the HTTP call it was issued for).
        Raises ``PresentationRequestError``/``UnsupportedQueryError``.
        """
        if not isinstance(domain, str) or not domain:
            raise PresentationRequestError("a presentation request needs a domain")
        # Hex, not base64url: a challenge starting with "-" reads as an option on a command line.
        value = secrets.token_hex(32) if challenge is None else challenge
        if not isinstance(value, str) or len(value) < MIN_CHALLENGE_LENGTH:
            raise PresentationRequestError(f"a challenge must be at least {MIN_CHALLENGE_LENGTH} characters")
        request = {"query": _build_query(query), "challenge": value, "domain": domain}
        PresentationRequest.from_dict(request)  # refuse a request no wallet could answer
        now = self.now()
        try:
            self.challenges.add(
                Challenge(
                    value,
                    domain,
                    now,
                    now + self.challenge_ttl,
                    copy.deepcopy(request["query"]),
                    None if for_request is None else for_request.to_json(),
                    for_call,
                )
            )
        except ValueError:
            raise PresentationRequestError("this challenge is already in use") from None
        return request

    def _holder_binding(self, credential: Mapping[str, Any], holder: str | None, name: str) -> Check:
        subjects = credential.get("credentialSubject")
        ids = [
            s.get("id")
            for s in (subjects if isinstance(subjects, list) else [subjects])
            if isinstance(s, dict)
        ]
        if holder is not None and holder in ids:
            return Check.passed(name, holder=holder)
        return Check.failed(
            name,
            "HOLDER_BINDING_MISMATCH",
            "the presentation's holder is not a subject of the credential",
            holder=holder,
            subjects=ids,
        )

    def _query_check(self, challenge: Challenge, credentials: Sequence[Any]) -> Check:
        try:
            queries = _parse_queries(challenge.query)
        except PresentationRequestError as error:  # a shared store returned something else
            return Check.from_error("query", error)
        unmet = [
            sorted(q.types)
            for q in queries
            if q.required and not any(isinstance(vc, dict) and q.matches(vc) for vc in credentials)
        ]
        if unmet:
            return Check.failed(
                "query", "QUERY_NOT_SATISFIED", "the presentation does not answer the request", unmet=unmet
            )
        return Check.passed("query")

    def verify_presentation(self, presentation: Any, *, challenge: str, domain: str) -> VerificationResult:
        """Verify a presentation answering a request from ``create_request``.

        Consumes ``challenge`` whatever the outcome: unknown, expired or reused challenges
        fail (``CHALLENGE_UNKNOWN``/``CHALLENGE_EXPIRED``/``CHALLENGE_REPLAYED``), as does
        one issued for another domain. Then the holder's proof (bound to ``challenge`` and
        ``domain``), every embedded credential as in ``verify_credential`` (checks prefixed
        ``verifiableCredential[i].``), holder binding, and that the credentials answer the
        request's query. Raises only ``InputError`` for input that is not a JSON object.
        """
        now = self.now()
        challenge_check, issued = check_challenge(self.challenges, challenge, domain, now)
        core = verify_presentation(presentation, self._options(now), challenge=challenge, domain=domain)
        checks = [challenge_check, *core.checks]
        if core.checks[0].status is not CheckStatus.PASSED:  # malformed: nothing more to read
            return VerificationResult.of("presentation", checks)
        holder = holder_of(presentation)
        credentials = embedded_credentials(presentation)
        for index, credential in enumerate(credentials):
            prefix = f"verifiableCredential[{index}]"
            checks.append(self._trust_check(credential, f"{prefix}.issuerTrust"))
            if self.require_holder_binding:
                checks.append(self._holder_binding(credential, holder, f"{prefix}.holderBinding"))
        if issued is not None:
            checks.append(self._query_check(issued, credentials))
        return VerificationResult.of("presentation", checks)

    def authorize(
        self, presentation: Any, request: AuthorizationRequest | None, *, challenge: str, domain: str
    ) -> Decision:
        """Decide whether the presentation's holder may do ``request``: the challenge (issued by
        ``create_request`` for ``domain``, fresh, used once, and for this request if it was
        issued for one), the holder's proof, every credential's proof, dates and status (so
        the kill switch), then the mandate: the holder's MandateCredential followed through
        its delegation chain to a root whose issuer this verifier trusts, each agent's
        AgentCredential, and the request against the mandate's actions, counterparties and
        limits (``accredit.policy``). Holder binding is the chain's: a sub-agent presents its
        parents' credentials, which are about its parents.

        Credentials are judged at this verifier's clock, the mandate at ``request.at`` (when
        the action happens). ``request=None`` authorizes the request the challenge was issued
        for (``create_request(for_request=...)``), now. Returns a ``Decision`` (allow, deny or
        escalate, with every reason) bound to ``request``; raises only ``InputError`` when
        ``presentation`` is not a JSON object.
        """
        now = self.now()
        return authorize(
            presentation,
            request,
            trust=self.trust or TrustRegistry(),
            options=self._options(now),
            challenge=challenge,
            domain=domain,
            challenges=self.challenges,
            non_monetary=self.non_monetary_actions,
        )
