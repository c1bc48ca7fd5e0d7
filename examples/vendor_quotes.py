"""A vendor's quote API (Globex), protected by accredit: anyone may ask for a quote; only an
agent whose mandate allows signing this contract, at this amount, with Globex, may place the
order.

    python examples/vendor_quotes.py --trust trust.json --port 8080 [--store URL]

``--trust`` is the trust registry (which organizations' agents Globex accepts). ``--store`` is
where challenges and authorizations live when several vendor processes serve the API:
``postgresql+psycopg://…`` or ``redis://127.0.0.1:6379/0`` (default: this process's memory).
``--allow-private`` lets status lists be fetched from 127.0.0.1 (tests only).
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import signal
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from accredit import TrustRegistry, Verifier
from accredit._http import FetchPolicy
from accredit.challenges import Challenge, InMemoryStore
from accredit.dids import default_resolver
from accredit.exchange import Ask, Authorization, Call, Exchange
from accredit.exchange.flask import Accredit
from accredit.exchange.stores import RedisStore, SQLStore
from accredit.status import HTTPStatusListFetcher

GLOBEX = "did:web:quotes.globex.example"  # the counterparty an agent's mandate must allow
PRICES = {"chair-ergo-2": Decimal("240.00"), "desk-oak-160": Decimal("610.00")}


def order_ask(call: Call) -> Ask:
    """What placing this order asks: signing a contract for its total, in USD (an order that
    cannot be priced asks for no amount, which no mandate with limits allows)."""
    try:
        order = json.loads(call.body)
        total = PRICES[order["sku"]] * int(order["quantity"])
    except (ValueError, TypeError, KeyError):
        return Ask("contract.sign")
    return Ask("contract.sign", f"{total:.2f}", "USD")


def stores(url: str | None) -> tuple[Any, Any]:
    """The challenge and authorization stores: shared through SQL or Redis, else in memory."""
    if url is None:
        return InMemoryStore[Challenge](), InMemoryStore[Authorization]()
    if url.startswith("redis://"):
        return RedisStore(url, Challenge), RedisStore(url, Authorization)
    return SQLStore(url, Challenge), SQLStore(url, Authorization)


def local_network() -> dict[str, Any]:
    """DID documents and status lists fetched from 127.0.0.1 over http: for tests only."""
    policy = FetchPolicy(allow_private=True, allow_http=True)
    return {
        "resolver": default_resolver(allow_private=True, allow_http=True),
        "status_fetcher": HTTPStatusListFetcher(policy),
    }


def create_app(trust: TrustRegistry, *, domain: str, store: str | None, allow_private: bool = False) -> Flask:
    app = Flask("globex-quotes")
    challenges, authorizations = stores(store)
    network = local_network() if allow_private else {}

    # --- the vendor's few lines: a verifier, an exchange, and a protected view ---------------
    verifier = Verifier(trust=trust, challenge_store=challenges, **network)
    exchange = Exchange(verifier, domain=domain, counterparty=GLOBEX, authorizations=authorizations)
    accredit = Accredit(app, exchange)

    @app.post("/orders")
    @accredit.require(order_ask)
    def place_order() -> Any:
        authorized = accredit.authorization()
        order = {"order": f"urn:globex:order:{secrets.token_hex(8)}", "agent": authorized.holder}
        return jsonify({**order, **authorized.request}), 201

    # ------------------------------------------------------------------------------------------

    @app.get("/quotes/<sku>")
    def quote(sku: str) -> Any:
        try:
            quantity = int(request.args.get("quantity", "1"))
            total = PRICES[sku] * quantity
        except (KeyError, ValueError, InvalidOperation):
            return jsonify({"code": "UNKNOWN_ITEM", "title": "no such item"}), 404
        return jsonify({"sku": sku, "quantity": quantity, "amount": f"{total:.2f}", "currency": "USD"})

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trust", required=True, help="trust registry JSON file")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--domain", default="127.0.0.1", help="the host name agents call this API at")
    parser.add_argument("--store", help="SQLAlchemy URL or redis:// URL shared by several processes")
    parser.add_argument("--allow-private", action="store_true", help="fetch status lists from 127.0.0.1")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(
        TrustRegistry.from_file(args.trust),
        domain=args.domain,
        store=args.store,
        allow_private=args.allow_private,
    )
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # leaves serve_forever; then close
    print(f"Globex quotes on http://127.0.0.1:{server.server_port}", flush=True)  # --port 0: the one bound
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
