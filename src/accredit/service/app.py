"""The issuer service over HTTP: VC-API routes, status lists, the kill switch, audit, tokens.

JSON in, JSON out; every error is an RFC 9457 problem document with a stable ``code``, never a
traceback. Verification answers 200 when verified and 400 with the same result body when not
(VC-API clients treat any 2xx as verified).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import _json
from ..errors import AccreditError, InputError, InputTooLargeError
from .config import ServiceConfig
from .issuer import ForbiddenError, Issuer, ServiceError, Token
from .openapi import openapi_document
from .vcapi import register_vcapi

log = logging.getLogger("accredit.service")

PROBLEM_BASE = "https://accredit.dev/problems/"
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


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {
        "type": PROBLEM_BASE + code.lower().replace("_", "-"),
        "title": code.replace("_", " ").capitalize(),
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


class RateLimiter:
    """A token bucket per API token, in this process (each worker limits on its own)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = per_minute / 60.0, float(per_minute), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            allowed = tokens >= 1
            self._buckets[key] = (tokens - 1 if allowed else tokens, now)
            return allowed


def create_app(config: ServiceConfig | None = None, *, issuer: Issuer | None = None) -> Flask:
    """The Flask app for an initialised issuer (``accredit init``)."""
    config = config or ServiceConfig()
    if issuer is None:
        store = config.open_store()
        issuer = Issuer(store, config.sealer(store), allow_private_fetch=config.allow_private_fetch)
    app = Flask("accredit")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["accredit.issuer"] = issuer
    limiter = RateLimiter(config.rate_limit_per_minute)
    _register_errors(app)
    _register_routes(app, issuer, limiter, config)
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


def _json_body() -> dict[str, Any]:
    data = request.get_data(cache=False)
    if not data:
        raise InputError("the request needs a JSON body")
    body = _json.loads(data)
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


def _register_routes(app: Flask, issuer: Issuer, limiter: RateLimiter, config: ServiceConfig) -> None:
    def require(scope: str) -> Token:
        token = issuer.authenticate(request.headers.get("Authorization"))
        if not token.allows(scope):
            raise ForbiddenError(f"this route needs the {scope!r} scope", scope=scope)
        if not limiter.allow(token.id):
            raise _RateLimited()
        return token

    register_vcapi(
        app,
        issuer,
        require,
        _json_body,
        accepted_suites=config.accepted_suites,
        max_backdate=config.max_backdate,
    )

    @app.get("/")
    def index() -> Response:
        return jsonify(
            {
                "did": issuer.did,
                "didDocument": f"{issuer.base_url}/.well-known/did.json",
                "openapi": f"{issuer.base_url}/openapi.json",
            }
        )

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(issuer.base_url))

    @app.get("/.well-known/did.json")
    def did_document() -> Response:
        response = jsonify(issuer.did_document())
        response.headers["Cache-Control"] = "max-age=300"
        return response

    @app.get("/status/<int:list_id>")
    def status_list(list_id: int) -> Response:
        response = jsonify(issuer.signed_status_list(list_id))
        response.headers["Cache-Control"] = f"max-age={config.list_max_age}"
        return response

    @app.post("/credentials/status")
    def update_status() -> Response:
        token = require("status")
        body = _json_body()
        credential_id, updates = body.get("credentialId"), body.get("credentialStatus")
        if not isinstance(credential_id, str) or not isinstance(updates, list) or len(updates) != 1:
            raise InputError(
                'expected {"credentialId": "...", "credentialStatus": [{"type": '
                '"BitstringStatusListCredential", "status": "revoked"|"suspended"|"active"}]}'
            )
        update = updates[0]
        if not isinstance(update, dict) or update.get("status") not in ("revoked", "suspended", "active"):
            raise InputError("credentialStatus[0].status must be revoked, suspended or active")
        return jsonify(issuer.set_status(credential_id, update["status"], token))

    @app.get("/credentials/<path:credential_id>")
    def get_credential(credential_id: str) -> Response:
        require("issue")
        return jsonify({"verifiableCredential": issuer.credential(credential_id)})

    @app.post("/agents/<path:agent_did>/suspend")
    def kill_switch(agent_did: str) -> Response:
        token = require("status")
        suspended = issuer.kill_switch(agent_did, token)
        return jsonify({"agent": agent_did, "suspended": suspended})

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
        body = _json_body()
        name, scopes = body.get("name"), body.get("scopes")
        if not isinstance(name, str) or not name or len(name) > 200 or not isinstance(scopes, list):
            raise InputError('expected {"name": "...", "scopes": ["issue" | "status" | "admin", ...]}')
        return jsonify(issuer.create_token(name, {str(s) for s in scopes}, token)), 201

    @app.delete("/tokens/<token_id>")
    def revoke_token(token_id: str) -> tuple[str, int]:
        token = require("admin")
        issuer.revoke_token(token_id, token)
        return "", 204


class _RateLimited(ServiceError):
    code = "RATE_LIMITED"
    status = 429

    def __init__(self) -> None:
        super().__init__("too many requests for this token; slow down")
