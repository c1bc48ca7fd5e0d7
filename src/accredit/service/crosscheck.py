"""``accredit audit verify``'s second half: the current database state against the signed log.

The log alone being intact is not enough: someone with write access to the database could set
``revoked = 0`` on a row, insert a token hash of their choosing, or flip an agent's state, and
leave the log untouched. Each check here compares one kind of row with what the log (replayed
by a fresh ``Ledger``) or the row MACs say, and names every row that disagrees.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from ..keys import PublicKey
from ..results import Check
from .errors import IntegrityError
from .ledger import Ledger
from .storage import Store

MAX_LISTED = 20  # rows named in one check's evidence


def state_checks(
    store: Store,
    connection: Connection,
    keys: Callable[[], Mapping[str, PublicKey]],
    rows: Sequence[Mapping[str, Any]],
    token_authentic: Callable[[Mapping[str, Any]], bool],
) -> list[Check]:
    """One check each for credential statuses, agent states and API tokens; ``rows`` is the
    whole audit log."""
    ledger = Ledger(keys)
    try:
        ledger.catch_up(store, connection)
    except IntegrityError as error:
        return [Check.from_error("state", error)]
    return [
        _credentials_check(store, connection, ledger),
        _agents_check(store, connection, ledger),
        _tokens_check(store, connection, rows, token_authentic),
    ]


def _mismatch(name: str, what: str, ids: list[str]) -> Check:
    if not ids:
        return Check.passed(name)
    return Check.failed(
        name,
        "STATE_MISMATCH",
        f"{len(ids)} {what} disagree with the signed audit log: the database was edited",
        rows=sorted(ids)[:MAX_LISTED],
    )


def _credentials_check(store: Store, connection: Connection, ledger: Ledger) -> Check:
    stored = store.credential_states(connection)
    wrong = [cid for cid, flags in stored.items() if flags != ledger.credential_state(cid)]
    wrong += [cid for cid in ledger.changed_credentials() if cid not in stored]
    return _mismatch("state.credentials", "credential statuses", wrong)


def _agents_check(store: Store, connection: Connection, ledger: Ledger) -> Check:
    stored = {row["did"]: row["state"] for row in store.agents(connection)}
    wrong = [did for did, state in stored.items() if state != (ledger.agent_state(did) or "active")]
    wrong += [did for did in ledger.agents if did not in stored]
    return _mismatch("state.agents", "agent states", wrong)


def _tokens_check(
    store: Store,
    connection: Connection,
    rows: Sequence[Mapping[str, Any]],
    token_authentic: Callable[[Mapping[str, Any]], bool],
) -> Check:
    created: set[str] = set()
    revoked: set[str] = set()
    first_token_unlogged_before = 0  # logs from before tokenIds were logged at init (0001)
    for row in rows:
        details = json.loads(row["details"])
        if row["action"] == "issuer.init" and "tokenId" not in details:
            first_token_unlogged_before = row["at"]
        if row["action"] in ("issuer.init", "token.create") and "tokenId" in details:
            created.add(details["tokenId"])
        elif row["action"] == "token.revoke":
            revoked.add(details["tokenId"])
    wrong = [
        token["id"]
        for token in store.tokens(connection)
        if not token_authentic(token)
        or (token["revoked_at"] is None and token["id"] in revoked)
        or (token["id"] not in created and token["created_at"] > first_token_unlogged_before)
    ]
    return _mismatch("state.tokens", "API tokens", wrong)


__all__ = ["state_checks"]
