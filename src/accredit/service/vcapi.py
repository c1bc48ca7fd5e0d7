"""VC-API requests: what an issue or verify request may ask, read strictly, and their routes.

https://w3c-ccg.github.io/vc-api/ — ``POST /credentials/issue`` (201), ``/credentials/verify``
(200 verified, 400 with the result body when not); ``/presentations/verify`` with its
single-use challenges is in ``presentations``.

Issuance rules, as the README states them:

- ``issuer`` may be given as a string or an object (``id``, ``name``, ``description``) only
  when its id is the service's own DID; any other issuer is ``PROTECTED_PROPERTY``.
- ``id`` may be given: an absolute URI of at most 128 characters, unique among the credentials
  this service issued (a reuse is ``CONFLICT``, 409). Without one the service picks a
  ``urn:uuid:``.
- The validity window (``validFrom``/``validUntil``, or VC 1.1 ``issuanceDate``/
  ``expirationDate``) may be given in the credential or in ``options``, not both, and is held to
  one policy: ending within a year, and starting no earlier than ``max_backdate`` ago (five
  minutes unless the deployment allows more: a backdated mandate would cover past actions).
- A caller ``credentialStatus`` is kept as given (it must name a type and may not point at this
  service's own lists); the service's own revocation and suspension entries are always added.
- Each cryptosuite is an issuer configuration of its own endpoint:
  ``/issuers/{cryptosuite}/credentials/issue``; ``/credentials/issue`` is eddsa-rdfc-2022.
- VC 2.0 is the default; a credential whose first context is the VC 1.1 one is issued as VC 1.1.
  VC 1.1 defines no Bitstring Status List entry, so such a credential carries no status entry:
  it cannot be revoked or suspended, and the kill switch does not reach it (its validity window
  is its only limit).
- Subjects: one object or several; each ``id`` is recorded, so the kill switch finds the
  credential under any of them. A subject without ``id`` names no agent: the kill switch cannot
  find that credential by an agent DID, but it stays revocable and suspendable by its own id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from flask import Flask, Response, jsonify

from .._dates import parse_datetime
from ..credentials import (
    CREDENTIALS_V1,
    CREDENTIALS_V2,
    VerifyOptions,
    data_model_version,
    validate_credential,
    verify_credential,
)
from ..errors import ValidationError
from ..proofs import RECOMMENDED_SUITES, SUITES
from .errors import ConflictError, ProtectedPropertyError, UnknownOptionError
from .http import Guard
from .issuable import check_subject_ids, refuse_reserved_types
from .issuer import Issuer

DEFAULT_SUITE = "eddsa-rdfc-2022"
MAX_VALIDITY = timedelta(days=365)
MAX_ID_LENGTH = 128  # the credentials table's key
ISSUER_FIELDS = frozenset({"id", "name", "description"})
ISSUE_OPTIONS = frozenset({"validFrom", "validUntil"})
# VC-API verify options: ``checks`` names checks to run; accredit always runs every check.
VERIFY_OPTIONS = frozenset({"checks", "challenge", "domain"})
_DATE_FIELDS = {2: ("validFrom", "validUntil"), 1: ("issuanceDate", "expirationDate")}


@dataclass(frozen=True)
class IssueRequest:
    """One issue request, read: the caller's credential and what the service adds to it."""

    credential: dict[str, Any]  # without issuer or proof; id, dates and status as the caller gave
    issuer: str | dict[str, Any]  # the service's DID, or an object with it as id
    version: Literal[1, 2]
    valid_from: datetime
    valid_until: datetime
    suite: str
    subject_ids: tuple[str, ...]

    @property
    def credential_id(self) -> str | None:
        value = self.credential.get("id")
        return value if isinstance(value, str) else None

    @property
    def status_entries(self) -> bool:
        """Whether the service adds its revocation and suspension entries (VC 2.0 only)."""
        return self.version == 2

    def dated(self) -> dict[str, Any]:
        """The credential with issuer and validity window set, in its data model's fields (the
        caller's own spelling of a date it gave is kept)."""
        start, end = _DATE_FIELDS[self.version]
        return {
            start: _format(self.valid_from),
            end: _format(self.valid_until),
            **self.credential,
            "issuer": self.issuer,
        }


