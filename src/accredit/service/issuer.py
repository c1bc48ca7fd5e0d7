"""The issuer: an organization's DID and keys, issuance with status entries, status changes,
the kill switch, key rotation, API tokens and the audit log — over a ``Store``.

HTTP lives in ``app``; this module is what the routes and the CLI call. Every change is one
database transaction that includes its signed audit entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from .._dates import format_datetime
from .._http import FetchPolicy
from .._jcs import canonicalize
from ..credentials import VerifyOptions, issue_credential
from ..dids import (
    CachingResolver,
    DIDKeyResolver,
    DIDWebResolver,
    MethodResolver,
    Resolver,
    did_key_document,
    url_to_did_web,
)
from ..errors import AccreditError, StatusRetrievalError, ValidationError
from ..keys import MULTIKEY_CONTEXT, KeyPair, PublicKey
from ..results import VerificationResult
from ..status import (
    HTTPStatusListFetcher,
    StaticStatusListFetcher,
    StatusListChecker,
    new_list,
    set_bit,
    status_entry,
    status_list_credential,
)
from . import audit, crosscheck
from .errors import (
    AgentSuspendedError,
    ConflictError,
    ForbiddenError,
    IntegrityError,
    NotFoundError,
    ServiceError,
    UnauthorizedError,
    UnknownAgentError,
)
from .issuable import check_agent_vocabulary, check_token_types
from .ledger import Ledger
from .sealing import Sealer
from .storage import SlotTakenError, Store, now_seconds

log = logging.getLogger("accredit.service")

if TYPE_CHECKING:
    from .vcapi import IssueRequest

SCOPES = frozenset({"issue", "status", "admin"})
LIST_VALIDITY = timedelta(minutes=10)
# A list is re-signed when first fetched after a change, so it reaches verifiers within
# milliseconds of being signed. Starting its validity a minute earlier keeps a verifier whose
# clock is a little behind ours, or whose verdict is "as of" the moment it began (before the
# fetch), from refusing a fresh list as not yet valid.
LIST_BACKDATE = timedelta(minutes=1)
DID_V1 = "https://www.w3.org/ns/did/v1"
DEFAULT_TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=365)


@dataclass(frozen=True)
class Token:
    """An authenticated API token: its scopes, and the credential types it may issue (None:
    any type its scopes allow)."""

    id: str
    name: str
    scopes: frozenset[str]
    credential_types: frozenset[str] | None = None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


SYSTEM = Token("system", "system", frozenset({"admin"}))


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


class Issuer:
    """One organization's issuer over ``store``; ``sealer`` opens its private keys."""

    def __init__(self, store: Store, sealer: Sealer, *, allow_private_fetch: bool = False) -> None:
        self.store, self.sealer = store, sealer
        with store.read() as connection:
            did, base_url = store.setting(connection, "did"), store.setting(connection, "base_url")
        if did is None or base_url is None:
            raise ServiceError("the database holds no issuer; run `accredit init` first")
        self.did, self.base_url = did, base_url.rstrip("/")
        self._keys: dict[str, KeyPair] = {}
        self._lists: dict[int, tuple[int, int, dict[str, Any]]] = {}  # id → (version, expires, vc)
        self._lock = threading.Lock()
        policy = FetchPolicy(allow_private=allow_private_fetch, allow_http=allow_private_fetch)
        self.resolver: Resolver = _OwnDidFirst(
            self, CachingResolver(MethodResolver({"key": DIDKeyResolver(), "web": DIDWebResolver(policy)}))
        )
        self.remote_lists = HTTPStatusListFetcher(policy)
        lists = StatusListChecker(
            StaticStatusListFetcher(self.fetch_list), VerifyOptions(resolver=self.resolver)
        )
        self._verify_options = VerifyOptions(resolver=self.resolver, status_checker=lists)
        self.signing_key()  # fail at start-up, not at the first issuance, on a wrong master key
        self.ledger = Ledger(self.public_keys)
        self._authenticate_rows_from_before_macs()

    # --- set-up -------------------------------------------------------------------------------

    @staticmethod
    def initialize(
        store: Store, sealer: Sealer, *, base_url: str, did_web: bool, name: str | None = None
    ) -> tuple[str, str]:
        """Create the issuer: its DID (did:web of ``base_url``, or did:key), first key and an
        admin token; ``name`` is the organization's (``actsFor.name`` in AgentCredentials).
        Returns (did, admin token) — the only time the token is visible."""
        with store.write() as connection:
            if store.setting(connection, "did") is not None:
                raise ConflictError("this database already holds an issuer")
            key = KeyPair.generate()
            did = url_to_did_web(base_url) if did_web else key.did
            if did_web:
                key = KeyPair.from_secret_multibase(
                    key.secret_key_multibase, controller=did, id=f"{did}#key-1"
                )
            store.set_setting(connection, "did", did)
            store.set_setting(connection, "base_url", base_url.rstrip("/"))
            store.add_key(connection, key.id, key.public_key.multibase, sealer.seal(_secret(key), key.id))
            store.set_setting(connection, "row_macs", "1")
            if name:
                store.set_setting(connection, "organization_name", name)
            token_id, token = _new_token_in(
                store, sealer, connection, "admin", {"admin"}, MAX_TOKEN_LIFETIME, None
            )
            details = {"did": did, "keyId": key.id, "tokenId": token_id}
            _append_audit(store, connection, key, "system", "issuer.init", details)
        return did, token

    def _authenticate_rows_from_before_macs(self) -> None:
        """Token rows from before row MACs (schema 0001) are authenticated once, at the first
        start after the upgrade, and given the longest token lifetime; from then on a row
        without a valid MAC grants nothing."""
        with self.store.write() as connection:
            if self.store.setting(connection, "row_macs") is not None:
                return
            expires = _seconds(datetime.now(UTC) + MAX_TOKEN_LIFETIME)
            for row in self.store.tokens(connection):
                row = {**row, "expires_at": row["expires_at"] or expires}
                self.store.update_token(
                    connection, row["id"], expires_at=row["expires_at"], mac=_token_mac(self.sealer, row)
                )
            self.store.set_setting(connection, "row_macs", "1")

    def change_base_url(self, base_url: str) -> str | None:
        """Name ``base_url`` in the ids and status URLs of credentials issued from now on (those
        issued before keep theirs). Audited as ``issuer.base_url``. Returns the previous base URL,
        or None if unchanged. A did:web issuer's DID names its host: ``ConflictError`` if the new
        URL would name another DID."""
        new = base_url.rstrip("/")
        if new == self.base_url:
            return None
        if self.did.startswith("did:web:") and url_to_did_web(new) != self.did:
            raise ConflictError(f"{new} does not serve {self.did}: a did:web issuer keeps its host and path")
        with self.store.write() as connection:
            self.store.set_setting(connection, "base_url", new)
            key = self.signing_key(connection)
            details = {"from": self.base_url, "to": new}
            _append_audit(self.store, connection, key, "system", "issuer.base_url", details)
        previous, self.base_url = self.base_url, new
        return previous

    # --- keys ---------------------------------------------------------------------------------

    def signing_key(self, connection: Connection | None = None) -> KeyPair:
        if connection is None:
            with self.store.read() as conn:
                return self.signing_key(conn)
        row = next((k for k in self.store.keys(connection) if k["active"]), None)
        if row is None:
            raise ServiceError("the issuer has no active key")
        key = self._key(row)  # SealingError: a wrong master key or passphrase
        if key.public_key.multibase != row["public_key_multibase"]:
            raise IntegrityError("the active signing key row does not match its sealed secret")
        return key

    def _key(self, row: Mapping[str, Any]) -> KeyPair:
        with self._lock:
            if row["id"] not in self._keys:
                secret = self.sealer.open(row["secret_ciphertext"], row["id"])
                self._keys[row["id"]] = KeyPair.from_secret_multibase(
                    secret.decode("ascii"), controller=self.did, id=row["id"]
                )
            return self._keys[row["id"]]

    def rotate_key(self, actor: Token) -> str:
        """A new signing key for did:web issuers; old keys stay in the DID document while
        credentials they signed are live."""
        if not self.did.startswith("did:web:"):
            raise ConflictError("a did:key issuer cannot rotate its key: the key is the DID")
        with self.store.write() as connection:
            count = len(self.store.keys(connection))
            key = KeyPair.generate(controller=self.did, id=f"{self.did}#key-{count + 1}")
            self.store.add_key(
                connection, key.id, key.public_key.multibase, self.sealer.seal(_secret(key), key.id)
            )
            _append_audit(self.store, connection, key, actor.id, "key.rotate", {"keyId": key.id})
        return key.id

    def _authentic(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The key rows whose sealed secret opens under the master key and matches the public
        key: a row inserted by someone with database access alone is not the issuer's key."""
        authentic = []
        for row in rows:
            try:
                if self._key(row).public_key.multibase == row["public_key_multibase"]:
                    authentic.append(row)
                    continue
            except AccreditError:
                pass
            log.error("signing key row %r is not sealed under the master key; ignored", row["id"])
        return authentic

    def did_document(self) -> dict[str, Any]:
        if self.did.startswith("did:key:"):
            return did_key_document(self.did)
        with self.store.read() as connection:
            live = self.store.live_key_ids(connection, now_seconds())
            keys = [k for k in self._authentic(self.store.keys(connection)) if k["active"] or k["id"] in live]
        methods = [
            {
                "id": k["id"],
                "type": "Multikey",
                "controller": self.did,
                "publicKeyMultibase": k["public_key_multibase"],
            }
            for k in keys
        ]
        ids = [m["id"] for m in methods]
        return {
            "@context": [DID_V1, MULTIKEY_CONTEXT],
            "id": self.did,
            "verificationMethod": methods,
            "assertionMethod": ids,
            "authentication": ids,
        }

    def public_keys(self) -> dict[str, PublicKey]:
        """Every key the issuer ever had (retired ones verify old audit entries)."""
        with self.store.read() as connection:
            return {k["id"]: self._key(k).public_key for k in self._authentic(self.store.keys(connection))}

    # --- issuing ------------------------------------------------------------------------------

    def issue(
        self,
        request: IssueRequest,
        actor: Token,
        *,
        finish: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Sign a read issue request (``vcapi.read_issue_request``): its credential with the
        service's id unless the caller gave one, and its status entries (VC 2.0).

        The request was checked by ``issuable`` (reserved types, subject ids); here: a token
        limited to credential types issues only those (``ForbiddenError``), an agent credential
        must pass its reader, and nothing is issued to a suspended agent
        (``AgentSuspendedError``). ``finish`` completes the document once its id and status
        entries are set (the agent registry wires an AgentCredential's kill switch to its own
        suspension entry)."""
        check_token_types(request.credential, actor.credential_types)
        for _attempt in range(8):
            slots = self._reserve_slots()
            signed = self._sign(request, slots, finish)
            try:
                self._record(signed, slots, actor, request)
                return signed
            except SlotTakenError:
                if request.credential_id and self.has_credential(request.credential_id):
                    raise ConflictError(
                        f"a credential with id {request.credential_id!r} was already issued",
                        id=request.credential_id,
                    ) from None
                continue  # another issuer took an index between choosing and recording it
        raise ServiceError("could not allocate a status index; try again")

    def _reserve_slots(self) -> dict[str, tuple[int, int]]:
        with self.store.write() as connection:
            slots = {}
            for purpose in ("revocation", "suspension"):
                list_id = self.store.current_list(connection, purpose)
                slots[purpose] = (list_id, self.store.free_index(connection, purpose, list_id))
        return slots

    def _sign(
        self,
        request: IssueRequest,
        slots: Mapping[str, tuple[int, int]],
        finish: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        document = request.dated()
        document.setdefault("id", f"urn:uuid:{uuid.uuid4()}")
        if request.status_entries:
            given = document.get("credentialStatus", [])
            document["credentialStatus"] = [
                *(given if isinstance(given, list) else [given]),
                *(
                    status_entry(self.list_url(list_id), index, purpose)
                    for purpose, (list_id, index) in slots.items()
                ),
            ]
        if finish is not None:
            finish(document)
        check_agent_vocabulary(document)
        return issue_credential(document, self.signing_key(), suite=request.suite)

    def _record(
        self,
        signed: dict[str, Any],
        slots: Mapping[str, tuple[int, int]],
        actor: Token,
        request: IssueRequest,
    ) -> None:
        row = {
            "id": signed["id"],
            "subject_id": request.subject_ids[0] if request.subject_ids else "",
            "types": json.dumps(signed["type"]),
            "key_id": signed["proof"]["verificationMethod"],
            "issued_at": now_seconds(),
            "valid_from": _seconds(request.valid_from),
            "valid_until": _seconds(request.valid_until),
            "digest": "sha256:" + hashlib.sha256(canonicalize(signed)).hexdigest(),
            "revocation_list": slots["revocation"][0],
            "revocation_index": slots["revocation"][1],
            "suspension_list": slots["suspension"][0],
            "suspension_index": slots["suspension"][1],
            "revoked": False,
            "suspended": False,
            "status_entries": request.status_entries,
            "document": json.dumps(signed),
        }
        with self.store.write() as connection:
            # The audit head lock first: every audited change (the kill switch included) is
            # ordered before or after this one, so an issuance recorded after a switch sees it.
            self.store.lock_audit_head(connection)
            self.ledger.catch_up(self.store, connection)
            suspended = [s for s in request.subject_ids if self.ledger.agent_state(s) == "suspended"]
            if suspended:
                raise AgentSuspendedError(
                    f"the agent {suspended[0]!r} is suspended (kill switch); reinstate it first",
                    agent=suspended[0],
                )
            self.store.insert_credential(connection, row, request.subject_ids)
            self.audit_in(
                connection,
                actor,
                "credential.issue",
                {
                    "id": row["id"],
                    "subjects": list(request.subject_ids),
                    "digest": row["digest"],
                    "slots": _slots(row),
                },
            )

    def has_credential(self, credential_id: str) -> bool:
        with self.store.read() as connection:
            return self.store.credential(connection, credential_id) is not None

    def credential(self, credential_id: str) -> dict[str, Any]:
        with self.store.read() as connection:
            row = self.store.credential(connection, credential_id)
        if row is None:
            raise NotFoundError(f"no credential {credential_id!r}")
        document: dict[str, Any] = json.loads(row["document"])
        return document

    # --- status -------------------------------------------------------------------------------

    def list_url(self, list_id: int) -> str:
        return f"{self.base_url}/status/{list_id}"

    def set_status(self, credential_id: str, status: str, actor: Token) -> dict[str, Any]:
        """``revoked`` (final), ``suspended`` or ``active`` (lifts a suspension)."""
        with self.store.write() as connection:
            row = self.store.credential(connection, credential_id)
            if row is None:
                raise NotFoundError(f"no credential {credential_id!r}")
            if not row["status_entries"]:
                raise ConflictError(
                    "this VC 1.1 credential carries no status entry: no verifier would see a status change"
                )
            if row["revoked"] and status != "revoked":
                raise ConflictError("a revoked credential stays revoked")
            revoked = status == "revoked"
            suspended = status == "suspended" or (revoked and bool(row["suspended"]))
            self.store.set_status(connection, credential_id, revoked=revoked, suspended=suspended)
            details = {"id": credential_id, "status": status, "slots": _slots(row)}
            self.audit_in(connection, actor, "credential.status", details)
        return {"credentialId": credential_id, "revoked": revoked, "suspended": suspended}

    def suspend_agent(self, agent_did: str, actor: Token) -> list[str]:
        """The kill switch: the agent is suspended — issued nothing until reinstated — and
        every live credential of it is suspended, in one transaction ordered against every
        issuance. Returns the suspended credentials' ids; ``UnknownAgentError`` for a DID the
        service never registered nor issued to."""
        with self.store.write() as connection:
            self.store.lock_audit_head(connection)
            self.ledger.catch_up(self.store, connection)
            self._require_known_agent(connection, agent_did)
            suspended = self.store.suspend_subject(connection, agent_did, now_seconds())
            self.store.put_agent(connection, agent_did, state="suspended")
            details = {
                "agent": agent_did,
                "credentials": suspended,
                "slots": self.store.credential_slots(connection, suspended),
            }
            self.audit_in(connection, actor, "agent.suspend", details)
        return suspended

    def reinstate_agent(self, agent_did: str, actor: Token) -> list[str]:
        """Lift the kill switch: the agent may be issued credentials again, and the credentials
        the switch suspended (not revoked since) are active again. Returns their ids."""
        with self.store.write() as connection:
            self.store.lock_audit_head(connection)
            self.ledger.catch_up(self.store, connection)
            self._require_known_agent(connection, agent_did)
            lifted = self.store.lift_suspensions(connection, self.ledger.switched_off(agent_did))
            self.store.put_agent(connection, agent_did, state="active")
            details = {
                "agent": agent_did,
                "credentials": lifted,
                "slots": self.store.credential_slots(connection, lifted),
            }
            self.audit_in(connection, actor, "agent.reinstate", details)
        return lifted

    def agent_state(self, agent_did: str) -> dict[str, Any]:
        """``{"agent", "state"}`` as the audit log says; ``UnknownAgentError`` if unknown."""
        with self.store.read() as connection:
            self.ledger.catch_up(self.store, connection)
            self._require_known_agent(connection, agent_did)
        return {"agent": agent_did, "state": self.ledger.agent_state(agent_did) or "active"}

    def _require_known_agent(self, connection: Connection, agent_did: str) -> None:
        known = (
            self.ledger.agent_state(agent_did) is not None
            or self.store.agent(connection, agent_did) is not None
            or self.store.has_credentials(connection, agent_did)
        )
        if not known:
            raise UnknownAgentError(
                f"no agent {agent_did!r}: it was never registered nor issued a credential "
                "(percent-encode the DID when it is part of a URL path; see the API docs)",
                agent=agent_did,
            )

    def signed_status_list(self, list_id: int) -> dict[str, Any]:
        """The list credential, re-signed whenever the list changed or nears expiry."""
        with self.store.read() as connection:
            row = self.store.status_list(connection, list_id)
            if row is None:
                raise NotFoundError(f"no status list {list_id}")
            cached = self._lists.get(list_id)
            if cached and cached[0] == row["version"] and cached[1] > now_seconds():
                return cached[2]
            # The bits come from the signed audit log, not from the credentials table.
            self.ledger.catch_up(self.store, connection)
            indexes = self.ledger.set_indexes(list_id, row["purpose"])
        bits = new_list(row["size"])
        for index in indexes:
            set_bit(bits, index, True)
        now = datetime.now(UTC).replace(microsecond=0)
        unsigned = status_list_credential(
            self.list_url(list_id),
            self.did,
            row["purpose"],
            bits,
            valid_from=now - LIST_BACKDATE,
            valid_until=now + LIST_VALIDITY,
        )
        # Created when its validity starts: a verifier slightly behind must not see the proof
        # of a fresh list as created in its future.
        signed = issue_credential(unsigned, self.signing_key(), created=now - LIST_BACKDATE)
        # Serve it until halfway to validUntil, so verifiers never get a nearly stale list.
        self._lists[list_id] = (
            row["version"],
            now_seconds() + int(LIST_VALIDITY.total_seconds()) // 2,
            signed,
        )
        return signed

    def fetch_list(self, url: str) -> Mapping[str, Any]:
        prefix = f"{self.base_url}/status/"
        if url.startswith(prefix) and url[len(prefix) :].isdigit():
            try:
                return self.signed_status_list(int(url[len(prefix) :]))
            except NotFoundError:
                raise StatusRetrievalError(f"no status list at {url}", url=url) from None
        return self.remote_lists.fetch(url)

    def verify_options(self) -> VerifyOptions:
        """Options for the verify routes: this issuer's own DID and lists are read locally."""
        return self._verify_options

    # --- tokens -------------------------------------------------------------------------------

    def create_token(
        self,
        name: str,
        scopes: set[str],
        actor: Token,
        *,
        lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
        credential_types: set[str] | None = None,
    ) -> dict[str, Any]:
        """A new API token, valid for ``lifetime`` (at most a year), optionally limited to
        issuing ``credential_types``. The token itself is in the answer and nowhere else."""
        if not scopes or not scopes <= SCOPES:
            raise ValidationError(f"scopes must be a non-empty subset of {sorted(SCOPES)}", field="scopes")
        if not timedelta(minutes=1) <= lifetime <= MAX_TOKEN_LIFETIME:
            raise ValidationError("a token lives from one minute to one year", field="expiresIn")
        if credential_types is not None and (not credential_types or "admin" in scopes):
            raise ValidationError(
                "credentialTypes is a non-empty list, and an admin token cannot be limited by type",
                field="credentialTypes",
            )
        with self.store.write() as connection:
            token_id, token = _new_token_in(
                self.store, self.sealer, connection, name, scopes, lifetime, credential_types
            )
            expires = format_datetime(datetime.now(UTC).replace(microsecond=0) + lifetime)
            details: dict[str, Any] = {
                "tokenId": token_id,
                "name": name,
                "scopes": sorted(scopes),
                "expires": expires,
            }
            if credential_types is not None:
                details["credentialTypes"] = sorted(credential_types)
            self.audit_in(connection, actor, "token.create", details)
        return {"id": token_id, "token": token, **{k: v for k, v in details.items() if k != "tokenId"}}

    def revoke_token(self, token_id: str, actor: Token) -> None:
        with self.store.write() as connection:
            row = self.store.token(connection, token_id)
            if row is None or row["revoked_at"] is not None:
                raise NotFoundError(f"no active token {token_id!r}")
            row = {**row, "revoked_at": now_seconds()}
            self.store.update_token(
                connection, token_id, revoked_at=row["revoked_at"], mac=_token_mac(self.sealer, row)
            )
            self.audit_in(connection, actor, "token.revoke", {"tokenId": token_id})

    def authenticate(self, authorization: str | None) -> Token:
        """The token of an ``Authorization: Bearer`` header. ``UnauthorizedError`` unless the
        token exists, is not revoked nor expired, and its row is authentic (a row written with
        database access alone carries no valid MAC)."""
        if not authorization or not authorization.startswith("Bearer "):
            raise UnauthorizedError("a bearer token is required")
        with self.store.read() as connection:
            row = self.store.token_by_hash(connection, _hash_token(authorization[len("Bearer ") :].strip()))
        return self._token_of(row)

    def token_by_id(self, token_id: str) -> Token:
        """The token ``token_id`` (a console session names its token by id), held to the same
        rules as ``authenticate``: revoking or expiring the token ends its sessions."""
        with self.store.read() as connection:
            row = self.store.token(connection, token_id)
        return self._token_of(row)

    def _token_of(self, row: Mapping[str, Any] | None) -> Token:
        if row is None or row["revoked_at"] is not None:
            raise UnauthorizedError("the bearer token is not valid")
        if not self.token_row_authentic(row):
            log.error("API token row %r fails its MAC: the database was edited", row["id"])
            raise UnauthorizedError("the bearer token is not valid")
        if row["expires_at"] is not None and row["expires_at"] <= now_seconds():
            raise UnauthorizedError("the bearer token has expired; ask an admin for a new one")
        types = None if row["credential_types"] is None else frozenset(json.loads(row["credential_types"]))
        return Token(row["id"], row["name"], frozenset(row["scopes"].split()), types)

    def token_row_authentic(self, row: Mapping[str, Any]) -> bool:
        return self.sealer.row_authentic("api_tokens", _token_fields(row), row["mac"])

    # --- audit --------------------------------------------------------------------------------

    def audit_in(self, connection: Connection, actor: Token, action: str, details: Mapping[str, Any]) -> None:
        _append_audit(self.store, connection, self.signing_key(connection), actor.id, action, details)

    def audit_entries(self, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        with self.store.read() as connection:
            return [
                audit.entry_to_json(r) for r in self.store.audit_entries(connection, after=after, limit=limit)
            ]

    def verify_audit(self) -> VerificationResult:
        """The audit chain and every signature, then the current state against it: credential
        statuses, agent states and API tokens (``crosscheck``)."""
        keys = self.public_keys()
        with self.store.read() as connection:
            rows = self.store.audit_entries(connection)
            head = self.store.audit_head(connection)
            chain = audit.verify_entries(rows, keys, head)
            state = (
                crosscheck.state_checks(
                    self.store, connection, self.public_keys, rows, self.token_row_authentic
                )
                if chain.verified
                else []  # nothing to compare against until the chain itself holds
            )
        return VerificationResult.of("auditLog", [*chain.checks, *state])


class _OwnDidFirst:
    """Resolves the issuer's own DID from its database, everything else through ``fallback``."""

    def __init__(self, issuer: Issuer, fallback: Resolver) -> None:
        self.issuer, self.fallback = issuer, fallback

    def resolve(self, did: str) -> dict[str, Any]:
        if did == self.issuer.did:
            return self.issuer.did_document()
        return self.fallback.resolve(did)


def _secret(key: KeyPair) -> bytes:
    return key.secret_key_multibase.encode("ascii")


def _token_fields(row: Mapping[str, Any]) -> list[str | int | None]:
    return [
        row["id"],
        row["name"],
        row["token_hash"],
        row["scopes"],
        row["created_at"],
        row["expires_at"],
        row["credential_types"],
        row["revoked_at"],
    ]


def _token_mac(sealer: Sealer, row: Mapping[str, Any]) -> str:
    return sealer.row_mac("api_tokens", _token_fields(row))


def _new_token_in(
    store: Store,
    sealer: Sealer,
    connection: Connection,
    name: str,
    scopes: set[str],
    lifetime: timedelta,
    credential_types: set[str] | None,
) -> tuple[str, str]:
    """Store a new token (its hash and a MAC over the row); return (id, token)."""
    token_id = secrets.token_hex(8)
    token = f"acc_{token_id}_{secrets.token_urlsafe(32)}"
    now = now_seconds()
    row: dict[str, Any] = {
        "id": token_id,
        "name": name,
        "token_hash": _hash_token(token),
        "scopes": " ".join(sorted(scopes)),
        "created_at": now,
        "expires_at": now + int(lifetime.total_seconds()),
        "credential_types": None if credential_types is None else json.dumps(sorted(credential_types)),
        "revoked_at": None,
    }
    store.add_token(connection, {**row, "mac": _token_mac(sealer, row)})
    return token_id, token


def _slots(row: Mapping[str, Any]) -> dict[str, list[int]]:
    """A credential row's status-list slots, as the audit log records them."""
    return {
        "revocation": [row["revocation_list"], row["revocation_index"]],
        "suspension": [row["suspension_list"], row["suspension_index"]],
    }


def _append_audit(
    store: Store, connection: Connection, key: KeyPair, actor: str, action: str, details: Mapping[str, Any]
) -> None:
    seq, previous = store.lock_audit_head(connection)
    store.append_audit(
        connection, audit.new_entry(seq + 1, now_seconds(), actor, action, details, previous, key)
    )


__all__ = [
    "ConflictError",
    "ForbiddenError",
    "IntegrityError",
    "Issuer",
    "NotFoundError",
    "ServiceError",
    "Token",
    "UnauthorizedError",
]
