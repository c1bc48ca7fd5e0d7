"""The state the signed audit log establishes: which credentials are revoked or suspended (and
at which status-list slots), and which agents are suspended.

Database rows are indexes for queries; the log is the authority. Its entries are hash-chained
and signed with the issuer's key, so someone with write access to the database alone cannot
add a status change, and cannot remove or alter one without breaking the chain: setting
``revoked = 0`` in a row changes nothing a verifier sees, because status lists and the kill
switch are read from here. ``Ledger.catch_up`` replays the entries it has not seen yet,
recomputing every digest and checking the link to the one before, and the signature of the
last one (which, through the chain, vouches for all before it).

Not covered: cutting entries off the end together with the head row (no signed checkpoint is
kept outside the database); the process that saw the entries notices, a fresh one cannot.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from ..errors import InvalidKeyError
from ..keys import PublicKey, multibase_decode
from .audit import GENESIS, entry_digest
from .errors import IntegrityError
from .storage import Store

Slots = dict[str, list[int]]  # {"revocation": [list, index], "suspension": [list, index]}


@dataclass
class CredentialState:
    slots: Slots
    revoked: bool = False
    suspended: bool = False


@dataclass
class AgentState:
    state: str = "active"
    # Credentials the kill switch suspended since the agent was last reinstated: reinstating
    # lifts those, not suspensions an operator set one by one.
    switched_off: set[str] = field(default_factory=set)


class Ledger:
    """Credential and agent states replayed from the audit log; thread-safe, catches up
    incrementally. ``keys`` returns the issuer's authentic public keys by id."""

    def __init__(self, keys: Callable[[], Mapping[str, PublicKey]]) -> None:
        self._keys = keys
        self._lock = threading.Lock()
        self.seq, self.digest = 0, GENESIS
        self.credentials: dict[str, CredentialState] = {}  # only those whose status ever changed
        self.agents: dict[str, AgentState] = {}

    def catch_up(self, store: Store, connection: Connection) -> None:
        """Apply the entries after the last one seen. Raises ``IntegrityError`` when the log
        does not continue the chain this ledger has seen, or is not signed by the issuer."""
        with self._lock:
            rows = store.audit_entries(connection, after=self.seq)
            if not rows:
                return
            seq, digest = self.seq, self.digest
            for row in rows:
                details = json.loads(row["details"])
                recomputed = entry_digest(
                    row["seq"], row["at"], row["actor"], row["action"], details, row["previous_digest"]
                )
                if row["seq"] != seq + 1 or row["previous_digest"] != digest or recomputed != row["digest"]:
                    raise IntegrityError(
                        f"the audit log breaks at entry {seq + 1}: entries were removed or altered",
                        entry=seq + 1,
                    )
                seq, digest = row["seq"], row["digest"]
            _require_signed(rows[-1], self._keys())
            for row in rows:
                self._apply(row["action"], json.loads(row["details"]), store, connection)
            self.seq, self.digest = seq, digest

    def _apply(self, action: str, details: Mapping[str, Any], store: Store, connection: Connection) -> None:
        if action == "credential.status":
            state = self._credential(details["id"], details.get("slots"), store, connection)
            if details["status"] == "revoked":
                state.revoked = True
            else:
                state.suspended = details["status"] == "suspended"
        elif action == "agent.suspend":
            agent = self.agents.setdefault(details["agent"], AgentState())
            agent.state = "suspended"
            for credential_id in details["credentials"]:
                slots = (details.get("slots") or {}).get(credential_id)
                self._credential(credential_id, slots, store, connection).suspended = True
                agent.switched_off.add(credential_id)
        elif action == "agent.reinstate":
            agent = self.agents.setdefault(details["agent"], AgentState())
            agent.state = "active"
            for credential_id in details["credentials"]:
                slots = (details.get("slots") or {}).get(credential_id)
                self._credential(credential_id, slots, store, connection).suspended = False
            agent.switched_off.clear()

    def _credential(
        self, credential_id: str, slots: Slots | None, store: Store, connection: Connection
    ) -> CredentialState:
        if credential_id not in self.credentials:
            if slots is None:  # an entry written before slots were logged (schema 0001)
                slots = store.credential_slots(connection, [credential_id]).get(credential_id)
                if slots is None:
                    raise IntegrityError(
                        f"the audit log names credential {credential_id!r}, which is missing"
                    )
            self.credentials[credential_id] = CredentialState(slots)
        return self.credentials[credential_id]

    # --- reading ------------------------------------------------------------------------------

    def set_indexes(self, list_id: int, purpose: str) -> list[int]:
        """The indexes of ``list_id`` whose bit the log sets (revoked, or suspended, credentials)."""
        with self._lock:
            return [
                state.slots[purpose][1]
                for state in self.credentials.values()
                if state.slots[purpose][0] == list_id
                and (state.revoked if purpose == "revocation" else state.suspended)
            ]

    def agent_state(self, did: str) -> str | None:
        with self._lock:
            agent = self.agents.get(did)
            return None if agent is None else agent.state

    def switched_off(self, did: str) -> list[str]:
        with self._lock:
            agent = self.agents.get(did)
            return [] if agent is None else sorted(agent.switched_off)

    def credential_state(self, credential_id: str) -> tuple[bool, bool]:
        """(revoked, suspended) as the log says; a credential never changed is neither."""
        with self._lock:
            state = self.credentials.get(credential_id)
            return (False, False) if state is None else (state.revoked, state.suspended)

    def changed_credentials(self) -> Iterable[str]:
        with self._lock:
            return list(self.credentials)


def _require_signed(row: Mapping[str, Any], keys: Mapping[str, PublicKey]) -> None:
    key = keys.get(row["key_id"])
    try:
        signature = multibase_decode(row["signature"])
    except InvalidKeyError:
        signature = b""
    if key is None or not key.verify(signature, row["digest"].encode("ascii")):
        raise IntegrityError(f"audit entry {row['seq']} is not signed by the issuer", entry=row["seq"])


__all__ = ["AgentState", "CredentialState", "Ledger"]
