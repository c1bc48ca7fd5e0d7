"""A Flask extension: protect views of an existing Flask application with the exchange.

    accredit = Accredit(app, exchange)

    @app.post("/quotes")
    @accredit.require(ask_for_quote)
    def quote(): ...               # accredit.authorization() is what was authorized

``ask_for_quote(call) -> Ask`` says what a call asks to do, read from its body. The extension
registers the exchange's presentation endpoint on the application.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, request

from . import MAX_BODY, Answer, Ask, Authorization, Call, Exchange, _problem

__all__ = ["Accredit"]

F = TypeVar("F", bound=Callable[..., Any])


def _response(answer: Answer) -> Response:
    return Response(answer.json(), status=answer.status, headers=dict(answer.headers))


class Accredit:
    """The exchange on a Flask application (``init_app`` for application factories)."""

    def __init__(self, app: Flask | None = None, exchange: Exchange | None = None) -> None:
        self.exchange = exchange
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        exchange = self._exchange()
        app.add_url_rule(
            f"{exchange.path}/<challenge>",
            endpoint="accredit_exchange",
            view_func=self._accept,
            methods=["POST"],
        )

    def _exchange(self) -> Exchange:
        if self.exchange is None:
            raise RuntimeError("Accredit needs an Exchange")
        return self.exchange

    def _accept(self, challenge: str) -> Response:
        if (request.content_length or 0) > MAX_BODY:
            return _response(_problem(413, "INPUT_TOO_LARGE", "the presentation is too large"))
        return _response(self._exchange().accept(challenge, request.get_data()))

    def require(self, ask: Callable[[Call], Ask]) -> Callable[[F], F]:
        """Decorate a view: it runs only for a call an agent's presentation authorized."""

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                if (request.content_length or 0) > MAX_BODY:
                    return _response(_problem(413, "INPUT_TOO_LARGE", "the request body is too large"))
                call = Call(request.method, request.full_path.rstrip("?"), request.get_data())
                answer = self._exchange().guard(
                    call, request.headers.get("Authorization"), ask, request.host_url
                )
                if answer.authorization is None:
                    return _response(answer)
                g.accredit_authorization = answer.authorization
                return view(*args, **kwargs)

            return cast(F, guarded)

        return decorate

    @staticmethod
    def authorization() -> Authorization:
        """The authorization the current call consumed (inside a ``require``d view)."""
        return cast(Authorization, g.accredit_authorization)
