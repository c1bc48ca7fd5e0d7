"""The web console under ``/console`` and the public verdict page, served by the service itself.

Server-rendered Flask templates and one stylesheet; no script at all, so the Content Security
Policy allows none. Every page calls the same service functions as the API routes, so a form
and a JSON request are held to the same rules and leave the same audit entries (under the
signed-in token's name).

Sign-in takes an API token; the session cookie (HttpOnly, SameSite=Strict, Secure under https,
signed with a key derived from the master key, so every instance accepts it) names the token
by id, and every request re-reads the token: revoking or expiring it ends its sessions. A
session idle for ``IDLE_TIMEOUT`` ends. Logout clears the cookie; the service keeps no session
state, so a copy of the cookie taken before logout stays usable until its idle timeout.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    abort,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from ...errors import AccreditError
from ..errors import ServiceError, UnauthorizedError
from ..http import Guard
from ..issuer import Issuer, Token
from ..registry import AgentRegistry

log = logging.getLogger("accredit.service")

IDLE_TIMEOUT = 15 * 60  # seconds
SESSION_KEY_PURPOSE = b"accredit console session v1"

# No script anywhere; images only from here or data: URIs (the QR code); no framing.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, marked Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(request.is_secure) or super().get_cookie_secure(app)


class SignInRequired(Exception):
    """The page needs a signed-in token; the handler sends the browser to the sign-in page."""


@dataclass(frozen=True)
class Console:
    """What every console page works with."""

    issuer: Issuer
    guard: Guard
    registry: AgentRegistry

    def token(self) -> Token | None:
        """The signed-in token, or None (no session, idle too long, token revoked/expired);
        read once per request."""
        if "console_token" not in g:
            g.console_token = self._session_token()
        token: Token | None = g.console_token
        return token

    def _session_token(self) -> Token | None:
        token_id, seen = session.get("token"), session.get("seen", 0)
        if not isinstance(token_id, str):
            return None
        if not isinstance(seen, int) or time.time() - seen > IDLE_TIMEOUT:
            session.clear()
            return None
        try:
            token = self.issuer.token_by_id(token_id)
        except UnauthorizedError:
            session.clear()
            return None
        session["seen"] = int(time.time())
        return token

    def require(self, scope: str) -> Token:
        """The signed-in token holding ``scope``, within its request budget."""
        token = self.token()
        if token is None:
            raise SignInRequired
        return self.guard.admit(token, scope)


def csrf_token() -> str:
    value = session.get("csrf")
    if not isinstance(value, str):
        value = session["csrf"] = secrets.token_urlsafe(32)
    return value


def _check_csrf(incoming: Request) -> None:
    # SameSite=Strict already keeps the cookie off cross-site posts; the token also stops a
    # post from a sibling origin on the same site.
    sent, expected = incoming.form.get("csrf", ""), session.get("csrf")
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(403, "this form is stale or did not come from this console: reload the page and try again")


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def register(app: Flask, issuer: Issuer, guard: Guard, registry: AgentRegistry) -> None:
    """The console's routes (``/console/...``) on ``app``."""
    from . import admin, agents, verdict

    app.secret_key = issuer.sealer.derive_key(SESSION_KEY_PURPOSE)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="accredit_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/console",
        # Behind a proxy that terminates TLS the request looks like http: the base URL says.
        SESSION_COOKIE_SECURE=issuer.base_url.startswith("https://"),
    )
    console = Console(issuer, guard, registry)
    blueprint = Blueprint(
        "console", __name__, url_prefix="/console", template_folder="templates", static_folder="static"
    )

    @blueprint.before_request
    def protect() -> None:
        if request.method == "POST":
            _check_csrf(request)

    blueprint.after_request(security_headers)

    @blueprint.context_processor
    def page_context() -> dict[str, Any]:
        return {"csrf_token": csrf_token, "signed_in": console.token(), "organization": issuer.did}

    @blueprint.errorhandler(SignInRequired)
    def sign_in_first(_: SignInRequired) -> Response:
        return redirect(url_for("console.sign_in", next=request.path))  # type: ignore[return-value]

    @blueprint.errorhandler(ServiceError)
    def refused(error: ServiceError) -> tuple[str, int]:
        return render_template(
            "error.html", status=error.status, code=error.code, message=error.message
        ), error.status

    @blueprint.errorhandler(AccreditError)
    def invalid(error: AccreditError) -> tuple[str, int]:
        return render_template("error.html", status=400, code=error.code, message=error.message), 400

    @blueprint.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = "the console failed to handle the request; it was logged"
        return render_template("error.html", status=500, code="INTERNAL_ERROR", message=message), 500

    @blueprint.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        status = error.code or 500
        return render_template(
            "error.html", status=status, code=error.name, message=error.description
        ), status

    @blueprint.get("/sign-in")
    def sign_in() -> str:
        return render_template("sign_in.html", error=None, next=_local(request.args.get("next")))

    @blueprint.post("/sign-in")
    def sign_in_post() -> Any:
        guard.open_route()  # an address's budget bounds token guessing
        target = _local(request.form.get("next"))
        try:
            token = issuer.authenticate("Bearer " + request.form.get("token", "").strip())
        except UnauthorizedError as error:
            return render_template("sign_in.html", error=error.message, next=target), 401
        session.clear()  # a fresh session (and CSRF token) for each sign-in
        session.update(token=token.id, seen=int(time.time()), csrf=secrets.token_urlsafe(32))
        return redirect(target)

    @blueprint.post("/sign-out")
    def sign_out() -> Response:
        session.clear()
        return redirect(url_for("console.sign_in"))  # type: ignore[return-value]

    @blueprint.get("/")
    def home() -> Response:
        token = console.token()
        if token is None:
            return redirect(url_for("console.sign_in"))  # type: ignore[return-value]
        if token.allows("issue"):
            return redirect(url_for("console.agents"))  # type: ignore[return-value]
        return redirect(url_for("console.credentials"))  # type: ignore[return-value]

    agents.add_routes(blueprint, console)
    admin.add_routes(blueprint, console)
    verdict.add_routes(blueprint, console)
    app.register_blueprint(blueprint)


def _local(target: str | None) -> str:
    # Only a path on this console: an open redirect after sign-in would be a phishing aid.
    if target and target.startswith("/console/") and "//" not in target and "\\" not in target:
        return target
    return "/console/"


def wants_html() -> bool:
    """True when the client prefers HTML to JSON (a browser), for ``GET /``."""
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


def landing(issuer: Issuer) -> Response:
    """The landing page ``GET /`` shows a browser."""
    response = Response(render_template("landing.html", issuer=issuer))
    return security_headers(response)


__all__ = ["Console", "register", "landing", "wants_html"]
