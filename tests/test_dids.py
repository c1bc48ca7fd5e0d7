"""did:key against the did:key spec vectors, did:web mapping and resolution over real HTTP on
127.0.0.1, the SSRF guard, caching, and verification method checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import LocalServer, Route

from accredit import KeyPair
from accredit._http import FetchPolicy, fetch_json
from accredit.dids import (
    CachingResolver,
    DIDWebResolver,
    StaticResolver,
    default_resolver,
    did_key_document,
    did_web_to_url,
    resolve,
    resolve_verification_method,
    split_did_url,
    url_to_did_web,
)
from accredit.errors import (
    DIDResolutionError,
    FetchError,
    InputError,
    InvalidDIDError,
    ProofPurposeError,
    UnsafeURLError,
    UnsupportedDIDMethodError,
    VerificationMethodError,
)

VECTORS = json.loads((Path(__file__).parent / "vectors/spec/extracted/did-key-ed25519.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["fromSeed"], ids=lambda v: v["seedHex"][-4:])
def test_did_key_from_seed_vectors(vector: dict[str, Any]) -> None:
    key = KeyPair.from_secret_multibase(_secret_multibase(vector["seedHex"]))
    assert key.public_key.raw.hex() == vector["publicKeyHex"]
    assert key.did == vector["did"]
    assert key.id == vector["verificationMethodId"]
    document = did_key_document(key.did)
    assert document["keyAgreement"][0]["publicKeyMultibase"] == vector["x25519KeyAgreementMultibase"]


def _secret_multibase(seed_hex: str) -> str:
    from accredit.keys import multibase_encode

    return multibase_encode(b"\x80\x26" + bytes.fromhex(seed_hex))


def test_did_key_document_matches_the_spec_example() -> None:
    example = VECTORS["didKeySpecExamples"]
    assert did_key_document(example["did"]) == example["didDocument"]
    assert resolve(example["did"]) == example["didDocument"]


def test_p256_did_key_has_no_derived_key_agreement() -> None:
    key = KeyPair.generate("P-256")
    assert key.did.startswith("did:key:zDn")
    document = did_key_document(key.did)
    assert document["verificationMethod"][0]["publicKeyMultibase"] == key.public_key.multibase
    assert "keyAgreement" not in document


@pytest.mark.parametrize(
    "did",
    [
        "did:key:z6Mk",
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
        "did:key:",
        "key:z6Mk",
        "did:KEY:x",
    ],
)
def test_bad_did_keys_are_refused(did: str) -> None:
    with pytest.raises((InvalidDIDError, UnsupportedDIDMethodError)):
        default_resolver().resolve(did)


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        ("did:web:Example.COM", "https://example.com/.well-known/did.json"),
    ],
)
def test_did_web_url_mapping(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


def test_url_to_did_web_round_trips() -> None:
    assert url_to_did_web("https://example.com:3000/user/alice") == "did:web:example.com%3A3000:user:alice"
    assert did_web_to_url(url_to_did_web("https://org.example")) == "https://org.example/.well-known/did.json"


@pytest.mark.parametrize(
    "did",
    ["did:web:exa%2Fmple.com", "did:web:example.com:..:x", "did:web:example.com::x", "did:web:user@host"],
)
def test_unsafe_did_web_is_refused(did: str) -> None:
    with pytest.raises(InvalidDIDError):
        did_web_to_url(did)


def test_split_did_url() -> None:
    assert split_did_url("did:web:a.example#key-1") == ("did:web:a.example", "key-1")
    assert split_did_url("did:web:a.example") == ("did:web:a.example", None)
    with pytest.raises(InvalidDIDError):
        split_did_url("did:web:a.example#")


# --- did:web over real HTTP -------------------------------------------------------------------


def _did_web(server: LocalServer) -> str:
    return f"did:web:127.0.0.1%3A{server.port}"


def _org_document(did: str, key: KeyPair) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#key-1",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": key.public_key.multibase,
            }
        ],
        "assertionMethod": ["#key-1"],
    }


def test_did_web_resolves_from_a_real_server(local_server: LocalServer) -> None:
    did = _did_web(local_server)
    key = KeyPair.generate(controller=did, id=f"{did}#key-1")
    local_server.json("/.well-known/did.json", _org_document(did, key))
    resolver = default_resolver(allow_private=True, allow_http=True)
    public_key = resolve_verification_method(
        key.id, purpose="assertionMethod", resolver=resolver, controller=did
    )
    assert public_key == key.public_key
    with pytest.raises(ProofPurposeError):
        resolve_verification_method(key.id, purpose="authentication", resolver=resolver, controller=did)


def test_did_web_refuses_loopback_by_default(local_server: LocalServer) -> None:
    did = _did_web(local_server)
    local_server.json("/.well-known/did.json", {"id": did})
    with pytest.raises(DIDResolutionError) as raised:
        DIDWebResolver().resolve(did)
    assert raised.value.details["cause"] == "UNSAFE_URL"
    assert local_server.hits == {}  # refused before any connection


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/",
        "https://169.254.169.254/latest",
        "https://[::1]/",
        "https://user:pw@example.com/",
        "file:///etc/passwd",
        "https://0.0.0.0/",
        "https://[::ffff:127.0.0.1]/",
    ],
)
def test_fetch_refuses_unsafe_urls(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        fetch_json(url, FetchPolicy())


def test_did_web_document_must_name_the_did(local_server: LocalServer) -> None:
    did = _did_web(local_server)
    local_server.json("/.well-known/did.json", {"id": "did:web:attacker.example"})
    with pytest.raises(DIDResolutionError):
        DIDWebResolver(FetchPolicy(allow_private=True, allow_http=True)).resolve(did)


def test_fetch_caps_size_and_refuses_cross_origin_redirects(local_server: LocalServer) -> None:
    policy = FetchPolicy(allow_private=True, allow_http=True, max_bytes=1000)
    local_server.json("/big", {"x": "a" * 2000})
    with pytest.raises(FetchError, match="larger than"):
        fetch_json(f"{local_server.base}/big", policy)
    local_server.routes["/undeclared"] = Route(
        200, json.dumps({"x": "a" * 2000}).encode(), declare_length=False
    )
    with pytest.raises(FetchError, match="larger than"):  # counted while reading, not taken on trust
        fetch_json(f"{local_server.base}/undeclared", policy)
    local_server.routes["/away"] = Route(302, b"", {"Location": "http://localhost:1/elsewhere"})
    with pytest.raises(FetchError, match="another origin"):
        fetch_json(f"{local_server.base}/away", policy)
    local_server.json("/doc", {"ok": True})
    local_server.routes["/here"] = Route(301, b"", {"Location": "/doc"})
    assert fetch_json(f"{local_server.base}/here", policy).document == {"ok": True}
    local_server.routes["/dup"] = Route(200, b'{"a": 1, "a": 2}')
    with pytest.raises(InputError, match="duplicate") as duplicate:
        fetch_json(f"{local_server.base}/dup", policy)
    assert duplicate.value.code == "MALFORMED_INPUT"
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_json(f"{local_server.base}/missing", policy)


def test_caching_resolver_caches_until_ttl(local_server: LocalServer) -> None:
    did = _did_web(local_server)
    local_server.json("/.well-known/did.json", _org_document(did, KeyPair.generate()))
    clock = [0.0]
    resolver = CachingResolver(
        DIDWebResolver(FetchPolicy(allow_private=True, allow_http=True)), ttl=60, clock=lambda: clock[0]
    )
    resolver.resolve(did)
    resolver.resolve(did)
    assert local_server.hits["/.well-known/did.json"] == 1
    clock[0] = 61
    resolver.resolve(did)
    assert local_server.hits["/.well-known/did.json"] == 2


def test_caching_resolver_remembers_a_failure_briefly(local_server: LocalServer) -> None:
    did = _did_web(local_server)
    clock = [0.0]
    resolver = CachingResolver(
        DIDWebResolver(FetchPolicy(allow_private=True, allow_http=True)),
        failure_ttl=30,
        clock=lambda: clock[0],
    )
    for _ in range(3):
        with pytest.raises(DIDResolutionError):
            resolver.resolve(did)
    assert local_server.hits["/.well-known/did.json"] == 1
    clock[0] = 31
    local_server.json("/.well-known/did.json", _org_document(did, KeyPair.generate()))
    assert resolver.resolve(did)["id"] == did
    assert local_server.hits["/.well-known/did.json"] == 2


# --- verification methods ---------------------------------------------------------------------


def _static(document: dict[str, Any]) -> StaticResolver:
    return StaticResolver({document["id"]: document})


def test_verification_method_must_belong_to_the_controller() -> None:
    key = KeyPair.generate()
    with pytest.raises(VerificationMethodError, match="does not belong"):
        resolve_verification_method(
            key.id, purpose="assertionMethod", resolver=default_resolver(), controller="did:web:org.example"
        )


@pytest.mark.parametrize(
    ("mutate", "error"),
    [
        (lambda vm: vm.update(controller="did:web:other.example"), VerificationMethodError),
        (lambda vm: vm.update(revoked="2026-01-01T00:00:00Z"), VerificationMethodError),
        (lambda vm: vm.update(type="UnknownKey2099"), VerificationMethodError),
        (lambda vm: vm.update(publicKeyMultibase="z6MkInvalid"), VerificationMethodError),
        (
            lambda vm: vm.update(
                type="JsonWebKey", publicKeyJwk={"kty": "OKP", "crv": "Ed25519", "x": "AA", "d": "AA"}
            ),
            VerificationMethodError,
        ),
    ],
)
def test_unusable_verification_methods_are_refused(mutate: Any, error: type[Exception]) -> None:
    did = "did:web:org.example"
    key = KeyPair.generate(controller=did, id=f"{did}#key-1")
    document = _org_document(did, key)
    mutate(document["verificationMethod"][0])
    with pytest.raises(error):
        resolve_verification_method(
            key.id, purpose="assertionMethod", resolver=_static(document), controller=did
        )


def test_jwk_verification_method_is_accepted() -> None:
    did = "did:web:org.example"
    key = KeyPair.generate("P-256", controller=did, id=f"{did}#jwk")
    document = {
        "id": did,
        "verificationMethod": [
            {"id": key.id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": key.public_key.to_jwk()}
        ],
        "assertionMethod": [key.id],
    }
    found = resolve_verification_method(
        key.id, purpose="assertionMethod", resolver=_static(document), controller=did
    )
    assert found == key.public_key
    # A document that publishes the private key too: the key is compromised, not usable.
    document["verificationMethod"][0]["publicKeyJwk"] = key.to_jwk(include_private=True)
    with pytest.raises(VerificationMethodError, match="private key") as refused:
        resolve_verification_method(
            key.id, purpose="assertionMethod", resolver=_static(document), controller=did
        )
    assert refused.value.code == "INVALID_VERIFICATION_METHOD"
