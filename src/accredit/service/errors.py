"""The service's refusals; each carries the HTTP ``status`` the routes answer with and a stable
``code`` (also the problem document's ``code``)::

    AccreditError
    └── ServiceError (400)
        ├── ProtectedPropertyError   PROTECTED_PROPERTY
        ├── UnknownOptionError       UNKNOWN_OPTION
        ├── UnauthorizedError        UNAUTHORIZED (401)
        ├── ForbiddenError           INSUFFICIENT_SCOPE (403)
        ├── NotFoundError            NOT_FOUND (404)
        │   └── UnknownAgentError    AGENT_NOT_FOUND
        ├── ConflictError            CONFLICT (409)
        │   └── AgentSuspendedError  AGENT_SUSPENDED
        ├── RateLimitedError         RATE_LIMITED (429)
        └── IntegrityError           INTEGRITY_CHECK_FAILED (503): stored state does not match
                                     the signed audit log; the service refuses to act on it
"""

from __future__ import annotations

from ..errors import AccreditError


class ServiceError(AccreditError):
    """An issuer operation refused; ``status`` is the HTTP status the routes answer with."""

    status = 400


class ProtectedPropertyError(ServiceError):
    code = "PROTECTED_PROPERTY"


class UnknownOptionError(ServiceError):
    code = "UNKNOWN_OPTION"


class UnauthorizedError(ServiceError):
    code = "UNAUTHORIZED"
    status = 401


class ForbiddenError(ServiceError):
    code = "INSUFFICIENT_SCOPE"
    status = 403


class NotFoundError(ServiceError):
    code = "NOT_FOUND"
    status = 404


class UnknownAgentError(NotFoundError):
    code = "AGENT_NOT_FOUND"


class ConflictError(ServiceError):
    code = "CONFLICT"
    status = 409


class AgentSuspendedError(ConflictError):
    code = "AGENT_SUSPENDED"


class RateLimitedError(ServiceError):
    code = "RATE_LIMITED"
    status = 429


class IntegrityError(ServiceError):
    code = "INTEGRITY_CHECK_FAILED"
    status = 503


__all__ = [
    "AgentSuspendedError",
    "ConflictError",
    "ForbiddenError",
    "IntegrityError",
    "NotFoundError",
    "ProtectedPropertyError",
    "RateLimitedError",
    "ServiceError",
    "UnauthorizedError",
    "UnknownAgentError",
    "UnknownOptionError",
]
