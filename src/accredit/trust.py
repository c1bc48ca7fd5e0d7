"""The trust registry: which issuers a verifier accepts, and for which credential types.

A signature proves who issued a credential, not that the verifier should believe them. The
registry is small and explicit — a file or an object listing issuer DIDs — so a counterparty
can say "we accept Acme's agent credentials" and nothing more::

    {"issuers": [{"id": "did:web:acme.example", "name": "Acme Corp",
                  "types": ["AgentCredential", "MandateCredential"]}]}

An issuer without ``types`` is trusted for every credential type.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _json
from .credentials import issuer_of, types_of
from .errors import InputError, ValidationError
from .results import Check

__all__ = ["TrustRegistry", "TrustedIssuer"]


@dataclass(frozen=True)
class TrustedIssuer:
    """One accepted issuer. Empty ``types`` means every credential type."""

    id: str
    name: str = ""
    types: frozenset[str] = field(default_factory=frozenset)

    def accepts(self, credential_types: Iterable[str]) -> bool:
        wanted = set(credential_types) - {"VerifiableCredential"}
        return not self.types or bool(wanted) and wanted <= self.types


class TrustRegistry:
    """The issuers a verifier accepts. Immutable once built."""

    def __init__(self, issuers: Iterable[TrustedIssuer] = ()) -> None:
        self._issuers = {issuer.id: issuer for issuer in issuers}

    @classmethod
    def from_dict(cls, data: Any) -> TrustRegistry:
        """Build from ``{"issuers": [{"id", "name"?, "types"?}]}``. Raises ``ValidationError``."""
        if not isinstance(data, Mapping) or not isinstance(data.get("issuers"), list):
            raise ValidationError('a trust registry is {"issuers": [...]}', field="issuers")
        issuers = []
        for position, entry in enumerate(data["issuers"]):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                raise ValidationError(f"issuers[{position}] needs an id", field=f"issuers[{position}].id")
            types = entry.get("types", [])
            if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
                raise ValidationError(
                    f"issuers[{position}].types must be a list of strings", field=f"issuers[{position}].types"
                )
            issuers.append(TrustedIssuer(entry["id"], str(entry.get("name", "")), frozenset(types)))
        return cls(issuers)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> TrustRegistry:
        """Load a registry JSON file. Raises ``InputError``/``ValidationError``."""
        try:
            text = Path(path).read_bytes()
        except OSError as error:
            raise InputError(f"cannot read trust registry {path}: {error.strerror}") from None
        return cls.from_dict(_json.loads(text))

    def to_dict(self) -> dict[str, Any]:
        return {
            "issuers": [
                {
                    "id": i.id,
                    **({"name": i.name} if i.name else {}),
                    **({"types": sorted(i.types)} if i.types else {}),
                }
                for i in self._issuers.values()
            ]
        }

    def __contains__(self, did: object) -> bool:
        return did in self._issuers

    def get(self, did: str) -> TrustedIssuer | None:
        return self._issuers.get(did)

    def is_trusted(self, did: str, credential_types: Iterable[str] = ()) -> bool:
        issuer = self._issuers.get(did)
        return issuer is not None and issuer.accepts(credential_types)

    def check(self, credential: Mapping[str, Any], name: str = "issuerTrust") -> Check:
        """A passed check if the credential's issuer is trusted for its types, else
        ``ISSUER_NOT_TRUSTED``."""
        try:
            issuer = issuer_of(credential)
        except ValidationError as error:
            return Check.from_error(name, error)
        types = types_of(credential)
        if self.is_trusted(issuer, types):
            return Check.passed(name, issuer=issuer)
        return Check.failed(
            name,
            "ISSUER_NOT_TRUSTED",
            f"{issuer} is not a trusted issuer of {types}",
            issuer=issuer,
            types=types,
        )
