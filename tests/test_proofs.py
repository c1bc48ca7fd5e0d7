"""Data Integrity proofs against the W3C EdDSA Cryptosuites v1.0 test vectors, byte for byte.

Source: tests/vectors/spec (w3c/vc-di-eddsa TestVectors, commit abb673eb; see its README).
"""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accredit import keys
from accredit._dates import parse_datetime
from accredit.credentials import VerifyOptions
from accredit.dids import StaticResolver, default_resolver, did_key_document, shared_resolver
from accredit.errors import ProofError, UnsupportedCryptosuiteError
from accredit.jsonld import DocumentLoader, canonicalize
from accredit.keys import KeyPair, multibase_decode, multibase_encode
from accredit.proofs import SUITES, create_proof, eddsa_rdfc_2022, get_suite, verify_proofs

SPEC = Path(__file__).parent / "vectors" / "spec"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
UNDEFINED_TERMS = "https://www.w3.org/ns/credentials/undefined-terms/v2"
VECTORS = ["eddsa-rdfc-2022", "eddsa-jcs-2022", "Ed25519Signature2020"]


@pytest.fixture(scope="module")
def loader() -> DocumentLoader:
    # examples/v2 maps every undefined term with @vocab: test-only, never a production default.
    return DocumentLoader(extra={EXAMPLES_V2: SPEC / "contexts" / "credentials-examples-v2.jsonld"})


def _vector(name: str) -> dict[str, Any]:
    return json.loads((SPEC / "extracted" / f"{name}.json").read_text())  # type: ignore[no-any-return]


def _vector_key(vector: dict[str, Any]) -> KeyPair:
    pair = vector["keyPair"]
    return KeyPair.from_secret_multibase(pair.get("secretKeyMultibase") or pair["privateKeyMultibase"])


@pytest.mark.parametrize("name", VECTORS)
def test_spec_vector_reproduces_byte_for_byte(name: str, loader: DocumentLoader) -> None:
    vector = _vector(name)
    suite = get_suite(name)
    options = vector["proofOptions"]
    document = vector["unsignedDocument"]

    canonical_document = suite.canonicalize(document, loader)
    assert canonical_document.decode() == vector["canonicalDocument"]
    assert hashlib.sha256(canonical_document).hexdigest() == vector["documentHashHex"]
    canonical_config = suite.canonicalize(options, loader)
    assert canonical_config.decode() == vector["canonicalProofConfig"]
    assert hashlib.sha256(canonical_config).hexdigest() == vector["proofConfigHashHex"]

    # Ed25519Signature2020 signs the document with its suite context added; that context
    # defines only proof terms, so the canonical document is unchanged.
    signing_input = {k: v for k, v in vector["signedDocument"].items() if k != "proof"}
    assert suite.canonicalize(signing_input, loader) == canonical_document
    proof = create_proof(
        signing_input,
        _vector_key(vector),
        document_loader=loader,
        suite=name,
        created=parse_datetime(options["created"], "created"),
    )
    assert proof["proofValue"] == vector["proofValue"]
    assert proof == vector["signedDocument"]["proof"]


@pytest.mark.parametrize("name", VECTORS)
def test_spec_signed_documents_fail_issuer_binding(name: str, loader: DocumentLoader) -> None:
    # The spec documents name https://vc.example/issuers/5678 as issuer but are signed by a
    # did:key: the signature is right, the issuer does not control the key. Never weaken this.
    signed = _vector(name)["signedDocument"]
    checks = verify_proofs(
        signed,
        purpose="assertionMethod",
        controller=signed["issuer"],
        resolver=default_resolver(),
        document_loader=loader,
        accepted_suites=SUITES,
    )
    assert [c.code for c in checks if c.code] == ["INVALID_VERIFICATION_METHOD"]
    # ...and with the signer as controller, the arithmetic verifies.
    signer = signed["proof"]["verificationMethod"].split("#")[0]
    checks = verify_proofs(
        signed,
        purpose="assertionMethod",
        controller=signer,
        resolver=default_resolver(),
        document_loader=loader,
        accepted_suites=SUITES,
    )
    assert all(c.code is None for c in checks), checks


