"""What the service will sign for a caller: the checks every issuing route runs.

An API token lets its holder have credentials signed in the organization's name, so what a
token can obtain is limited here, in one place each route calls:

- ``refuse_reserved_types``: types the service signs only for itself (status lists) — a
  caller-made ``BitstringStatusListCredential`` would be a forged status list;
- ``check_subject_ids``: every subject id is a DID or an http(s) URL of bounded length, never
  ``javascript:``, a NUL, or 5,000 characters (a subject may have no id: it names no agent);
- ``check_token_types``: a token limited to credential types issues only those;
- ``check_agent_vocabulary``: an agent credential (AgentCredential, MandateCredential, ...) is
  read by the same strict reader ``authorize`` uses, so the service never signs one that a
  verifier would refuse as malformed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import urlsplit

from ..agents import (
    ACTION_RECEIPT,
    AGENT_CREDENTIAL,
    EVENT_ATTESTATION,
    MANDATE_CREDENTIAL,
    AgentIdentity,
    Event,
    Mandate,
    Receipt,
)
from ..credentials import types_of
from ..errors import ValidationError
from .errors import ForbiddenError

RESERVED_TYPES = frozenset(
    {
        "BitstringStatusListCredential",
        "StatusList2021Credential",
        "RevocationList2020Credential",
        "RevocationList2021Credential",
    }
)
MAX_SUBJECT_ID = 2048
# DID Core §3.1: did:method:method-specific-id (idchars and pct-encoded, ':'-separated).
_DID = re.compile(
    r"^did:[a-z0-9]+:(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})*(?::(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+)*$"
)
_URL_CHARS = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII, no spaces or controls
_READERS: Mapping[str, Callable[[Any], object]] = {
    AGENT_CREDENTIAL: AgentIdentity.from_credential,
    MANDATE_CREDENTIAL: Mandate.from_credential,
    ACTION_RECEIPT: Receipt.from_credential,
    EVENT_ATTESTATION: Event.from_credential,
}


class ReservedTypeError(ValidationError):
    code = "RESERVED_TYPE"


class InvalidSubjectIdError(ValidationError):
    code = "INVALID_SUBJECT_ID"


def refuse_reserved_types(credential: Mapping[str, Any]) -> None:
    reserved = sorted(set(types_of(credential)) & RESERVED_TYPES)
    if reserved:
        raise ReservedTypeError(
            f"the service signs {reserved} only for itself; they cannot be requested", field="type"
        )


def is_subject_id(value: Any) -> bool:
    """A DID, or an http(s) URL with a host, of at most ``MAX_SUBJECT_ID`` printable characters."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SUBJECT_ID:
        return False
    if value.startswith("did:"):
        return _DID.match(value) is not None
    if not _URL_CHARS.match(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)


def check_subject_ids(credential: Mapping[str, Any]) -> None:
    subjects = credential.get("credentialSubject")
    for index, subject in enumerate(subjects if isinstance(subjects, list) else [subjects]):
        if isinstance(subject, dict) and "id" not in subject:
            continue
        value = subject.get("id") if isinstance(subject, dict) else None
        if not is_subject_id(value):
            field = (
                "credentialSubject.id" if not isinstance(subjects, list) else f"credentialSubject[{index}].id"
            )
            raise InvalidSubjectIdError(
                f"{field} must be a DID or an http(s) URL of at most {MAX_SUBJECT_ID} characters", field=field
            )


def check_token_types(credential: Mapping[str, Any], allowed: Collection[str] | None) -> None:
    """``allowed`` is the token's credential types (None: any type it may otherwise issue)."""
    if allowed is None:
        return
    # Every type but the base one must be allowed, and there must be one: a bare
    # VerifiableCredential could otherwise carry any claim past a type limit.
    specific = set(types_of(credential)) - {"VerifiableCredential"}
    if not specific or not specific <= set(allowed):
        asked = sorted(specific) or ["VerifiableCredential"]
        raise ForbiddenError(
            f"this token may issue only {sorted(allowed)}; not {asked}", credentialTypes=sorted(allowed)
        )


def check_agent_vocabulary(document: Mapping[str, Any]) -> None:
    """Read a complete, unsigned agent credential (id, issuer, dates and status set) with its
    strict reader. Raises the reader's ``ValidationError`` naming the field."""
    for credential_type in types_of(document):
        reader = _READERS.get(credential_type)
        if reader is not None:
            reader(document)


__all__ = [
    "MAX_SUBJECT_ID",
    "RESERVED_TYPES",
    "InvalidSubjectIdError",
    "ReservedTypeError",
    "check_agent_vocabulary",
    "check_subject_ids",
    "check_token_types",
    "is_subject_id",
    "refuse_reserved_types",
]
