"""The issuer service's database: SQLite (WAL) by default, PostgreSQL for several instances.

Every write runs in one transaction together with its audit entry. On SQLite, write
transactions start with ``BEGIN IMMEDIATE`` so concurrent writers queue on the database lock
instead of failing on a stale snapshot; on PostgreSQL the audit head row lock orders them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, delete, event, func, select, text, update
from sqlalchemy.exc import IntegrityError

from .schema import (
    access_tokens,
    agents,
    api_tokens,
    audit_head,
    audit_log,
    challenges,
    credential_subjects,
    credentials,
    offers,
    rate_limits,
    settings,
    signing_keys,
    status_lists,
)

LIST_SIZE = 131_072  # entries per status list: the spec's minimum, for herd privacy
LIST_FILL = LIST_SIZE // 2  # open a new list at half full, so random indexes stay cheap to find
PURPOSES = ("revocation", "suspension")


class SlotTakenError(Exception):
    """Another credential took the chosen status index first; pick again."""


def now_seconds() -> int:
    return int(time.time())


def _sqlite_engines(url: str) -> tuple[Engine, Engine]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged issuance survives a crash
        cursor.close()

    engines = []
    for begin in ("BEGIN IMMEDIATE", "BEGIN"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", connect)
        event.listen(engine, "begin", lambda conn, sql=begin: conn.exec_driver_sql(sql))
        engines.append(engine)
    return engines[0], engines[1]


class Store:
    """Typed access to the service tables. ``write()`` and ``read()`` yield a connection inside
    one transaction; the query methods take that connection."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._write_lock: threading.Lock | contextlib.nullcontext[None] = contextlib.nullcontext()
        if self.is_sqlite:
            self._writer, self._reader = _sqlite_engines(url)
            self._write_lock = threading.Lock()
        else:
            self._writer = self._reader = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        # SQLite admits one writer; threads of this process queue on a lock rather than in
        # SQLite's busy handler, whose back-off sleeps made the tail latency (other processes
        # still wait in the busy handler).
        with self._write_lock, self._writer.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._reader.begin() as connection:
            yield connection

    # --- schema -----------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the latest Alembic revision, once even if several processes
        start together (a PostgreSQL advisory lock, or a file lock beside the SQLite file)."""
        with self._migration_lock(), self._writer.connect() as connection:
            config = _alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.is_sqlite:
            database = self._writer.url.database
            if not database or database == ":memory:":
                yield
                return
            descriptor = os.open(f"{database}.migrate-lock", os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                yield
            return
        with self._writer.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(7240311)"))
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(7240311)"))
                connection.commit()

    # --- settings ---------------------------------------------------------------------------

    def setting(self, connection: Connection, name: str) -> str | None:
        return connection.execute(select(settings.c.value).where(settings.c.name == name)).scalar()

    def set_setting(self, connection: Connection, name: str, value: str) -> None:
        if self.setting(connection, name) is None:
            connection.execute(settings.insert().values(name=name, value=value))
        else:
            connection.execute(update(settings).where(settings.c.name == name).values(value=value))

    # --- keys -------------------------------------------------------------------------------

    def add_key(self, connection: Connection, key_id: str, public_multibase: str, sealed: bytes) -> None:
        connection.execute(update(signing_keys).values(active=False))
        connection.execute(
            signing_keys.insert().values(
                id=key_id,
                public_key_multibase=public_multibase,
                secret_ciphertext=sealed,
                created_at=now_seconds(),
                active=True,
            )
        )

    def keys(self, connection: Connection) -> list[dict[str, Any]]:
        rows = connection.execute(select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.id))
        return [dict(row._mapping) for row in rows]

    def live_key_ids(self, connection: Connection, at: int) -> set[str]:
        """Keys that signed a credential not yet expired nor revoked: their verification
        methods must stay in the DID document."""
        query = (
            select(credentials.c.key_id)
            .distinct()
            .where(
                credentials.c.revoked.is_(False),
                (credentials.c.valid_until.is_(None)) | (credentials.c.valid_until > at),
            )
        )
        return set(connection.execute(query).scalars())

    # --- status lists -----------------------------------------------------------------------

    def current_list(self, connection: Connection, purpose: str) -> int:
        """The id of the list new credentials get an index in; a new list when it is full."""
        latest = connection.execute(
            select(status_lists.c.id, status_lists.c.sequence)
            .where(status_lists.c.purpose == purpose)
            .order_by(status_lists.c.sequence.desc())
            .limit(1)
        ).first()
        if latest is not None and self._used(connection, purpose, latest.id) < LIST_FILL:
            return int(latest.id)
        sequence = 1 if latest is None else latest.sequence + 1
        try:
            with connection.begin_nested():
                result = connection.execute(
                    status_lists.insert().values(
                        purpose=purpose,
                        sequence=sequence,
                        size=LIST_SIZE,
                        version=0,
                        created_at=now_seconds(),
                    )
                )
            key = result.inserted_primary_key
            assert key is not None  # an INSERT always has one
            return int(key[0])
        except IntegrityError:  # another process opened it first: use theirs
            return self.current_list(connection, purpose)

    def _used(self, connection: Connection, purpose: str, list_id: int) -> int:
        column = credentials.c.revocation_list if purpose == "revocation" else credentials.c.suspension_list
        return int(connection.execute(select(func.count()).where(column == list_id)).scalar_one())

    def status_list_fill(self, connection: Connection) -> list[dict[str, Any]]:
        """Every status list: ``id``, ``purpose``, ``size``, ``used`` (indexes taken) and
        ``fill`` (the count at which a new list is opened)."""
        rows = connection.execute(select(status_lists).order_by(status_lists.c.id)).all()
        return [
            {
                "id": row.id,
                "purpose": row.purpose,
                "size": row.size,
                "used": self._used(connection, row.purpose, row.id),
                "fill": LIST_FILL,
            }
            for row in rows
        ]

    def free_index(self, connection: Connection, purpose: str, list_id: int) -> int:
        """A random unused index (herd privacy: indexes say nothing about issuance order)."""
        list_column, index_column = _slot_columns(purpose)
        while True:
            index = secrets.randbelow(LIST_SIZE)
            taken = connection.execute(
                select(credentials.c.id).where(list_column == list_id, index_column == index)
            ).first()
            if taken is None:
                return index

    def status_list(self, connection: Connection, list_id: int) -> dict[str, Any] | None:
        row = connection.execute(select(status_lists).where(status_lists.c.id == list_id)).first()
        return None if row is None else dict(row._mapping)

    def set_indexes(self, connection: Connection, list_id: int, purpose: str) -> list[int]:
        """The indexes whose bit is set in a list: revoked, or suspended, credentials."""
        list_column, index_column = _slot_columns(purpose)
        flag = credentials.c.revoked if purpose == "revocation" else credentials.c.suspended
        query = select(index_column).where(list_column == list_id, flag.is_(True))
        return [int(i) for i in connection.execute(query).scalars()]

    def _bump(self, connection: Connection, list_ids: set[int]) -> None:
        if list_ids:
            connection.execute(
                update(status_lists)
                .where(status_lists.c.id.in_(list_ids))
                .values(version=status_lists.c.version + 1)
            )

    # --- credentials ------------------------------------------------------------------------

    def insert_credential(
        self, connection: Connection, row: Mapping[str, Any], subject_ids: Sequence[str] = ()
    ) -> None:
        """Record an issued credential and its subjects' ids. Raises ``SlotTakenError`` if a
        status index (or the credential id) was taken concurrently (the unique constraints
        are the arbiter)."""
        try:
            with connection.begin_nested():
                connection.execute(credentials.insert().values(**row))
                for subject_id in dict.fromkeys(subject_ids):
                    connection.execute(
                        credential_subjects.insert().values(credential_id=row["id"], subject_id=subject_id)
                    )
        except IntegrityError as error:
            raise SlotTakenError(str(error.orig)) from None

    def credential(self, connection: Connection, credential_id: str) -> dict[str, Any] | None:
        row = connection.execute(select(credentials).where(credentials.c.id == credential_id)).first()
        return None if row is None else dict(row._mapping)

    def set_status(
        self, connection: Connection, credential_id: str, *, revoked: bool, suspended: bool
    ) -> None:
        row = self.credential(connection, credential_id)
        if row is None:
            return
        connection.execute(
            update(credentials)
            .where(credentials.c.id == credential_id)
            .values(revoked=revoked, suspended=suspended)
        )
        self._bump(connection, {row["revocation_list"], row["suspension_list"]})

    def suspend_subject(self, connection: Connection, subject_id: str, at: int) -> list[str]:
        """Suspend every live credential of ``subject_id``; return their ids."""
        named = select(credential_subjects.c.credential_id).where(
            credential_subjects.c.subject_id == subject_id
        )
        live = (
            credentials.c.id.in_(named),
            credentials.c.status_entries.is_(True),
            credentials.c.revoked.is_(False),
            credentials.c.suspended.is_(False),
            (credentials.c.valid_until.is_(None)) | (credentials.c.valid_until > at),
        )
        rows = connection.execute(select(credentials.c.id, credentials.c.suspension_list).where(*live)).all()
        if rows:
            connection.execute(
                update(credentials).where(credentials.c.id.in_([r.id for r in rows])).values(suspended=True)
            )
            self._bump(connection, {int(r.suspension_list) for r in rows})
        return [str(r.id) for r in rows]

    # --- tokens -----------------------------------------------------------------------------

    def add_token(self, connection: Connection, row: Mapping[str, Any]) -> None:
        connection.execute(api_tokens.insert().values(**row))

    def token_by_hash(self, connection: Connection, token_hash: str) -> dict[str, Any] | None:
        row = connection.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        ).first()
        return None if row is None else dict(row._mapping)

    def token(self, connection: Connection, token_id: str) -> dict[str, Any] | None:
        row = connection.execute(select(api_tokens).where(api_tokens.c.id == token_id)).first()
        return None if row is None else dict(row._mapping)

    def tokens(self, connection: Connection) -> list[dict[str, Any]]:
        return [
            dict(row._mapping) for row in connection.execute(select(api_tokens).order_by(api_tokens.c.id))
        ]

    def update_token(self, connection: Connection, token_id: str, **values: Any) -> None:
        connection.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(**values))

    # --- agents -----------------------------------------------------------------------------

    def agent(self, connection: Connection, did: str) -> dict[str, Any] | None:
        row = connection.execute(select(agents).where(agents.c.did == did)).first()
        return None if row is None else dict(row._mapping)

    def agents(self, connection: Connection) -> list[dict[str, Any]]:
        return [dict(row._mapping) for row in connection.execute(select(agents).order_by(agents.c.did))]

    def put_agent(self, connection: Connection, did: str, **values: Any) -> None:
        """Insert or update the agent row of ``did`` (the caller holds the audit head lock)."""
        at = now_seconds()
        if self.agent(connection, did) is None:
            connection.execute(
                agents.insert().values(
                    did=did,
                    **{"registered": False, "state": "active", **values},
                    created_at=at,
                    updated_at=at,
                )
            )
        else:
            connection.execute(update(agents).where(agents.c.did == did).values(**values, updated_at=at))

    def credentials_of(self, connection: Connection, subject_id: str) -> list[dict[str, Any]]:
        """Every credential issued to ``subject_id``, oldest first."""
        named = select(credential_subjects.c.credential_id).where(
            credential_subjects.c.subject_id == subject_id
        )
        query = (
            select(credentials)
            .where(credentials.c.id.in_(named))
            .order_by(credentials.c.issued_at, credentials.c.id)
        )
        return [dict(row._mapping) for row in connection.execute(query)]

    def has_credentials(self, connection: Connection, subject_id: str) -> bool:
        query = (
            select(credential_subjects.c.credential_id)
            .where(credential_subjects.c.subject_id == subject_id)
            .limit(1)
        )
        return connection.execute(query).first() is not None

    def credential_slots(
        self, connection: Connection, credential_ids: list[str]
    ) -> dict[str, dict[str, Any]]:
        query = select(
            credentials.c.id,
            credentials.c.revocation_list,
            credentials.c.revocation_index,
            credentials.c.suspension_list,
            credentials.c.suspension_index,
        ).where(credentials.c.id.in_(credential_ids))
        return {
            str(r.id): {
                "revocation": [int(r.revocation_list), int(r.revocation_index)],
                "suspension": [int(r.suspension_list), int(r.suspension_index)],
            }
            for r in connection.execute(query)
        }

    def credential_states(self, connection: Connection) -> dict[str, tuple[bool, bool]]:
        """Every credential's (revoked, suspended) flags as the table holds them."""
        query = select(credentials.c.id, credentials.c.revoked, credentials.c.suspended)
        return {str(r.id): (bool(r.revoked), bool(r.suspended)) for r in connection.execute(query)}

    def lift_suspensions(self, connection: Connection, credential_ids: list[str]) -> list[str]:
        """Lift the suspension of those of ``credential_ids`` not revoked; return their ids."""
        rows = connection.execute(
            select(credentials.c.id, credentials.c.suspension_list).where(
                credentials.c.id.in_(credential_ids),
                credentials.c.revoked.is_(False),
                credentials.c.suspended.is_(True),
            )
        ).all()
        if rows:
            connection.execute(
                update(credentials).where(credentials.c.id.in_([r.id for r in rows])).values(suspended=False)
            )
            self._bump(connection, {int(r.suspension_list) for r in rows})
        return [str(r.id) for r in rows]

    # --- rate limits and challenges ---------------------------------------------------------

    def take_from_bucket(self, bucket: str, capacity: float, per_second: float, now: float) -> bool:
        """A token bucket in the database, so every worker and instance spends the same budget."""
        with self.write() as connection:
            if not connection.execute(
                select(rate_limits.c.bucket).where(rate_limits.c.bucket == bucket)
            ).first():
                with contextlib.suppress(IntegrityError), connection.begin_nested():  # lost a race: fine
                    connection.execute(
                        rate_limits.insert().values(bucket=bucket, tokens=capacity, updated=now)
                    )
            row = connection.execute(
                select(rate_limits.c.tokens, rate_limits.c.updated)
                .where(rate_limits.c.bucket == bucket)
                .with_for_update()
            ).one()
            tokens = min(capacity, row.tokens + max(0.0, now - row.updated) * per_second)
            allowed = bool(tokens >= 1)
            connection.execute(
                update(rate_limits)
                .where(rate_limits.c.bucket == bucket)
                .values(tokens=tokens - 1 if allowed else tokens, updated=max(now, row.updated))
            )
            if secrets.randbelow(1000) == 0:  # now and then, forget buckets that are full again
                connection.execute(delete(rate_limits).where(rate_limits.c.updated < now - 3600))
        return allowed

    def add_challenge(self, row: Mapping[str, Any]) -> bool:
        """Remember a challenge; False if that value is already taken."""
        with self.write() as connection:
            connection.execute(delete(challenges).where(challenges.c.expires_at < row["issued_at"] - 3600))
            try:
                with connection.begin_nested():
                    connection.execute(challenges.insert().values(**row, used=False))
            except IntegrityError:
                return False
        return True

    def consume_challenge(self, value: str) -> tuple[dict[str, Any] | None, bool]:
        """Mark ``value`` used atomically; return its row and whether it was unused until now."""
        with self.write() as connection:
            result = connection.execute(
                update(challenges)
                .where(challenges.c.value == value, challenges.c.used.is_(False))
                .values(used=True)
            )
            row = connection.execute(select(challenges).where(challenges.c.value == value)).first()
        return (None if row is None else dict(row._mapping)), bool(result.rowcount)

    # --- OpenID4VCI offers and access tokens -----------------------------------------------

    def add_offer(self, row: Mapping[str, Any]) -> None:
        with self.write() as connection:
            connection.execute(delete(offers).where(offers.c.expires_at < now_seconds() - 3600))
            connection.execute(offers.insert().values(**row))

    def offer(self, code_hash: str) -> dict[str, Any] | None:
        with self.read() as connection:
            row = connection.execute(select(offers).where(offers.c.code_hash == code_hash)).first()
        return None if row is None else dict(row._mapping)

    def count_offer_attempt(self, code_hash: str, limit: int) -> None:
        """One more wrong transaction code; at ``limit`` the offer is spent."""
        with self.write() as connection:
            connection.execute(
                update(offers).where(offers.c.code_hash == code_hash).values(attempts=offers.c.attempts + 1)
            )
            connection.execute(
                update(offers)
                .where(offers.c.code_hash == code_hash, offers.c.attempts >= limit)
                .values(used=True)
            )

    def spend_offer(self, code_hash: str) -> bool:
        """Mark the offer used; False if it was used already (atomic: one winner)."""
        with self.write() as connection:
            result = connection.execute(
                update(offers)
                .where(offers.c.code_hash == code_hash, offers.c.used.is_(False))
                .values(used=True)
            )
        return bool(result.rowcount)

    def add_access_token(self, row: Mapping[str, Any]) -> None:
        with self.write() as connection:
            connection.execute(delete(access_tokens).where(access_tokens.c.expires_at < now_seconds() - 3600))
            connection.execute(access_tokens.insert().values(**row))

    def access_token(self, token_hash: str) -> dict[str, Any] | None:
        with self.read() as connection:
            row = connection.execute(
                select(access_tokens).where(access_tokens.c.token_hash == token_hash)
            ).first()
        return None if row is None else dict(row._mapping)

    # --- audit ------------------------------------------------------------------------------

    def lock_audit_head(self, connection: Connection) -> tuple[int, str]:
        """Take the audit head (serializing appenders) and return its (seq, digest)."""
        connection.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq))
        row = connection.execute(
            select(audit_head.c.seq, audit_head.c.digest).where(audit_head.c.id == 1)
        ).first()
        if row is None:
            raise RuntimeError("the audit head is missing; the database was not initialised")
        return int(row.seq), str(row.digest)

    def append_audit(self, connection: Connection, entry: Mapping[str, Any]) -> None:
        connection.execute(audit_log.insert().values(**entry))
        connection.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=entry["seq"], digest=entry["digest"])
        )

    def audit_entries(
        self, connection: Connection, *, after: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        query = select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq)
        if limit is not None:
            query = query.limit(limit)
        return [dict(row._mapping) for row in connection.execute(query)]

    def audit_head(self, connection: Connection) -> tuple[int, str]:
        row = connection.execute(
            select(audit_head.c.seq, audit_head.c.digest).where(audit_head.c.id == 1)
        ).first()
        return (0, "") if row is None else (int(row.seq), str(row.digest))


def _slot_columns(purpose: str) -> tuple[Any, Any]:
    if purpose == "revocation":
        return credentials.c.revocation_list, credentials.c.revocation_index
    return credentials.c.suspension_list, credentials.c.suspension_index


def _alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(files("accredit.service") / "migrations"))
    return config


def make_revision(message: str, url: str = "sqlite://") -> None:
    """Write a new migration for changes in ``schema.py`` (developers only)."""
    store = Store(url)
    store.migrate()
    with store._writer.connect() as connection:
        config = _alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


__all__ = [
    "LIST_FILL",
    "LIST_SIZE",
    "PURPOSES",
    "SlotTakenError",
    "Store",
    "dumps",
    "make_revision",
    "now_seconds",
]
