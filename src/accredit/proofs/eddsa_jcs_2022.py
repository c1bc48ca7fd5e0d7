"""``eddsa-jcs-2022``: Ed25519 over the RFC 8785 JSON canonical form.

https://www.w3.org/TR/vc-di-eddsa/#eddsa-jcs-2022
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._jcs import canonicalize
from ..jsonld import DocumentLoader
from ._suite import Cryptosuite
from .eddsa_rdfc_2022 import CREDENTIALS_V2, DATA_INTEGRITY_V2


def _canonicalize(document: Mapping[str, Any], loader: DocumentLoader) -> bytes:
    return canonicalize(document)


SUITE = Cryptosuite(
    name="eddsa-jcs-2022",
    proof_type="DataIntegrityProof",
    cryptosuite="eddsa-jcs-2022",
    key_type="Ed25519",
    canonicalize=_canonicalize,
    signs_rdf=False,
    proof_has_context=True,
    suite_contexts=(CREDENTIALS_V2, DATA_INTEGRITY_V2),
)
