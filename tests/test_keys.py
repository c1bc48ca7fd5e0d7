"""Keys: Multikey/JWK round trips, did:key vectors, and refusal of every malformed key."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given
from hypothesis import strategies as st

from accredit import verify_credential
from accredit.errors import InvalidKeyError
from accredit.keys import KeyPair, PublicKey, multibase_decode, multibase_encode

VECTORS = Path(__file__).parent / "vectors"  # provenance: vectors/README.md
SPEC_KEY = json.loads((VECTORS / "spec" / "vc-di-eddsa" / "keyPair.json").read_text())
SEEDS = json.loads((VECTORS / "spec" / "extracted" / "did-key-ed25519.json").read_text())["fromSeed"]


@pytest.mark.parametrize("entry", SEEDS, ids=lambda e: e["did"][-8:])
def test_ed25519_seed_vectors_give_the_spec_did_key(entry: dict[str, str]) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(entry["seedHex"]))
    key = KeyPair(private)
    assert key.public_key.raw.hex() == entry["publicKeyHex"]
    assert key.public_key.multibase == entry["publicKeyMultibase"]
    assert key.did == entry["did"]
    assert key.id == entry["verificationMethodId"]


def test_spec_secret_key_multibase_round_trips() -> None:
    key = KeyPair.from_secret_multibase(SPEC_KEY["privateKeyMultibase"])
    assert key.public_key.multibase == SPEC_KEY["publicKeyMultibase"]
    assert key.secret_key_multibase == SPEC_KEY["privateKeyMultibase"]


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256"])
def test_key_file_round_trip_is_0600_and_never_overwritten(tmp_path: Path, key_type: str) -> None:
    key = KeyPair.generate(key_type)  # type: ignore[arg-type]
    path = tmp_path / "key.json"
    key.to_file(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    document = json.loads(path.read_text())
    assert set(document) == {
        "@context",
        "type",
        "id",
        "controller",
        "publicKeyMultibase",
        "secretKeyMultibase",
    }
    loaded = KeyPair.from_file(path)
    assert loaded.did == key.did and loaded.secret_key_multibase == key.secret_key_multibase
    with pytest.raises(FileExistsError):
        key.to_file(path)


@pytest.mark.parametrize("key_type", ["Ed25519", "P-256"])
def test_sign_verify_and_jwk_round_trip(key_type: str) -> None:
    key = KeyPair.generate(key_type)  # type: ignore[arg-type]
    signature = key.sign(b"message")
    assert key.public_key.verify(signature, b"message")
    assert not key.public_key.verify(signature, b"messagE")
    assert PublicKey.from_jwk(key.to_jwk()) == key.public_key
    assert PublicKey.from_multibase(key.public_key.multibase) == key.public_key
    assert "d" not in key.to_jwk() and "d" in key.to_jwk(include_private=True)


def test_p256_did_key_prefix() -> None:
    assert KeyPair.generate("P-256").did.startswith("did:key:zDn")


def test_repr_never_shows_the_secret() -> None:
    key = KeyPair.generate()
    assert key.secret_key_multibase not in repr(key)


# The small-order points of edwards25519 (and non-canonical encodings of them): a
# "universal" signature verifies against these for every message.
SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  # p+1: non-canonical 1
]


@pytest.mark.parametrize("hex_key", SMALL_ORDER)
def test_small_order_and_non_canonical_ed25519_keys_are_refused(hex_key: str) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_raw("Ed25519", bytes.fromhex(hex_key))
    with pytest.raises(InvalidKeyError):
        PublicKey.from_multibase(multibase_encode(b"\xed\x01" + bytes.fromhex(hex_key)))


def test_identity_key_universal_signature_is_not_accepted() -> None:
    # R = identity, S = 0 verifies for any message under the identity public key in
    # libraries that do not check the key; accredit never builds such a key.
    identity = bytes.fromhex(SMALL_ORDER[1])
    universal = identity + bytes(32)
    ed25519.Ed25519PublicKey.from_public_bytes(identity).verify(universal, b"any message at all")
    with pytest.raises(InvalidKeyError):
        PublicKey.from_raw("Ed25519", identity)
    # A credential "signed" with it by the did:key of that point: refused, not verified.
    did = "did:key:" + multibase_encode(b"\xed\x01" + identity)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "credentialSubject": {"id": "did:example:anyone"},
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": "2026-01-01T00:00:00Z",
            "verificationMethod": f"{did}#{did.removeprefix('did:key:')}",
            "proofPurpose": "assertionMethod",
            "proofValue": multibase_encode(universal),
        },
    }
    result = verify_credential(credential)
    assert list(result.codes) == ["INVALID_DID"] and [c.name for c in result.errors] == ["proof"]


@pytest.mark.parametrize(
    "value",
    [
        "",  # empty
        "f" + "00" * 34,  # base16 multibase, not base58btc
        "z0OIl",  # not base58 alphabet
        multibase_encode(b"\xed\x01" + bytes(31)),  # too short
        multibase_encode(b"\xed\x01" + bytes(33)),  # too long
        multibase_encode(b"\x12\x00" + bytes(32)),  # unknown multicodec
        multibase_encode(b"\x80\x24" + b"\x05" + bytes(32)),  # P-256: not a SEC1 compressed point
        multibase_encode(b"\x80\x26" + bytes(32)),  # a secret-key header as a public key
    ],
)
def test_malformed_public_keys_raise_invalid_key(value: str) -> None:
    with pytest.raises(InvalidKeyError) as raised:
        PublicKey.from_multibase(value)
    assert raised.value.code == "INVALID_KEY"


@pytest.mark.parametrize(
    "value",
    [
        multibase_encode(b"\x80\x26" + bytes(31)),
        multibase_encode(b"\xed\x01" + bytes(32)),  # a public header as a secret key
        multibase_encode(b"\x86\x26" + bytes(32)),  # P-256 scalar 0
        multibase_encode(b"\x86\x26" + b"\xff" * 32),  # P-256 scalar ≥ n
    ],
)
def test_malformed_secret_keys_raise_invalid_key(value: str) -> None:
    with pytest.raises(InvalidKeyError):
        KeyPair.from_secret_multibase(value)


def test_key_document_with_mismatched_public_key_is_refused() -> None:
    document = KeyPair.generate().to_multikey(include_secret=True)
    document["publicKeyMultibase"] = KeyPair.generate().public_key.multibase
    with pytest.raises(InvalidKeyError):
        KeyPair.from_multikey(document)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "X25519", "x": "AA"},
        {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed25519", "x": 5},
        "not an object",
    ],
)
def test_malformed_jwks_raise_invalid_key(jwk: object) -> None:
    with pytest.raises(InvalidKeyError):
        PublicKey.from_jwk(jwk)


@given(st.binary(max_size=80))
def test_multibase_round_trips(data: bytes) -> None:
    assert multibase_decode(multibase_encode(data)) == data
