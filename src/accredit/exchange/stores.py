"""Single-use stores shared by several processes and machines: ``SQLStore`` (SQLAlchemy, so
SQLite for one machine and PostgreSQL for several) and ``RedisStore``. Each keeps one kind of
value (``Challenge`` or ``Authorization``) under a ``namespace``; consuming is one atomic step
in the database, so a value issued by one process is accepted exactly once by all of them.

    challenges = SQLStore(engine, Challenge)          # Verifier(challenge_store=challenges)
    authorizations = SQLStore(engine, Authorization)  # Exchange(authorizations=authorizations)

Install the extras for the backends: ``accredit[postgres]`` or ``accredit[redis]``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from ..challenges import ChallengeState, SingleUse, state_of

__all__ = ["RedisStore", "SQLStore"]

GRACE = timedelta(hours=1)  # a used or expired value is remembered this long, to say "replayed"
MAX_VALUE = 128


T = TypeVar("T", bound=SingleUse)


def _record(item: SingleUse) -> str:
    return json.dumps(item.to_json(), separators=(",", ":"), sort_keys=True)


def _check_value(value: str) -> None:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
        raise ValueError(f"a stored value must be 1 to {MAX_VALUE} characters")


class SQLStore(Generic[T]):
    """A ``SingleUseStore`` in table ``accredit_single_use`` (created if missing) of the
    database at ``engine`` (an SQLAlchemy engine or URL). ``consume`` is one conditional
    ``UPDATE … SET used = true WHERE … AND NOT used``: of concurrent consumers, one wins."""

    def __init__(self, engine: Engine | str, kind: type[T], *, namespace: str | None = None) -> None:
        self.engine = create_engine(engine) if isinstance(engine, str) else engine
        self.kind: Any = kind
        self.namespace = namespace or kind.__name__.lower()
        metadata = MetaData()
        self.table = Table(
            "accredit_single_use",
            metadata,
            Column("namespace", String(32), primary_key=True),
            Column("value", String(MAX_VALUE), primary_key=True),
            Column("record", Text, nullable=False),
            Column("expires", BigInteger, nullable=False, index=True),
            Column("used", Boolean, nullable=False),
        )
        metadata.create_all(self.engine, checkfirst=True)

    def _key(self, value: str) -> Any:
        return and_(self.table.c.namespace == self.namespace, self.table.c.value == value)

    def add(self, item: T) -> None:
        _check_value(item.value)
        forget_before = int((item.issued - GRACE).timestamp())
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    delete(self.table).where(
                        self.table.c.namespace == self.namespace, self.table.c.expires < forget_before
                    )
                )
                connection.execute(
                    insert(self.table).values(
                        namespace=self.namespace,
                        value=item.value,
                        record=_record(item),
                        expires=int(item.expires.timestamp()),
                        used=False,
                    )
                )
        except IntegrityError:
            raise ValueError("this value is already in use") from None

    def consume(self, value: str, now: datetime) -> tuple[ChallengeState, T | None]:
        if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
            return ChallengeState.UNKNOWN, None
        with self.engine.begin() as connection:
            won = connection.execute(
                update(self.table).where(self._key(value), self.table.c.used.is_(False)).values(used=True)
            ).rowcount
            row = connection.execute(select(self.table.c.record).where(self._key(value))).first()
        if row is None:
            return ChallengeState.UNKNOWN, None
        item = self.kind.from_json(json.loads(row[0]))
        return state_of(item, won != 1, now), item


# Atomic in Redis: read the record, and mark it used by rewriting it with a "U" prefix (keeping
# its time to live). Answers {0} unknown, {1, record} first use, {2, record} used before.
_CONSUME = """
local v = redis.call('GET', KEYS[1])
if not v then return {0} end
if string.sub(v, 1, 1) == 'U' then return {2, string.sub(v, 2)} end
redis.call('SET', KEYS[1], 'U' .. string.sub(v, 2), 'KEEPTTL')
return {1, string.sub(v, 2)}
"""


class RedisStore(Generic[T]):
    """A ``SingleUseStore`` in Redis (``client`` a ``redis.Redis`` or a URL such as
    ``redis://127.0.0.1:6379/0``): one key per value under ``prefix``, kept until an hour
    after it expires; ``consume`` is one Lua script, so one consumer wins."""

    def __init__(
        self, client: Any, kind: type[T], *, namespace: str | None = None, prefix: str = "accredit:"
    ) -> None:
        if isinstance(client, str):
            import redis  # an optional extra: accredit[redis]

            client = redis.Redis.from_url(client)
        self.client = client
        self.kind: Any = kind
        self.prefix = f"{prefix}{namespace or kind.__name__.lower()}:"
        self._consume = client.register_script(_CONSUME)

    def add(self, item: T) -> None:
        _check_value(item.value)
        lifetime = item.expires - item.issued + GRACE
        stored = self.client.set(
            self.prefix + item.value,
            "N" + _record(item),
            nx=True,
            px=max(1, int(lifetime.total_seconds() * 1000)),
        )
        if not stored:
            raise ValueError("this value is already in use")

    def consume(self, value: str, now: datetime) -> tuple[ChallengeState, T | None]:
        if not isinstance(value, str) or not value or len(value) > MAX_VALUE:
            return ChallengeState.UNKNOWN, None
        answer = self._consume(keys=[self.prefix + value])
        if int(answer[0]) == 0:
            return ChallengeState.UNKNOWN, None
        item = self.kind.from_json(json.loads(answer[1]))
        return state_of(item, int(answer[0]) == 2, now), item
