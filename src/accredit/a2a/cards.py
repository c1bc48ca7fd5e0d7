"""Signed A2A Agent Cards (A2A v1.0 §8.4): a detached JWS over the RFC 8785 form of the card
without ``signatures``, its protected header carrying ``alg`` and ``kid``.

An agent signs its card with its DID key (``EdDSA``, Ed25519); a peer checks it against the
DID it expects that agent to have (``kid`` must be one of that DID's assertion methods). The
card is handled in its JSON form (camelCase, as served at ``/.well-known/agent-card.json``),
so nothing here needs the A2A SDK.

Implementations disagree on empty values: the Python SDK drops empty strings, lists and
objects before canonicalizing, the specification keeps them. ``sign_card`` therefore refuses
a card with an empty value anywhere, so the bytes signed are the same for every verifier.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from .._jcs import canonicalize
from ..dids import Resolver, resolve_verification_method, shared_resolver, split_did_url
from ..errors import (
    AccreditError,
    AgentCardError,
    AgentCardSignatureError,
    AgentCardUnsignedError,
    InvalidKeyError,
)
from ..keys import KeyPair

__all__ = ["REQUIRED_FIELDS", "sign_card", "verify_card"]

# A2A v1.0 AgentCard members marked REQUIRED (§4.4.1).
REQUIRED_FIELDS = (
    "name",
    "description",
    "supportedInterfaces",
    "version",
    "capabilities",
    "defaultInputModes",
    "defaultOutputModes",
    "skills",
)
ALGORITHM = "EdDSA"
MAX_SIGNATURES = 8  # each costs a DID resolution: bound the work a card can ask for


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _empty_path(value: Any, path: str) -> str | None:
    """The path of the first empty string, list or object in ``value``, if any."""
    if isinstance(value, (str, list, dict)) and not value:
        return path
    children = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, child in children:
        found = _empty_path(child, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]")
        if found:
            return found
    return None


def _signing_input(card: Mapping[str, Any], protected: str) -> bytes:
    unsigned = {key: value for key, value in card.items() if key != "signatures"}
    payload = _b64url(canonicalize(unsigned))
    return f"{protected}.{payload}".encode("ascii")


def sign_card(card: Mapping[str, Any], key: KeyPair) -> dict[str, Any]:
    """``card`` (JSON form) with one more signature by ``key`` (an Ed25519 key; ``kid`` is its
    verification method id). Raises ``AgentCardError`` when a required member is missing or
    any value is empty, ``InvalidKeyError`` for a key that cannot sign EdDSA."""
    if key.type != "Ed25519":
        raise InvalidKeyError("an Agent Card is signed with EdDSA: use an Ed25519 key")
    missing = [name for name in REQUIRED_FIELDS if name not in card]
    if missing:
        raise AgentCardError("the Agent Card lacks required members", missing=missing)
    empty = _empty_path({k: v for k, v in card.items() if k != "signatures"}, "$")
    if empty:
        raise AgentCardError(
            "the Agent Card has an empty value, which A2A implementations canonicalize differently",
            path=empty,
        )
    header = {"alg": ALGORITHM, "kid": key.id, "typ": "JOSE"}
    protected = _b64url(json.dumps(header, separators=(",", ":")).encode("utf-8"))
    signature = _b64url(key.sign(_signing_input(card, protected)))
    signed = dict(card)
    signed["signatures"] = [*card.get("signatures", []), {"protected": protected, "signature": signature}]
    return signed


def verify_card(card: Mapping[str, Any], *, did: str, resolver: Resolver | None = None) -> str:
    """Check that ``card`` (JSON form) carries a valid EdDSA signature by ``did``: its ``kid``
    an assertion method of ``did``, resolved with ``resolver``. Returns that ``kid``.

    Raises ``AgentCardUnsignedError`` for a card without signatures and
    ``AgentCardSignatureError`` (with every signature's reason) when none verifies.
    """
    signatures = card.get("signatures") if isinstance(card, Mapping) else None
    if not signatures:
        raise AgentCardUnsignedError("the Agent Card is not signed", expected=did)
    if not isinstance(signatures, list) or len(signatures) > MAX_SIGNATURES:
        raise AgentCardSignatureError(f"signatures must be a list of at most {MAX_SIGNATURES}")
    reasons = [_check(card, entry, did, resolver or shared_resolver()) for entry in signatures]
    for reason in reasons:
        if reason.startswith("ok:"):
            return reason[3:]
    raise AgentCardSignatureError("no signature on the Agent Card verifies", expected=did, reasons=reasons)


def _check(card: Mapping[str, Any], entry: Any, did: str, resolver: Resolver) -> str:
    """``"ok:<kid>"`` for a valid signature by ``did``, else why not."""
    if not isinstance(entry, Mapping):
        return "a signature must be an object"
    protected = entry.get("protected")
    try:
        header = json.loads(_b64url_decode(protected))
        signature = _b64url_decode(entry.get("signature"))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return "protected header or signature is not base64url JSON"
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        return f"alg must be {ALGORITHM}"
    if "crit" in header:
        return "critical header parameters are not understood"
    kid = header.get("kid")
    try:
        if not isinstance(kid, str) or split_did_url(kid)[0] != did:
            return f"kid must be a verification method of {did}"
        public_key = resolve_verification_method(
            kid, purpose="assertionMethod", resolver=resolver, controller=did
        )
        signing_input = _signing_input(card, str(protected))
    except AccreditError as error:
        return f"{error.code}: {error.message}"
    if public_key.type != "Ed25519" or not public_key.verify(signature, signing_input):
        return f"the signature by {kid} does not verify"
    return "ok:" + kid
