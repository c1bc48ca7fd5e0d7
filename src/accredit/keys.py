"""Key pairs (Ed25519, P-256) and their encodings: Multikey, multibase, multicodec, JWK, key files.

Multikey (W3C Controlled Identifiers 1.0, §2.2.2): ``publicKeyMultibase`` is base58btc
multibase (``z``) of a multicodec header followed by the raw key; ``secretKeyMultibase``
likewise. https://www.w3.org/TR/cid-1.0/#Multikey

Every decoder refuses what it does not fully understand: an unknown multibase prefix or
multicodec header, a wrong length, a point not on the curve, a non-canonical or
small-order Ed25519 public key (``cryptography`` accepts a "universal" signature for
those). The error is always ``InvalidKeyError``, never a wrong key.
"""

from __future__ import annotations

import base64
import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from . import _json
from .errors import InvalidKeyError

KeyType = Literal["Ed25519", "P-256"]
KEY_TYPES: tuple[KeyType, ...] = ("Ed25519", "P-256")

MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

# Multicodec headers as unsigned varints (https://github.com/multiformats/multicodec).
_ED25519_PUB = b"\xed\x01"  # 0xed
_ED25519_PRIV = b"\x80\x26"  # 0x1300
_P256_PUB = b"\x80\x24"  # 0x1200, compressed SEC1 point
_P256_PRIV = b"\x86\x26"  # 0x1306

_PUBLIC_HEADERS: dict[bytes, tuple[KeyType, int]] = {
    _ED25519_PUB: ("Ed25519", 32),
    _P256_PUB: ("P-256", 33),
}
_SECRET_HEADERS: dict[bytes, tuple[KeyType, int]] = {
    _ED25519_PRIV: ("Ed25519", 32),
    _P256_PRIV: ("P-256", 32),
}

