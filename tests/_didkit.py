"""The one adapter around ``didkit`` (0.3.3), accredit's interoperability peer in tests and benchmarks.

Every didkit call lives here, so the rest of the suite is shielded from its quirks:

- the package is archived upstream and speaks VC 1.1 only; its API is JSON strings in and out;
- its signing and verifying functions are coroutines that need a running event loop at the
  moment they are *called* (not only when awaited), so each call is wrapped in ``asyncio.run``;
- its verifier does not check ``expirationDate`` and does not verify credentials embedded in a
  presentation: only proofs. Interop tests compare proofs, never validity windows.
- when the document's ``@context`` lacks the ed25519-2020 suite context, it embeds that
  context in the proof instead (``proof["@context"]``, the legacy LD-proof form);
- its async runtime can abort the interpreter while it finalizes ("PyGILState_Release: thread
  state must be current"), so a process that used didkit leaves with ``exit_now`` instead.

Keys are Ed25519 private JWKs (``kty`` OKP, with ``d``); ``key_pair`` turns one into an accredit
``KeyPair`` so both libraries can sign with the same key.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from accredit import KeyPair
from accredit.keys import multibase_encode

_didkit: Any
try:
    import didkit as _didkit
except ImportError:  # its wheels stop at CPython 3.12
    _didkit = None

PROOF_TYPE = "Ed25519Signature2020"
_ED25519_SECRET_HEADER = b"\x80\x26"  # multicodec ed25519-priv (0x1300) as a varint


def available() -> bool:
    """True if the ``didkit`` package can be imported."""
    return _didkit is not None


def version() -> str:
    """didkit's own version string."""
    return str(_module().get_version())


def _module() -> Any:
    if _didkit is None:
        raise RuntimeError("didkit is not installed (pip install 'didkit==0.3.3' on CPython <= 3.12)")
    return _didkit


def _call(function: Callable[..., Awaitable[str]], *args: str) -> str:
    # didkit's futures are created when the function is called, which needs a running loop.
    async def call() -> str:
        return await function(*args)

    return asyncio.run(call())


def generate_key() -> dict[str, str]:
    """A fresh Ed25519 private JWK made by didkit."""
    jwk: dict[str, str] = json.loads(_module().generate_ed25519_key())
    return jwk


def did_of(jwk: Mapping[str, str]) -> str:
    """The ``did:key`` DID of ``jwk``, as didkit derives it."""
    return str(_module().key_to_did("key", json.dumps(jwk)))


def verification_method_of(jwk: Mapping[str, str]) -> str:
    """The ``did:key`` verification method id of ``jwk``, as didkit derives it."""
    return _call(_module().key_to_verification_method, "key", json.dumps(jwk))


def key_pair(jwk: Mapping[str, str]) -> KeyPair:
    """The accredit ``KeyPair`` holding the same Ed25519 secret as the private ``jwk``."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" not in jwk:
        raise ValueError("expected a private Ed25519 JWK (kty OKP, crv Ed25519, with d)")
    seed = base64.urlsafe_b64decode(jwk["d"] + "=" * (-len(jwk["d"]) % 4))
    return KeyPair.from_secret_multibase(multibase_encode(_ED25519_SECRET_HEADER + seed))


def _proof_options(
    jwk: Mapping[str, str], purpose: str, verification_method: str | None, **extra: str | None
) -> str:
    options = {
        "type": PROOF_TYPE,
        "proofPurpose": purpose,
        "verificationMethod": verification_method or verification_method_of(jwk),
        **{k: v for k, v in extra.items() if v is not None},
    }
    return json.dumps(options)


def issue(
    credential: Mapping[str, Any],
    jwk: Mapping[str, str],
    *,
    verification_method: str | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """Sign a VC 1.1 ``credential`` with an ``Ed25519Signature2020`` proof for ``assertionMethod``.

    Pass ``verification_method`` to skip deriving it on every call (the benchmark does).
    Raises ``didkit.DIDKitException`` when didkit refuses the credential (e.g. undefined terms).
    """
    options = _proof_options(jwk, "assertionMethod", verification_method, created=created)
    signed: dict[str, Any] = json.loads(
        _call(_module().issue_credential, json.dumps(credential), options, json.dumps(jwk))
    )
    return signed


def present(
    presentation: Mapping[str, Any],
    jwk: Mapping[str, str],
    *,
    challenge: str,
    domain: str,
    created: str | None = None,
) -> dict[str, Any]:
    """Sign a VC 1.1 ``presentation`` for ``authentication``, bound to ``challenge`` and ``domain``."""
    options = _proof_options(jwk, "authentication", None, challenge=challenge, domain=domain, created=created)
    signed: dict[str, Any] = json.loads(
        _call(_module().issue_presentation, json.dumps(presentation), options, json.dumps(jwk))
    )
    return signed


def _errors(function: Callable[..., Awaitable[str]], document: Mapping[str, Any], options: str) -> list[str]:
    try:
        result = json.loads(_call(function, json.dumps(document), options))
    except _module().DIDKitException as exc:  # malformed input: report it as a failure
        return [f"didkit refused the document: {exc}"]
    errors = [str(e) for e in result.get("errors", [])]
    # Fail closed: "no errors" must mean a proof was actually checked.
    if not errors and "proof" not in result.get("checks", []):
        errors.append(f"didkit checked no proof: {result}")
    return errors


def verify(credential: Mapping[str, Any]) -> list[str]:
    """didkit's errors for ``credential`` (empty when its ``assertionMethod`` proof verifies).

    Checks the proof only: didkit ignores ``expirationDate`` and ``credentialStatus``.
    """
    return _errors(_module().verify_credential, credential, json.dumps({"proofPurpose": "assertionMethod"}))


def verify_presentation(presentation: Mapping[str, Any], *, challenge: str, domain: str) -> list[str]:
    """didkit's errors for the holder's proof on ``presentation`` (embedded credentials unchecked)."""
    options = json.dumps({"proofPurpose": "authentication", "challenge": challenge, "domain": domain})
    return _errors(_module().verify_presentation, presentation, options)


def exit_now(status: int) -> None:
    """Leave the process with ``status`` before interpreter finalization, which didkit's
    runtime threads can crash (SIGABRT) after all work is done."""
    import os
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
