"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow: an agent collects its
credentials without any issuer API token, proving it holds the key of the DID it is named by.

- ``POST /agents/{did}/offers`` (admin): a single-use, short-lived offer for a registered agent,
  as an ``openid-credential-offer://`` URI, optionally with a transaction code (§4.1.1);
- ``GET /.well-known/openid-credential-issuer`` (§12.2) and
  ``GET /.well-known/oauth-authorization-server`` (RFC 8414, §12.3): ``ldp_vc`` configurations
  for AgentCredential and MandateCredential, ``jwt`` proofs (EdDSA, ES256);
- ``POST /token`` (§6): the pre-authorized code (and transaction code) for an access token;
  errors as RFC 6749 §5.2 (``invalid_request``, ``invalid_grant``, ``unsupported_grant_type``);
- ``POST /nonce`` (§7): a fresh single-use ``c_nonce``;
- ``POST /credential`` (§8): with the access token and a ``jwt`` key proof (§F.1) whose ``kid``
  is a key of the agent's own DID, ``aud`` this issuer and ``nonce`` an unused ``c_nonce``;
  errors as §8.3.1 (``invalid_proof``, ``invalid_nonce``, ``unknown_credential_configuration``,
  ``credential_request_denied``, ...), and RFC 6750 ``invalid_token`` (401).

The credentials handed out are the agent's current ones (issued by ``POST /agents`` and
``POST /agents/{did}/mandates``); a suspended agent is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, jsonify, request

from .. import _json
from ..agents import AGENT_CREDENTIAL, AGENTS_CONTEXT, MANDATE_CREDENTIAL
from ..credentials import CREDENTIALS_V2
from ..dids import resolve_verification_method
from ..errors import AccreditError
from .http import Guard, json_body
from .issuer import Issuer, Token
from .registry import AgentRegistry
from .storage import now_seconds

PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYPE = "openid4vci-proof+jwt"
CONFIGURATIONS = {AGENT_CREDENTIAL: AGENT_CREDENTIAL, MANDATE_CREDENTIAL: MANDATE_CREDENTIAL}
ALGORITHMS = {"EdDSA": "Ed25519", "ES256": "P-256"}
OFFER_LIFETIME = 600  # seconds: offers are short-lived (§4.1.1)
ACCESS_TOKEN_LIFETIME = 300
NONCE_LIFETIME = 300
PROOF_SKEW = 300  # a key proof's iat may be this far from now
MAX_TX_CODE_ATTEMPTS = 5  # then the offer is spent: a 6-digit code cannot be guessed online
NONCE_DOMAIN = "openid4vci:c_nonce"