# Ed25519 curve constants (RFC 8032 §5.1).
_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)
# P-256 group order, for secret scalar range checks.
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def multibase_decode(value: str) -> bytes:
    """Decode base58btc multibase (``z`` prefix only). Raises ``InvalidKeyError``."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise InvalidKeyError("expected base58btc multibase starting with 'z'")
    try:
        return bytes(base58.b58decode(value[1:]))
    except ValueError as exc:
        raise InvalidKeyError("multibase value is not valid base58btc") from exc


def multibase_encode(data: bytes) -> str:
    """Encode bytes as base58btc multibase (``z`` prefix)."""
    return "z" + base58.b58encode(data).decode("ascii")


def _split_multicodec(
    data: bytes, headers: dict[bytes, tuple[KeyType, int]], what: str
) -> tuple[KeyType, bytes]:
    header = data[:2]
    if header not in headers:
        raise InvalidKeyError(f"unsupported multicodec header {header.hex()} for a {what} key")
    key_type, length = headers[header]
    raw = data[2:]
    if len(raw) != length:
        raise InvalidKeyError(f"{key_type} {what} key must be {length} bytes, got {len(raw)}")
    return key_type, raw


@functools.lru_cache(maxsize=4096)
def _ed25519_has_small_order(raw: bytes) -> bool:
    """True if the encoded point is non-canonical, not on the curve, or of order ≤ 8.

    Decodes per RFC 8032 §5.1.3 and multiplies by the cofactor 8; a small-order point
    lands on the identity. Such keys admit signatures that verify for every message.
    Pure and memoized: each key is checked once per process.
    """
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        return True
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        x = (x * _SQRT_M1) % _P
        if (v * x * x - u) % _P != 0:
            return True
    if x == 0 and sign:
        return True
    for _ in range(3):  # [8]P by three doublings in affine coordinates
        xx, yy, xy = x * x % _P, y * y % _P, x * y % _P
        dxy = _D * xx * yy % _P
        x = 2 * xy * pow(1 + dxy, -1, _P) % _P  # a modular inverse, ~30x faster than pow(·, p−2)
        y = (yy + xx) * pow(1 - dxy, -1, _P) % _P
    return x == 0 and y == 1


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidKeyError(f"JWK member {field!r} must be a base64url string")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise InvalidKeyError(f"JWK member {field!r} is not base64url") from exc


@dataclass(frozen=True)
class PublicKey:
    """A verification key. Construct with ``from_multibase``, ``from_jwk`` or ``from_raw``."""

    type: KeyType
    raw: bytes  # Ed25519: 32 bytes; P-256: 33-byte compressed point

    @classmethod
    def from_raw(cls, key_type: KeyType, raw: bytes) -> PublicKey:
        """Validate and wrap raw key bytes. Raises ``InvalidKeyError``."""
        if key_type == "Ed25519":
            if len(raw) != 32:
                raise InvalidKeyError(f"Ed25519 public key must be 32 bytes, got {len(raw)}")
            if _ed25519_has_small_order(raw):
                raise InvalidKeyError("Ed25519 public key is not a valid point of large order")
        elif key_type == "P-256":
            try:
                point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
            except ValueError as exc:
                raise InvalidKeyError("P-256 public key is not a valid curve point") from exc
            raw = point.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        else:
            raise InvalidKeyError(f"unsupported key type {key_type!r}")
        return cls(key_type, raw)

    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        """Decode a Multikey ``publicKeyMultibase``. Raises ``InvalidKeyError``. Each distinct
        value is decoded once per process (keys are immutable values)."""
        return _public_key_from_multibase(value)

    @classmethod
    def from_jwk(cls, jwk: Any) -> PublicKey:
        """Decode a public JWK (OKP/Ed25519 or EC/P-256). Raises ``InvalidKeyError``."""
        if not isinstance(jwk, dict):
            raise InvalidKeyError("JWK must be a JSON object")
        kty, crv = jwk.get("kty"), jwk.get("crv")
        if kty == "OKP" and crv == "Ed25519":
            return cls.from_raw("Ed25519", _b64url_decode(jwk.get("x"), "x"))
        if kty == "EC" and crv == "P-256":
            x, y = _b64url_decode(jwk.get("x"), "x"), _b64url_decode(jwk.get("y"), "y")
            if len(x) != 32 or len(y) != 32:
                raise InvalidKeyError("P-256 JWK coordinates must be 32 bytes each")
            return cls.from_raw("P-256", b"\x04" + x + y)
        raise InvalidKeyError(f"unsupported JWK kty={kty!r} crv={crv!r}")

    @property
    def multibase(self) -> str:
        """The Multikey ``publicKeyMultibase``."""
        header = _ED25519_PUB if self.type == "Ed25519" else _P256_PUB
        return multibase_encode(header + self.raw)

    @property
    def did(self) -> str:
        """The ``did:key`` DID of this key."""
        return "did:key:" + self.multibase

    def to_jwk(self) -> dict[str, str]:
        """The public JWK."""
        if self.type == "Ed25519":
            return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(self.raw)}
        numbers = self._p256().public_numbers()
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }

    def _p256(self) -> ec.EllipticCurvePublicKey:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.raw)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True if ``signature`` is valid for ``data``. Ed25519: 64 bytes; P-256: r‖s, 64 bytes."""
        if len(signature) != 64:
            return False
        try:
            if self.type == "Ed25519":
                ed25519.Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
            else:
                r = int.from_bytes(signature[:32], "big")
                s = int.from_bytes(signature[32:], "big")
                self._p256().verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


@functools.lru_cache(maxsize=4096)
def _public_key_from_multibase(value: str) -> PublicKey:
    key_type, raw = _split_multicodec(multibase_decode(value), _PUBLIC_HEADERS, "public")
    return PublicKey.from_raw(key_type, raw)


