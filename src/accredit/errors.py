"""The one exception hierarchy of accredit.

Every error carries a stable machine ``code`` that also appears in HTTP problem documents
and CLI output. Messages say what was wrong and what was expected; they never carry a
secret (no private key material, no tokens).

Invalid credentials do *not* raise: verification returns a ``VerificationResult`` listing
every check. These exceptions are for malformed input, misuse, and operations that cannot
be performed at all::

    AccreditError                      ACCREDIT_ERROR
    ├── InputError                     MALFORMED_INPUT     bad JSON, duplicate keys, NaN
    │   ├── InputTooLargeError         INPUT_TOO_LARGE     over the byte cap
    │   ├── InputTooDeepError          INPUT_TOO_DEEP      over the nesting cap
    │   └── ValidationError            INVALID_DOCUMENT    not a well-formed credential/presentation
    ├── InvalidKeyError                INVALID_KEY         malformed key, wrong multicodec, weak key
    ├── DIDError                       DID_ERROR
    │   ├── InvalidDIDError            INVALID_DID         not a syntactically valid DID / DID URL
    │   ├── UnsupportedDIDMethodError  UNSUPPORTED_DID_METHOD
    │   ├── DIDResolutionError         DID_RESOLUTION_ERROR   could not resolve (network, size, format)
    │   ├── VerificationMethodError    INVALID_VERIFICATION_METHOD  not found, not controlled, unusable
    │   └── ProofPurposeError          MISMATCHED_PROOF_PURPOSE_ERROR  method not authorized for the purpose
    ├── UnsafeURLError                 UNSAFE_URL          refused: private/loopback address, bad scheme
    ├── FetchError                     FETCH_ERROR         an HTTP fetch failed: status, size, time, redirect
    ├── JsonLdError                    JSONLD_ERROR
    │   ├── UnknownContextError        UNKNOWN_CONTEXT     context URL outside the allowlist
    │   ├── InlineContextError         INLINE_CONTEXT      object @context where only URLs are allowed
    │   ├── UndefinedTermError         UNDEFINED_TERM      a property or type dropped during expansion
    │   └── CanonicalizationLimitError CANONICALIZATION_LIMIT  work or time bound exceeded
    ├── StatusListError                STATUS_LIST_INVALID  a malformed status list or entry
    │   ├── StatusListTooLargeError    STATUS_LIST_TOO_LARGE  inflates beyond the cap
    │   └── StatusListLengthError      STATUS_LIST_LENGTH_ERROR  fewer than 131,072 entries
    ├── StatusRetrievalError           STATUS_RETRIEVAL_ERROR  a status list could not be fetched
    ├── PresentationRequestError       INVALID_PRESENTATION_REQUEST  no challenge/domain, bad query
    │   ├── UnsupportedQueryError      UNSUPPORTED_QUERY   a query type not answered (yet)
    │   └── RequestDomainMismatchError REQUEST_DOMAIN_MISMATCH  a request made for another domain
    ├── WalletError                    WALLET_ERROR
    │   ├── WalletNotFoundError        WALLET_NOT_FOUND
    │   ├── WalletExistsError          WALLET_EXISTS
    │   ├── PassphraseRequiredError    WALLET_PASSPHRASE_REQUIRED
    │   ├── WalletDecryptionError      WALLET_DECRYPTION_FAILED  wrong passphrase or altered key file
    │   ├── DuplicateCredentialError   DUPLICATE_CREDENTIAL
    │   ├── NoMatchingCredentialsError NO_MATCHING_CREDENTIALS
    │   └── IssuerRequestError         ISSUER_REQUEST_FAILED  the issuer refused; .status, .issuer_code
    ├── AgentCardError                 AGENT_CARD_INVALID  an A2A Agent Card that cannot be signed
    │   ├── AgentCardUnsignedError     AGENT_CARD_UNSIGNED  no signature where policy requires one
    │   └── AgentCardSignatureError    AGENT_CARD_SIGNATURE_INVALID  no signature verifies
    ├── StepMismatchError              A2A_STEP_MISMATCH   a challenge issued for another task or step
    ├── ProofError                     PROOF_GENERATION_ERROR
    │   ├── MalformedProofError        MALFORMED_PROOF_ERROR   proof shape, proofValue encoding
    │   └── UnsupportedCryptosuiteError UNKNOWN_CRYPTOSUITE
    │       └── CryptosuiteNotAcceptedError CRYPTOSUITE_NOT_ACCEPTED  known, but not on the caller's list
    └── VerificationError              VERIFICATION_FAILED raised by VerificationResult.raise_for_status()
"""

from __future__ import annotations

from typing import Any


