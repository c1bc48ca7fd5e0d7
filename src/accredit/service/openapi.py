"""The OpenAPI 3.1 description of the issuer service (served at ``/openapi.json``).

Tests check that every route the app serves is described here, with the statuses it answers.
"""

from __future__ import annotations

from typing import Any

_OBJECT = {"type": "object"}
_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_RESULT = {"$ref": "#/components/schemas/VerificationResult"}
_CREDENTIAL = {"$ref": "#/components/schemas/Credential"}
_PRESENTATION = {"$ref": "#/components/schemas/Presentation"}

# What each token scope allows; a token with "admin" may do everything.
SCOPE_DESCRIPTIONS = {
    "issue": "issue credentials and read those issued (POST /credentials/issue, GET /credentials/{id})",
    "status": "revoke, suspend or reinstate credentials and pull the kill switch",
    "admin": "everything, plus API tokens, key rotation and the audit log",
}

_CONTEXT_URLS = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/2018/credentials/v1"]
_CREDENTIAL_SCHEMA = {
    "type": "object",
    "description": "A W3C Verifiable Credential (VC Data Model 2.0, or 1.1). Contexts must be ones the "
    "service ships (the VC contexts, undefined-terms/v2, the accredit agents context).",
    "required": ["@context", "type", "credentialSubject"],
    "properties": {
        "@context": {
            "type": "array",
            "prefixItems": [{"enum": _CONTEXT_URLS}],
            "items": {"type": "string", "format": "uri"},
        },
        "id": {"type": "string", "format": "uri"},
        "type": {"type": "array", "contains": {"const": "VerifiableCredential"}, "items": {"type": "string"}},
        "issuer": {
            "description": "when given, this service's DID (or an object with it as id)",
            "oneOf": [{"type": "string"}, {"type": "object", "required": ["id"]}],
        },
        "validFrom": {"type": "string", "format": "date-time"},
        "validUntil": {"type": "string", "format": "date-time"},
        "credentialSubject": {
            "description": "the subject; its id, when given, is a DID or URL",
            "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}, "minItems": 1}],
        },
        "credentialStatus": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
        "proof": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
    },
}
_PRESENTATION_SCHEMA = {
    "type": "object",
    "description": (
        "A W3C Verifiable Presentation with a proof bound to options.challenge and options.domain."
    ),
    "required": ["@context", "type", "proof"],
    "properties": {
        "@context": {"type": "array", "prefixItems": [{"enum": _CONTEXT_URLS}]},
        "type": {"type": "array", "contains": {"const": "VerifiablePresentation"}},
        "holder": {"type": "string"},
        "verifiableCredential": {"type": "array", "items": _CREDENTIAL},
        "proof": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _PROBLEM}}}


