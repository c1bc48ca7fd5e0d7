"""Globex's supplier agent over A2A: it quotes furniture, and before it accepts an order it asks
the buyer agent for a mandate that allows exactly that order (the accredit A2A extension).

    python examples/a2a_supplier.py --trust trust.json --key globex-key.json --port 9000

Its Agent Card, signed with its DID key, declares the extension as required. ``--allow-private``
lets status lists be fetched from 127.0.0.1 (tests only).
"""

from __future__ import annotations

import argparse
import secrets
import sys
from collections.abc import Mapping
from typing import Any

import uvicorn
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCard
from google.protobuf.json_format import ParseDict
from starlette.applications import Starlette

from accredit import KeyPair, TrustRegistry, Verifier
from accredit._http import FetchPolicy
from accredit.a2a import Negotiation, Step, extension
from accredit.a2a.cards import sign_card
from accredit.a2a.sdk import MandateExecutor, RequireExtension
from accredit.dids import default_resolver
from accredit.status import HTTPStatusListFetcher

GLOBEX = "did:web:quotes.globex.example"  # the counterparty a buyer's mandate must allow


def card(key: KeyPair, url: str, trusted_issuers: list[str]) -> dict[str, Any]:
    """The supplier's Agent Card (JSON form), signed with its DID key."""
    unsigned = {
        "name": "Globex furniture supplier",
        "description": "Quotes and accepts office furniture orders from accredited buyer agents",
        "version": "1.0.0",
        "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
        "capabilities": {"extensions": [extension(key.did, trusted_issuers=trusted_issuers)]},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": "furniture-order",
                "name": "Furniture order",
                "description": "Accepts an order of chairs and desks at an agreed amount",
                "tags": ["procurement", "furniture"],
            }
        ],
    }
    return sign_card(unsigned, key)


def accept_order(step: Step, decision: Mapping[str, Any]) -> str:
    return f"order urn:globex:order:{secrets.token_hex(8)} accepted for {step.amount} {step.currency}"


def create_app(key: KeyPair, trust: TrustRegistry, *, url: str, allow_private: bool = False) -> Any:
    """The supplier's ASGI app: its signed card and its JSON-RPC endpoint, which requires the
    accredit extension."""
    network: dict[str, Any] = {}
    if allow_private:  # DID documents and status lists served from 127.0.0.1: tests only
        policy = FetchPolicy(allow_private=True, allow_http=True)
        network = {
            "resolver": default_resolver(allow_private=True, allow_http=True),
            "status_fetcher": HTTPStatusListFetcher(policy),
        }
    agent_card = ParseDict(
        card(key, url, [issuer["id"] for issuer in trust.to_dict()["issuers"]]), AgentCard()
    )

    # --- the supplier's few lines: a negotiation, an executor, the extension required ---------
    negotiation = Negotiation(Verifier(trust=trust, **network), domain=key.did, counterparty=GLOBEX)
    handler = DefaultRequestHandler(
        MandateExecutor(negotiation, accept_order), InMemoryTaskStore(), agent_card
    )
    routes = create_agent_card_routes(agent_card) + create_jsonrpc_routes(handler, "/")
    return RequireExtension(Starlette(routes=routes))
    # --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trust", required=True, help="trust registry JSON file")
    parser.add_argument("--key", required=True, help="the supplier's key file (accredit keys)")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--allow-private", action="store_true", help="fetch status lists from 127.0.0.1")
    args = parser.parse_args()
    url = f"http://127.0.0.1:{args.port}/"
    app = create_app(
        KeyPair.from_file(args.key),
        TrustRegistry.from_file(args.trust),
        url=url,
        allow_private=args.allow_private,
    )
    print(f"Globex supplier agent on {url}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
