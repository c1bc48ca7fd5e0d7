"""The agent vocabulary: AgentCredential, MandateCredential and delegation, ActionReceipt,
EventAttestation — on the JSON-LD context ``https://accredit.dev/contexts/agents/v1``.

Builders (``agent_credential``, ``mandate_credential``, ``action_receipt``,
``event_attestation``) return unsigned credentials for ``issue_credential``. Readers
(``AgentIdentity``, ``Mandate``, ``Receipt``, ``Event``: ``.from_credential``) turn credentials
into frozen values and raise ``ValidationError`` naming the field. ``check_delegation`` and
``check_attenuation`` judge one delegation link; ``verify_receipt_chain`` audits an agent's
hash-chained receipts. The shapes are documented, with signed examples, in ``docs/agents.md``.

Why the readers are strict: an eddsa-rdfc-2022 signature covers the RDF graph, not the JSON,
and one graph has many JSON spellings. A holder could move ``transactionLimit`` into an
``@included`` node, or split the subject into two objects with one id: the proof would still
verify while a JSON reader saw no limit. So the readers refuse JSON-LD keywords other than
``@context``, a list of subjects, and every property they do not know — what they read is
then the only reading of the signed graph. References between credentials carry the digest
of the referenced JSON itself (RFC 8785), which pins its exact spelling.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict
from urllib.parse import unquote

from . import _jcs
from ._dates import format_datetime, parse_datetime, require_aware
from .credentials import CREDENTIALS_V2, VerifyOptions, issuer_of, validate_credential, verify_credential
from .errors import AccreditError, ValidationError
from .results import Check, VerificationResult

__all__ = [
    "ACTION_RECEIPT",
    "AGENTS_CONTEXT",
    "AGENT_CREDENTIAL",
    "EVENT_ATTESTATION",
    "MANDATE_CREDENTIAL",
    "VOCAB",
    "AgentIdentity",
    "Build",
    "Contact",
    "Counterparties",
    "Event",
    "Evidence",
    "Location",
    "Mandate",
    "Money",
    "Party",
    "Receipt",
    "Reference",
    "action_receipt",
    "agent_credential",
    "check_attenuation",
    "check_delegation",
    "credential_digest",
    "digest_multibase",
    "event_attestation",
    "file_evidence",
    "mandate_credential",
    "receipt_digest",
    "verify_receipt_chain",
]

AGENTS_CONTEXT = "https://accredit.dev/contexts/agents/v1"
VOCAB = "https://accredit.dev/vocab#"
AGENT_CREDENTIAL = "AgentCredential"
MANDATE_CREDENTIAL = "MandateCredential"
ACTION_RECEIPT = "ActionReceipt"
EVENT_ATTESTATION = "EventAttestation"
_SUBJECT_TYPE = {
    AGENT_CREDENTIAL: "Agent",
    MANDATE_CREDENTIAL: "AgentMandate",
    ACTION_RECEIPT: "AgentAction",
    EVENT_ATTESTATION: "PhysicalEvent",
}
MAX_DELEGATION_DEPTH = 16

_CREDENTIAL_KEYS = frozenset(
    {"@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject"}
    | {"credentialStatus", "proof", "name", "description"}
)
_SHA256_MULTIHASH = b"\x12\x20"
_DIGEST = re.compile(r"^u[A-Za-z0-9_-]{46}$", re.ASCII)
_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$", re.ASCII)
_CURRENCY = re.compile(r"^[A-Z]{3}$", re.ASCII)
_ACTION = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$", re.ASCII)
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")
_COORDINATE = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{1,10})?$", re.ASCII)


# --- JSON shapes ------------------------------------------------------------------------------


class Party(TypedDict, total=False):
    """An organization or person: ``id`` (a DID) and/or ``name``."""

    id: str
    name: str


class Build(TypedDict, total=False):
    """Which build an agent is: product ``name``, AI ``model``, ``version``, and the
    ``digestMultibase`` of its code or configuration where known."""

    name: str
    model: str
    version: str
    digestMultibase: str


class Contact(TypedDict, total=False):
    """A person or role to reach: ``name``, ``role``, ``email``, ``url`` (mailto:, tel:, https:)."""

    name: str
    role: str
    email: str
    url: str


class Location(TypedDict, total=False):
    """Where an event happened: ``name``, ``address``, ``latitude``/``longitude`` as decimal strings."""

    name: str
    address: str
    latitude: str
    longitude: str


class Evidence(TypedDict):
    """A file that backs an attestation, by digest: ``{"type": "FileEvidence", ...}``."""

    type: str
    name: str
    mediaType: str
    digestMultibase: str


# --- digests ----------------------------------------------------------------------------------


def digest_multibase(data: bytes) -> str:
    """The ``digestMultibase`` of ``data``: a SHA-256 multihash, multibase base64url (``u…``),
    as VC Data Model 2.0 §5.3 writes digests."""
    digest = _SHA256_MULTIHASH + hashlib.sha256(data).digest()
    return "u" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def credential_digest(credential: Mapping[str, Any]) -> str:
    """``digest_multibase`` of a credential's RFC 8785 canonical JSON, proof included, so it
    names exactly one signed document. Raises ``InputError`` for values that are not JSON."""
    return digest_multibase(_jcs.canonicalize(credential))


def receipt_digest(receipt: Mapping[str, Any]) -> str:
    """The digest a receipt's successor names in ``previousReceipt`` (``credential_digest``)."""
    return credential_digest(receipt)


