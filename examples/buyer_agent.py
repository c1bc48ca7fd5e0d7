"""Acme's buying agent places an order with Globex's quote API, answering its presentation
request from the agent's wallet.

    ACCREDIT_WALLET_PASSPHRASE=… python examples/buyer_agent.py --wallet DIR --vendor URL \\
        --sku chair-ergo-2 --quantity 5

Prints the vendor's answer (the order, or the refusal and its reasons) as JSON; exits 0 when
the order was placed, 1 when it was refused.
"""

from __future__ import annotations

import argparse
import json
import sys

import requests

from accredit import Wallet
from accredit.exchange.client import WalletAuth


def place_order(wallet_dir: str, vendor: str, sku: str, quantity: int) -> requests.Response:
    # --- the agent's few lines -----------------------------------------------------------------
    session = requests.Session()
    session.auth = WalletAuth(Wallet.open(wallet_dir))
    return session.post(f"{vendor}/orders", json={"sku": sku, "quantity": quantity}, timeout=30)
    # --------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallet", required=True)
    parser.add_argument("--vendor", required=True, help="the quote API's base URL")
    parser.add_argument("--sku", required=True)
    parser.add_argument("--quantity", type=int, default=1)
    args = parser.parse_args()
    answer = place_order(args.wallet, args.vendor, args.sku, args.quantity)
    print(json.dumps({"status": answer.status_code, **answer.json()}, indent=2))
    return 0 if answer.status_code == 201 else 1


if __name__ == "__main__":
    sys.exit(main())
