"""What every route module shares: RFC 9457 problem documents, the strict JSON body, and the
``Guard`` that authenticates tokens and spends request budgets.

Budgets live in the database (``Store.take_from_bucket``), so a limit holds across every
worker and instance: one per API token on authenticated routes, one per client address on
the routes anyone may call. The client address is the peer's address as the WSGI server sees
it; behind a reverse proxy, have the proxy set it (e.g. werkzeug's ``ProxyFix``) or every
client shares the proxy's budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from .. import _json
from ..errors import InputError
from .errors import ForbiddenError, RateLimitedError
from .issuer import Issuer, Token

PROBLEM_BASE = "https://accredit.dev/problems/"


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


def json_body() -> dict[str, Any]:
    """The request's JSON object, parsed strictly (``_json``). Raises ``InputError``."""
    data = request.get_data(cache=False)
    if not data:
        raise InputError("the request needs a JSON body")
    body = _json.loads(data)
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


class Guard:
    """Authentication and request budgets for the routes of one app."""

    def __init__(
        self,
        issuer: Issuer,
        *,
        per_token_per_minute: int,
        per_address_per_minute: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer = issuer
        self.per_token, self.per_address, self.clock = per_token_per_minute, per_address_per_minute, clock

    def _spend(self, bucket: str, per_minute: int, who: str) -> None:
        allowed = self.issuer.store.take_from_bucket(
            bucket, float(per_minute), per_minute / 60.0, self.clock()
        )
        if not allowed:
            raise RateLimitedError(
                f"too many requests for this {who}; slow down", limit_per_minute=per_minute
            )

    def require(self, scope: str) -> Token:
        """The request's token, which must hold ``scope`` and be within its budget."""
        return self.admit(self.issuer.authenticate(request.headers.get("Authorization")), scope)

    def admit(self, token: Token, scope: str) -> Token:
        """``token`` if it holds ``scope`` and is within its budget (``ForbiddenError``,
        ``RateLimitedError``)."""
        if not token.allows(scope):
            raise ForbiddenError(f"this route needs the {scope!r} scope", scope=scope)
        self._spend(f"token:{token.id}", self.per_token, "token")
        return token

    def open_route(self) -> None:
        """Spend one request of the client address's budget (routes anyone may call)."""
        self._spend(f"address:{request.remote_addr or 'unknown'}", self.per_address, "client address")


__all__ = ["Guard", "json_body", "problem"]