class OAuthError(AccreditError):
    """An error answered in the OAuth shape ``{"error", "error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.status = error, status


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _b64url_json(segment: str, what: str) -> dict[str, Any]:
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = _json.loads(decoded, max_bytes=8192)
    except (ValueError, AccreditError):
        raise OAuthError("invalid_proof", f"the key proof's {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise OAuthError("invalid_proof", f"the key proof's {what} is not a JSON object")
    return value


def verify_key_proof(jwt: Any, *, audience: str, issuer: Issuer) -> tuple[str, str]:
    """Check a ``jwt`` key proof (§F.1, §F.4) and return (the DID its ``kid`` names, nonce).
    Raises ``OAuthError("invalid_proof")``; the nonce is checked by the caller."""
    if not isinstance(jwt, str) or len(jwt) > 8192 or jwt.count(".") != 2:
        raise OAuthError("invalid_proof", "a jwt key proof is a compact JWS")
    header_b64, payload_b64, signature_b64 = jwt.split(".")
    header, payload = _b64url_json(header_b64, "header"), _b64url_json(payload_b64, "payload")
    if header.get("typ") != PROOF_TYPE:
        raise OAuthError("invalid_proof", f"the key proof's typ must be {PROOF_TYPE}")
    if header.get("alg") not in ALGORITHMS:
        raise OAuthError("invalid_proof", f"the key proof's alg must be one of {sorted(ALGORITHMS)}")
    kid = header.get("kid")
    if (
        not isinstance(kid, str)
        or not kid.startswith("did:")
        or "#" not in kid
        or {"jwk", "x5c"} & set(header)
    ):
        raise OAuthError("invalid_proof", "the key proof names its key by kid: a DID URL (no jwk or x5c)")
    did = kid.split("#", 1)[0]
    try:
        key = resolve_verification_method(
            kid, purpose="authentication", resolver=issuer.resolver, controller=did
        )
        signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    except (AccreditError, ValueError):
        raise OAuthError(
            "invalid_proof", "the key proof's kid does not name an authentication key of its DID"
        ) from None
    if key.type != ALGORITHMS[header["alg"]] or not key.verify(
        signature, f"{header_b64}.{payload_b64}".encode()
    ):
        raise OAuthError("invalid_proof", "the key proof's signature does not verify with its kid")
    if payload.get("aud") != audience:
        raise OAuthError("invalid_proof", f"the key proof's aud must be this credential issuer, {audience}")
    iat = payload.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or abs(time.time() - iat) > PROOF_SKEW:
        raise OAuthError("invalid_proof", "the key proof's iat is missing or not recent")
    nonce = payload.get("nonce")
    if not isinstance(nonce, str) or not nonce:
        raise OAuthError(
            "invalid_proof", "the key proof carries no c_nonce (get one from the nonce endpoint)"
        )
    return did, nonce


def issuer_metadata(base_url: str) -> dict[str, Any]:
    configuration = {
        "format": "ldp_vc",
        "cryptographic_binding_methods_supported": ["did:key"],
        "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": sorted(ALGORITHMS)}},
    }
    return {
        "credential_issuer": base_url,
        "credential_endpoint": f"{base_url}/credential",
        "nonce_endpoint": f"{base_url}/nonce",
        "credential_configurations_supported": {
            name: {
                **configuration,
                "credential_definition": {
                    "@context": [CREDENTIALS_V2, AGENTS_CONTEXT],
                    "type": ["VerifiableCredential", credential_type],
                },
            }
            for name, credential_type in CONFIGURATIONS.items()
        },
    }


def authorization_server_metadata(base_url: str) -> dict[str, Any]:
    return {
        "issuer": base_url,
        "token_endpoint": f"{base_url}/token",
        "grant_types_supported": [PRE_AUTHORIZED],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    }


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _oauth(error: OAuthError) -> Response:
    response = jsonify({"error": error.error, "error_description": error.message})
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
    return _no_store(response)


def make_offer(
    issuer: Issuer,
    registry: AgentRegistry,
    agent_did: str,
    configurations: Any,
    tx_code_wanted: bool,
    actor: Token,
) -> dict[str, Any]:
    """A single-use pre-authorized credential offer of ``configurations`` for a registered,
    active agent: ``{"offer", "uri", "expires_in"}`` and, when asked for, the ``txCode`` to send
    over another channel. Audited as ``agent.offer``; raises ``OAuthError`` for unknown
    configurations and the registry's errors for an agent that cannot be offered anything."""
    store = issuer.store
    if (
        not isinstance(configurations, list)
        or not configurations
        or not set(configurations) <= set(CONFIGURATIONS)
        or len(set(configurations)) != len(configurations)
    ):
        raise OAuthError("invalid_request", f"credentials is a list of {sorted(CONFIGURATIONS)}")
    registry.live_agent_credential(agent_did)  # registered, with a live AgentCredential
    code = secrets.token_urlsafe(32)
    tx_code = f"{secrets.randbelow(10**6):06d}" if tx_code_wanted else None
    expires = now_seconds() + OFFER_LIFETIME
    store.add_offer(
        {
            "code_hash": _hash(code),
            "agent_did": agent_did,
            "configurations": json.dumps(configurations),
            "tx_code_hash": None if tx_code is None else _hash(tx_code),
            "attempts": 0,
            "expires_at": expires,
            "used": False,
        }
    )
    with store.write() as connection:
        issuer.audit_in(connection, actor, "agent.offer", {"agent": agent_did, "credentials": configurations})
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if tx_code is not None:
        grant["tx_code"] = {"input_mode": "numeric", "length": 6, "description": "sent to you separately"}
    offer = {
        "credential_issuer": issuer.base_url,
        "credential_configuration_ids": configurations,
        "grants": {PRE_AUTHORIZED: grant},
    }
    uri = "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer, separators=(",", ":")))
    answer: dict[str, Any] = {"offer": offer, "uri": uri, "expires_in": OFFER_LIFETIME}
    if tx_code is not None:
        answer["txCode"] = tx_code  # for the admin to send over another channel
    return answer