def test_proof_sets_and_chains_reproduce(loader: DocumentLoader) -> None:
    vector = _vector("eddsa-rdfc-2022-proof-sets-and-chains")
    keys = {
        k: KeyPair.from_secret_multibase(v.get("secretKeyMultibase") or v["privateKeyMultibase"])
        for k, v in vector["keyPairs"].items()
    }
    by_public = {key.public_key.multibase: key for key in keys.values()}
    cases = [
        (vector["unsigned"], "proofSetConfig1", "proofSetConfigSigned1"),
        (vector["unsigned"], "proofSetConfig2", "proofSetConfigSigned2"),
        (vector["proofChainTempDoc1"], "proofChainConfig1", "proofChainConfigSigned1"),
        (vector["proofChainTempDoc2"], "proofChainConfig2", "proofChainConfigSigned2"),
    ]
    for document, config_name, signed_name in cases:
        config = vector[config_name]
        key = by_public[config["verificationMethod"].split("#")[1]]
        proof = create_proof(
            document,
            key,
            document_loader=loader,
            suite="eddsa-rdfc-2022",
            created=parse_datetime(config["created"], "created"),
            proof_id=config.get("id"),
            previous_proof=config.get("previousProof"),
        )
        assert proof == vector[signed_name], config_name


def _org_with_two_keys() -> tuple[str, KeyPair, KeyPair, StaticResolver]:
    did = "did:web:org.example"
    first = KeyPair.generate(controller=did, id=f"{did}#key-1")
    second = KeyPair.generate(controller=did, id=f"{did}#key-2")
    methods = [
        {"id": k.id, "type": "Multikey", "controller": did, "publicKeyMultibase": k.public_key.multibase}
        for k in (first, second)
    ]
    document = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [first.id, second.id],
    }
    return did, first, second, StaticResolver({did: document})


def _credential(issuer: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", EXAMPLES_V2],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "credentialSubject": {"id": "did:example:subject", "alumniOf": "Example U"},
    }


def test_proof_set_verifies_only_if_every_proof_does(loader: DocumentLoader) -> None:
    did, first, second, resolver = _org_with_two_keys()
    document = _credential(did)
    document["proof"] = [create_proof(document, key, document_loader=loader) for key in (first, second)]

    def codes(doc: dict[str, Any]) -> list[str | None]:
        checks = verify_proofs(
            doc, purpose="assertionMethod", controller=did, resolver=resolver, document_loader=loader
        )
        return [c.code for c in checks if c.name.endswith("]")]

    assert codes(document) == [None, None]
    broken = copy.deepcopy(document)
    broken["proof"][1]["proofValue"] = document["proof"][0]["proofValue"]
    assert codes(broken) == [None, "PROOF_INVALID"]


def test_chained_proof_must_find_its_previous_proof(loader: DocumentLoader) -> None:
    did, first, second, resolver = _org_with_two_keys()
    document = _credential(did)
    head = create_proof(document, first, document_loader=loader, proof_id="urn:uuid:head")
    document["proof"] = [head]
    document["proof"].append(
        create_proof(document, second, document_loader=loader, previous_proof="urn:uuid:head")
    )
    checks = verify_proofs(
        document, purpose="assertionMethod", controller=did, resolver=resolver, document_loader=loader
    )
    assert all(c.code is None for c in checks)
    document["proof"][0]["id"] = "urn:uuid:other"  # the chain now points nowhere
    checks = verify_proofs(
        document, purpose="assertionMethod", controller=did, resolver=resolver, document_loader=loader
    )
    assert "MALFORMED_PROOF_ERROR" in [c.code for c in checks]


def _signed(loader: DocumentLoader, suite: str = "eddsa-rdfc-2022") -> tuple[dict[str, Any], KeyPair]:
    key = KeyPair.generate()
    document = _credential(key.did)
    if suite == "Ed25519Signature2020":
        document["@context"].append("https://w3id.org/security/suites/ed25519-2020/v1")
    document["proof"] = create_proof(document, key, document_loader=loader, suite=suite)
    return document, key


def _codes(document: dict[str, Any], loader: DocumentLoader, **options: Any) -> list[str]:
    controller = options.pop("controller", document["issuer"])
    options.setdefault("accepted_suites", SUITES)
    checks = verify_proofs(
        document,
        purpose=options.pop("purpose", "assertionMethod"),
        controller=controller,
        resolver=default_resolver(),
        document_loader=loader,
        **options,
    )
    return [c.code for c in checks if c.code]


@pytest.mark.parametrize("suite", VECTORS)
def test_own_proofs_verify_and_tampering_fails(suite: str, loader: DocumentLoader) -> None:
    document, _ = _signed(loader, suite)
    assert _codes(document, loader) == []
    tampered = copy.deepcopy(document)
    tampered["credentialSubject"]["alumniOf"] = "Other U"
    assert _codes(tampered, loader) == ["PROOF_INVALID"]
    tampered = copy.deepcopy(document)
    tampered["proof"]["created"] = "2020-01-01T00:00:00Z"
    assert _codes(tampered, loader) == ["PROOF_INVALID"]


