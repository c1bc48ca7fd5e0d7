"""Private keys at rest: AES-256-GCM under a master key that never enters the database.

The master key comes from a passphrase (scrypt, salt stored beside the data) or from a key
file of 32 random bytes created with mode 0600. Every instance sharing one database must be
given the same passphrase or key file. Sealed blobs bind the key id as associated data, so a
ciphertext moved to another row does not decrypt.

A second key, derived from the master key (HKDF), authenticates database rows that grant
authority (API tokens): write access to the database alone cannot mint one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from .._jcs import canonicalize
from ..errors import AccreditError

_VERSION = b"\x01"
_NONCE_BYTES = 12


class SealingError(AccreditError):
    """A sealed secret that cannot be opened: wrong passphrase or key file, or tampered data."""

    code = "SEALING_ERROR"


class Sealer:
    """Seals and opens secrets under one 256-bit master key."""

    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise SealingError("the master key must be 32 bytes")
        self._aead, self._master = AESGCM(master_key), master_key
        self._row_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"accredit row authentication v1"
        ).derive(master_key)

    def derive_key(self, purpose: bytes) -> bytes:
        """A 32-byte key for ``purpose`` (HKDF of the master key), the same in every instance
        sharing the master key: the console signs its session cookies with one."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(self._master)

    @classmethod
    def from_passphrase(cls, passphrase: str, salt: bytes) -> Sealer:
        kdf = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1)
        return cls(kdf.derive(passphrase.encode("utf-8")))

    @classmethod
    def from_key_file(cls, path: Path, *, create: bool = False) -> Sealer:
        """Read the key file; with ``create``, make one (mode 0600) if it does not exist."""
        if create and not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
        try:
            return cls(path.read_bytes())
        except OSError as error:
            raise SealingError(f"cannot read the master key file {path}: {error.strerror}") from None

    def seal(self, secret: bytes, label: str) -> bytes:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, secret, label.encode("utf-8"))

    def open(self, sealed: bytes, label: str) -> bytes:
        if not sealed.startswith(_VERSION) or len(sealed) < 1 + _NONCE_BYTES + 16:
            raise SealingError("not a sealed secret")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, label.encode("utf-8"))
        except InvalidTag:
            raise SealingError("cannot decrypt a private key: wrong passphrase or master key file") from None

    def row_mac(self, table: str, values: Sequence[str | int | None]) -> str:
        """An HMAC-SHA256 over a row's ``values`` (in a fixed order) and its ``table``."""
        message = canonicalize([table, *values])
        return hmac.new(self._row_key, message, hashlib.sha256).hexdigest()

    def row_authentic(self, table: str, values: Sequence[str | int | None], mac: str | None) -> bool:
        return mac is not None and hmac.compare_digest(self.row_mac(table, values), mac)