def register(app: Flask, issuer: Issuer, guard: Guard, registry: AgentRegistry) -> None:
    store = issuer.store
    app.register_error_handler(OAuthError, _oauth)

    @app.post("/agents/<path:agent_did>/offers")
    def create_offer(agent_did: str) -> tuple[Response, int]:
        actor = guard.require("admin")
        body = json_body() if request.get_data(cache=True) else {}
        configurations = body.get("credentials", [AGENT_CREDENTIAL, MANDATE_CREDENTIAL])
        answer = make_offer(issuer, registry, agent_did, configurations, bool(body.get("txCode")), actor)
        return _no_store(jsonify(answer)), 201

    @app.get("/.well-known/openid-credential-issuer")
    def credential_issuer_metadata() -> Response:
        guard.open_route()
        return jsonify(issuer_metadata(issuer.base_url))

    @app.get("/.well-known/oauth-authorization-server")
    def oauth_metadata() -> Response:
        guard.open_route()
        return jsonify(authorization_server_metadata(issuer.base_url))

    @app.post("/token")
    def token() -> Response:
        guard.open_route()
        form = request.form
        if form.get("grant_type") != PRE_AUTHORIZED:
            raise OAuthError("unsupported_grant_type", f"only {PRE_AUTHORIZED} is supported")
        code, tx_code = form.get("pre-authorized_code"), form.get("tx_code")
        if not code or len(code) > 512:
            raise OAuthError("invalid_request", "pre-authorized_code is required")
        offer = store.offer(_hash(code))
        if offer is None or offer["used"] or offer["expires_at"] <= now_seconds():
            raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
        if offer["tx_code_hash"] is not None and not tx_code:
            raise OAuthError("invalid_request", "this offer needs its transaction code (tx_code)")
        if offer["tx_code_hash"] is None and tx_code:
            raise OAuthError("invalid_request", "this offer has no transaction code")
        if offer["tx_code_hash"] is not None and not hmac.compare_digest(
            offer["tx_code_hash"], _hash(tx_code or "")
        ):
            store.count_offer_attempt(offer["code_hash"], MAX_TX_CODE_ATTEMPTS)
            raise OAuthError("invalid_grant", "the transaction code is wrong")
        if not store.spend_offer(offer["code_hash"]):  # single use, even under concurrent requests
            raise OAuthError("invalid_grant", "the pre-authorized code is unknown, used or expired")
        access_token, c_nonce = secrets.token_urlsafe(32), new_nonce()
        store.add_access_token(
            {
                "token_hash": _hash(access_token),
                "agent_did": offer["agent_did"],
                "configurations": offer["configurations"],
                "expires_at": now_seconds() + ACCESS_TOKEN_LIFETIME,
            }
        )
        # c_nonce here is a draft-13 parameter (1.0 moved it to the nonce endpoint): 1.0 wallets
        # ignore it, wallets of the draft get their nonce without asking.
        answer = {"access_token": access_token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME}
        return _no_store(jsonify({**answer, "c_nonce": c_nonce, "c_nonce_expires_in": NONCE_LIFETIME}))

    def new_nonce() -> str:
        value, now = secrets.token_urlsafe(24), now_seconds()
        store.add_challenge(
            {
                "value": value,
                "domain": NONCE_DOMAIN,
                "query": None,
                "issued_at": now,
                "expires_at": now + NONCE_LIFETIME,
            }
        )
        return value

    @app.post("/nonce")
    def nonce() -> Response:
        guard.open_route()
        return _no_store(jsonify({"c_nonce": new_nonce()}))

    @app.post("/credential")
    def credential() -> Response:
        guard.open_route()
        authorization = request.headers.get("Authorization", "")
        granted = (
            store.access_token(_hash(authorization[7:])) if authorization.startswith("Bearer ") else None
        )
        if granted is None or granted["expires_at"] <= now_seconds():
            raise OAuthError("invalid_token", "a valid access token from the token endpoint is required", 401)
        body = _credential_request()
        draft_13 = "credential_configuration_id" not in body and "format" in body
        configuration = _draft_13_configuration(body) if draft_13 else body.get("credential_configuration_id")
        if "credential_identifier" in body or not isinstance(configuration, str):
            raise OAuthError("invalid_credential_request", "name one credential_configuration_id")
        if configuration not in json.loads(granted["configurations"]):
            raise OAuthError(
                "unknown_credential_configuration", f"this offer does not cover {configuration!r}"
            )
        holder, nonce_value = verify_key_proof(_one_jwt(body), audience=issuer.base_url, issuer=issuer)
        if holder != granted["agent_did"]:
            raise OAuthError(
                "invalid_proof", "the key proof is not by the key of the agent this offer is for"
            )
        row, first_use = store.consume_challenge(nonce_value[:128])
        if (
            row is None
            or row["domain"] != NONCE_DOMAIN
            or not first_use
            or row["expires_at"] <= now_seconds()
        ):
            raise OAuthError("invalid_nonce", "the c_nonce is unknown, used or expired; get a new one")
        if issuer.ledger.agent_state(holder) == "suspended":
            raise OAuthError("credential_request_denied", "the agent is suspended")
        issued = registry.current(holder, CONFIGURATIONS[configuration])
        if issued is None:
            raise OAuthError("credential_request_denied", f"the agent has no live {configuration}")
        if draft_13:  # answer in the draft's shape, with the nonce for the next request
            fresh = {"c_nonce": new_nonce(), "c_nonce_expires_in": NONCE_LIFETIME}
            return _no_store(jsonify({"credential": issued, **fresh}))
        return _no_store(jsonify({"credentials": [{"credential": issued}]}))


