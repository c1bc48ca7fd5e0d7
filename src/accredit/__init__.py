"""accredit: verifiable identity, mandates and attestations for AI agents.

The public API is what this module exports; everything else may change.
"""

from .credentials import (
    VerifyOptions,
    issue_credential,
    sign_presentation,
    verify_credential,
    verify_presentation,
)
from .dids import resolve
from .errors import AccreditError
from .keys import KeyPair, PublicKey
from .policy import AuthorizationRequest, Decision, authorize
from .results import Check, CheckStatus, VerificationResult
from .trust import TrustedIssuer, TrustRegistry
from .verifier import Verifier
from .wallet import Wallet

__all__ = [
    "AccreditError",
    "AuthorizationRequest",
    "Check",
    "CheckStatus",
    "Decision",
    "KeyPair",
    "PublicKey",
    "TrustRegistry",
    "TrustedIssuer",
    "VerificationResult",
    "Verifier",
    "VerifyOptions",
    "Wallet",
    "authorize",
    "issue_credential",
    "resolve",
    "sign_presentation",
    "verify_credential",
    "verify_presentation",
]
