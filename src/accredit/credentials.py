"""Verifiable Credentials and Presentations: validate, issue, verify, present.

W3C VC Data Model 2.0 (``validFrom``/``validUntil``) and 1.1 (``issuanceDate``/
``expirationDate``). https://www.w3.org/TR/vc-data-model-2.0/

Verification never raises for an invalid credential: it returns a ``VerificationResult``
with every check. It raises only for input that is not a JSON object or is too deep, and
for misuse (a naive ``now``). It fails closed: anything it cannot check is a failed check.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from . import _json
from ._dates import parse_datetime, require_aware, utcnow
from .dids import Resolver, shared_resolver
from .errors import AccreditError, CanonicalizationLimitError, InputError, ValidationError
from .jsonld import DocumentLoader, check_contexts, check_size, default_document_loader, expand
from .keys import KeyPair
from .proofs import RECOMMENDED_SUITES, create_proof, get_suite, proofs_of, verify_proofs
from .proofs.ed25519_signature_2020 import ED25519_2020_CONTEXT
from .proofs.eddsa_rdfc_2022 import DATA_INTEGRITY_V2
from .results import Check, VerificationResult

CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"

# Checks the status layer plugs in: given a credential, the checks of its credentialStatus.
StatusChecker = Callable[[Mapping[str, Any]], Sequence[Check]]

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_DIGITS = re.compile(r"^[0-9]+$", re.ASCII)


# --- structure -------------------------------------------------------------------------------


def data_model_version(document: Mapping[str, Any]) -> Literal[1, 2]:
    """1 or 2, from the first ``@context`` entry. Raises ``ValidationError``."""
    context = document.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    if first == CREDENTIALS_V2:
        return 2
    if first == CREDENTIALS_V1:
        return 1
    raise ValidationError(
        f"@context must start with {CREDENTIALS_V2!r} (VC 2.0) or {CREDENTIALS_V1!r} (VC 1.1)",
        field="@context",
    )


def _require_url(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _URL.match(value):
        raise ValidationError(f"{field} must be a URL", field=field)
    return value


def types_of(document: Mapping[str, Any]) -> list[str]:
    """The document's ``type`` values (one string or a list), strings only."""
    value = document.get("type")
    return [t for t in (value if isinstance(value, list) else [value]) if isinstance(t, str)]


def _id_of(value: Any, field: str) -> str:
    """The id of a property that is a URL or an object with an ``id`` URL."""
    if isinstance(value, dict):
        return _require_url(value.get("id"), f"{field}.id")
    return _require_url(value, field)


def issuer_of(credential: Mapping[str, Any]) -> str:
    """The issuer's id (``issuer`` is a URL or an object with ``id``). Raises ``ValidationError``."""
    return _id_of(credential.get("issuer"), "issuer")


def _validate_status(credential: Mapping[str, Any]) -> None:
    status = credential.get("credentialStatus")
    if status is None:
        return
    for entry in status if isinstance(status, list) else [status]:
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise ValidationError("each credentialStatus needs a type", field="credentialStatus")
        if "id" in entry:
            _require_url(entry["id"], "credentialStatus.id")
        for key in ("statusListIndex", "statusSize"):
            # Status indexes are plain ASCII digit strings (Bitstring Status List §2.1):
            # no signs, no spaces, no non-ASCII digits that int() would happily accept.
            if key in entry and not (isinstance(entry[key], str) and _DIGITS.match(entry[key])):
                raise ValidationError(
                    f"credentialStatus.{key} must be a string of ASCII digits",
                    field=f"credentialStatus.{key}",
                )


# Properties whose objects VC Data Model 2.0 requires to name their ``type`` (§4.11 data
# schemas, §5.4 refreshing, §5.5 terms of use, §5.6 evidence); credentialSchema also its ``id``.
TYPED_PROPERTIES = ("credentialSchema", "refreshService", "termsOfUse", "evidence")


def _validate_typed_properties(credential: Mapping[str, Any]) -> None:
    for name in TYPED_PROPERTIES:
        if name not in credential:
            continue
        value = credential[name]
        for entry in value if isinstance(value, list) else [value]:
            if not isinstance(entry, dict):
                raise ValidationError(f"each {name} must be an object", field=name)
            if not types_of(entry):
                raise ValidationError(f"each {name} needs a type", field=f"{name}.type")
            if name == "credentialSchema":
                _require_url(entry.get("id"), f"{name}.id")


