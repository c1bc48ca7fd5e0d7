"""Data Integrity proofs: create and verify, generic over a registry of cryptosuites.

https://www.w3.org/TR/vc-data-integrity/ §4.2 (add proof), §4.4 (verify proof). Verification
returns ``Check`` entries rather than raising, so a caller sees every reason at once. A proof
set (a list of proofs) verifies only if every proof does; a proof with ``previousProof`` is
verified over the document carrying the proofs it names (a proof chain, §2.1.2).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from .._dates import format_datetime, parse_datetime, utcnow
from ..dids import Resolver, resolve_verification_method
from ..errors import (
    AccreditError,
    CryptosuiteNotAcceptedError,
    InvalidKeyError,
    MalformedProofError,
    ProofError,
    UnsupportedCryptosuiteError,
    ValidationError,
)
from ..jsonld import DocumentLoader
from ..keys import KeyPair, multibase_decode, multibase_encode
from ..results import Check
from . import ed25519_signature_2020, eddsa_jcs_2022, eddsa_rdfc_2022
from ._suite import Cryptosuite

__all__ = [
    "RECOMMENDED_SUITES",
    "SUITES",
    "Cryptosuite",
    "create_proof",
    "get_suite",
    "proofs_of",
    "verify_proofs",
]

SUITES: Mapping[str, Cryptosuite] = {
    s.name: s for s in (eddsa_rdfc_2022.SUITE, eddsa_jcs_2022.SUITE, ed25519_signature_2020.SUITE)
}
# What a verifier accepts unless told otherwise; Ed25519Signature2020 is opt-in for old peers.
RECOMMENDED_SUITES: frozenset[str] = frozenset({"eddsa-rdfc-2022", "eddsa-jcs-2022"})
PROOF_PURPOSES = frozenset(
    {"assertionMethod", "authentication", "capabilityInvocation", "capabilityDelegation"}
)
MAX_PROOFS = 8
_SIGNATURE_BYTES = 64


def get_suite(name: str) -> Cryptosuite:
    """The cryptosuite registered as ``name``. Raises ``UnsupportedCryptosuiteError``."""
    try:
        return SUITES[name]
    except KeyError:
        raise UnsupportedCryptosuiteError(
            f"unknown cryptosuite {name!r}; known: {sorted(SUITES)}", cryptosuite=name
        ) from None


def _suite_of(proof: Mapping[str, Any]) -> Cryptosuite:
    if proof.get("type") == "DataIntegrityProof":
        name = proof.get("cryptosuite")
        if not isinstance(name, str):
            raise UnsupportedCryptosuiteError("DataIntegrityProof without a cryptosuite")
        return get_suite(name)
    proof_type = proof.get("type")
    if isinstance(proof_type, str) and proof_type in SUITES and SUITES[proof_type].cryptosuite is None:
        return SUITES[proof_type]
    raise UnsupportedCryptosuiteError(f"unknown proof type {proof_type!r}", type=str(proof_type))


def proofs_of(document: Mapping[str, Any]) -> list[Any]:
    """The document's proofs as a list (``proof`` may be one object or a set)."""
    proof = document.get("proof")
    if proof is None:
        return []
    return list(proof) if isinstance(proof, list) else [proof]


def _context_list(document: Mapping[str, Any]) -> list[Any]:
    context = document.get("@context")
    return list(context) if isinstance(context, list) else [context]


def _signed_document(
    unsecured: Mapping[str, Any], proof: Mapping[str, Any], all_proofs: Sequence[Any]
) -> dict[str, Any]:
    """The document a proof signs: the unsecured document plus, for a proof chain, the
    proofs named by ``previousProof`` (Data Integrity §4.2 step 4, §4.4)."""
    document = dict(unsecured)
    previous = proof.get("previousProof")
    if previous is not None:
        wanted = [previous] if isinstance(previous, str) else previous
        if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            raise MalformedProofError("previousProof must be a proof id or a list of them")
        found = [p for p in all_proofs if isinstance(p, dict) and p.get("id") in wanted]
        if len(found) != len(set(wanted)):
            raise MalformedProofError("previousProof names a proof that is not in the proof set")
        document["proof"] = found
    return document


