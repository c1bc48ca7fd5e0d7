"""``Ed25519Signature2020``: the legacy proof type older peers (VC 1.1, didkit) use.

https://w3c-ccg.github.io/di-eddsa-2020/ — same arithmetic as eddsa-rdfc-2022, but the proof
type names the suite and its terms come from the ed25519-2020 context.
"""

from __future__ import annotations

from ._suite import Cryptosuite
from .eddsa_rdfc_2022 import SUITE as _RDFC

ED25519_2020_CONTEXT = "https://w3id.org/security/suites/ed25519-2020/v1"

SUITE = Cryptosuite(
    name="Ed25519Signature2020",
    proof_type="Ed25519Signature2020",
    cryptosuite=None,
    key_type="Ed25519",
    canonicalize=_RDFC.canonicalize,
    signs_rdf=True,
    proof_has_context=False,
    suite_contexts=(ED25519_2020_CONTEXT,),
)