def _validate_related_resources(credential: Mapping[str, Any]) -> None:
    """VCDM 2.0 §5.3: each related resource is an object with an ``id`` URL and a
    ``digestSRI`` or ``digestMultibase`` (accredit never retrieves them to compare digests).
    An id listed twice is refused with every node described twice."""
    if "relatedResource" not in credential:
        return
    value = credential["relatedResource"]
    for entry in value if isinstance(value, list) else [value]:
        if not isinstance(entry, dict):
            raise ValidationError("each relatedResource must be an object", field="relatedResource")
        _require_url(entry.get("id"), "relatedResource.id")
        digests = [entry.get(name) for name in ("digestSRI", "digestMultibase") if name in entry]
        if not digests or not all(isinstance(d, str) and d for d in digests):
            raise ValidationError(
                "each relatedResource needs a digestSRI or digestMultibase string", field="relatedResource"
            )


def validity_window(credential: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a VC 2.0 or 1.1 credential, None where absent. Raises ``ValidationError``."""
    if data_model_version(credential) == 2:
        start_field, end_field = "validFrom", "validUntil"
    else:
        start_field, end_field = "issuanceDate", "expirationDate"
        if start_field not in credential:
            raise ValidationError("a VC 1.1 credential needs issuanceDate", field=start_field)
    start = parse_datetime(credential[start_field], start_field) if start_field in credential else None
    end = parse_datetime(credential[end_field], end_field) if end_field in credential else None
    if start and end and end < start:
        raise ValidationError(f"{end_field} is before {start_field}", field=end_field)
    return start, end


# Value objects ({"@value": ..., "@language": ...}) are the only place a JSON-LD keyword other
# than @context is accepted.
_VALUE_KEYWORDS = frozenset({"@value", "@language", "@direction", "@type"})


def _require_one_description_per_node(root: Mapping[str, Any], separate_graphs: Collection[str]) -> None:
    """Refuse JSON whose graph a verifier would read differently from the JSON itself.

    One RDF graph has many JSON-LD spellings: a node's properties may sit in ``@included``,
    ``@nest`` or ``@reverse``, or in a second object with the same ``id`` anywhere in the tree.
    An RDF proof verifies every spelling, but code reading the JSON would miss what was moved
    (a holder could hide ``validUntil`` or ``credentialStatus``). So each node is described in
    exactly one JSON object. ``separate_graphs`` are top-level members holding other graphs
    (proofs, embedded credentials), checked on their own.
    """
    described: set[str] = set()
    stack: list[tuple[Any, str]] = [(root, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            ids = [item.get("id") for item in node if isinstance(item, dict) and "id" in item]
            if len(ids) != len({str(i) for i in ids}):
                raise ValidationError("a list holds the same node twice", field=path)
            stack.extend((item, f"{path}[{index}]") for index, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        value_object = "@value" in node
        for key in node:
            if key.startswith("@") and key != "@context" and not (value_object and key in _VALUE_KEYWORDS):
                raise ValidationError(
                    f"the JSON-LD keyword {key} is not accepted in a credential",
                    field=f"{path}.{key}" if path else key,
                )
        node_id = node.get("id")
        if isinstance(node_id, str) and set(node) - {"id"}:
            if node_id in described:
                raise ValidationError(
                    f"node {node_id} is described in more than one place",
                    field=f"{path}.id" if path else "id",
                )
            described.add(node_id)
        for key, value in node.items():
            if key != "@context" and not (node is root and key in separate_graphs):
                stack.append((value, f"{path}.{key}" if path else key))
    for key in separate_graphs:
        if key == "proof":
            for proof in (
                root.get("proof", []) if isinstance(root.get("proof"), list) else [root.get("proof")]
            ):
                if isinstance(proof, dict):
                    _require_one_description_per_node(proof, ())


def validate_credential(credential: Any) -> None:
    """Check the VC data model's required structure. Raises ``ValidationError`` naming the field."""
    if not isinstance(credential, dict):
        raise ValidationError("a credential must be a JSON object")
    data_model_version(credential)
    if "VerifiableCredential" not in types_of(credential):
        raise ValidationError("type must include 'VerifiableCredential'", field="type")
    if "id" in credential:
        _require_url(credential["id"], "id")
    issuer_of(credential)
    subjects = credential.get("credentialSubject")
    subjects = subjects if isinstance(subjects, list) else [subjects]
    if not subjects or not all(isinstance(s, dict) and s for s in subjects):
        raise ValidationError(
            "credentialSubject must be a non-empty object or list of objects", field="credentialSubject"
        )
    for subject in subjects:
        if "id" in subject:
            _require_url(subject["id"], "credentialSubject.id")
    validity_window(credential)
    _validate_status(credential)
    _validate_typed_properties(credential)
    _validate_related_resources(credential)
    _require_one_description_per_node(credential, ("proof",))


def holder_of(presentation: Mapping[str, Any]) -> str | None:
    """The presentation's holder: its ``holder`` id, or, when it names none, the DID that
    controls its proofs' verification method (VCDM 2.0 §4.13 leaves ``holder`` optional).

    None when neither tells: no holder and no proof, or proofs by different DIDs. The proof
    check then binds the signature to this DID, so the holder is authenticated either way.
    Raises ``ValidationError`` for a malformed ``holder``.
    """
    holder = presentation.get("holder")
    if holder is not None:
        return _id_of(holder, "holder")
    signers = {
        proof["verificationMethod"].split("#", 1)[0]
        for proof in proofs_of(presentation)
        if isinstance(proof, dict) and isinstance(proof.get("verificationMethod"), str)
    }
    return signers.pop() if len(signers) == 1 else None


def embedded_credentials(presentation: Mapping[str, Any]) -> list[Any]:
    value = presentation.get("verifiableCredential", [])
    return value if isinstance(value, list) else [value]


def validate_presentation(presentation: Any) -> None:
    """Check a presentation's structure (not its credentials). Raises ``ValidationError``."""
    if not isinstance(presentation, dict):
        raise ValidationError("a presentation must be a JSON object")
    data_model_version(presentation)
    if "VerifiablePresentation" not in types_of(presentation):
        raise ValidationError("type must include 'VerifiablePresentation'", field="type")
    if "id" in presentation:
        _require_url(presentation["id"], "id")
    holder_of(presentation)
    if not all(isinstance(vc, dict) for vc in embedded_credentials(presentation)):
        raise ValidationError(
            "verifiableCredential must hold credential objects", field="verifiableCredential"
        )
    _require_one_description_per_node(presentation, ("proof", "verifiableCredential"))


def _as_json_object(document: Any, what: str) -> dict[str, Any]:
    """A private deep copy of a JSON object, bounded in depth. Raises ``InputError``."""
    if not isinstance(document, dict):
        raise InputError(f"a {what} must be a JSON object")
    _json.check_depth(document)
    return copy.deepcopy(document)


# --- issuing ---------------------------------------------------------------------------------


def _with_suite_context(document: dict[str, Any], suite_name: str) -> None:
    # A VC 1.1 document does not define DataIntegrityProof, nor does VC 2.0 define
    # Ed25519Signature2020: add the context that does, as the reference libraries do.
    suite = get_suite(suite_name)
    context = document["@context"] if isinstance(document["@context"], list) else [document["@context"]]
    if not any(url in context for url in suite.suite_contexts):
        wanted = ED25519_2020_CONTEXT if suite.cryptosuite is None else DATA_INTEGRITY_V2
        document["@context"] = [*context, wanted]


def _check_signable(document: Mapping[str, Any], suite_name: str, loader: DocumentLoader) -> None:
    suite = get_suite(suite_name)
    check_contexts(document, loader, allow_inline=not suite.signs_rdf)
    if not suite.signs_rdf:
        expand(document, loader)  # RDF suites run the same safe-mode check when canonicalizing


def issue_credential(
    credential: Mapping[str, Any],
    key: KeyPair,
    *,
    suite: str = "eddsa-rdfc-2022",
    created: datetime | None = None,
    expires: datetime | None = None,
    purpose: str = "assertionMethod",
    document_loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """Sign ``credential`` as its issuer with ``key``; return the verifiable credential.

    ``issuer`` defaults to the key's controller and must equal it when given. Verifiers
    require ``purpose`` to be ``assertionMethod``; another purpose is for tests. Raises
    ``ValidationError`` (structure, dates, issuer), ``JsonLdError`` subclasses (unknown
    context, undefined term) and ``ProofError`` — never signs what a verifier would refuse.
    """
    document = _as_json_object(credential, "credential")
    document.setdefault("issuer", key.controller)
    validate_credential(document)
    if issuer_of(document) != key.controller:
        raise ValidationError(
            f"issuer {issuer_of(document)!r} is not the controller of the signing key ({key.controller!r})",
            field="issuer",
        )
    loader = document_loader or default_document_loader()
    _with_suite_context(document, suite)
    _check_signable(document, suite, loader)
    proof = create_proof(
        document, key, document_loader=loader, suite=suite, purpose=purpose, created=created, expires=expires
    )
    existing = proofs_of(document)
    document["proof"] = [*existing, proof] if existing else proof
    return document


def sign_presentation(
    credentials: Sequence[Mapping[str, Any]],
    key: KeyPair,
    *,
    challenge: str,
    domain: str,
    suite: str = "eddsa-rdfc-2022",
    presentation_id: str | None = None,
    created: datetime | None = None,
    expires: datetime | None = None,
    document_loader: DocumentLoader | None = None,
) -> dict[str, Any]:
    """A presentation of ``credentials`` by the key's controller, bound to ``challenge`` and
    ``domain`` (proof purpose ``authentication``).

    The presentation uses VC 2.0 unless every credential is VC 1.1. Raises like
    ``issue_credential``.
    """
    if not challenge or not domain:
        raise ValidationError("a presentation needs a non-empty challenge and domain")
    embedded = [_as_json_object(vc, "credential") for vc in credentials]
    version = 1 if embedded and all(data_model_version(vc) == 1 for vc in embedded) else 2
    presentation: dict[str, Any] = {
        "@context": [CREDENTIALS_V1 if version == 1 else CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
    }
    if presentation_id:
        presentation["id"] = presentation_id
    presentation["holder"] = key.controller
    if embedded:
        presentation["verifiableCredential"] = embedded
    validate_presentation(presentation)
    loader = document_loader or default_document_loader()
    _with_suite_context(presentation, suite)
    _check_signable(presentation, suite, loader)
    presentation["proof"] = create_proof(
        presentation,
        key,
        document_loader=loader,
        suite=suite,
        purpose="authentication",
        created=created,
        expires=expires,
        challenge=challenge,
        domain=domain,
    )
    return presentation


# --- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyOptions:
    """What a verification accepts and with which collaborators.

    ``now`` defaults to the current time; ``max_clock_skew`` widens validity windows by that
    much on both sides. ``accepted_suites`` defaults to the recommended cryptosuites.
    Inline contexts are refused for RDF-signed proofs unless ``allow_inline_contexts``.
    A credential with ``credentialStatus`` fails (``STATUS_UNCHECKED``) without a
    ``status_checker``.
    """

    resolver: Resolver = field(default_factory=shared_resolver)
    document_loader: DocumentLoader = field(default_factory=default_document_loader)
    now: datetime | None = None
    max_clock_skew: timedelta = timedelta(0)
    accepted_suites: Collection[str] = RECOMMENDED_SUITES
    allow_inline_contexts: bool = False
    status_checker: StatusChecker | None = None

    def __post_init__(self) -> None:
        if self.now is not None:
            require_aware(self.now, "now")

    def moment(self) -> datetime:
        return self.now or utcnow()


def _context_checks(document: Mapping[str, Any], options: VerifyOptions) -> list[Check]:
    proofs = [p for p in proofs_of(document) if isinstance(p, dict)]
    signs_rdf = any(
        p.get("type") != "DataIntegrityProof" or p.get("cryptosuite") != "eddsa-jcs-2022" for p in proofs
    )
    try:
        check_contexts(
            document, options.document_loader, allow_inline=options.allow_inline_contexts or not signs_rdf
        )
        if not signs_rdf:
            expand(document, options.document_loader)
    except AccreditError as error:
        return [Check.from_error("context", error)]
    return [Check.passed("context")]


def _validity_checks(credential: Mapping[str, Any], options: VerifyOptions) -> list[Check]:
    start, end = validity_window(credential)
    now, skew = options.moment(), options.max_clock_skew
    evidence: dict[str, Any] = {
        "now": now,
        "validFrom": start,
        "validUntil": end,
        "maxClockSkew": skew.total_seconds(),
    }
    if start is not None and now + skew < start:
        return [Check.failed("validity", "NOT_YET_VALID", "the credential is not valid yet", **evidence)]
    if end is not None and now - skew > end:
        return [Check.failed("validity", "EXPIRED", "the credential has expired", **evidence)]
    return [Check.passed("validity", **{k: v for k, v in evidence.items() if v is not None})]


def _status_checks(credential: Mapping[str, Any], options: VerifyOptions) -> list[Check]:
    if "credentialStatus" not in credential:
        return []
    if options.status_checker is None:
        return [
            Check.failed(
                "status",
                "STATUS_UNCHECKED",
                "the credential has a credentialStatus and no status checker was given",
            )
        ]
    return list(options.status_checker(credential))


def _skip_all(reason: Check) -> list[Check]:
    return [reason] + [
        Check.skipped(name, "NOT_CHECKED", "not checked: the document is malformed")
        for name in ("context", "proof")
    ]


def _size_refusal(document: Any) -> list[Check]:
    """A failed ``size`` check for a document over the JSON-LD size limits, measured on the
    JSON before it is copied or processed (issue 13); empty when within them."""
    try:
        check_size(document)
    except CanonicalizationLimitError as error:
        return [Check.from_error("size", error)] + [
            Check.skipped(name, "NOT_CHECKED", "not checked: the document is too large")
            for name in ("dataModel", "context", "proof")
        ]
    return []


def _credential_checks(credential: dict[str, Any], options: VerifyOptions) -> list[Check]:
    try:
        validate_credential(credential)
    except ValidationError as error:
        return _skip_all(Check.from_error("dataModel", error))
    checks = [Check.passed("dataModel", version=data_model_version(credential))]
    checks += _context_checks(credential, options)
    checks += verify_proofs(
        credential,
        purpose="assertionMethod",
        controller=issuer_of(credential),
        resolver=options.resolver,
        document_loader=options.document_loader,
        accepted_suites=options.accepted_suites,
        now=options.moment(),
        max_clock_skew=options.max_clock_skew,
    )
    checks += _validity_checks(credential, options)
    checks += _status_checks(credential, options)
    return checks


def verify_credential(
    credential: Any, options: VerifyOptions | None = None, **kwargs: Any
) -> VerificationResult:
    """Verify a credential's structure, contexts, proofs, validity window and status.

    Options are a ``VerifyOptions`` or its fields as keywords. Returns a result listing
    every check; raises only ``InputError`` (not a JSON object, too deep) and
    ``ValidationError`` for a naive ``now``.
    """
    opts = options or VerifyOptions(**kwargs)
    refusal = _size_refusal(credential) if isinstance(credential, dict) else []
    if refusal:
        return VerificationResult.of("credential", refusal)
    document = _as_json_object(credential, "credential")
    return VerificationResult.of("credential", _credential_checks(document, opts))


def _holder_check(presentation: Mapping[str, Any], holder: str | None) -> Check:
    if holder is None:
        return Check.failed(
            "holder",
            "HOLDER_MISMATCH",
            "the presentation names no holder and its proofs name no single signer to take as the holder",
        )
    named = "holder" in presentation
    return Check.passed("holder", holder=holder, source="holder" if named else "proof.verificationMethod")


def verify_presentation(
    presentation: Any,
    options: VerifyOptions | None = None,
    *,
    challenge: str,
    domain: str | None,
    **kwargs: Any,
) -> VerificationResult:
    """Verify a presentation: its holder's proof (purpose ``authentication``, bound to
    ``challenge`` and, unless ``domain`` is None, to ``domain``) and every embedded credential.

    Embedded credentials' checks appear prefixed ``verifiableCredential[i].``. Raises only
    like ``verify_credential``.
    """
    opts = options or VerifyOptions(**kwargs)
    refusal = _size_refusal(presentation) if isinstance(presentation, dict) else []
    if refusal:
        return VerificationResult.of("presentation", refusal)
    document = _as_json_object(presentation, "presentation")
    try:
        validate_presentation(document)
    except ValidationError as error:
        return VerificationResult.of("presentation", _skip_all(Check.from_error("dataModel", error)))
    holder = holder_of(document)
    checks = [
        Check.passed("dataModel", version=data_model_version(document)),
        _holder_check(document, holder),
    ]
    checks += _context_checks(document, opts)
    if holder is None:
        # No DID to bind the proofs to: the holder check above already failed, and checking
        # them against no one would only add a misleading "does not belong to ''".
        checks.append(Check.skipped("proof", "NOT_CHECKED", "not checked: the presentation has no holder"))
    else:
        checks += verify_proofs(
            document,
            purpose="authentication",
            controller=holder,
            resolver=opts.resolver,
            document_loader=opts.document_loader,
            accepted_suites=opts.accepted_suites,
            challenge=challenge,
            domain=domain,
            now=opts.moment(),
            max_clock_skew=opts.max_clock_skew,
        )
    for index, credential in enumerate(embedded_credentials(document)):
        prefix = f"verifiableCredential[{index}]"
        checks += [c.prefixed(prefix) for c in _credential_checks(credential, opts)]
    return VerificationResult.of("presentation", checks)