class _Digests:
    """SHA-256 of canonical forms, each computed once per proof set: N proofs over one
    document canonicalize it once, and proofs whose configurations differ only in their
    proofValue canonicalize that configuration once (issue 13). A refusal is remembered too.
    """

    def __init__(self, loader: DocumentLoader) -> None:
        self._loader = loader
        self._seen: dict[str, bytes | AccreditError] = {}

    def of(self, suite: Cryptosuite, document: Mapping[str, Any]) -> bytes:
        # default=repr: a library caller may pass values JSON cannot spell; the suite refuses them.
        key = suite.name + json.dumps(document, sort_keys=True, ensure_ascii=False, default=repr)
        found = self._seen.get(key)
        if found is None:
            try:
                found = hashlib.sha256(suite.canonicalize(document, self._loader)).digest()
            except AccreditError as error:
                found = error
            self._seen[key] = found
        if isinstance(found, AccreditError):
            raise found
        return found

    def hash_data(
        self, suite: Cryptosuite, unsecured: Mapping[str, Any], proof_config: Mapping[str, Any]
    ) -> bytes:
        # The proof configuration is canonicalized in the document's context (§3.3.5 of
        # vc-di-eddsa), and its hash comes first. The document goes first here so that one
        # over the size limits is refused before any JSON-LD work.
        document = self.of(suite, unsecured)
        config = {k: v for k, v in proof_config.items() if k != "proofValue"}
        config.setdefault("@context", unsecured["@context"])
        return self.of(suite, config) + document


