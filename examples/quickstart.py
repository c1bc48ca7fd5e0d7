"""The whole loop on 127.0.0.1, in one program, on the public API: the organization runs
`accredit serve`, its agent keeps a Wallet, a vendor's Verifier checks the agent, and the
organization revokes the agent's credential.

    python examples/quickstart.py

Exits 0 when every step turns out as it should, 1 otherwise.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests

from accredit import AccreditError, TrustedIssuer, TrustRegistry, Verifier, Wallet

ROLE = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
    ],
    "type": ["VerifiableCredential", "AgentRoleCredential"],
    "credentialSubject": {"role": "purchasing agent", "actsFor": "Acme Corp"},
}


class DemoStatusLists:
    """Fetches status lists from this demo's own issuer on 127.0.0.1, uncached.

    A real verifier keeps the default fetcher: it refuses loopback and private addresses (a
    credential's status URL must not probe your network) and caches a list for its max-age,
    30 s by default: the kill switch's worst-case delay. No caching here, so the story shows
    the revocation at once."""

    def __init__(self, issuer_url: str) -> None:
        self.prefix = f"{issuer_url}/status/"

    def fetch(self, url: str) -> Mapping[str, Any]:
        if not url.startswith(self.prefix):
            raise AccreditError(f"not this demo's issuer: {url}")
        response = requests.get(url, timeout=10, allow_redirects=False)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


def start_issuer(data_dir: Path) -> tuple[subprocess.Popen[str], str, str, str]:
    """`accredit serve` on a free port: it creates Acme's issuer on first run and prints its
    DID, URL and admin token (shown this once; only its hash is stored)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "accredit.cli", "serve", "--port", "0", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    banner = [process.stdout.readline().split() for _ in range(5)]
    did, url = banner[0][-1], banner[1][1]
    return process, did, url, banner[4][2]


def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        issuer, acme, base, token = start_issuer(Path(directory) / "issuer")
        try:
            print(f"issuer   {acme} at {base}")

            wallet = Wallet.create(Path(directory) / "agent", passphrase="a long passphrase for the agent")
            credential = wallet.request_credential(base, ROLE, token=token)
            print(f"agent    {wallet.did} holds {credential['id']}")

            vendor = Verifier(
                trust=TrustRegistry([TrustedIssuer(acme, "Acme Corp", frozenset({"AgentRoleCredential"}))]),
                status_fetcher=DemoStatusLists(base),
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
        finally:
            issuer.terminate()
            issuer.wait(timeout=30)
        ok = first.verified and "CHALLENGE_REPLAYED" in replay.codes and list(after.codes) == ["REVOKED"]
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
