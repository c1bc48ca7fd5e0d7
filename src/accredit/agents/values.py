"""The values the agent credentials share: ``Money`` (an exact amount in a currency),
``Reference`` (a link to one exact credential, by id and digest) and ``Counterparties``
(the DIDs and domains an agent may deal with)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..errors import ValidationError
from ._vocabulary import _DIGEST, _URL, _only, _text, credential_digest

_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?$", re.ASCII)
_CURRENCY = re.compile(r"^[A-Z]{3}$", re.ASCII)
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def _parse_amount(value: Any, field: str) -> Decimal:
    if not isinstance(value, str) or not _AMOUNT.match(value):
        raise ValidationError(
            f"{field} must be a decimal string such as '250000.00' (no sign, exponent or spaces)", field=field
        )
    return Decimal(value)


@dataclass(frozen=True)
class Money:
    """An exact amount in an ISO 4217 currency; JSON ``{"amount": "250000.00", "currency": "USD"}``.

    Amounts are ``Decimal`` from decimal strings, never floats, so the signed string is the
    compared value. Raises ``ValidationError`` for a negative, non-finite or oversized amount
    or a currency that is not three capital letters.
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValidationError("amount must be a finite Decimal", field="amount")
        _parse_amount(format(self.amount, "f"), "amount")
        if not isinstance(self.currency, str) or not _CURRENCY.match(self.currency):
            raise ValidationError("currency must be an ISO 4217 code such as 'USD'", field="currency")

    @classmethod
    def of(cls, amount: str | Decimal, currency: str) -> Money:
        """From a decimal string (``"250000.00"``) or a ``Decimal``. Raises ``ValidationError``."""
        return cls(_parse_amount(amount, "amount") if isinstance(amount, str) else amount, currency)

    @classmethod
    def from_json(cls, value: Any, field: str) -> Money:
        obj = _only(value, field, {"amount", "currency"}, {"amount", "currency"})
        return cls(_parse_amount(obj["amount"], f"{field}.amount"), _text(obj, "currency", field, _CURRENCY))

    def to_json(self) -> dict[str, str]:
        return {"amount": format(self.amount, "f"), "currency": self.currency}

    def __str__(self) -> str:
        return f"{format(self.amount, 'f')} {self.currency}"


@dataclass(frozen=True)
class Reference:
    """A link to one exact credential: its ``id`` and the ``digestMultibase`` of its JSON."""

    id: str
    digest: str

    @classmethod
    def to(cls, credential: Mapping[str, Any]) -> Reference:
        """A reference to a (signed) credential. Raises ``ValidationError`` if it has no id."""
        return cls(_text(credential, "id", "credential", _URL), credential_digest(credential))

    @classmethod
    def from_json(cls, value: Any, field: str) -> Reference:
        obj = _only(value, field, {"id", "digestMultibase"}, {"id", "digestMultibase"})
        return cls(_text(obj, "id", field, _URL), _text(obj, "digestMultibase", field, _DIGEST))

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "digestMultibase": self.digest}


def _web_host(did: str) -> str | None:
    """The host of a ``did:web`` that names a bare host: no port (``%3A``) and no path
    (``:users:…``), which would let anyone with an account or a port on the host qualify."""
    if not did.startswith("did:web:"):
        return None
    host = did[len("did:web:") :]
    return host if _DOMAIN.match(host) else None


def _within(name: str, domain: str) -> bool:
    return name == domain or name.endswith("." + domain)


@dataclass(frozen=True)
class Counterparties:
    """Whom an agent may deal with: exact DIDs, and DNS names whose ``did:web`` DIDs are allowed:
    ``did:web:<name>`` for the name or any subdomain of it, with no port and no path (list such
    DIDs by ``id`` when they are meant). JSON: ``[{"id": "did:…"}, {"domain": "suppliers.example"}]``.
    """

    dids: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def of(cls, *entries: str) -> Counterparties:
        """From DIDs (``did:…``) and domain names. Raises ``ValidationError``."""
        dids = frozenset(e for e in entries if e.startswith("did:"))
        domains = frozenset(e for e in entries if not e.startswith("did:"))
        for domain in domains:
            if not _DOMAIN.match(domain):
                raise ValidationError(
                    f"{domain!r} is neither a DID nor a lower-case domain name", field="counterparties"
                )
        if not entries:
            raise ValidationError("name at least one counterparty", field="counterparties")
        return cls(dids, domains)

    @classmethod
    def from_json(cls, value: Any, field: str) -> Counterparties:
        if not isinstance(value, list) or not value:
            raise ValidationError(f"{field} must be a non-empty list", field=field)
        entries = []
        for position, item in enumerate(value):
            entry = _only(item, f"{field}[{position}]", {"id", "domain"})
            if len(entry) != 1:
                raise ValidationError(f"{field}[{position}] needs exactly one of id, domain", field=field)
            key = next(iter(entry))
            entries.append(
                _text(entry, key, f"{field}[{position}]", re.compile("^did:") if key == "id" else _DOMAIN)
            )
        return cls.of(*entries)

    def to_json(self) -> list[dict[str, str]]:
        return [{"id": did} for did in sorted(self.dids)] + [{"domain": d} for d in sorted(self.domains)]

    def allows(self, did: str) -> bool:
        """True if ``did`` is listed, or is a ``did:web`` under an allowed domain."""
        host = _web_host(did)
        return did in self.dids or (host is not None and any(_within(host, d) for d in self.domains))

    def covers(self, other: Counterparties) -> bool:
        """True if every counterparty ``other`` allows, this allows too."""
        return all(self.allows(did) for did in other.dids) and all(
            any(_within(name, d) for d in self.domains) for name in other.domains
        )
