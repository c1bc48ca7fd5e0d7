"""What every agent credential shares: the context and type names, the patterns of its
fields, ``digestMultibase`` digests, and the strict readers and the builder behind every
``from_credential`` and ``*_credential`` function.

The readers refuse JSON-LD keywords and unknown properties, so that what they read is the
only reading of the signed graph (see the ``accredit.agents`` docstring for why).
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from .. import _jcs
from .._dates import format_datetime, parse_datetime
from ..credentials import CREDENTIALS_V2, validate_credential
from ..errors import ValidationError

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

_CREDENTIAL_KEYS = frozenset(
    {"@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialSubject"}
    | {"credentialStatus", "proof", "name", "description"}
)
_SHA256_MULTIHASH = b"\x12\x20"
_DIGEST = re.compile(r"^u[A-Za-z0-9_-]{46}$", re.ASCII)
_ACTION = re.compile(r"^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)*$", re.ASCII)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")


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
