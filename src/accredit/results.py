"""Verification results: every check, its outcome, a stable code and evidence.

A ``VerificationResult`` is verified only when every check passed: a failed or skipped check
(one that could not run) means "not verified". It refuses to be used as a truth value, so
``if verify_credential(vc):`` raises instead of quietly passing; read ``.verified``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import AccreditError, VerificationError


class CheckStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    """One verification step. ``code`` is set when the step failed or was skipped."""

    name: str
    status: CheckStatus
    code: str | None = None
    message: str = ""
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def passed(cls, name: str, message: str = "", **evidence: Any) -> Check:
        return cls(name, CheckStatus.PASSED, None, message, evidence)

    @classmethod
    def failed(cls, name: str, code: str, message: str, **evidence: Any) -> Check:
        return cls(name, CheckStatus.FAILED, code, message, evidence)

    @classmethod
    def skipped(cls, name: str, code: str, message: str, **evidence: Any) -> Check:
        return cls(name, CheckStatus.SKIPPED, code, message, evidence)

    @classmethod
    def from_error(cls, name: str, error: AccreditError) -> Check:
        return cls(name, CheckStatus.FAILED, error.code, error.message, dict(error.details))

    def prefixed(self, prefix: str) -> Check:
        return Check(f"{prefix}.{self.name}", self.status, self.code, self.message, self.evidence)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"check": self.name, "status": self.status.value}
        if self.code:
            data["code"] = self.code
        if self.message:
            data["message"] = self.message
        if self.evidence:
            data["evidence"] = {k: _jsonable(v) for k, v in self.evidence.items()}
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of a verification: every check, in order. ``kind`` names what was verified
    (credential, presentation, auditLog, receiptChain ...)."""

    kind: str
    checks: tuple[Check, ...]

    @classmethod
    def of(cls, kind: str, checks: Iterable[Check]) -> VerificationResult:
        return cls(kind, tuple(checks))

    @property
    def verified(self) -> bool:
        """True only if there is at least one check and every check passed."""
        return bool(self.checks) and all(c.status is CheckStatus.PASSED for c in self.checks)

    @property
    def errors(self) -> tuple[Check, ...]:
        """The checks that failed or could not run."""
        return tuple(c for c in self.checks if c.status is not CheckStatus.PASSED)

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes of the checks that failed or could not run, in order."""
        return tuple(c.code for c in self.errors if c.code)

    def __bool__(self) -> bool:
        raise TypeError("a VerificationResult is not a truth value; use result.verified")

    def raise_for_status(self) -> None:
        """Raise ``VerificationError`` listing the codes unless verified."""
        if not self.verified:
            codes = ", ".join(self.codes) or "no checks ran"
            raise VerificationError(f"{self.kind} not verified: {codes}", self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``verified``, ``checks`` (all) and ``errors`` (the failures)."""
        return {
            "verified": self.verified,
            "checks": [c.to_dict() for c in self.checks],
            "errors": [c.to_dict() for c in self.errors],
        }
