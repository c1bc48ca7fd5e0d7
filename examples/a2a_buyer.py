"""Acme's buying agent proposes a furniture order to Globex's supplier agent over A2A, checks
the supplier's signed Agent Card, and answers its request for a mandate from the agent's wallet.

    ACCREDIT_WALLET_PASSPHRASE=… python examples/a2a_buyer.py --wallet DIR \\
        --supplier http://127.0.0.1:9000 --supplier-did did:key:z6Mk… --amount 1200.00

Prints the task's final state and the supplier's decision as JSON; exits 0 when the order was
accepted, 1 when it was refused or is waiting for a human.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx
from a2a.client import ClientConfig, create_client
from a2a.types import TaskState

from accredit import Wallet
from accredit.a2a import Step
from accredit.a2a.sdk import WalletInterceptor, card_verifier, extension_data, negotiate
from accredit.dids import Resolver


async def order(
    wallet: Wallet, supplier: str, supplier_did: str, step: Step, resolver: Resolver | None = None
) -> dict[str, Any]:
    """Propose ``step`` to the supplier at ``supplier`` whose card must be signed by ``supplier_did``."""
    async with httpx.AsyncClient(timeout=30) as http:
        # --- the buyer's few lines ------------------------------------------------------------
        client = await create_client(
            supplier,
            client_config=ClientConfig(streaming=False, httpx_client=http),
            interceptors=[WalletInterceptor(wallet, domain=supplier_did)],
            signature_verifier=card_verifier(supplier_did, resolver),  # refuses unsigned/forged cards
        )
        task = await negotiate(client, step)
        # ----------------------------------------------------------------------------------------
    return {
        "task": task.id,
        "state": TaskState.Name(task.status.state),
        **extension_data(task.status.message),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallet", required=True)
    parser.add_argument("--supplier", required=True, help="the supplier agent's base URL")
    parser.add_argument("--supplier-did", required=True, help="the DID its card must be signed by")
    parser.add_argument("--amount", required=True, help="the order's total, e.g. 1200.00")
    parser.add_argument("--currency", default="USD")
    args = parser.parse_args()
    step = Step("contract.sign", args.amount, args.currency)
    outcome = asyncio.run(order(Wallet.open(args.wallet), args.supplier, args.supplier_did, step))
    print(json.dumps(outcome, indent=2))
    return 0 if outcome["state"] == "TASK_STATE_COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