def _one_jwt(body: Mapping[str, Any]) -> Any:
    """The one jwt key proof of a request: 1.0's ``proofs`` (§8.2), or draft 13's ``proof``."""
    proofs, proof = body.get("proofs"), body.get("proof")
    if isinstance(proofs, dict) and set(proofs) == {"jwt"}:
        jwts = proofs["jwt"]
        if isinstance(jwts, list) and len(jwts) == 1:
            return jwts[0]
    if proofs is None and isinstance(proof, dict) and proof.get("proof_type") == "jwt":
        return proof.get("jwt")
    raise OAuthError("invalid_proof", 'send one key proof: "proofs": {"jwt": ["<JWT>"]}')


def _draft_13_configuration(body: Mapping[str, Any]) -> str | None:
    """Draft 13 names a credential by format and credential_definition.type, not by id."""
    definition = body.get("credential_definition")
    types = definition.get("type") if isinstance(definition, dict) else None
    if body.get("format") != "ldp_vc" or not isinstance(types, list):
        return None
    return next(
        (name for name, kind in CONFIGURATIONS.items() if types == ["VerifiableCredential", kind]), None
    )


def _credential_request() -> Mapping[str, Any]:
    try:
        return json_body()
    except AccreditError as error:
        raise OAuthError("invalid_credential_request", error.message) from None


__all__ = [
    "OAuthError",
    "authorization_server_metadata",
    "issuer_metadata",
    "make_offer",
    "register",
    "verify_key_proof",
]
