"""A real issuer service on 127.0.0.1 for tests, and a client that checks every answer against
the service's own OpenAPI document."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from accredit.service import ServiceConfig, create_app
from accredit.service.issuer import Issuer
from accredit.service.openapi import openapi_document

# Flask rule → OpenAPI path template.
_RULES = {
    "/status/<list_id>": "/status/{listId}",
    "/credentials/<path:credential_id>": "/credentials/{credentialId}",
    "/agents/<path:agent_did>/suspend": "/agents/{agentDid}/suspend",
    "/agents/<path:agent_did>/reinstate": "/agents/{agentDid}/reinstate",
    "/agents/<path:agent_did>": "/agents/{agentDid}",
    "/agents/<path:agent_did>/mandates": "/agents/{agentDid}/mandates",
    "/agents/<path:agent_did>/reissue": "/agents/{agentDid}/reissue",
    "/agents/<path:agent_did>/offers": "/agents/{agentDid}/offers",
    "/tokens/<token_id>": "/tokens/{tokenId}",
    "/issuers/<suite>/credentials/issue": "/issuers/{cryptosuite}/credentials/issue",
}


class RunningService:
    """Initialises an issuer (did:web of its own 127.0.0.1 URL) and serves it in a thread."""

    def __init__(
        self, data_dir: Path, database_url: str | None, *, did_web: bool = True, **config: Any
    ) -> None:
        self._app: Any = None
        self._workers: list[tuple[Any, Issuer]] = []
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.config = ServiceConfig(
            data_dir=data_dir, database_url=database_url, allow_private_fetch=True, passphrase=None, **config
        )
        store = self.config.open_store()
        self.did, self.admin_token = Issuer.initialize(
            store, self.config.sealer(store, create=True), base_url=self.base, did_web=did_web
        )
        store.close()
        self.app = create_app(self.config)
        self._app = self.app
        self.issuer: Issuer = self.app.extensions["accredit.issuer"]
        self.openapi = openapi_document(self.base)  # not fetched: that would spend the rate budget
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.http = requests.Session()

    def another_worker(self) -> str:
        """Serve a second app over the same database and keys (another worker or instance);
        return its base URL. Stopped by ``close``."""
        app = create_app(self.config)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._workers.append((server, app.extensions["accredit.issuer"]))
        return f"http://127.0.0.1:{server.server_port}"

    def _dispatch(self, environ: Any, start_response: Any) -> Any:
        return self._app(environ, start_response)

    def close(self) -> None:
        for server, issuer in self._workers:
            server.shutdown()
            server.server_close()
            issuer.store.close()
        self.server.shutdown()
        self.server.server_close()
        self.issuer.store.close()

    # --- requests -----------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self.http.request(method, self.base + path, headers=headers, timeout=30, **kwargs)
        self._check_documented(method, path, response)
        return response

    def issue(
        self, credential: dict[str, Any], *, token: str | None = None, **options: Any
    ) -> requests.Response:
        body: dict[str, Any] = {"credential": credential}
        if options:
            body["options"] = options
        return self.request("POST", "/credentials/issue", token=token or self.admin_token, json=body)

    def verify(self, credential: dict[str, Any]) -> requests.Response:
        return self.request("POST", "/credentials/verify", json={"verifiableCredential": credential})

    def set_status(self, credential_id: str, status: str, *, token: str | None = None) -> requests.Response:
        body = {
            "credentialId": credential_id,
            "credentialStatus": [{"type": "BitstringStatusListCredential", "status": status}],
        }
        return self.request("POST", "/credentials/status", token=token or self.admin_token, json=body)

    def _check_documented(self, method: str, path: str, response: requests.Response) -> None:
        """Every answer must be one the OpenAPI document describes for that route."""
        adapter = self.app.url_map.bind("127.0.0.1")
        try:
            rule, _ = adapter.match(path.split("?")[0], method=method, return_rule=True)
        except Exception:
            return  # not a route (404/405 from the router): nothing to compare
        template = _RULES.get(rule.rule, rule.rule)
        operation = self.openapi["paths"].get(template, {}).get(method.lower())
        assert operation is not None, f"{method} {template} is not in openapi.json"
        assert str(response.status_code) in operation["responses"], (
            f"{method} {template} answered {response.status_code}, undocumented: {response.text[:300]}"
        )
        if response.status_code >= 400 and "problem" in response.headers.get("Content-Type", ""):
            problem = response.json()
            assert {"type", "title", "status", "code"} <= set(problem), problem
            assert re.fullmatch(r"[A-Z_]+", problem["code"]), problem