def create_proof(
    document: Mapping[str, Any],
    key: KeyPair,
    *,
    document_loader: DocumentLoader,
    suite: str = "eddsa-rdfc-2022",
    purpose: str = "assertionMethod",
    created: datetime | None = None,
    expires: datetime | None = None,
    challenge: str | None = None,
    domain: str | Sequence[str] | None = None,
    proof_id: str | None = None,
    previous_proof: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Sign ``document`` and return the new proof object.

    Existing proofs are excluded from what is signed, except those named by
    ``previous_proof`` (a proof chain). Give ``proof_id`` to a proof others will chain to.

    Raises ``UnsupportedCryptosuiteError``, ``ProofError`` (wrong key type, missing suite
    context, bad purpose), and ``JsonLdError`` subclasses when the document has undefined
    terms or unknown contexts — nothing is signed that a verifier would read differently.
    """
    cryptosuite = get_suite(suite)
    if key.type != cryptosuite.key_type:
        raise ProofError(f"{suite} needs an {cryptosuite.key_type} key, not {key.type}")
    if purpose not in PROOF_PURPOSES:
        raise ProofError(f"unknown proofPurpose {purpose!r}; expected one of {sorted(PROOF_PURPOSES)}")
    contexts = _context_list(document)
    if not any(url in contexts for url in cryptosuite.suite_contexts):
        raise ProofError(
            f"{suite} proofs need one of the contexts {list(cryptosuite.suite_contexts)} in @context"
        )
    proof: dict[str, Any] = {"type": cryptosuite.proof_type}
    if proof_id:
        proof["id"] = proof_id
    if cryptosuite.cryptosuite:
        proof["cryptosuite"] = cryptosuite.cryptosuite
    proof["created"] = format_datetime(created or utcnow())
    if expires is not None:
        proof["expires"] = format_datetime(expires)
    proof["verificationMethod"] = key.id
    proof["proofPurpose"] = purpose
    if challenge is not None:
        proof["challenge"] = challenge
    if domain is not None:
        proof["domain"] = domain if isinstance(domain, str) else list(domain)
    if previous_proof is not None:
        proof["previousProof"] = previous_proof if isinstance(previous_proof, str) else list(previous_proof)
    if cryptosuite.proof_has_context:
        proof["@context"] = document["@context"]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    signed = _signed_document(unsecured, proof, proofs_of(document))
    signature = key.sign(_Digests(document_loader).hash_data(cryptosuite, signed, proof))
    proof["proofValue"] = multibase_encode(signature)
    return proof


def verify_proofs(
    document: Mapping[str, Any],
    *,
    purpose: str,
    controller: str,
    resolver: Resolver,
    document_loader: DocumentLoader,
    accepted_suites: Collection[str] = RECOMMENDED_SUITES,
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
    max_clock_skew: timedelta = timedelta(0),
) -> list[Check]:
    """Verify every proof on ``document``; return one or more checks per proof.

    Each proof must be made for ``purpose`` by a verification method that ``controller``
    controls and lists under that purpose. With ``challenge``/``domain`` given, each proof
    must carry them. No proof at all is a failure (``PROOF_MISSING``); a proof ``created``
    after ``now + max_clock_skew`` is ``PROOF_CREATED_IN_FUTURE``.
    """
    proofs = proofs_of(document)
    if not proofs:
        return [Check.failed("proof", "PROOF_MISSING", "the document has no proof")]
    if len(proofs) > MAX_PROOFS:
        return [Check.failed("proof", "MALFORMED_PROOF_ERROR", f"more than {MAX_PROOFS} proofs")]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    digests = _Digests(document_loader)
    checks: list[Check] = []
    for index, proof in enumerate(proofs):
        name = "proof" if len(proofs) == 1 else f"proof[{index}]"
        verifier = _ProofVerifier(
            name,
            unsecured,
            proofs,
            purpose,
            controller,
            resolver,
            digests,
            accepted_suites,
            now or utcnow(),
            max_clock_skew,
        )
        checks.extend(verifier.run(proof, challenge, domain))
    return checks


class _ProofVerifier:
    """Verifies one proof; collects every failed condition rather than the first."""

    def __init__(
        self,
        name: str,
        unsecured: Mapping[str, Any],
        all_proofs: list[Any],
        purpose: str,
        controller: str,
        resolver: Resolver,
        digests: _Digests,
        accepted_suites: Collection[str],
        now: datetime,
        max_clock_skew: timedelta,
    ) -> None:
        self.name, self.unsecured, self.all_proofs = name, unsecured, all_proofs
        self.purpose, self.controller, self.resolver = purpose, controller, resolver
        self.digests, self.accepted_suites, self.now = digests, accepted_suites, now
        self.max_clock_skew = max_clock_skew

    def run(self, proof: Any, challenge: str | None, domain: str | None) -> list[Check]:
        try:
            suite, signature = self._parse(proof)
        except AccreditError as error:
            return [Check.from_error(self.name, error)]
        checks = [self._purpose(proof)]
        if challenge is not None:
            checks.append(self._challenge(proof, challenge))
        if domain is not None:
            checks.append(self._domain(proof, domain))
        if "created" in proof:
            checks.append(self._created(proof))
        if "expires" in proof:
            checks.append(self._expires(proof))
        checks.insert(0, self._signature(suite, proof, signature))
        return checks

    def _parse(self, proof: Any) -> tuple[Cryptosuite, bytes]:
        if not isinstance(proof, dict):
            raise MalformedProofError("a proof must be a JSON object")
        suite = _suite_of(proof)
        if suite.name not in self.accepted_suites:
            raise CryptosuiteNotAcceptedError(
                f"cryptosuite {suite.name} is not accepted by this verifier; "
                f"accepted: {sorted(self.accepted_suites)}",
                cryptosuite=suite.name,
            )
        for field in ("verificationMethod", "proofPurpose", "proofValue"):
            if not isinstance(proof.get(field), str):
                raise MalformedProofError(f"proof.{field} must be a string")
        for field in ("created", "expires"):
            if field in proof:
                try:
                    parse_datetime(proof[field], f"proof.{field}")
                except ValidationError as exc:
                    raise MalformedProofError(exc.message) from None
        return suite, self._signature_bytes(proof["proofValue"])

    def _signature_bytes(self, proof_value: str) -> bytes:
        # Only base58btc of exactly one signature: other encodings or lengths are refused
        # rather than normalized, so one signature has exactly one accepted spelling.
        try:
            signature = multibase_decode(proof_value)
        except InvalidKeyError:
            raise MalformedProofError("proofValue must be base58btc multibase ('z…')") from None
        if len(signature) != _SIGNATURE_BYTES or multibase_encode(signature) != proof_value:
            raise MalformedProofError(f"proofValue must encode exactly {_SIGNATURE_BYTES} bytes")
        return signature

    def _purpose(self, proof: Mapping[str, Any]) -> Check:
        name = f"{self.name}.proofPurpose"
        if proof["proofPurpose"] != self.purpose:
            return Check.failed(
                name,
                "MISMATCHED_PROOF_PURPOSE_ERROR",
                f"proofPurpose is {proof['proofPurpose']!r}, expected {self.purpose!r}",
                expected=self.purpose,
                actual=proof["proofPurpose"],
            )
        return Check.passed(name)

    def _challenge(self, proof: Mapping[str, Any], challenge: str) -> Check:
        name = f"{self.name}.challenge"
        if proof.get("challenge") != challenge:
            return Check.failed(
                name,
                "CHALLENGE_MISMATCH",
                "the proof's challenge is not the one requested",
                expected=challenge,
                actual=proof.get("challenge"),
            )
        return Check.passed(name)

    def _domain(self, proof: Mapping[str, Any], domain: str) -> Check:
        name = f"{self.name}.domain"
        actual = proof.get("domain")
        domains = actual if isinstance(actual, list) else [actual]
        if domain not in domains:
            return Check.failed(
                name,
                "DOMAIN_MISMATCH",
                "the proof is not bound to the requested domain",
                expected=domain,
                actual=actual,
            )
        return Check.passed(name)

    def _created(self, proof: Mapping[str, Any]) -> Check:
        # A proof dated in the future was made by a wrong clock or to outlive a revocation.
        name = f"{self.name}.created"
        created = parse_datetime(proof["created"], "proof.created")
        latest = self.now + self.max_clock_skew
        if created > latest:
            return Check.failed(
                name,
                "PROOF_CREATED_IN_FUTURE",
                "the proof is dated in the future",
                now=self.now,
                created=created,
            )
        return Check.passed(name)

    def _expires(self, proof: Mapping[str, Any]) -> Check:
        name = f"{self.name}.expires"
        expires = parse_datetime(proof["expires"], "proof.expires")
        if self.now > expires:
            return Check.failed(name, "PROOF_EXPIRED", "the proof has expired", now=self.now, expires=expires)
        return Check.passed(name)

    def _signed_document(self, suite: Cryptosuite, proof: Mapping[str, Any]) -> dict[str, Any]:
        document = _signed_document(self.unsecured, proof, self.all_proofs)
        # Under RDF suites a proof @context only scopes the proof configuration (the legacy
        # LD-proof form didkit emits); it is allowlisted like every other context.
        if "@context" in proof and suite.proof_has_context:
            # eddsa-jcs-2022 §3.3.2: the document's context must start with the proof's.
            proof_context = _context_list(proof)
            if _context_list(document)[: len(proof_context)] != proof_context:
                raise MalformedProofError("the proof's @context does not prefix the document's")
            document["@context"] = proof["@context"]
        return document

    def _signature(self, suite: Cryptosuite, proof: Mapping[str, Any], signature: bytes) -> Check:
        try:
            public_key = resolve_verification_method(
                proof["verificationMethod"],
                purpose=self.purpose,
                resolver=self.resolver,
                controller=self.controller,
            )
            if public_key.type != suite.key_type:
                raise MalformedProofError(f"{suite.name} needs an {suite.key_type} key")
            data = self.digests.hash_data(suite, self._signed_document(suite, proof), proof)
        except AccreditError as error:
            return Check.from_error(self.name, error)
        if not public_key.verify(signature, data):
            return Check.failed(
                self.name,
                "PROOF_INVALID",
                "the signature does not match the signed data",
                verificationMethod=proof["verificationMethod"],
            )
        return Check.passed(
            self.name,
            f"{suite.name} signature valid",
            verificationMethod=proof["verificationMethod"],
        )