@pytest.mark.parametrize(
    "mutate,code",
    [
        (lambda p: p.update(proofValue="u" + p["proofValue"][1:]), "MALFORMED_PROOF_ERROR"),
        (lambda p: p.update(proofValue=p["proofValue"][:-2]), "MALFORMED_PROOF_ERROR"),
        # 65 bytes (appending a base58 digit would only sometimes overflow 64 bytes)
        (
            lambda p: p.update(proofValue=multibase_encode(multibase_decode(p["proofValue"]) + b"\0")),
            "MALFORMED_PROOF_ERROR",
        ),
        (lambda p: p.update(proofValue="z1" + p["proofValue"][1:]), "MALFORMED_PROOF_ERROR"),
        (lambda p: p.pop("verificationMethod"), "MALFORMED_PROOF_ERROR"),
        (lambda p: p.update(created="yesterday"), "MALFORMED_PROOF_ERROR"),
        (lambda p: p.update(cryptosuite="eddsa-2099"), "UNKNOWN_CRYPTOSUITE"),
        (lambda p: p.update(type="RsaSignature2018"), "UNKNOWN_CRYPTOSUITE"),
        (lambda p: p.update(proofPurpose="authentication"), "MISMATCHED_PROOF_PURPOSE_ERROR"),
        (lambda p: p.update(expires="2020-01-01T00:00:00Z"), "PROOF_EXPIRED"),
    ],
)
def test_malformed_or_wrong_proofs_fail_with_their_code(
    mutate: Any, code: str, loader: DocumentLoader
) -> None:
    document, _ = _signed(loader)
    mutate(document["proof"])
    assert code in _codes(document, loader)


def test_swapped_verification_method_is_not_controlled_by_issuer(loader: DocumentLoader) -> None:
    document, _ = _signed(loader)
    mallory = KeyPair.generate()
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    document["proof"] = create_proof(unsigned, mallory, document_loader=loader)
    assert _codes(document, loader) == ["INVALID_VERIFICATION_METHOD"]


def test_missing_proof_and_unaccepted_suite(loader: DocumentLoader) -> None:
    document, _ = _signed(loader, "Ed25519Signature2020")
    assert _codes(document, loader, accepted_suites={"eddsa-rdfc-2022"}) == ["CRYPTOSUITE_NOT_ACCEPTED"]
    document.pop("proof")
    assert _codes(document, loader) == ["PROOF_MISSING"]


def test_challenge_and_domain_must_match(loader: DocumentLoader) -> None:
    key = KeyPair.generate()
    document = _credential(key.did)
    document["proof"] = create_proof(
        document,
        key,
        document_loader=loader,
        purpose="authentication",
        challenge="c-1",
        domain="vendor.example",
    )
    ok = _codes(document, loader, purpose="authentication", challenge="c-1", domain="vendor.example")
    assert ok == []
    assert _codes(document, loader, purpose="authentication", challenge="c-2", domain="vendor.example") == [
        "CHALLENGE_MISMATCH"
    ]
    assert _codes(document, loader, purpose="authentication", challenge="c-1", domain="evil.example") == [
        "DOMAIN_MISMATCH"
    ]


def test_a_proof_without_challenge_or_domain_does_not_answer_a_request(loader: DocumentLoader) -> None:
    # A validly signed authentication proof that carries no challenge (or no domain) at all
    # could be replayed to any verifier: absence is a mismatch, not a pass.
    key = KeyPair.generate()
    unbound = _credential(key.did)
    unbound["proof"] = create_proof(unbound, key, document_loader=loader, purpose="authentication")
    assert "challenge" not in unbound["proof"] and "domain" not in unbound["proof"]
    codes = _codes(unbound, loader, purpose="authentication", challenge="c-1", domain="vendor.example")
    assert codes == ["CHALLENGE_MISMATCH", "DOMAIN_MISMATCH"]
    domain_only = _credential(key.did)
    domain_only["proof"] = create_proof(
        domain_only, key, document_loader=loader, purpose="authentication", domain="vendor.example"
    )
    assert _codes(
        domain_only, loader, purpose="authentication", challenge="c-1", domain="vendor.example"
    ) == ["CHALLENGE_MISMATCH"]
    challenge_only = _credential(key.did)
    challenge_only["proof"] = create_proof(
        challenge_only, key, document_loader=loader, purpose="authentication", challenge="c-1"
    )
    assert _codes(
        challenge_only, loader, purpose="authentication", challenge="c-1", domain="vendor.example"
    ) == ["DOMAIN_MISMATCH"]


