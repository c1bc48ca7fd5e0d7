"""Single-use values with an expiry: the challenges a verifier hands out for presentations, and
the authorizations an exchange hands out for the call a presentation unlocks.

Each is accepted once. A store's ``consume`` marks the value used whatever the outcome and says
whether it was valid, unknown, expired or used before; a store shared by several processes
(``accredit.exchange.stores``: SQL, Redis) must make that one atomic step, so a value issued by
one process is accepted exactly once across all of them. Forgetting a value is always safe: a
forgotten value is ``UNKNOWN``, which is refused.

``check_challenge`` turns the outcome for a presentation's challenge into a ``Check``::

    challenge   CHALLENGE_UNKNOWN, CHALLENGE_EXPIRED, CHALLENGE_REPLAYED, CHALLENGE_DOMAIN_MISMATCH
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from ._dates import format_datetime, parse_datetime
from .errors import ValidationError
from .results import Check

__all__ = [
    "Challenge",
    "ChallengeState",
    "ChallengeStore",
    "InMemoryChallengeStore",
    "InMemoryStore",
    "SingleUse",
    "SingleUseStore",
    "check_challenge",
]


class ChallengeState(StrEnum):
    """What consuming a single-use value found."""

    VALID = "valid"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REPLAYED = "replayed"


class SingleUse(Protocol):
    """What a store keeps: a ``value`` (the key), when it was ``issued`` and ``expires``, and a
    JSON form so shared stores can keep it."""

    @property
    def value(self) -> str: ...

    @property
    def issued(self) -> datetime: ...

    @property
    def expires(self) -> datetime: ...

    def to_json(self) -> dict[str, Any]: ...


T = TypeVar("T", bound=SingleUse)


class SingleUseStore(Protocol[T]):
    """Remembers issued values so each is accepted once. ``consume`` must be atomic (e.g. an
    ``UPDATE … SET used = true WHERE value = ? AND NOT used``)."""

    def add(self, item: T) -> None:
        """Remember ``item``; raise ``ValueError`` if its value is already remembered."""
        ...

    def consume(self, value: str, now: datetime) -> tuple[ChallengeState, T | None]:
        """Mark ``value`` used; say whether it was valid, unknown, expired or used before."""
        ...


@dataclass(frozen=True)
class Challenge:
    """An issued challenge: its ``domain``, when it was ``issued`` and stops being accepted
    (``expires``), the JSON ``query`` of its request (to check the answer against), and, when
    it was issued for one call, the JSON ``request`` it may authorize (nothing else) and the
    digest of that HTTP ``call`` (``accredit.exchange``)."""

    value: str
    domain: str
    issued: datetime
    expires: datetime
    query: Any = None
    request: Mapping[str, Any] | None = field(default=None)
    call: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "domain": self.domain,
            "issued": format_datetime(self.issued),
            "expires": format_datetime(self.expires),
            "query": self.query,
            "request": None if self.request is None else dict(self.request),
            "call": self.call,
        }

    @classmethod
    def from_json(cls, data: Any) -> Challenge:
        """Read ``to_json``'s form back. Raises ``ValidationError``."""
        if not isinstance(data, Mapping) or not all(
            isinstance(data.get(k), str) for k in ("value", "domain", "issued", "expires")
        ):
            raise ValidationError("a stored challenge needs value, domain, issued and expires")
        request, call = data.get("request"), data.get("call")
        return cls(
            data["value"],
            data["domain"],
            parse_datetime(data["issued"], "issued"),
            parse_datetime(data["expires"], "expires"),
            data.get("query"),
            dict(request) if isinstance(request, Mapping) else None,
            call if isinstance(call, str) else None,
        )


ChallengeStore = SingleUseStore[Challenge]


class InMemoryStore(Generic[T]):
    """A thread-safe, bounded in-process ``SingleUseStore`` (one process only).

    Values that expired before a new one was issued are purged as it is added; beyond
    ``max_entries`` the oldest is forgotten (and so refused, never reopened for replay).
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[T, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, item: T) -> None:
        with self._lock:
            if item.value in self._entries:
                raise ValueError("this value is already in use")
            # Entries are in issue order, so with one lifetime the stale ones are at the front.
            while self._entries:
                oldest, _ = next(iter(self._entries.values()))
                if oldest.expires >= item.issued:
                    break
                self._entries.popitem(last=False)
            self._entries[item.value] = (item, False)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def consume(self, value: str, now: datetime) -> tuple[ChallengeState, T | None]:
        with self._lock:
            entry = self._entries.get(value)
            if entry is None:
                return ChallengeState.UNKNOWN, None
            item, used = entry
            # Used whatever the outcome: a failed attempt must not be retried with variations.
            self._entries[value] = (item, True)
        return state_of(item, used, now), item

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


InMemoryChallengeStore = InMemoryStore  # the name the Verifier's API has always used


def state_of(item: SingleUse, used_before: bool, now: datetime) -> ChallengeState:
    """The state of a value just consumed: replayed, expired or valid."""
    if used_before:
        return ChallengeState.REPLAYED
    if now > item.expires:
        return ChallengeState.EXPIRED
    return ChallengeState.VALID


def check_challenge(
    store: SingleUseStore[Challenge], value: str, domain: str, now: datetime
) -> tuple[Check, Challenge | None]:
    """Consume a presentation's challenge: passed (with the challenge) only if ``store`` issued
    it for ``domain``, it has not expired and was not used before."""
    state, challenge = store.consume(value, now)
    if state is ChallengeState.UNKNOWN or challenge is None:
        return Check.failed(
            "challenge", "CHALLENGE_UNKNOWN", "this verifier did not issue the challenge (or forgot it)"
        ), None
    if state is ChallengeState.REPLAYED:
        return Check.failed("challenge", "CHALLENGE_REPLAYED", "the challenge was already used"), None
    if state is ChallengeState.EXPIRED:
        return Check.failed(
            "challenge", "CHALLENGE_EXPIRED", "the challenge has expired", now=now, expires=challenge.expires
        ), None
    if challenge.domain != domain:
        return Check.failed(
            "challenge",
            "CHALLENGE_DOMAIN_MISMATCH",
            "the challenge was issued for another domain",
            expected=challenge.domain,
            actual=domain,
        ), None
    return Check.passed("challenge", expires=challenge.expires), challenge
