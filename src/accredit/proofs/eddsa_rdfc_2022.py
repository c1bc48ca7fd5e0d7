"""``eddsa-rdfc-2022``: Ed25519 over RDFC-1.0 canonical N-Quads.

https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..jsonld import DocumentLoader, canonicalize
from ._suite import Cryptosuite

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"


def _canonicalize(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    return canonicalize(document, loader).encode("utf-8")


SUITE = Cryptosuite(
    name="eddsa-rdfc-2022",
    proof_type="DataIntegrityProof",
    cryptosuite="eddsa-rdfc-2022",
    key_type="Ed25519",
    canonicalize=_canonicalize,
    signs_rdf=True,
    proof_has_context=False,
    suite_contexts=(CREDENTIALS_V2, DATA_INTEGRITY_V2),
)
