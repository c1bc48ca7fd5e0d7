"""The public API is what ``accredit`` exports; pin it so a change is deliberate."""

import accredit


def test_public_names_are_pinned() -> None:
    assert sorted(accredit.__all__) == [
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
    assert all(hasattr(accredit, name) for name in accredit.__all__)
