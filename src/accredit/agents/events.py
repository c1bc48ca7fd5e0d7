"""EventAttestation: a device attests a physical-world event — the JSON shapes
``Location`` and ``Evidence``, ``file_evidence``, the reader ``Event`` and the builder
``event_attestation``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from .._dates import format_datetime, parse_datetime, require_aware
from ..credentials import issuer_of
from ..errors import ValidationError
from ._vocabulary import (
    _ACTION,
    _DIGEST,
    EVENT_ATTESTATION,
    _as_list,
    _new_credential,
    _only,
    _subject,
    _text,
    _texts,
    digest_multibase,
)

_COORDINATE = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{1,10})?$", re.ASCII)


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


def file_evidence(name: str, media_type: str, data: bytes) -> Evidence:
    """An ``evidence`` entry for a file (a photo, a scan), carrying only its digest."""
    return {
        "type": "FileEvidence",
        "name": name,
        "mediaType": media_type,
        "digestMultibase": digest_multibase(data),
    }


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
