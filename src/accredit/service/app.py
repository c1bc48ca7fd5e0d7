"""The issuer service over HTTP: VC-API routes, status lists, the kill switch, audit, tokens.

JSON in, JSON out; every error is an RFC 9457 problem document with a stable ``code``, never a
traceback. Verification answers 200 when verified and 400 with the same result body when not
(VC-API clients treat any 2xx as verified).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import AccreditError, InputError, InputTooLargeError
from . import agents, console, oid4vci, presentations
from .config import ServiceConfig
from .errors import NotFoundError, ServiceError
from .http import Guard, json_body, problem
from .issuer import Issuer
from .openapi import openapi_document
from .registry import AgentRegistry
from .vcapi import register_vcapi

log = logging.getLogger("accredit.service")

_HTTP_CODES = {
    400: "MALFORMED_INPUT",
    401: "UNAUTHORIZED",
    403: "INSUFFICIENT_SCOPE",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "INPUT_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
}


def create_app(config: ServiceConfig | None = None, *, issuer: Issuer | None = None) -> Flask:
    """The Flask app for an initialised issuer (``accredit init``)."""
    config = config or ServiceConfig()
    if issuer is None:
        store = config.open_store()
        issuer = Issuer(store, config.sealer(store), allow_private_fetch=config.allow_private_fetch)
    app = Flask("accredit")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["accredit.issuer"] = issuer
    guard = Guard(
        issuer,
        per_token_per_minute=config.rate_limit_per_minute,
        per_address_per_minute=config.open_rate_limit_per_minute,
    )
    _register_errors(app)
    _register_routes(app, issuer, guard, config)
    registry = AgentRegistry(issuer, max_backdate=config.max_backdate)
    agents.register(app, issuer, guard, registry)
    oid4vci.register(app, issuer, guard, registry)
    presentations.register(app, issuer, guard)
    console.register(app, issuer, guard, registry)
    return app


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> Response:
        return problem(error.status, error.code, error.message, **_safe_details(error))

    @app.errorhandler(InputTooLargeError)
    def too_large(error: InputTooLargeError) -> Response:
        return problem(413, error.code, error.message)

    @app.errorhandler(AccreditError)
    def accredit_error(error: AccreditError) -> Response:
        return problem(400, error.code, error.message, **_safe_details(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        return problem(status, _HTTP_CODES.get(status, "HTTP_ERROR"), error.description or "")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return problem(500, "INTERNAL_ERROR", "the service failed to handle the request; it was logged")


def _safe_details(error: AccreditError) -> dict[str, Any]:
    reserved = {"type", "title", "status", "code", "detail"}
    return {k: v for k, v in error.details.items() if k not in reserved and isinstance(v, str | int | list)}


def _list_id(text: str) -> int:
    # ASCII digits only: int() also reads "²" and "١٢", and a list id beyond 2**31 would
    # overflow the database's integer column.
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise NotFoundError(f"no status list {text[:40]!r}")
    return int(text)


def _credential_id(text: Any) -> str:
    if not isinstance(text, str) or not 0 < len(text) <= 128 or not text.isprintable():
        raise NotFoundError("no such credential: ids are printable and at most 128 characters")
    return text


def _register_routes(app: Flask, issuer: Issuer, guard: Guard, config: ServiceConfig) -> None:
    require = guard.require

    register_vcapi(
        app,
        issuer,
        guard,
        json_body,
        accepted_suites=config.accepted_suites,
        max_backdate=config.max_backdate,
    )

    @app.get("/")
    def index() -> Response:
        guard.open_route()
        if console.wants_html():  # a browser; API clients keep the JSON
            return console.landing(issuer)
        return jsonify(
            {
                "did": issuer.did,
                "didDocument": f"{issuer.base_url}/.well-known/did.json",
                "openapi": f"{issuer.base_url}/openapi.json",
            }
        )

    @app.get("/openapi.json")
    def openapi() -> Response:
        guard.open_route()
        return jsonify(openapi_document(issuer.base_url))

    @app.get("/.well-known/did.json")
    def did_document() -> Response:
        guard.open_route()
        response = jsonify(issuer.did_document())
        response.headers["Cache-Control"] = "max-age=300"
        return response

    @app.get("/status/<list_id>")
    def status_list(list_id: str) -> Response:
        guard.open_route()
        response = jsonify(issuer.signed_status_list(_list_id(list_id)))
        response.headers["Cache-Control"] = f"max-age={config.list_max_age}"
        return response

    @app.post("/credentials/status")
    def update_status() -> Response:
        token = require("status")
        body = json_body()
        credential_id, updates = body.get("credentialId"), body.get("credentialStatus")
        if not isinstance(credential_id, str) or not isinstance(updates, list) or len(updates) != 1:
            raise InputError(
                'expected {"credentialId": "...", "credentialStatus": [{"type": '
                '"BitstringStatusListCredential", "status": "revoked"|"suspended"|"active"}]}'
            )
        credential_id = _credential_id(credential_id)
        update = updates[0]
        if not isinstance(update, dict) or update.get("status") not in ("revoked", "suspended", "active"):
            raise InputError("credentialStatus[0].status must be revoked, suspended or active")
        return jsonify(issuer.set_status(credential_id, update["status"], token))

    @app.get("/credentials/<path:credential_id>")
    def get_credential(credential_id: str) -> Response:
        require("issue")
        return jsonify({"verifiableCredential": issuer.credential(_credential_id(credential_id))})

    @app.get("/audit")
    def audit_log() -> Response:
        require("admin")
        after, limit = request.args.get("after", "0"), request.args.get("limit", "100")
        if not after.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
            raise InputError("after must be an entry number, limit between 1 and 1000")
        return jsonify({"entries": issuer.audit_entries(int(after), int(limit))})

    @app.post("/keys/rotate")
    def rotate_key() -> tuple[Response, int]:
        token = require("admin")
        return jsonify({"keyId": issuer.rotate_key(token)}), 201

    @app.post("/tokens")
    def create_token() -> tuple[Response, int]:
        token = require("admin")
        body = json_body()
        name, scopes = body.get("name"), body.get("scopes")
        lifetime, types = body.get("expiresIn", 90 * 86400), body.get("credentialTypes")
        if (
            not isinstance(name, str)
            or not 0 < len(name) <= 200
            or not name.isprintable()
            or not isinstance(scopes, list)
            or not all(isinstance(s, str) for s in scopes)
            or isinstance(lifetime, bool)
            or not isinstance(lifetime, int)
            or not (types is None or (isinstance(types, list) and all(isinstance(t, str) for t in types)))
        ):
            raise InputError(
                'expected {"name": "...", "scopes": ["issue" | "status" | "admin", ...], '
                '"expiresIn": seconds (default 90 days, at most a year), "credentialTypes": ["...", ...]}'
            )
        created = issuer.create_token(
            name,
            set(scopes),
            token,
            lifetime=timedelta(seconds=min(lifetime, 10**9)),
            credential_types=None if types is None else set(types),
        )
        return jsonify(created), 201

    @app.delete("/tokens/<token_id>")
    def revoke_token(token_id: str) -> tuple[str, int]:
        token = require("admin")
        if not (token_id.isascii() and token_id.isalnum() and len(token_id) <= 32):
            raise NotFoundError(f"no active token {token_id[:40]!r}")
        issuer.revoke_token(token_id, token)
        return "", 204
