"""The agent's side: a ``requests`` auth that answers an API's presentation request from a
``Wallet`` and repeats the call with the authorization it gets.

    session.auth = WalletAuth(wallet)
    session.post("https://quotes.globex.example/quotes", json={...})

A ``401 PRESENTATION_REQUIRED`` answer is answered once per call: the wallet presents what the
request asks for, bound to its challenge and to the domain this auth expects (by default the
host name of the URL called, so a request relayed from another site is refused), and posts it
to the request's presentation endpoint, which must be on the same origin as the call. On
"allow" the call is sent again with ``Authorization: Accredit <token>``; otherwise the API's
refusal (``403`` with the decision and every reason) is the response.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase

from .. import _json
from ..errors import AccreditError, RequestDomainMismatchError
from ..wallet import Wallet
from . import AUTH_SCHEME

__all__ = ["WalletAuth"]

_TIMEOUT = 10.0


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


class WalletAuth(AuthBase):
    """Answers presentation requests from ``wallet``; ``domain`` is the domain requests must
    be made for (default: the host name of the URL called)."""

    def __init__(self, wallet: Wallet, *, domain: str | None = None, timeout: float = _TIMEOUT) -> None:
        self.wallet, self.domain, self.timeout = wallet, domain, timeout

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        if AUTH_SCHEME not in str(prepared.headers.get("Authorization", "")):
            prepared.register_hook("response", self._answer)
        return prepared

    def _answer(self, response: requests.Response, **send: Any) -> requests.Response:
        if response.status_code != 401:
            return response
        try:
            problem = _json.loads(response.content)
        except AccreditError:
            return response
        vpr = problem.get("verifiablePresentationRequest") if isinstance(problem, dict) else None
        if not isinstance(vpr, dict) or response.request.url is None:
            return response
        url = response.request.url
        endpoint = _endpoint(vpr, url)
        presentation = self.wallet.present(vpr, domain=self.domain or urlsplit(url).hostname)
        answer = requests.post(
            endpoint,
            json={"verifiablePresentation": presentation},
            timeout=self.timeout,
            allow_redirects=False,
        )
        if answer.status_code != 200:
            return answer  # the refusal and its reasons, for the caller to read
        granted = _json.loads(answer.content)
        authorization = granted.get("authorization") if isinstance(granted, dict) else None
        token = authorization.get("token") if isinstance(authorization, dict) else None
        if not isinstance(token, str):
            return answer
        retry = response.request.copy()
        retry.headers["Authorization"] = f"{AUTH_SCHEME} {token}"
        response.close()
        again = response.connection.send(retry, **send)
        again.history.append(response)
        return again


def _endpoint(vpr: dict[str, Any], url: str) -> str:
    """The presentation endpoint of ``vpr``, which must be on the origin of the call."""
    interact = vpr.get("interact")
    services = interact.get("service") if isinstance(interact, dict) else None
    first = services[0] if isinstance(services, list) and services else None
    endpoint = first.get("serviceEndpoint") if isinstance(first, dict) else None
    if not isinstance(endpoint, str) or _origin(endpoint) != _origin(url):
        # A request naming another site could make the agent post its presentation there.
        raise RequestDomainMismatchError(
            "the presentation endpoint is not on the origin of the call", expected=url, actual=endpoint
        )
    return endpoint
