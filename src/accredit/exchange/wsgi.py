"""Plain WSGI middleware: protect routes of any WSGI application with the exchange.

    app = AccreditMiddleware(app, exchange, {("POST", "/quotes"): ask_for_quote})

``ask_for_quote(call) -> Ask`` says what a call asks to do (its action, amount, currency),
read from the call's body. The middleware answers the exchange's presentation endpoint,
refuses unauthorized calls with a presentation request, and passes an authorized call on with
``environ["accredit.authorization"]`` set (the ``Authorization`` it consumed).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from . import MAX_BODY, Answer, Ask, Call, Exchange, _problem

__all__ = ["AccreditMiddleware", "base_url_of"]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def base_url_of(environ: Mapping[str, Any]) -> str:
    """The scheme, host and mount point this request reached the application at."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
    return f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}"


def _read_body(environ: dict[str, Any]) -> bytes | None:
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        return None
    return bytes(environ["wsgi.input"].read(int(length)))


def _send(answer: Answer, start_response: Callable[..., Any]) -> list[bytes]:
    body = answer.json()
    headers = [*answer.headers.items(), ("Content-Length", str(len(body)))]
    start_response(f"{answer.status} {HTTPStatus(answer.status).phrase}", headers)
    return [body]


class AccreditMiddleware:
    """Wraps ``app``; ``protected`` maps ``(method, path)`` to the function that reads a call's
    ``Ask``."""

    def __init__(
        self, app: WSGIApp, exchange: Exchange, protected: Mapping[tuple[str, str], Callable[[Call], Ask]]
    ) -> None:
        self.app, self.exchange = app, exchange
        self.protected = {(method.upper(), path): ask for (method, path), ask in protected.items()}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ.get("REQUEST_METHOD", "GET").upper(), environ.get("PATH_INFO", "")
        prefix = self.exchange.path + "/"
        if method == "POST" and path.startswith(prefix):
            body = _read_body(environ)
            if body is None:
                return _send(
                    _problem(413, "INPUT_TOO_LARGE", "the presentation is too large"), start_response
                )
            return _send(self.exchange.accept(path[len(prefix) :], body), start_response)
        ask = self.protected.get((method, path))
        if ask is None:
            return self.app(environ, start_response)
        body = _read_body(environ)
        if body is None:
            return _send(_problem(413, "INPUT_TOO_LARGE", "the request body is too large"), start_response)
        query = environ.get("QUERY_STRING", "")
        call = Call(method, path + (f"?{query}" if query else ""), body)
        answer = self.exchange.guard(call, environ.get("HTTP_AUTHORIZATION"), ask, base_url_of(environ))
        if answer.authorization is None:
            return _send(answer, start_response)
        environ["wsgi.input"] = io.BytesIO(body)  # the application reads the body we hashed
        environ["accredit.authorization"] = answer.authorization
        return self.app(environ, start_response)