class AccreditError(Exception):
    """Base of every accredit error. ``code`` is stable; ``message`` is for humans."""

    code = "ACCREDIT_ERROR"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description: ``code``, ``message`` and any details."""
        return {"code": self.code, "message": self.message, **self.details}


class InputError(AccreditError):
    """Input that is not acceptable JSON: unparsable, duplicate keys, NaN, wrong shape."""

    code = "MALFORMED_INPUT"


class InputTooLargeError(InputError):
    code = "INPUT_TOO_LARGE"


class InputTooDeepError(InputError):
    code = "INPUT_TOO_DEEP"


class ValidationError(InputError):
    """A document that is JSON but not a well-formed credential or presentation."""

    code = "INVALID_DOCUMENT"


class InvalidKeyError(AccreditError):
    """A key that cannot be used: malformed, wrong multicodec header, wrong length, weak."""

    code = "INVALID_KEY"


class DIDError(AccreditError):
    code = "DID_ERROR"


class InvalidDIDError(DIDError):
    code = "INVALID_DID"


class UnsupportedDIDMethodError(DIDError):
    code = "UNSUPPORTED_DID_METHOD"


class DIDResolutionError(DIDError):
    code = "DID_RESOLUTION_ERROR"


class VerificationMethodError(DIDError):
    """A verification method that is absent, not controlled by the expected DID, or unusable."""

    code = "INVALID_VERIFICATION_METHOD"


class ProofPurposeError(DIDError):
    """The verification method is not listed under the proof purpose in its DID document."""

    code = "MISMATCHED_PROOF_PURPOSE_ERROR"


class UnsafeURLError(AccreditError):
    """A URL refused before any connection: bad scheme, private/loopback/link-local address."""

    code = "UNSAFE_URL"


class FetchError(AccreditError):
    """An HTTP fetch that failed: connection, status, size or time cap, cross-host redirect."""

    code = "FETCH_ERROR"


class JsonLdError(AccreditError):
    code = "JSONLD_ERROR"


class UnknownContextError(JsonLdError):
    code = "UNKNOWN_CONTEXT"


class InlineContextError(JsonLdError):
    code = "INLINE_CONTEXT"


class UndefinedTermError(JsonLdError):
    code = "UNDEFINED_TERM"


class CanonicalizationLimitError(JsonLdError):
    code = "CANONICALIZATION_LIMIT"


class StatusListError(AccreditError):
    """A status list or status entry that is malformed, too large or too short."""

    code = "STATUS_LIST_INVALID"


class StatusListTooLargeError(StatusListError):
    code = "STATUS_LIST_TOO_LARGE"


class StatusListLengthError(StatusListError):
    code = "STATUS_LIST_LENGTH_ERROR"


class StatusRetrievalError(AccreditError):
    """A status list that could not be fetched: verification fails closed."""

    code = "STATUS_RETRIEVAL_ERROR"


class PresentationRequestError(AccreditError):
    """A presentation request that is malformed: no challenge or domain, a bad query."""

    code = "INVALID_PRESENTATION_REQUEST"


class UnsupportedQueryError(PresentationRequestError):
    """A query type this library does not answer (e.g. DIF PresentationDefinition, for now)."""

    code = "UNSUPPORTED_QUERY"


# --- errors (to move into accredit.errors) -----------------------------------------------------


class WalletError(AccreditError):
    """A wallet operation that cannot be performed."""

    code = "WALLET_ERROR"


class WalletNotFoundError(WalletError):
    code = "WALLET_NOT_FOUND"


class WalletExistsError(WalletError):
    code = "WALLET_EXISTS"


class PassphraseRequiredError(WalletError):
    """No passphrase was given and ``ACCREDIT_WALLET_PASSPHRASE`` is unset or empty."""

    code = "WALLET_PASSPHRASE_REQUIRED"


class WalletDecryptionError(WalletError):
    """The key file does not decrypt: a wrong passphrase, or the file was altered."""

    code = "WALLET_DECRYPTION_FAILED"


class DuplicateCredentialError(WalletError):
    code = "DUPLICATE_CREDENTIAL"


class NoMatchingCredentialsError(WalletError):
    """The wallet holds no usable credential for a required query of a request."""

    code = "NO_MATCHING_CREDENTIALS"


class IssuerRequestError(WalletError):
    """The issuer could not be reached or refused the request. ``status`` is the HTTP status
    (None if unreachable) and ``issuer_code`` the ``code`` of its problem document, if any."""

    code = "ISSUER_REQUEST_FAILED"

    def __init__(self, message: str, *, status: int | None = None, issuer_code: str | None = None) -> None:
        super().__init__(message, status=status, issuerCode=issuer_code)
        self.status, self.issuer_code = status, issuer_code


class RequestDomainMismatchError(PresentationRequestError):
    """A request whose domain is not the one the caller is talking to (a relayed request)."""

    code = "REQUEST_DOMAIN_MISMATCH"


class AgentCardError(AccreditError):
    """An A2A Agent Card that cannot be signed as is (a required field missing or empty)."""

    code = "AGENT_CARD_INVALID"


class AgentCardUnsignedError(AgentCardError):
    """A peer's Agent Card carries no signature where the policy requires one."""

    code = "AGENT_CARD_UNSIGNED"


class AgentCardSignatureError(AgentCardError):
    """None of a peer's Agent Card signatures verifies against the expected DID."""

    code = "AGENT_CARD_SIGNATURE_INVALID"


class StepMismatchError(AccreditError):
    """An A2A presentation request or answer that is not for this task and proposed step."""

    code = "A2A_STEP_MISMATCH"


class ProofError(AccreditError):
    """A proof could not be created (wrong key type for the suite, bad options)."""

    code = "PROOF_GENERATION_ERROR"


class UnsupportedCryptosuiteError(ProofError):
    code = "UNKNOWN_CRYPTOSUITE"


class MalformedProofError(ProofError):
    """A proof whose shape or encoding is wrong (Data Integrity MALFORMED_PROOF_ERROR)."""

    code = "MALFORMED_PROOF_ERROR"


class CryptosuiteNotAcceptedError(UnsupportedCryptosuiteError):
    """A known cryptosuite the caller did not list as accepted."""

    code = "CRYPTOSUITE_NOT_ACCEPTED"


class VerificationError(AccreditError):
    """Raised by ``VerificationResult.raise_for_status()``; ``result`` holds every check."""

    code = "VERIFICATION_FAILED"

    def __init__(self, message: str, result: Any) -> None:
        super().__init__(message)
        self.result = result