class KeyPair:
    """A signing key pair with its Multikey identity.

    ``id`` is the verification method id and ``controller`` the DID that controls it; both
    default to the key's ``did:key``. The secret never appears in ``repr`` or errors.
    """

    def __init__(
        self,
        private_key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey,
        *,
        controller: str | None = None,
        id: str | None = None,
    ) -> None:
        self._private = private_key
        if isinstance(private_key, ed25519.Ed25519PrivateKey):
            raw = private_key.public_key().public_bytes_raw()
            self.public_key = PublicKey.from_raw("Ed25519", raw)
        else:
            raw = private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
            )
            self.public_key = PublicKey.from_raw("P-256", raw)
        self.controller = controller or self.public_key.did
        self.id = id or f"{self.controller}#{self.public_key.multibase}"

    @classmethod
    def generate(cls, key_type: KeyType = "Ed25519", **names: str) -> KeyPair:
        """A fresh key pair of ``key_type`` ("Ed25519" or "P-256")."""
        if key_type == "Ed25519":
            return cls(ed25519.Ed25519PrivateKey.generate(), **names)
        if key_type == "P-256":
            return cls(ec.generate_private_key(ec.SECP256R1()), **names)
        raise InvalidKeyError(f"unsupported key type {key_type!r}; expected one of {KEY_TYPES}")

    @classmethod
    def from_secret_multibase(cls, secret_key_multibase: str, **names: str) -> KeyPair:
        """Decode a Multikey ``secretKeyMultibase``. Raises ``InvalidKeyError``."""
        key_type, raw = _split_multicodec(multibase_decode(secret_key_multibase), _SECRET_HEADERS, "secret")
        if key_type == "Ed25519":
            return cls(ed25519.Ed25519PrivateKey.from_private_bytes(raw), **names)
        scalar = int.from_bytes(raw, "big")
        if not 0 < scalar < _P256_N:
            raise InvalidKeyError("P-256 secret scalar out of range")
        return cls(ec.derive_private_key(scalar, ec.SECP256R1()), **names)

    @classmethod
    def from_multikey(cls, document: Any) -> KeyPair:
        """Load a Multikey document holding ``secretKeyMultibase``; the public key must match."""
        if not isinstance(document, dict) or document.get("type") != "Multikey":
            raise InvalidKeyError("key document must be a JSON object with type 'Multikey'")
        secret = document.get("secretKeyMultibase")
        if not isinstance(secret, str):
            raise InvalidKeyError("key document has no secretKeyMultibase")
        names = {k: document[k] for k in ("id", "controller") if isinstance(document.get(k), str)}
        pair = cls.from_secret_multibase(secret, **names)
        if document.get("publicKeyMultibase") not in (None, pair.public_key.multibase):
            raise InvalidKeyError("publicKeyMultibase does not match secretKeyMultibase")
        return pair

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyPair:
        """Read a key file (a Multikey JSON document). Raises ``InvalidKeyError``, ``OSError``."""
        return cls.from_multikey(_json.loads(Path(path).read_bytes(), max_bytes=64_000))

    @property
    def type(self) -> KeyType:
        return self.public_key.type

    @property
    def did(self) -> str:
        """The DID that controls this key (its ``did:key`` unless another controller was set)."""
        return self.controller

    @property
    def secret_key_multibase(self) -> str:
        """The Multikey ``secretKeyMultibase``. Secret: never log it."""
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            return multibase_encode(_ED25519_PRIV + self._private.private_bytes_raw())
        scalar = self._private.private_numbers().private_value
        return multibase_encode(_P256_PRIV + scalar.to_bytes(32, "big"))

    def to_multikey(self, *, include_secret: bool = False) -> dict[str, str]:
        """The Multikey document; with ``include_secret`` also ``secretKeyMultibase``."""
        document = {
            "@context": MULTIKEY_CONTEXT,
            "type": "Multikey",
            "id": self.id,
            "controller": self.controller,
            "publicKeyMultibase": self.public_key.multibase,
        }
        if include_secret:
            document["secretKeyMultibase"] = self.secret_key_multibase
        return document

    def to_file(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write the key file with mode 0600. Refuses to replace a file unless ``overwrite``."""
        flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
        fd = os.open(path, flags, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(self.to_multikey(include_secret=True), handle, indent=2)
            handle.write("\n")

    def to_jwk(self, *, include_private: bool = False) -> dict[str, str]:
        """The JWK; with ``include_private`` also ``d``."""
        jwk = self.public_key.to_jwk()
        if include_private:
            if isinstance(self._private, ed25519.Ed25519PrivateKey):
                jwk["d"] = _b64url(self._private.private_bytes_raw())
            else:
                jwk["d"] = _b64url(self._private.private_numbers().private_value.to_bytes(32, "big"))
        return jwk

    def sign(self, data: bytes) -> bytes:
        """Sign ``data``: Ed25519 (64 bytes) or ECDSA P-256/SHA-256 as r‖s (64 bytes)."""
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            return self._private.sign(data)
        r, s = decode_dss_signature(self._private.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def __repr__(self) -> str:
        return f"KeyPair(type={self.type!r}, id={self.id!r})"
