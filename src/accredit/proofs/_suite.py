"""The shape every cryptosuite shares (VC Data Integrity 1.0 §4, EdDSA Cryptosuites v1.0 §3).

All three suites sign the 64 bytes sha256(canonical proof configuration) ‖ sha256(canonical
document) with Ed25519 and encode the signature as base58btc multibase. They differ only in
the proof ``type``/``cryptosuite`` names, the canonicalization (RDFC-1.0 or JCS), whether
the proof carries its own ``@context``, and which context must define the proof terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..jsonld import DocumentLoader
from ..keys import KeyType

Canonicalizer = Callable[[Mapping[str, Any], DocumentLoader], bytes]


@dataclass(frozen=True)
class Cryptosuite:
    """One Data Integrity cryptosuite: its names and its canonicalization."""

    name: str  # the registry name: cryptosuite for DataIntegrityProof, else the proof type
    proof_type: str
    cryptosuite: str | None  # the proof's ``cryptosuite`` value, None for legacy proof types
    key_type: KeyType
    canonicalize: Canonicalizer
    # True when the graph (not the JSON) is signed: inline contexts could then rewrite
    # what the JSON says without touching the signature.
    signs_rdf: bool
    proof_has_context: bool  # eddsa-jcs-2022 embeds the document's @context in the proof
    # Context URLs of which the document must contain one so the proof terms are defined.
    suite_contexts: tuple[str, ...]
