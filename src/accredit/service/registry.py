"""The agent registry: agents the organization registers, their AgentCredential (with the kill
switch wired to the credential's own suspension entry) and their mandates.

Every credential here is built from typed JSON and read by the same strict readers
``authorize`` uses before it is signed (``issuable.check_agent_vocabulary``), so the service
cannot sign an agent credential or a mandate a verifier would refuse as malformed. The
MandateCredential names the agent's current AgentCredential by id and digest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ..agents import AGENT_CREDENTIAL, AGENTS_CONTEXT, MANDATE_CREDENTIAL, Reference
from ..credentials import CREDENTIALS_V2
from ..errors import ValidationError
from .errors import AgentSuspendedError, ConflictError, UnknownAgentError
from .issuable import is_subject_id
from .issuer import Issuer, Token
from .storage import now_seconds
from .vcapi import DEFAULT_SUITE, read_issue_request

_PROFILE_KEYS = {"name", "builtBy", "build", "liabilityContact", "escalationContact"}
_MANDATE_KEYS = {
    "actions",
    "purpose",
    "transactionLimit",
    "totalLimit",
    "escalationThreshold",
    "counterparties",
    "delegationDepth",
}
_VALIDITY_KEYS = {"validFrom", "validUntil"}


def _only(body: Mapping[str, Any], allowed: set[str], required: set[str], what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(f"{what} does not take {unknown}; it takes {sorted(allowed)}", field=unknown[0])
    missing = sorted(required - set(body))
    if missing:
        raise ValidationError(f"{what} needs {missing}", field=missing[0])


def _validity(body: Mapping[str, Any]) -> dict[str, Any]:
    return {key: body[key] for key in _VALIDITY_KEYS if key in body}


class AgentRegistry:
    """Registers agents and issues their credentials through ``issuer``."""

    def __init__(self, issuer: Issuer, *, max_backdate: timedelta = timedelta(minutes=5)) -> None:
        self.issuer, self.max_backdate = issuer, max_backdate

    def _issue(
        self,
        document: dict[str, Any],
        validity: Mapping[str, Any],
        actor: Token,
        finish: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        body = {"credential": document, "options": dict(validity)}
        request = read_issue_request(
            body, issuer=self.issuer, suite=DEFAULT_SUITE, max_backdate=self.max_backdate
        )
        return self.issuer.issue(request, actor, finish=finish)

    def organization(self) -> dict[str, str]:
        with self.issuer.store.read() as connection:
            name = self.issuer.store.setting(connection, "organization_name")
        return {"id": self.issuer.did, **({"name": name} if name else {})}

    # --- agents -------------------------------------------------------------------------------

    def register(self, body: Mapping[str, Any], actor: Token) -> dict[str, Any]:
        """Register the agent of ``body["did"]`` and issue its AgentCredential.

        ``body``: ``did``, ``name``, ``builtBy``, ``build``, ``liabilityContact``,
        ``escalationContact`` (shapes as in docs/agents.md), optional ``validFrom`` and
        ``validUntil``. Raises ``ValidationError`` naming the field, ``ConflictError`` if the
        agent is registered already."""
        _only(body, {"did", *_PROFILE_KEYS, *_VALIDITY_KEYS}, {"did", *_PROFILE_KEYS - {"name"}}, "an agent")
        did = body["did"]
        if not is_subject_id(did) or not str(did).startswith("did:"):
            raise ValidationError("did must be the agent's DID", field="did")
        profile = {key: body[key] for key in _PROFILE_KEYS if key in body}
        if "name" in profile and (not isinstance(profile["name"], str) or not profile["name"].isprintable()):
            raise ValidationError("name must be printable text", field="name")
        with self.issuer.store.write() as connection:
            self.issuer.store.lock_audit_head(connection)
            existing = self.issuer.store.agent(connection, did)
            if existing is not None and existing["registered"]:
                raise ConflictError(f"the agent {did!r} is registered already", agent=did)
            self.issuer.store.put_agent(connection, did, registered=True, profile=json.dumps(profile))
            self.issuer.audit_in(connection, actor, "agent.register", {"agent": did, "profile": profile})
        credential = self._issue_agent_credential(did, profile, _validity(body), actor)
        return {"agent": did, "state": "active", "agentCredential": credential}

    def _issue_agent_credential(
        self, did: str, profile: Mapping[str, Any], validity: Mapping[str, Any], actor: Token
    ) -> dict[str, Any]:
        subject = {
            "id": did,
            "type": "Agent",
            "actsFor": self.organization(),
            "builtBy": profile["builtBy"],
            "build": profile["build"],
            "liabilityContact": profile["liabilityContact"],
            "governance": {"escalationContact": profile["escalationContact"]},
        }
        document: dict[str, Any] = {
            "@context": [CREDENTIALS_V2, AGENTS_CONTEXT],
            "type": ["VerifiableCredential", AGENT_CREDENTIAL],
            "credentialSubject": subject,
        }
        if "name" in profile:
            document["name"] = profile["name"]

        def wire_kill_switch(signed: dict[str, Any]) -> None:
            # The kill switch is the credential's own suspension entry: the one a verifier checks.
            suspension = next(e for e in signed["credentialStatus"] if e["statusPurpose"] == "suspension")
            signed["credentialSubject"]["governance"]["killSwitch"] = suspension["id"]

        return self._issue(document, validity, actor, wire_kill_switch)

    def agents(self) -> list[dict[str, Any]]:
        with self.issuer.store.read() as connection:
            self.issuer.ledger.catch_up(self.issuer.store, connection)
            rows = self.issuer.store.agents(connection)
        return [self._summary(row) for row in rows]

    def _summary(self, row: Mapping[str, Any]) -> dict[str, Any]:
        profile = json.loads(row["profile"]) if row["profile"] else {}
        return {
            "agent": row["did"],
            "name": profile.get("name"),
            "registered": bool(row["registered"]),
            "state": self.issuer.ledger.agent_state(row["did"]) or "active",
        }

    def agent(self, did: str) -> dict[str, Any]:
        """An agent: its state and every credential issued to it, with its status."""
        with self.issuer.store.read() as connection:
            self.issuer.ledger.catch_up(self.issuer.store, connection)
            row = self.issuer.store.agent(connection, did)
            issued = self.issuer.store.credentials_of(connection, did)
        if row is None and not issued:
            raise UnknownAgentError(f"no agent {did!r}", agent=did)
        summary = (
            self._summary(row) if row is not None else {"agent": did, "registered": False, "state": "active"}
        )
        now = now_seconds()
        credentials = []
        for credential in issued:
            revoked, suspended = self.issuer.ledger.credential_state(credential["id"])
            expired = credential["valid_until"] is not None and credential["valid_until"] <= now
            status = (
                "revoked" if revoked else "suspended" if suspended else "expired" if expired else "active"
            )
            credentials.append(
                {"id": credential["id"], "type": json.loads(credential["types"]), "status": status}
            )
        return {**summary, "credentials": credentials}

    def current(self, did: str, credential_type: str) -> dict[str, Any] | None:
        """The agent's newest credential of ``credential_type`` that is neither revoked,
        suspended nor expired."""
        with self.issuer.store.read() as connection:
            self.issuer.ledger.catch_up(self.issuer.store, connection)
            issued = self.issuer.store.credentials_of(connection, did)
        now = now_seconds()
        for row in reversed(issued):  # newest first
            live = row["valid_until"] is None or row["valid_until"] > now
            if credential_type in json.loads(row["types"]) and live:
                if self.issuer.ledger.credential_state(row["id"]) == (False, False):
                    document: dict[str, Any] = json.loads(row["document"])
                    return document
        return None

    # --- mandates -----------------------------------------------------------------------------

    def issue_mandate(self, did: str, body: Mapping[str, Any], actor: Token) -> dict[str, Any]:
        """A MandateCredential for the registered agent ``did`` from ``body`` (the mandate's
        fields as in docs/agents.md, plus optional ``validFrom``/``validUntil``), referencing
        the agent's current AgentCredential. Raises ``ValidationError`` naming the field."""
        _only(body, _MANDATE_KEYS | _VALIDITY_KEYS, {"actions", "purpose"}, "a mandate")
        agent_credential = self.live_agent_credential(did)
        subject = {
            "id": did,
            "type": "AgentMandate",
            "agentCredential": Reference.to(agent_credential).to_json(),
            **{key: body[key] for key in _MANDATE_KEYS if key in body},
        }
        document = {
            "@context": [CREDENTIALS_V2, AGENTS_CONTEXT],
            "type": ["VerifiableCredential", MANDATE_CREDENTIAL],
            "credentialSubject": subject,
        }
        return self._issue(document, _validity(body), actor)

    def live_agent_credential(self, did: str) -> dict[str, Any]:
        """The registered, active agent's current AgentCredential. Raises ``UnknownAgentError``,
        ``AgentSuspendedError``, or ``ConflictError`` when it has no live one."""
        with self.issuer.store.read() as connection:
            row = self.issuer.store.agent(connection, did)
        if row is None or not row["registered"]:
            raise UnknownAgentError(f"no registered agent {did!r}: POST /agents first", agent=did)
        self._require_active(did)
        credential = self.current(did, AGENT_CREDENTIAL)
        if credential is None:
            raise ConflictError(
                f"the agent {did!r} has no live AgentCredential; re-issue it first", agent=did
            )
        return credential

    def reissue(self, did: str, body: Mapping[str, Any], actor: Token) -> dict[str, Any]:
        """A new AgentCredential from the registered profile and, for each live mandate, a new
        MandateCredential naming it; the credentials they replace are revoked. For credentials
        nearing expiry, or after the issuer rotated its key."""
        _only(body, set(_VALIDITY_KEYS), set(), "a re-issue")
        with self.issuer.store.read() as connection:
            row = self.issuer.store.agent(connection, did)
        if row is None or not row["registered"]:
            raise UnknownAgentError(f"no registered agent {did!r}", agent=did)
        self._require_active(did)
        old_agent = self.current(did, AGENT_CREDENTIAL)
        mandates = self._live_mandates(did)
        agent_credential = self._issue_agent_credential(
            did, json.loads(row["profile"]), _validity(body), actor
        )
        reissued = []
        for mandate in mandates:
            subject = {
                **mandate["credentialSubject"],
                "agentCredential": Reference.to(agent_credential).to_json(),
            }
            document = {key: mandate[key] for key in ("@context", "type")} | {"credentialSubject": subject}
            reissued.append(self._issue(document, _validity(body), actor))
        for replaced in ([old_agent] if old_agent else []) + mandates:
            self.issuer.set_status(replaced["id"], "revoked", actor)
        return {"agent": did, "agentCredential": agent_credential, "mandates": reissued}

    def _require_active(self, did: str) -> None:
        with self.issuer.store.read() as connection:
            self.issuer.ledger.catch_up(self.issuer.store, connection)
        if self.issuer.ledger.agent_state(did) == "suspended":
            raise AgentSuspendedError(
                f"the agent {did!r} is suspended (kill switch); reinstate it first", agent=did
            )

    def _live_mandates(self, did: str) -> list[dict[str, Any]]:
        with self.issuer.store.read() as connection:
            issued = self.issuer.store.credentials_of(connection, did)
        now = now_seconds()
        return [
            json.loads(row["document"])
            for row in issued
            if MANDATE_CREDENTIAL in json.loads(row["types"])
            and (row["valid_until"] is None or row["valid_until"] > now)
            and self.issuer.ledger.credential_state(row["id"]) == (False, False)
        ]


__all__ = ["AgentRegistry"]