def _operation(
    summary: str,
    responses: dict[str, Any],
    *,
    scope: str | None = None,
    body: dict[str, Any] | None = None,
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    # Every route spends a budget: the token's, or the client address's on open routes.
    operation["responses"] = {**responses, "429": _problem("rate limited (per token, or per client address)")}
    if scope:
        operation["security"] = [{"bearer": [scope]}]
        operation["responses"] = {
            **operation["responses"],
            "401": _problem("no, unknown, revoked or expired token"),
            "403": _problem(f"the token lacks the {scope} scope (or may not issue this credential type)"),
        }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if parameters:
        operation["parameters"] = parameters
    return operation


def _path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_DID_IN_PATH = (
    "the agent's DID, percent-encoded as one path segment (RFC 3986), '%' included: "
    "did:web:a.example%3A8443:b is sent as did:web:a.example%253A8443:b"
)


def _agent_answers(what: str) -> dict[str, Any]:
    return {
        "200": _json(_OBJECT, f"the agent, its state and {what}"),
        "400": _problem("INVALID_SUBJECT_ID: not a DID or URL"),
        "404": _problem("AGENT_NOT_FOUND: never registered nor issued a credential"),
    }


# VC-API verify options. ``checks`` is accepted for compatibility; every check always runs.
_VERIFY_OPTIONS = {
    "type": "object",
    "properties": {
        "challenge": {"type": "string"},
        "domain": {"type": "string"},
        "checks": {"type": "array", "items": {"type": "string"}},
    },
    "additionalProperties": False,
}


def _issue_operation(bad: dict[str, Any], suite: str, **extra: Any) -> dict[str, Any]:
    return _operation(
        f"Issue a credential (VC-API) signed with {suite}. The caller may give id, issuer (this "
        "service's DID), the validity window and extra credentialStatus entries; the service adds "
        "its revocation and suspension entries (VC 2.0) and the proof. See service/vcapi.py",
        {
            "201": _json({"type": "object", "required": ["verifiableCredential"]}, "issued"),
            "400": bad,
            "403": _problem("the token lacks the issue scope, or may not issue this credential type"),
            "409": _problem(
                "CONFLICT: a credential with this id was already issued; AGENT_SUSPENDED: kill switch"
            ),
            "413": _problem("body too large"),
            "503": _problem("INTEGRITY_CHECK_FAILED: stored state disagrees with the signed audit log"),
        },
        scope="issue",
        body={
            "type": "object",
            "required": ["credential"],
            "properties": {
                "credential": _CREDENTIAL,
                "options": {
                    "type": "object",
                    "properties": {
                        "validFrom": {"type": "string", "format": "date-time"},
                        "validUntil": {"type": "string", "format": "date-time"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        **extra,
    )


def openapi_document(base_url: str) -> dict[str, Any]:
    bad = _problem("malformed input, with a stable code")
    tampered = _problem("INTEGRITY_CHECK_FAILED: stored state disagrees with the signed audit log")
    agent = [_path_parameter("agentDid", {"type": "string", "description": _DID_IN_PATH})]
    by_body = {"type": "object", "required": ["agent"], "properties": {"agent": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "accredit issuer service",
            "version": "1",
            "description": "VC-API issuance and verification, Bitstring Status Lists, kill switch, audit.",
        },
        "servers": [{"url": base_url}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`accredit init` prints the first, admin one; POST /tokens "
                    "makes more). Each operation names the scope it needs: "
                    + "; ".join(f"{name}: {what}" for name, what in SCOPE_DESCRIPTIONS.items()),
                }
            },
            "schemas": {
                "Credential": _CREDENTIAL_SCHEMA,
                "Presentation": _PRESENTATION_SCHEMA,
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "code"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "code": {"type": "string"},
                        "detail": {"type": "string"},
                    },
                },
                "VerificationResult": {
                    "type": "object",
                    "required": ["verified", "checks", "errors"],
                    "properties": {
                        "verified": {"type": "boolean"},
                        "checks": {"type": "array", "items": _OBJECT},
                        "errors": {"type": "array", "items": _OBJECT},
                    },
                },
            },
        },
        "paths": {
            "/": {"get": _operation("The issuer's DID and links", {"200": _json(_OBJECT, "links")})},
            "/openapi.json": {"get": _operation("This document", {"200": _json(_OBJECT, "OpenAPI 3.1")})},
            "/.well-known/did.json": {
                "get": _operation(
                    "The issuer's DID document",
                    {"200": _json(_OBJECT, "DID document with every key that signed a live credential")},
                )
            },
            "/status/{listId}": {
                "get": _operation(
                    "A signed BitstringStatusListCredential",
                    {
                        "200": _json(_OBJECT, "list credential"),
                        "404": _problem("no such list"),
                        "503": tampered,
                    },
                    parameters=[_path_parameter("listId", {"type": "integer"})],
                )
            },
            "/credentials/issue": {"post": _issue_operation(bad, "eddsa-rdfc-2022")},
            "/issuers/{cryptosuite}/credentials/issue": {
                "post": _issue_operation(
                    bad,
                    "the cryptosuite in the path",
                    parameters=[
                        _path_parameter(
                            "cryptosuite",
                            {"enum": ["eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"]},
                        )
                    ],
                )
            },
            "/credentials/verify": {
                "post": _operation(
                    "Verify a credential (VC-API)",
                    {
                        "200": _json(_RESULT, "verified"),
                        "400": _json(_RESULT, "not verified, or malformed input"),
                    },
                    body={
                        "type": "object",
                        "required": ["verifiableCredential"],
                        "properties": {"verifiableCredential": _CREDENTIAL, "options": _VERIFY_OPTIONS},
                    },
                )
            },
            "/challenges": {
                "post": _operation(
                    "A single-use challenge bound to a domain, for POST /presentations/verify (VC-API)",
                    {
                        "201": _json(_OBJECT, "a VerifiablePresentationRequest: challenge, domain, query"),
                        "400": bad,
                    },
                    body={
                        "type": "object",
                        "required": ["domain"],
                        "properties": {"domain": {"type": "string"}, "query": {}},
                    },
                )
            },
            "/presentations/verify": {
                "post": _operation(
                    "Verify a presentation answering a challenge from POST /challenges, once; each "
                    "credential must be about the presentation's holder",
                    {
                        "200": _json(_RESULT, "verified"),
                        "400": _json(_RESULT, "not verified, or malformed input"),
                    },
                    body={
                        "type": "object",
                        "required": ["verifiablePresentation", "options"],
                        "properties": {"verifiablePresentation": _PRESENTATION, "options": _VERIFY_OPTIONS},
                    },
                )
            },
            "/credentials/status": {
                "post": _operation(
                    "Revoke, suspend or reinstate a credential (VC-API status update)",
                    {
                        "200": _json(_OBJECT, "new status"),
                        "400": bad,
                        "404": _problem("no such credential"),
                        "409": _problem(
                            "a revoked credential cannot be reinstated; "
                            "a VC 1.1 credential has no status entry"
                        ),
                        "503": tampered,
                    },
                    scope="status",
                    body={
                        "type": "object",
                        "required": ["credentialId", "credentialStatus"],
                        "properties": {
                            "credentialId": {"type": "string", "description": "the credential's id"},
                            "credentialStatus": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    "type": "object",
                                    "required": ["type", "status"],
                                    "properties": {
                                        "type": {"const": "BitstringStatusListCredential"},
                                        "status": {"enum": ["revoked", "suspended", "active"]},
                                    },
                                },
                            },
                        },
                    },
                )
            },
            "/credentials/{credentialId}": {
                "get": _operation(
                    "A credential this issuer issued",
                    {"200": _json(_OBJECT, "the credential"), "404": _problem("no such credential")},
                    scope="issue",
                    parameters=[_path_parameter("credentialId", {"type": "string"})],
                )
            },
            "/agents/{agentDid}/suspend": {
                "post": _operation(
                    "Kill switch: suspend the agent (issued nothing until reinstated) and every live "
                    "credential of it, at once",
                    {**_agent_answers("the suspended credential ids"), "503": tampered},
                    scope="status",
                    parameters=agent,
                )
            },
            "/agents/{agentDid}/reinstate": {
                "post": _operation(
                    "Lift the kill switch: the agent may be issued credentials again, and the "
                    "credentials the switch suspended are active again",
                    {**_agent_answers("the reinstated credential ids"), "503": tampered},
                    scope="admin",
                    parameters=agent,
                )
            },
            "/agents/suspend": {
                "post": _operation(
                    "Kill switch, with the agent's DID in the body (no path encoding)",
                    {**_agent_answers("the suspended credential ids"), "503": tampered},
                    scope="status",
                    body=by_body,
                )
            },
            "/agents/reinstate": {
                "post": _operation(
                    "Lift the kill switch, with the agent's DID in the body",
                    {**_agent_answers("the reinstated credential ids"), "503": tampered},
                    scope="admin",
                    body=by_body,
                )
            },
            "/agents": {
                "post": _operation(
                    "Register an agent and issue its AgentCredential (actsFor: this organization; the "
                    "kill switch is the credential's own suspension entry)",
                    {
                        "201": _json(_OBJECT, "the agent and its AgentCredential"),
                        "400": _problem("a field is missing or malformed; the problem names it"),
                        "409": _problem("the agent is registered already, or suspended"),
                        "503": tampered,
                    },
                    scope="issue",
                    body={
                        "type": "object",
                        "required": ["did", "builtBy", "build", "liabilityContact", "escalationContact"],
                    },
                ),
                "get": _operation(
                    "Every agent and its state", {"200": _json(_OBJECT, "agents")}, scope="issue"
                ),
            },
            "/agents/{agentDid}": {
                "get": _operation(
                    "An agent: its state and its credentials with their status",
                    {**_agent_answers("its credentials")},
                    scope="issue",
                    parameters=agent,
                )
            },
            "/agents/{agentDid}/mandates": {
                "post": _operation(
                    "Issue a MandateCredential from typed JSON, read by the reader authorize uses, "
                    "naming the agent's current AgentCredential by id and digest",
                    {
                        "201": _json(_OBJECT, "the mandate"),
                        "400": _problem("a field is missing or malformed; the problem names it"),
                        "404": _problem("AGENT_NOT_FOUND: not a registered agent"),
                        "409": _problem("AGENT_SUSPENDED, or no live AgentCredential"),
                        "503": tampered,
                    },
                    scope="issue",
                    parameters=agent,
                    body={"type": "object", "required": ["actions", "purpose"]},
                )
            },
            "/agents/{agentDid}/reissue": {
                "post": _operation(
                    "Re-issue the agent's AgentCredential and live mandates (near expiry, after key "
                    "rotation); the replaced ones are revoked",
                    {
                        "201": _json(_OBJECT, "the new credentials"),
                        "400": bad,
                        "404": _problem("AGENT_NOT_FOUND"),
                        "409": _problem("AGENT_SUSPENDED"),
                        "503": tampered,
                    },
                    scope="issue",
                    parameters=agent,
                )
            },
            "/agents/{agentDid}/offers": {
                "post": _operation(
                    "An OpenID4VCI credential offer (pre-authorized code, single use, 10 minutes; "
                    "optional transaction code) for the agent to collect its credentials",
                    {
                        "201": _json(_OBJECT, "offer, uri (openid-credential-offer://), txCode if asked"),
                        "400": _json(_OBJECT, "OAuth error: invalid_request"),
                        "404": _problem("AGENT_NOT_FOUND"),
                        "409": _problem("no live AgentCredential"),
                    },
                    scope="issue",
                    parameters=agent,
                )
            },
            "/.well-known/openid-credential-issuer": {
                "get": _operation(
                    "OpenID4VCI Credential Issuer metadata", {"200": _json(_OBJECT, "metadata")}
                )
            },
            "/.well-known/oauth-authorization-server": {
                "get": _operation(
                    "OAuth 2.0 Authorization Server metadata (RFC 8414)", {"200": _json(_OBJECT, "metadata")}
                )
            },
            "/token": {
                "post": _operation(
                    "OpenID4VCI token endpoint: the pre-authorized code (and tx_code) for an access token",
                    {
                        "200": _json(_OBJECT, "access_token, token_type, expires_in"),
                        "400": _json(_OBJECT, "OAuth error (RFC 6749 §5.2)"),
                    },
                )
            },
            "/nonce": {
                "post": _operation(
                    "OpenID4VCI nonce endpoint: a fresh c_nonce", {"200": _json(_OBJECT, "c_nonce")}
                )
            },
            "/credential": {
                "post": _operation(
                    "OpenID4VCI credential endpoint: a jwt key proof by the agent's DID key, bound to "
                    "a c_nonce and this issuer",
                    {
                        "200": _json(_OBJECT, "credentials"),
                        "400": _json(
                            _OBJECT, "OpenID4VCI credential error (invalid_proof, invalid_nonce, ...)"
                        ),
                        "401": _json(_OBJECT, "invalid_token"),
                    },
                )
            },
            "/audit": {
                "get": _operation(
                    "The hash-chained, signed audit log",
                    {"200": _json(_OBJECT, "entries"), "400": bad},
                    scope="admin",
                    parameters=[
                        {"name": "after", "in": "query", "schema": {"type": "integer"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                )
            },
            "/keys/rotate": {
                "post": _operation(
                    "Rotate the issuer's signing key (did:web only)",
                    {
                        "201": _json(_OBJECT, "the new key id"),
                        "409": _problem("did:key issuers cannot rotate"),
                    },
                    scope="admin",
                )
            },
            "/tokens": {
                "post": _operation(
                    "Create an API token; the token is shown once",
                    {"201": _json(_OBJECT, "the token"), "400": bad},
                    scope="admin",
                    body={
                        "type": "object",
                        "required": ["name", "scopes"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1, "maxLength": 200},
                            "scopes": {
                                "type": "array",
                                "minItems": 1,
                                "items": {"enum": sorted(SCOPE_DESCRIPTIONS)},
                                "description": "; ".join(f"{k}: {v}" for k, v in SCOPE_DESCRIPTIONS.items()),
                            },
                        },
                    },
                )
            },
            "/tokens/{tokenId}": {
                "delete": _operation(
                    "Revoke an API token",
                    {"204": {"description": "revoked"}, "404": _problem("no such token")},
                    scope="admin",
                    parameters=[_path_parameter("tokenId", {"type": "string"})],
                )
            },
        },
    }
