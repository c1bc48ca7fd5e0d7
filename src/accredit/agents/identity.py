"""AgentCredential: which agent, for whom it acts, who built it, who answers for it, and
its kill switch — the JSON shapes it is built from (``Party``, ``Build``, ``Contact``), the
reader ``AgentIdentity`` and the builder ``agent_credential``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from ..credentials import issuer_of
from ..errors import ValidationError
from ._vocabulary import (
    _DIGEST,
    _URL,
    AGENT_CREDENTIAL,
    _as_list,
    _new_credential,
    _only,
    _subject,
    _text,
    _texts,
    credential_digest,
)


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