def _format(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_issue_request(
    body: Mapping[str, Any], *, issuer: Issuer, suite: str, max_backdate: timedelta
) -> IssueRequest:
    """Read ``{"credential": ..., "options": ...}``. Raises ``ValidationError``,
    ``ProtectedPropertyError``, ``UnknownOptionError`` or ``ConflictError`` (a reused id)."""
    credential = body.get("credential")
    if not isinstance(credential, dict):
        raise ValidationError("credential must be a JSON object", field="credential")
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise ValidationError("options must be a JSON object", field="options")
    unknown = sorted(set(options) - ISSUE_OPTIONS)
    if unknown:
        raise UnknownOptionError(
            f"unsupported options {unknown}; supported: {sorted(ISSUE_OPTIONS)}", options=unknown
        )
    if "proof" in credential:
        raise ProtectedPropertyError("the service signs the credential; remove proof", properties=["proof"])
    version = _version(credential)
    issuer_value = _issuer(credential.get("issuer", issuer.did), issuer.did)
    valid_from, valid_until = _validity(credential, options, version, max_backdate)
    start, end = _DATE_FIELDS[version]
    document = {k: v for k, v in credential.items() if k != "issuer"}
    _check_id(document, issuer)
    _check_caller_status(document, issuer)
    refuse_reserved_types(document)
    check_subject_ids(document)
    subjects = document.get("credentialSubject")
    subject_list = subjects if isinstance(subjects, list) else [subjects]
    validate_credential(
        {start: _format(valid_from), end: _format(valid_until), **document, "issuer": issuer.did}
    )
    subject_ids = tuple(s["id"] for s in subject_list if isinstance(s, dict) and isinstance(s.get("id"), str))
    return IssueRequest(document, issuer_value, version, valid_from, valid_until, suite, subject_ids)


def _version(credential: Mapping[str, Any]) -> Literal[1, 2]:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts or contexts[0] not in (CREDENTIALS_V2, CREDENTIALS_V1):
        raise ValidationError(
            f"@context must be a list starting with {CREDENTIALS_V2!r} (VC 2.0) "
            f"or {CREDENTIALS_V1!r} (VC 1.1)",
            field="@context",
        )
    return data_model_version(credential)


def _issuer(value: Any, own_did: str) -> str | dict[str, Any]:
    """The caller's issuer, accepted only as the service's own DID (a string or an object)."""
    given = value.get("id") if isinstance(value, dict) else value
    if given != own_did:
        raise ProtectedPropertyError(
            f"issuer must be this service's DID {own_did!r} (or an object with it as id)",
            properties=["issuer"],
        )
    if isinstance(value, dict):
        extra = sorted(set(value) - ISSUER_FIELDS)
        if extra:
            raise ValidationError(
                f"an issuer object may hold only {sorted(ISSUER_FIELDS)}, not {extra}", field="issuer"
            )
        return dict(value)
    return own_did


def _check_id(document: Mapping[str, Any], issuer: Issuer) -> None:
    if "id" not in document:
        return
    credential_id = document["id"]
    if not isinstance(credential_id, str) or len(credential_id) > MAX_ID_LENGTH:
        raise ValidationError(f"id must be an absolute URI of at most {MAX_ID_LENGTH} characters", field="id")
    if issuer.has_credential(credential_id):
        raise ConflictError(f"a credential with id {credential_id!r} was already issued", id=credential_id)


def _check_caller_status(document: Mapping[str, Any], issuer: Issuer) -> None:
    status = document.get("credentialStatus")
    if status is None:
        return
    own_lists = f"{issuer.base_url}/status/"
    for entry in status if isinstance(status, list) else [status]:
        list_url = entry.get("statusListCredential") if isinstance(entry, dict) else None
        if isinstance(list_url, str) and list_url.startswith(own_lists):
            raise ProtectedPropertyError(
                "credentialStatus may not point at this service's own status lists; it adds its own entries",
                properties=["credentialStatus"],
            )


def _validity(
    credential: Mapping[str, Any], options: Mapping[str, Any], version: Literal[1, 2], max_backdate: timedelta
) -> tuple[datetime, datetime]:
    """The window from the credential's own date fields or from the options (not both)."""
    start_field, end_field = _DATE_FIELDS[version]
    in_credential = {"validFrom": credential.get(start_field), "validUntil": credential.get(end_field)}
    in_credential = {k: v for k, v in in_credential.items() if v is not None}
    if in_credential and options:
        raise ValidationError(
            "give the validity window in the credential or in options, not both", field="options"
        )
    given, where = (in_credential, "credential.") if in_credential else (options, "options.")
    names = {"validFrom": start_field, "validUntil": end_field} if in_credential else {}
    now = datetime.now(UTC).replace(microsecond=0)
    start_name = where + names.get("validFrom", "validFrom")
    end_name = where + names.get("validUntil", "validUntil")
    valid_from = parse_datetime(given["validFrom"], start_name) if "validFrom" in given else now
    valid_until = (
        parse_datetime(given["validUntil"], end_name)
        if "validUntil" in given
        else max(now, valid_from) + MAX_VALIDITY
    )
    if valid_until <= max(now, valid_from):
        raise ValidationError(f"{end_name} must be in the future and after the start", field=end_name)
    if valid_until - now > MAX_VALIDITY:
        raise ValidationError("validity is limited to one year from now", field=end_name)
    if valid_from < now - max_backdate:
        raise ValidationError(
            f"{start_name} may be at most {max_backdate} before now (the service's backdating limit)",
            field=start_name,
        )
    return valid_from, valid_until


def read_verify_options(body: Mapping[str, Any]) -> dict[str, Any]:
    """The verify request's ``options``; unknown ones are refused (``UNKNOWN_OPTION``)."""
    options = body.get("options") or {}
    if not isinstance(options, dict):
        raise ValidationError("options must be a JSON object", field="options")
    unknown = sorted(set(options) - VERIFY_OPTIONS)
    if unknown:
        raise UnknownOptionError(
            f"unsupported options {unknown}; supported: {sorted(VERIFY_OPTIONS)}", options=unknown
        )
    checks = options.get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
        raise ValidationError("options.checks must be a list of strings", field="options.checks")
    return options


def register_vcapi(
    app: Flask,
    issuer: Issuer,
    guard: Guard,
    body: Callable[[], dict[str, Any]],
    *,
    accepted_suites: frozenset[str] = RECOMMENDED_SUITES,
    max_backdate: timedelta = timedelta(minutes=5),
) -> None:
    """The VC-API routes on ``app``; the verify routes accept ``accepted_suites``, issuance
    allows a validity start up to ``max_backdate`` in the past."""
    verify_options: VerifyOptions = dataclasses.replace(
        issuer.verify_options(), accepted_suites=accepted_suites
    )

    def issue_with(suite: str) -> tuple[Response, int]:
        token = guard.require("issue")
        issue_request = read_issue_request(body(), issuer=issuer, suite=suite, max_backdate=max_backdate)
        return jsonify({"verifiableCredential": issuer.issue(issue_request, token)}), 201

    def verification(result: Any) -> tuple[Response, int]:
        return jsonify(result.to_dict()), 200 if result.verified else 400

    @app.post("/credentials/issue")
    def issue() -> tuple[Response, int]:
        return issue_with(DEFAULT_SUITE)

    @app.post("/issuers/<suite>/credentials/issue")
    def issue_as(suite: str) -> tuple[Response, int]:
        if suite not in SUITES:
            raise ValidationError(
                f"no issuer for cryptosuite {suite!r}; known: {sorted(SUITES)}", field="suite"
            )
        return issue_with(suite)

    @app.post("/credentials/verify")
    def verify_vc() -> tuple[Response, int]:
        guard.open_route()
        request_body = body()
        read_verify_options(request_body)
        return verification(verify_credential(request_body.get("verifiableCredential"), verify_options))


__all__ = ["IssueRequest", "read_issue_request", "read_verify_options", "register_vcapi"]