def file_evidence(name: str, media_type: str, data: bytes) -> Evidence:
    """An ``evidence`` entry for a file (a photo, a scan), carrying only its digest."""
    return {
        "type": "FileEvidence",
        "name": name,
        "mediaType": media_type,
        "digestMultibase": digest_multibase(data),
    }


# --- strict JSON reading ----------------------------------------------------------------------


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError(f"{field} must be a JSON object", field=field)
    return value


def _only(
    value: Any, field: str, allowed: Collection[str], required: Collection[str] = ()
) -> Mapping[str, Any]:
    obj = _object(value, field)
    unexpected = sorted(set(obj) - set(allowed))
    if unexpected:
        raise ValidationError(
            f"{field} has properties this vocabulary does not define: {unexpected}", field=field
        )
    missing = sorted(set(required) - set(obj))
    if missing:
        raise ValidationError(f"{field} needs {missing}", field=field)
    return obj


def _text(obj: Mapping[str, Any], key: str, field: str, pattern: re.Pattern[str] | None = None) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value or (pattern is not None and not pattern.match(value)):
        raise ValidationError(f"{field}.{key} must be a well-formed non-empty string", field=f"{field}.{key}")
    return value


def _texts(
    obj: Mapping[str, Any], field: str, patterns: Mapping[str, re.Pattern[str] | None]
) -> dict[str, str]:
    return {key: _text(obj, key, field, pattern) for key, pattern in patterns.items() if key in obj}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _subject(credential: Any, credential_type: str, extra_keys: Collection[str] = ()) -> Mapping[str, Any]:
    """The single subject of a credential of ``credential_type``, after the strictness checks."""
    document = _only(credential, "credential", _CREDENTIAL_KEYS | set(extra_keys), {"@context", "id", "type"})
    validate_credential(document)  # the core's structure, and no JSON-LD that hides part of the graph
    types = _as_list(document["type"])
    if "VerifiableCredential" not in types or credential_type not in types:
        raise ValidationError(f"type must include VerifiableCredential and {credential_type}", field="type")
    if AGENTS_CONTEXT not in _as_list(document["@context"]):
        raise ValidationError(f"@context must include {AGENTS_CONTEXT}", field="@context")
    _text(document, "id", "credential", _URL)
    subject = _object(document.get("credentialSubject"), "credentialSubject")
    if _as_list(subject.get("type")) != [_SUBJECT_TYPE[credential_type]]:
        raise ValidationError(
            f"credentialSubject.type must be {_SUBJECT_TYPE[credential_type]!r}",
            field="credentialSubject.type",
        )
    return subject


