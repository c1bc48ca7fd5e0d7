"""The whole loop on 127.0.0.1, in one program: an issuer service, an agent's wallet, a vendor's
verifier, and the kill switch.

    python examples/quickstart.py

Exits 0 when every step turns out as it should, 1 otherwise.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import threading
from pathlib import Path

import requests
from werkzeug.serving import make_server

from accredit import TrustedIssuer, TrustRegistry, Verifier, Wallet
from accredit._http import FetchPolicy
from accredit.dids import default_resolver
from accredit.service import ServiceConfig, create_app
from accredit.service.issuer import Issuer
from accredit.status import HTTPStatusListFetcher

ROLE = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ],
    "type": ["VerifiableCredential", "AgentRoleCredential"],
    "credentialSubject": {"role": "purchasing agent", "actsFor": "Acme Corp"},
}


def start_issuer(data_dir: Path) -> tuple[str, str, str, object]:
    """Initialise Acme's issuer (a did:web of its own URL) and serve it in a thread."""
    app_holder: dict[str, object] = {}
    server = make_server("127.0.0.1", 0, lambda env, start: app_holder["app"](env, start), threaded=True)  # type: ignore[operator]
    base = f"http://127.0.0.1:{server.server_port}"
    config = ServiceConfig(data_dir=data_dir, database_url=None, passphrase=None, allow_private_fetch=True)
    store = config.open_store()
    did, token = Issuer.initialize(store, config.sealer(store, create=True), base_url=base, did_web=True)
    store.close()
    app_holder["app"] = create_app(config)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return base, did, token, server


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no request log in the story
    with tempfile.TemporaryDirectory() as directory:
        base, acme, token, server = start_issuer(Path(directory) / "issuer")
        print(f"issuer   {acme} at {base}")

        wallet = Wallet.create(Path(directory) / "agent", passphrase="a long passphrase for the agent")
        credential = wallet.request_credential(base, ROLE, token=token)
        print(f"agent    {wallet.did} holds {credential['id']}")

        local = FetchPolicy(allow_private=True, allow_http=True)  # this demo's issuer is on 127.0.0.1
        vendor = Verifier(
            trust=TrustRegistry([TrustedIssuer(acme, "Acme Corp", frozenset({"AgentRoleCredential"}))]),
            resolver=default_resolver(allow_private=True, allow_http=True),
            # No caching, so the story shows the revocation at once (a real verifier caches for
            # the list's max-age, 30 s by default: the kill switch's worst-case delay).
            status_fetcher=HTTPStatusListFetcher(local, max_ttl=0),
        )
        request = vendor.create_request(domain="vendor.example", query=["AgentRoleCredential"])
        presentation = wallet.present(request)
        first = vendor.verify_presentation(
            presentation, challenge=request["challenge"], domain="vendor.example"
        )
        print(f"vendor   verified={first.verified}")

        replay = vendor.verify_presentation(
            presentation, challenge=request["challenge"], domain="vendor.example"
        )
        print(f"vendor   replayed presentation: verified={replay.verified} {list(replay.codes)}")

        revoked = requests.post(
            f"{base}/credentials/status",
            timeout=10,
            headers={"Authorization": f"Bearer {token}"},
            json={
                "credentialId": credential["id"],
                "credentialStatus": [{"type": "BitstringStatusListCredential", "status": "revoked"}],
            },
        )
        print(f"issuer   revoked {credential['id']}: HTTP {revoked.status_code}")

        request = vendor.create_request(domain="vendor.example", query=["AgentRoleCredential"])
        after = vendor.verify_presentation(
            wallet.present(request), challenge=request["challenge"], domain="vendor.example"
        )
        print(f"vendor   after revocation: verified={after.verified} {list(after.codes)}")
        server.shutdown()  # type: ignore[attr-defined]
        ok = first.verified and "CHALLENGE_REPLAYED" in replay.codes and list(after.codes) == ["REVOKED"]
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