def test_eddsa_jcs_2022_document_context_must_start_with_the_proofs(loader: DocumentLoader) -> None:
    # The proof carries the context it was signed under; a document whose context was swapped
    # for one that maps its terms elsewhere still hashes the same, so it must be refused.
    document, _ = _signed(loader, "eddsa-jcs-2022")
    assert _codes(document, loader) == []
    document["@context"] = ["https://www.w3.org/ns/credentials/v2", UNDEFINED_TERMS]
    assert _codes(document, loader) == ["MALFORMED_PROOF_ERROR"]


def test_a_p256_signature_under_an_ed25519_suite_is_refused(loader: DocumentLoader) -> None:
    # A valid ECDSA signature over the right data, labelled eddsa-rdfc-2022: suite confusion.
    key = KeyPair.generate("P-256")
    document = _credential(key.did)
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": key.id,
        "proofPurpose": "assertionMethod",
    }
    data = b"".join(
        hashlib.sha256(canonicalize(d, loader).encode("utf-8")).digest()
        for d in ({**proof, "@context": document["@context"]}, document)
    )
    document["proof"] = {**proof, "proofValue": multibase_encode(key.sign(data))}
    assert _codes(document, loader) == ["MALFORMED_PROOF_ERROR"]


def test_did_key_purposes_cover_assertion_and_authentication() -> None:
    key = KeyPair.generate()
    document = did_key_document(key.did)
    assert key.id in document["assertionMethod"] and key.id in document["authentication"]


def test_creation_refuses_wrong_key_type_unknown_suite_and_missing_context(loader: DocumentLoader) -> None:
    with pytest.raises(ProofError):
        create_proof(_credential("did:example:x"), KeyPair.generate("P-256"), document_loader=loader)
    with pytest.raises(UnsupportedCryptosuiteError):
        create_proof(_credential("did:example:x"), KeyPair.generate(), document_loader=loader, suite="nope")
    with pytest.raises(ProofError):
        create_proof(
            _credential("did:example:x"),
            KeyPair.generate(),
            document_loader=loader,
            suite="Ed25519Signature2020",
        )
    with pytest.raises(ProofError):
        create_proof(
            _credential("did:example:x"), KeyPair.generate(), document_loader=loader, purpose="anything"
        )


def test_created_defaults_to_now() -> None:
    document, _ = _signed(
        DocumentLoader(extra={EXAMPLES_V2: SPEC / "contexts" / "credentials-examples-v2.jsonld"})
    )
    created = parse_datetime(document["proof"]["created"], "created")
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60


def test_a_proof_set_canonicalizes_its_document_once(
    loader: DocumentLoader, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 13: eight proofs over one document cost one canonicalization of it, plus one per
    # distinct proof configuration (proofs alike but for proofValue share theirs).
    document, _ = _signed(loader)
    forged = [dict(document["proof"], proofValue=multibase_encode(bytes(64))) for _ in range(6)]
    earlier = dict(document["proof"], created="2020-01-01T00:00:00Z")
    document["proof"] = [document["proof"], *forged, earlier]
    canonicalized: list[Any] = []
    original = eddsa_rdfc_2022.canonicalize
    monkeypatch.setattr(
        eddsa_rdfc_2022, "canonicalize", lambda doc, ld: canonicalized.append(doc) or original(doc, ld)
    )
    codes = _codes(document, loader)
    assert codes.count("PROOF_INVALID") == 7
    assert len(canonicalized) == 3  # the document, and two proof configurations


def test_each_key_is_decoded_and_checked_once(loader: DocumentLoader) -> None:
    # Issue 10: the small-order check is pure-Python arithmetic; it ran twice per verification.
    decodes, small_order_checks = keys._public_key_from_multibase, keys._ed25519_has_small_order
    before = decodes.cache_info().misses, small_order_checks.cache_info().misses
    document, _ = _signed(loader)
    for _ in range(3):
        checks = verify_proofs(
            document,
            purpose="assertionMethod",
            controller=document["issuer"],
            resolver=default_resolver(),  # a fresh resolver each time: the worst case
            document_loader=loader,
        )
        assert [c.code for c in checks if c.code] == []
    assert decodes.cache_info().misses - before[0] == 1
    assert small_order_checks.cache_info().misses - before[1] == 1


def test_verification_uses_one_resolver_per_process_by_default() -> None:
    # A resolver per call cached nothing across calls: every verification resolved again.
    assert VerifyOptions().resolver is VerifyOptions().resolver is shared_resolver()
