"""The wallet side of OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow.

``accept_offer(uri, key)`` reads an ``openid-credential-offer://`` URI (the offer by value, or
by reference with ``credential_offer_uri``), fetches the Credential Issuer metadata (§12.2) and
the Authorization Server metadata (RFC 8414), exchanges the pre-authorized code (and the
transaction code, if the offer asks for one) at the token endpoint (§6), and for each offered
configuration gets a ``c_nonce`` (§7) and requests the credential with a ``jwt`` key proof
(§8, Appendix F.1) signed by ``key`` — bound to the nonce and to the issuer as ``aud``.

Every URL must be https (plain http only to this machine); redirects are not followed; answers
are capped in size. Failures raise ``IssuerRequestError`` carrying the OAuth ``error`` code as
``issuer_code``, or ``InputError`` for an offer that is not one.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from . import _json
from .errors import AccreditError, InputError, IssuerRequestError
from .keys import KeyPair

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYPE = "openid4vci-proof+jwt"
_ALGORITHMS = {"Ed25519": "EdDSA", "P-256": "ES256"}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
TIMEOUT = 10.0


def _safe_url(url: Any, what: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    local = parts is not None and parts.scheme == "http" and parts.hostname in _LOOPBACK
    if parts is None or (parts.scheme != "https" and not local) or not parts.hostname or parts.username:
        raise IssuerRequestError(f"the {what} must be an https URL (http only on this machine): {url!r}")
    return str(url)


def parse_offer(uri: str, session: requests.Session | None = None) -> dict[str, Any]:
    """The Credential Offer object of ``uri`` (§4.1). Raises ``InputError``."""
    if not isinstance(uri, str) or not uri.startswith("openid-credential-offer://"):
        raise InputError("a credential offer URI starts with openid-credential-offer://")
    query = parse_qs(urlsplit(uri).query)
    if ("credential_offer" in query) == ("credential_offer_uri" in query):
        raise InputError("a credential offer has exactly one of credential_offer, credential_offer_uri")
    if "credential_offer" in query:
        offer = _json.loads(query["credential_offer"][0])
    else:
        offer = _get_json(
            session or requests.Session(), _safe_url(query["credential_offer_uri"][0], "offer URI")
        )
    grant = offer.get("grants", {}).get(PRE_AUTHORIZED) if isinstance(offer, dict) else None
    ids = offer.get("credential_configuration_ids") if isinstance(offer, dict) else None
    if not isinstance(grant, dict) or not isinstance(grant.get("pre-authorized_code"), str):
        raise InputError("the offer has no pre-authorized code grant")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise InputError("the offer names no credential_configuration_ids")
    _safe_url(offer.get("credential_issuer"), "credential issuer")
    return dict(offer)


def _answer(response: requests.Response, expected: int) -> dict[str, Any]:
    with response:
        body = bytearray()
        for chunk in response.iter_content(16_384):
            body += chunk
            if len(body) > _json.MAX_BYTES:
                raise IssuerRequestError("the issuer's answer is too large", status=response.status_code)
    try:
        value = _json.loads(bytes(body))
    except AccreditError:
        value = None
    if response.status_code != expected or not isinstance(value, dict):
        error = value.get("error") if isinstance(value, dict) else None
        description = value.get("error_description") if isinstance(value, dict) else None
        raise IssuerRequestError(
            f"the issuer refused (HTTP {response.status_code}"
            + (f", {error}" if isinstance(error, str) else "")
            + (f"): {description[:300]}" if isinstance(description, str) else ")"),
            status=response.status_code,
            issuer_code=error if isinstance(error, str) else None,
        )
    return value


def _get_json(session: requests.Session, url: str) -> dict[str, Any]:
    try:
        response = session.get(url, timeout=TIMEOUT, allow_redirects=False, stream=True)
    except requests.RequestException as error:
        raise IssuerRequestError(f"cannot reach {url}: {type(error).__name__}") from None
    return _answer(response, 200)


def _post(session: requests.Session, url: str, expected: int = 200, **kwargs: Any) -> dict[str, Any]:
    try:
        response = session.post(url, timeout=TIMEOUT, allow_redirects=False, stream=True, **kwargs)
    except requests.RequestException as error:
        raise IssuerRequestError(f"cannot reach {url}: {type(error).__name__}") from None
    return _answer(response, expected)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def key_proof(key: KeyPair, *, audience: str, nonce: str, issued_at: int | None = None) -> str:
    """A ``jwt`` key proof (Appendix F.1) by ``key``, named by its DID URL (``kid``)."""
    header = {"alg": _ALGORITHMS[key.type], "typ": PROOF_TYPE, "kid": key.id}
    payload = {"aud": audience, "iat": int(time.time()) if issued_at is None else issued_at, "nonce": nonce}
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
    )
    return signing_input + "." + _b64url(key.sign(signing_input.encode("ascii")))


def accept_offer(
    uri: str, key: KeyPair, *, tx_code: str | None = None, session: requests.Session | None = None
) -> list[dict[str, Any]]:
    """Collect every credential the offer at ``uri`` names, proving possession of ``key``.
    Returns the credentials (not verified: verify before relying on them)."""
    http = session or requests.Session()
    offer = parse_offer(uri, http)
    issuer = offer["credential_issuer"].rstrip("/")
    metadata = _get_json(http, issuer + "/.well-known/openid-credential-issuer")
    if metadata.get("credential_issuer", "").rstrip("/") != issuer:  # §12.2.3: must be identical
        raise IssuerRequestError("the issuer metadata names another credential issuer")
    servers = metadata.get("authorization_servers") or [issuer]
    authorization = _get_json(
        http,
        _safe_url(servers[0], "authorization server").rstrip("/") + "/.well-known/oauth-authorization-server",
    )
    grant: Mapping[str, Any] = offer["grants"][PRE_AUTHORIZED]
    if "tx_code" in grant and not tx_code:
        raise InputError("this offer needs its transaction code (sent to you separately)")
    form = {"grant_type": PRE_AUTHORIZED, "pre-authorized_code": grant["pre-authorized_code"]}
    if tx_code:
        form["tx_code"] = tx_code
    token = _post(http, _safe_url(authorization.get("token_endpoint"), "token endpoint"), data=form)
    bearer = {"Authorization": f"Bearer {token.get('access_token')}"}
    credentials = []
    for configuration in offer["credential_configuration_ids"]:
        nonce = _post(http, _safe_url(metadata.get("nonce_endpoint"), "nonce endpoint"))["c_nonce"]
        request = {
            "credential_configuration_id": configuration,
            "proofs": {"jwt": [key_proof(key, audience=metadata["credential_issuer"], nonce=nonce)]},
        }
        answer = _post(
            http,
            _safe_url(metadata.get("credential_endpoint"), "credential endpoint"),
            json=request,
            headers=bearer,
        )
        issued = answer.get("credentials")
        if (
            not isinstance(issued, list)
            or len(issued) != 1
            or not isinstance(issued[0].get("credential"), dict)
        ):
            raise IssuerRequestError('the issuer did not answer {"credentials": [{"credential": {...}}]}')
        credentials.append(issued[0]["credential"])
    return credentials


__all__ = ["PRE_AUTHORIZED", "accept_offer", "key_proof", "parse_offer"]