def _window(credential: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
    start, end = credential.get("validFrom"), credential.get("validUntil")
    return (
        None if start is None else parse_datetime(start, "validFrom"),
        None if end is None else parse_datetime(end, "validUntil"),
    )


def _new_credential(
    credential_type: str,
    issuer: str,
    subject: dict[str, Any],
    credential_id: str | None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": [CREDENTIALS_V2, AGENTS_CONTEXT],
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", credential_type],
        "issuer": issuer,
    }
    if valid_from is not None:
        document["validFrom"] = format_datetime(valid_from)
    if valid_until is not None:
        document["validUntil"] = format_datetime(valid_until)
    identifier = {"id": subject["id"]} if "id" in subject else {}
    document["credentialSubject"] = {**identifier, "type": _SUBJECT_TYPE[credential_type], **subject}
    return document


# --- values -----------------------------------------------------------------------------------


def _parse_amount(value: Any, field: str) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise ValidationError(
            f"{field} must be a decimal string such as '250000.00' (no sign, exponent or spaces)", field=field
        )
    return Decimal(value)


@dataclass(frozen=True)
class Money:
    """An exact amount in an ISO 4217 currency; JSON ``{"amount": "250000.00", "currency": "USD"}``.

    Amounts are ``Decimal`` from decimal strings, never floats, so the signed string is the
    compared value. Raises ``ValidationError`` for a negative, non-finite or oversized amount
    or a currency that is not three capital letters.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationError("amount must be a finite Decimal", field="amount")
        _parse_amount(format(self.amount, "f"), "amount")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ValidationError("currency must be an ISO 4217 code such as 'USD'", field="currency")

    @classmethod
    def of(cls, amount: str | Decimal, currency: str) -> Money:
        """From a decimal string (``"250000.00"``) or a ``Decimal``. Raises ``ValidationError``."""
        return cls(_parse_amount(amount, "amount") if isinstance(amount, str) else amount, currency)

    @classmethod
    def from_json(cls, value: Any, field: str) -> Money:
        obj = _only(value, field, {"amount", "currency"}, {"amount", "currency"})
        return cls(_parse_amount(obj["amount"], f"{field}.amount"), _text(obj, "currency", field, _CURRENCY))

    def to_json(self) -> dict[str, str]:
        return {"amount": format(self.amount, "f"), "currency": self.currency}

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


@dataclass(frozen=True)
class Reference:
    """A link to one exact credential: its ``id`` and the ``digestMultibase`` of its JSON."""

    id: str
    digest: str

    @classmethod
    def to(cls, credential: Mapping[str, Any]) -> Reference:
        """A reference to a (signed) credential. Raises ``ValidationError`` if it has no id."""
        return cls(_text(credential, "id", "credential", _URL), credential_digest(credential))

    @classmethod
    def from_json(cls, value: Any, field: str) -> Reference:
        obj = _only(value, field, {"id", "digestMultibase"}, {"id", "digestMultibase"})
        return cls(_text(obj, "id", field, _URL), _text(obj, "digestMultibase", field, _DIGEST))

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "digestMultibase": self.digest}


def _web_host(did: str) -> str | None:
    if not did.startswith("did:web:"):
        return None
    host = unquote(did[len("did:web:") :].split(":", 1)[0]).split(":", 1)[0].lower()
    return host if _DOMAIN.match(host) else None


def _within(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


@dataclass(frozen=True)
class Counterparties:
    """Whom an agent may deal with: exact DIDs, and DNS names whose ``did:web`` DIDs (the name
    or any subdomain of it) are allowed. JSON: ``[{"id": "did:…"}, {"domain": "suppliers.example"}]``.
    """

    dids: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *entries: str) -> Counterparties:
        """From DIDs (``did:…``) and domain names. Raises ``ValidationError``."""
        dids = frozenset(e for e in entries if e.startswith("did:"))
        domains = frozenset(e for e in entries if not e.startswith("did:"))
        for domain in domains:
            if not _DOMAIN.match(domain):
                raise ValidationError(
                    f"{domain!r} is neither a DID nor a lower-case domain name", field="counterparties"
                )
        if not entries:
            raise ValidationError("name at least one counterparty", field="counterparties")
        return cls(dids, domains)

    @classmethod
    def from_json(cls, value: Any, field: str) -> Counterparties:
        if not isinstance(value, list) or not value:
            raise ValidationError(f"{field} must be a non-empty list", field=field)
        entries = []
        for position, item in enumerate(value):
            entry = _only(item, f"{field}[{position}]", {"id", "domain"})
            if len(entry) != 1:
                raise ValidationError(f"{field}[{position}] needs exactly one of id, domain", field=field)
            key = next(iter(entry))
            entries.append(
                _text(entry, key, f"{field}[{position}]", re.compile("^did:") if key == "id" else _DOMAIN)
            )
        return cls.of(*entries)

    def to_json(self) -> list[dict[str, str]]:
        return [{"id": did} for did in sorted(self.dids)] + [{"domain": d} for d in sorted(self.domains)]

    def allows(self, did: str) -> bool:
        """True if ``did`` is listed, or is a ``did:web`` under an allowed domain."""
        host = _web_host(did)
        return did in self.dids or (host is not None and any(_within(host, d) for d in self.domains))

    def covers(self, other: Counterparties) -> bool:
        """True if every counterparty ``other`` allows, this allows too."""
        return all(self.allows(did) for did in other.dids) and all(
            any(_within(name, d) for d in self.domains) for name in other.domains
        )


# --- AgentCredential --------------------------------------------------------------------------


def _party(value: Any, field: str) -> dict[str, str]:
    party = _texts(_only(value, field, {"id", "name"}), field, {"id": _URL, "name": None})
    if not party:
        raise ValidationError(f"{field} needs an id or a name", field=field)
    return party


def _contact(value: Any, field: str) -> dict[str, str]:
    contact = _texts(
        _only(value, field, {"name", "role", "email", "url"}),
        field,
        {"name": None, "role": None, "email": None, "url": _URL},
    )
    if not contact:
        raise ValidationError(f"{field} needs at least one of name, role, email, url", field=field)
    return contact


def _build(value: Any, field: str) -> dict[str, str]:
    obj = _only(value, field, {"name", "model", "version", "digestMultibase"}, {"name"})
    return _texts(obj, field, {"name": None, "model": None, "version": None, "digestMultibase": _DIGEST})


@dataclass(frozen=True)
class AgentIdentity:
    """An AgentCredential, read: which agent, for whom it acts, who built it and which build it
    is, who answers for it, and the ``kill_switch`` status entry that stops it.

    ``kill_switch`` is None unless ``governance.killSwitch`` names one of the credential's own
    ``credentialStatus`` entries — the only ones a verifier checks.
    """

    id: str
    issuer: str
    agent: str
    acts_for: Mapping[str, str]
    built_by: Mapping[str, str]
    build: Mapping[str, str]
    liability_contact: Mapping[str, str]
    escalation_contact: Mapping[str, str]
    kill_switch: str | None
    digest: str

    @classmethod
    def from_credential(cls, credential: Any) -> AgentIdentity:
        """Read an AgentCredential. Raises ``ValidationError`` naming the field."""
        subject = _only(
            _subject(credential, AGENT_CREDENTIAL),
            "credentialSubject",
            {"id", "type", "actsFor", "builtBy", "build", "liabilityContact", "governance"},
            {"id", "actsFor", "builtBy", "build", "liabilityContact", "governance"},
        )
        governance = _only(
            subject["governance"], "governance", {"escalationContact", "killSwitch"}, {"escalationContact"}
        )
        kill_switch = governance.get("killSwitch")
        entries = _as_list(credential.get("credentialStatus", []))
        status_ids = [e.get("id") for e in entries if isinstance(e, dict)]
        return cls(
            id=credential["id"],
            issuer=issuer_of(credential),
            agent=_text(subject, "id", "credentialSubject", _URL),
            acts_for=_party(subject["actsFor"], "actsFor"),
            built_by=_party(subject["builtBy"], "builtBy"),
            build=_build(subject["build"], "build"),
            liability_contact=_contact(subject["liabilityContact"], "liabilityContact"),
            escalation_contact=_contact(governance["escalationContact"], "governance.escalationContact"),
            kill_switch=kill_switch if isinstance(kill_switch, str) and kill_switch in status_ids else None,
            digest=credential_digest(credential),
        )


def agent_credential(
    *,
    agent: str,
    organization: Party,
    built_by: Party,
    build: Build,
    liability_contact: Contact,
    escalation_contact: Contact,
    kill_switch: Mapping[str, Any],
    valid_from: datetime,
    valid_until: datetime | None = None,
    status: Sequence[Mapping[str, Any]] = (),
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned AgentCredential from ``organization`` (its ``id`` is the issuer) to ``agent``.

    ``kill_switch`` is a status entry (``accredit.status.status_entry``, usually purpose
    ``suspension``): it goes into ``credentialStatus`` with ``status`` and is named by
    ``governance.killSwitch``. Raises ``ValidationError`` for a malformed field.
    """
    subject = {
        "id": agent,
        "actsFor": dict(organization),
        "builtBy": dict(built_by),
        "build": dict(build),
        "liabilityContact": dict(liability_contact),
        "governance": {"escalationContact": dict(escalation_contact), "killSwitch": kill_switch.get("id")},
    }
    issuer = organization.get("id")
    if not isinstance(issuer, str):
        raise ValidationError("organization needs an id: the issuer's DID", field="organization")
    document = _new_credential(AGENT_CREDENTIAL, issuer, subject, credential_id, valid_from, valid_until)
    document["credentialStatus"] = [dict(kill_switch), *map(dict, status)]
    if AgentIdentity.from_credential(document).kill_switch is None:
        raise ValidationError("kill_switch must be a status entry with an id", field="kill_switch")
    return document


# --- MandateCredential ------------------------------------------------------------------------


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


# --- ActionReceipt ----------------------------------------------------------------------------


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


def _mandate_check(name: str, receipt: Receipt, mandates: Mapping[Reference, Mandate]) -> Check:
    mandate = mandates.get(receipt.mandate)
    if mandate is None:
        return Check.failed(
            f"{name}.mandate",
            "RECEIPT_MANDATE_UNKNOWN",
            "the receipt names a mandate not given",
            mandate=receipt.mandate.id,
        )
    if mandate.agent != receipt.agent or receipt.action not in mandate.actions:
        return Check.failed(
            f"{name}.mandate",
            "ACTION_NOT_PERMITTED",
            f"{receipt.action!r} by {receipt.agent} is not permitted by mandate {mandate.id}",
            action=receipt.action,
        )
    return Check.passed(f"{name}.mandate", mandate=mandate.id)


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
    action. Checks are named ``receipts[i]...``. Raises ``InputError`` for a receipt that is
    not a JSON object and ``ValidationError`` for a malformed ``anchor`` or mandate.
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
            checks.append(_mandate_check(name, current, known))
        previous = current
    return VerificationResult.of("receiptChain", checks)


# --- EventAttestation -------------------------------------------------------------------------


def _location(value: Any) -> dict[str, str]:
    obj = _only(value, "location", {"name", "address", "latitude", "longitude"}, {"name"})
    return _texts(
        obj, "location", {"name": None, "address": None, "latitude": _COORDINATE, "longitude": _COORDINATE}
    )


def _evidence(value: Any) -> tuple[Evidence, ...]:
    items = []
    for position, item in enumerate(_as_list(value)):
        field = f"evidence[{position}]"
        obj = _only(
            item,
            field,
            {"type", "name", "mediaType", "digestMultibase"},
            {"type", "name", "mediaType", "digestMultibase"},
        )
        if obj["type"] != "FileEvidence":
            raise ValidationError(f"{field}.type must be 'FileEvidence'", field=field)
        items.append(
            Evidence(
                type="FileEvidence",
                name=_text(obj, "name", field),
                mediaType=_text(obj, "mediaType", field),
                digestMultibase=_text(obj, "digestMultibase", field, _DIGEST),
            )
        )
    return tuple(items)


@dataclass(frozen=True)
class Event:
    """An EventAttestation, read: ``device`` attests ``event_type`` (on ``object``) at
    ``location`` and ``occurred_at``, with ``outcome`` and the digests of its ``evidence``."""

    id: str
    device: str
    event_type: str
    occurred_at: datetime
    location: Mapping[str, str]
    object: str | None
    outcome: str | None
    evidence: tuple[Evidence, ...]

    @classmethod
    def from_credential(cls, credential: Any) -> Event:
        """Read an EventAttestation. Raises ``ValidationError`` naming the field."""
        subject = _only(
            _subject(credential, EVENT_ATTESTATION, {"evidence"}),
            "credentialSubject",
            {"type", "eventType", "object", "occurredAt", "location", "outcome"},
            {"eventType", "occurredAt", "location"},
        )
        fields = _texts(subject, "credentialSubject", {"object": None, "outcome": None})
        return cls(
            id=credential["id"],
            device=issuer_of(credential),
            event_type=_text(subject, "eventType", "credentialSubject", _ACTION),
            occurred_at=parse_datetime(subject["occurredAt"], "occurredAt"),
            location=_location(subject["location"]),
            object=fields.get("object"),
            outcome=fields.get("outcome"),
            evidence=_evidence(credential.get("evidence", [])),
        )


def event_attestation(
    *,
    device: str,
    event_type: str,
    occurred_at: datetime,
    location: Location,
    evidence: Sequence[Evidence] = (),
    object_ref: str | None = None,
    outcome: str | None = None,
    valid_from: datetime | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """An unsigned EventAttestation issued by ``device`` (which holds its own AgentCredential)
    about a physical-world event. ``evidence`` entries come from ``file_evidence``.
    Raises ``ValidationError`` for a malformed field."""
    require_aware(occurred_at, "occurred_at")
    subject: dict[str, Any] = {"eventType": event_type}
    if object_ref is not None:
        subject["object"] = object_ref
    subject["occurredAt"] = format_datetime(occurred_at)
    subject["location"] = dict(location)
    if outcome is not None:
        subject["outcome"] = outcome
    document = _new_credential(EVENT_ATTESTATION, device, subject, credential_id, valid_from or occurred_at)
    if evidence:
        document["evidence"] = [dict(item) for item in evidence]
    Event.from_credential(document)
    return document
