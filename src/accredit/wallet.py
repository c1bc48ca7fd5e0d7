"""The holder wallet: an agent's key and credentials in a local directory, presentations on
request, and provisioning from an issuer over the VC-API.

Layout (the directory is 0700, every file 0600)::

    <wallet>/key.json            the public Multikey + the secret key, AES-256-GCM encrypted
                                 under a key derived from the passphrase with scrypt
    <wallet>/credentials/*.json  one credential per file, named by a hash of its id

The passphrase comes from the caller or ``ACCREDIT_WALLET_PASSPHRASE``; it and the secret key
never appear in a file, an error or a ``repr``. The wallet's DID is its key's controller: the
key's ``did:key`` unless the key was made with another controller.

Presentations answer a VC-API ``VerifiablePresentationRequest`` (``QueryByExample`` by
credential type, ``DIDAuthentication``); see ``accredit.verifier.PresentationRequest``.
https://w3c-ccg.github.io/vp-request-spec/ and https://w3c-ccg.github.io/vc-api/#issue-credential
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import secrets
import unicodedata
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import _json
from ._dates import require_aware, utcnow
from .agents import MANDATE_CREDENTIAL, MAX_DELEGATION_DEPTH, Money, action_receipt, credential_digest
from .credentials import (
    issue_credential,
    sign_presentation,
    types_of,
    validate_credential,
    validity_window,
)
from .errors import (
    AccreditError,
    DuplicateCredentialError,
    InputError,
    InvalidKeyError,
    IssuerRequestError,
    NoMatchingCredentialsError,
    PassphraseRequiredError,
    RequestDomainMismatchError,
    UnsafeURLError,
    ValidationError,
    WalletDecryptionError,
    WalletError,
    WalletExistsError,
    WalletNotFoundError,
)
from .keys import KeyPair, PublicKey
from .verifier import PresentationRequest, Verifier

__all__ = [
    "PASSPHRASE_ENV",
    "REMOVABLE_CODES",
    "DuplicateCredentialError",
    "IssuerRequestError",
    "NoMatchingCredentialsError",
    "PassphraseRequiredError",
    "RequestDomainMismatchError",
    "Wallet",
    "WalletDecryptionError",
    "WalletError",
    "WalletExistsError",
    "WalletNotFoundError",
]

PASSPHRASE_ENV = "ACCREDIT_WALLET_PASSPHRASE"
KEY_FILE = "key.json"
CREDENTIALS_DIR = "credentials"
RECEIPTS_DIR = "receipts"
KEY_FILE_TYPE = "AccreditWalletKey"

# scrypt at N=2^17, r=8 (128 MiB, ~0.3 s): OWASP's recommendation for stored secrets. A key
# file asking for less than 2^14 or more than 1 GiB is refused rather than obeyed.
DEFAULT_SCRYPT_N = 2**17
_MIN_SCRYPT_N = 2**14
_MAX_SCRYPT_MEMORY = 2**30

# Failures that cannot heal: a revoked or expired credential, a broken signature, a malformed
# document. Suspension, distrust and could-not-check failures (an unreachable status list or
# DID) are transient or verifier-specific, so those credentials are kept.
REMOVABLE_CODES = frozenset(
    {"REVOKED", "EXPIRED", "PROOF_INVALID", "MALFORMED_PROOF_ERROR", "PROOF_MISSING", "INVALID_DOCUMENT"}
)

_EPOCH = datetime(1, 1, 1, tzinfo=UTC)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ISSUER_TIMEOUT = 10.0


# --- key encryption ----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(value: Any, field: str) -> bytes:
    if not isinstance(value, str):
        raise WalletError(f"key file field {field} must be base64url", field=field)
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise WalletError(f"key file field {field} is not base64url", field=field) from None


def _passphrase(passphrase: str | bytes | None) -> bytes:
    if passphrase is None:
        passphrase = os.environ.get(PASSPHRASE_ENV)
    if not passphrase:
        raise PassphraseRequiredError(f"a wallet passphrase is required: pass one or set {PASSPHRASE_ENV}")
    if isinstance(passphrase, str):
        # One passphrase, one key: the same characters typed on two systems may differ in form.
        return unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return passphrase


def _derive(passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase)


def _aad(header: Mapping[str, Any]) -> bytes:
    # The public key and KDF parameters are authenticated with the ciphertext, so swapping the
    # public half or weakening the parameters makes decryption fail instead of misleading.
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _encrypt_key(key: KeyPair, passphrase: bytes, n: int) -> dict[str, Any]:
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header: dict[str, Any] = {
        "type": KEY_FILE_TYPE,
        "version": 1,
        "publicKey": key.to_multikey(),
        "kdf": {"name": "scrypt", "salt": _b64(salt), "n": n, "r": 8, "p": 1},
    }
    secret = key.secret_key_multibase.encode("ascii")
    ciphertext = AESGCM(_derive(passphrase, salt, n, 8, 1)).encrypt(nonce, secret, _aad(header))
    return {**header, "cipher": {"name": "AES-256-GCM", "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}}


def _kdf_parameters(kdf: Any) -> tuple[bytes, int, int, int]:
    if not isinstance(kdf, Mapping) or kdf.get("name") != "scrypt":
        raise WalletError("the key file's kdf must be scrypt")
    n, r, p = kdf.get("n"), kdf.get("r"), kdf.get("p")
    if not (isinstance(n, int) and isinstance(r, int) and isinstance(p, int)) or any(
        isinstance(v, bool) for v in (n, r, p)
    ):
        raise WalletError("the key file's scrypt parameters must be integers")
    if (
        n < _MIN_SCRYPT_N
        or n & (n - 1)
        or not 1 <= r <= 32
        or not 1 <= p <= 16
        or 128 * n * r > _MAX_SCRYPT_MEMORY
    ):
        raise WalletError("the key file's scrypt parameters are out of range", n=n, r=r, p=p)
    return _unb64(kdf.get("salt"), "kdf.salt"), n, r, p


def _decrypt_key(document: Any, passphrase: bytes) -> KeyPair:
    if (
        not isinstance(document, Mapping)
        or document.get("type") != KEY_FILE_TYPE
        or document.get("version") != 1
    ):
        raise WalletError(f"not an accredit wallet key file (type {KEY_FILE_TYPE}, version 1)")
    cipher = document.get("cipher")
    if not isinstance(cipher, Mapping) or cipher.get("name") != "AES-256-GCM":
        raise WalletError("the key file's cipher must be AES-256-GCM")
    salt, n, r, p = _kdf_parameters(document.get("kdf"))
    header = {k: document.get(k) for k in ("type", "version", "publicKey", "kdf")}
    try:
        secret = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(
            _unb64(cipher.get("nonce"), "cipher.nonce"),
            _unb64(cipher.get("ciphertext"), "cipher.ciphertext"),
            _aad(header),
        )
    except (InvalidTag, ValueError):
        raise WalletDecryptionError(
            "cannot decrypt the wallet key: wrong passphrase, or the key file was altered"
        ) from None
    public = document["publicKey"]
    if not isinstance(public, Mapping):
        raise WalletError("the key file's publicKey must be a Multikey document")
    try:
        return KeyPair.from_multikey({**public, "secretKeyMultibase": secret.decode("ascii")})
    except (InvalidKeyError, UnicodeDecodeError):
        raise WalletError("the decrypted wallet key is not a valid Multikey") from None


# --- files -------------------------------------------------------------------------------------


def _write_new(path: Path, data: bytes) -> None:
    """Write ``path`` (0600) atomically, refusing to replace an existing file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)  # the umask can only remove bits; be explicit anyway
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)  # atomic, and fails if the name is taken
    finally:
        temporary.unlink(missing_ok=True)


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)


def _dumps(document: Any) -> bytes:
    try:
        return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False).encode("utf-8") + b"\n"
    except (TypeError, ValueError) as error:
        raise InputError(f"not a JSON document: {error}") from None


def _file_name(credential: Mapping[str, Any]) -> str:
    # Named by id so a second copy of a credential collides on create; a credential without
    # an id is named by its content, so only an exact copy collides.
    if isinstance(credential.get("id"), str):
        seed = "id:" + credential["id"]
    else:
        seed = "json:" + json.dumps(credential, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:40] + ".json"


def _subject_ids(credential: Mapping[str, Any]) -> list[Any]:
    subjects = credential.get("credentialSubject")
    return [
        s.get("id") for s in (subjects if isinstance(subjects, list) else [subjects]) if isinstance(s, dict)
    ]


def _delegation_chain(selected: list[dict[str, Any]], held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The held credentials a selected delegated mandate needs: its parent mandates up to the
    root and the AgentCredential each of them names, by digest."""
    by_digest = {credential_digest(c): c for c in held}
    wanted = [c for c in selected if MANDATE_CREDENTIAL in types_of(c)]
    added: list[dict[str, Any]] = []
    while wanted and len(added) <= 2 * MAX_DELEGATION_DEPTH:
        subject = wanted.pop().get("credentialSubject")
        links = (
            [subject.get(k) for k in ("parentMandate", "agentCredential")]
            if isinstance(subject, dict)
            else []
        )
        for link in links:
            found = by_digest.get(str(link.get("digestMultibase"))) if isinstance(link, dict) else None
            if found is not None and not any(found is c for c in selected + added):
                added.append(found)
                wanted.append(found)
    return added


def _valid_at(credential: Mapping[str, Any], now: datetime) -> bool:
    start, end = validity_window(credential)
    return (start is None or start <= now) and (end is None or now <= end)


# --- the wallet --------------------------------------------------------------------------------


class Wallet:
    """An agent's key and credentials in a directory. Build with ``create`` or ``open``.

    ``clock`` (an aware ``datetime`` source) decides which credentials are currently valid.
    """

    def __init__(self, path: Path, key: KeyPair, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.path = path
        self._key = key
        self.clock = clock

    def __repr__(self) -> str:
        return f"Wallet(path={str(self.path)!r}, did={self.did!r})"

    @property
    def did(self) -> str:
        """The holder DID presentations are signed as."""
        return self._key.controller

    @property
    def public_key(self) -> PublicKey:
        return self._key.public_key

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        key: KeyPair | None = None,
        *,
        passphrase: str | bytes | None = None,
        scrypt_n: int = DEFAULT_SCRYPT_N,
        clock: Callable[[], datetime] = utcnow,
    ) -> Wallet:
        """Create a wallet at ``path`` (a new or empty directory) holding ``key`` (default: a new
        Ed25519 key), encrypted under ``passphrase`` (default: ``$ACCREDIT_WALLET_PASSPHRASE``).

        ``scrypt_n`` is the KDF cost; lower it only in tests. Raises ``WalletExistsError``,
        ``PassphraseRequiredError``, ``WalletError`` (a cost out of range), ``OSError``.
        """
        secret = _passphrase(passphrase)
        _kdf_parameters({"name": "scrypt", "salt": "", "n": scrypt_n, "r": 8, "p": 1})
        root = Path(path)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise WalletExistsError(f"{root} exists and is not an empty directory", path=str(root))
        key = key or KeyPair.generate()
        _private_dir(root)
        _private_dir(root / CREDENTIALS_DIR)
        try:
            _write_new(root / KEY_FILE, _dumps(_encrypt_key(key, secret, scrypt_n)))
        except FileExistsError:
            raise WalletExistsError(f"{root} already holds a wallet", path=str(root)) from None
        return cls(root, key, clock=clock)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        passphrase: str | bytes | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> Wallet:
        """Open the wallet at ``path``, decrypting its key with ``passphrase`` (default:
        ``$ACCREDIT_WALLET_PASSPHRASE``). Raises ``WalletNotFoundError``,
        ``PassphraseRequiredError``, ``WalletDecryptionError`` and ``WalletError``.
        """
        root = Path(path)
        secret = _passphrase(passphrase)
        try:
            data = (root / KEY_FILE).read_bytes()
        except FileNotFoundError:
            raise WalletNotFoundError(f"no wallet at {root}", path=str(root)) from None
        return cls(root, _decrypt_key(_json.loads(data, max_bytes=64_000), secret), clock=clock)

    # --- credentials ---------------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_aware(self.clock(), "clock()")

    def _stored(self) -> list[tuple[Path, dict[str, Any]]]:
        entries = []
        for file in sorted((self.path / CREDENTIALS_DIR).glob("[!.]*.json")):
            document = _json.loads(file.read_bytes())
            if not isinstance(document, dict):
                raise WalletError(f"{file.name} in the wallet is not a credential", file=file.name)
            entries.append((file, document))
        # Newest first (by validFrom/issuanceDate), so selection prefers fresh credentials.
        entries.sort(key=lambda entry: validity_window(entry[1])[0] or _EPOCH, reverse=True)
        return entries

    def import_credential(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """Store a verifiable credential, or the ``{"verifiableCredential": ...}`` an issuer
        answered; return the stored credential.

        Checks the data model and that it carries a proof (it does not verify the proof: use
        a ``Verifier`` for that). Raises ``ValidationError``, ``InputError`` and
        ``DuplicateCredentialError`` (a credential with that id, or that exact one, is held).
        """
        if isinstance(document, Mapping) and "verifiableCredential" in document and "type" not in document:
            document = document["verifiableCredential"]
        if not isinstance(document, Mapping):
            raise ValidationError("a credential must be a JSON object")
        data = _dumps(document)
        credential = _json.loads(data)  # a private, strictly bounded copy
        validate_credential(credential)
        if "proof" not in credential:
            raise ValidationError("the credential has no proof, so it cannot be presented", field="proof")
        name = _file_name(credential)
        try:
            _write_new(self.path / CREDENTIALS_DIR / name, data)
        except FileExistsError:
            raise DuplicateCredentialError(
                "the wallet already holds this credential", id=credential.get("id")
            ) from None
        return copy.deepcopy(credential)

    def import_file(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Import a credential (or an issuer's response) from a JSON file. Raises like
        ``import_credential`` and ``InputError`` (unreadable, not JSON)."""
        try:
            data = Path(path).read_bytes()
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror}", path=str(path)) from None
        return self.import_credential(_json.loads(data))

    def credentials(self, type: str | None = None) -> list[dict[str, Any]]:
        """The held credentials, newest first; with ``type``, only those of that type."""
        return [doc for _, doc in self._stored() if type is None or type in types_of(doc)]

    def remove_expired(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Delete credentials whose ``validUntil``/``expirationDate`` is before ``now``
        (default: the wallet's clock); return them."""
        moment = require_aware(now, "now") if now is not None else self._now()
        removed = []
        for file, credential in self._stored():
            end = validity_window(credential)[1]
            if end is not None and end < moment:
                file.unlink(missing_ok=True)
                removed.append(credential)
        return removed

    def remove_unverifiable(
        self, verifier: Verifier, *, codes: Collection[str] = REMOVABLE_CODES
    ) -> list[dict[str, Any]]:
        """Verify every credential with ``verifier`` and delete those failing with one of
        ``codes`` (default: revoked, expired, broken or missing proof, malformed); return them.

        Credentials failing only for other reasons (suspended, status list unreachable,
        issuer not trusted by this verifier) are kept: those can change.
        """
        removed = []
        for file, credential in self._stored():
            result = verifier.verify_credential(credential)
            if set(result.codes) & set(codes):
                file.unlink(missing_ok=True)
                removed.append(credential)
        return removed

    # --- receipts ------------------------------------------------------------------------------

    def record_action(
        self,
        action: str,
        *,
        mandate: Mapping[str, Any],
        counterparty: str | None = None,
        amount: Money | None = None,
        object_ref: str | None = None,
        performed_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Sign an ActionReceipt for what the agent did under the signed ``mandate``, chained to
        the wallet's previous receipt (its digest and sequence), and keep it. Returns the signed
        receipt. Raises ``ValidationError`` for a malformed field and ``WalletError`` if another
        process recorded a receipt at the same moment (the chain must stay a chain).
        """
        held = self.receipts()
        unsigned = action_receipt(
            agent=self.did,
            action=action,
            mandate=mandate,
            previous=held[-1] if held else None,
            performed_at=performed_at or self._now(),
            counterparty=counterparty,
            amount=amount,
            object_ref=object_ref,
        )
        receipt = issue_credential(unsigned, self._key, created=self._now())
        _private_dir(self.path / RECEIPTS_DIR)
        try:
            _write_new(self.path / RECEIPTS_DIR / f"{len(held):09d}.json", _dumps(receipt))
        except FileExistsError:
            raise WalletError("another receipt was recorded at the same time; retry") from None
        return receipt

    def receipts(self) -> list[dict[str, Any]]:
        """The wallet's signed receipts, oldest first (audit them with
        ``accredit.agents.verify_receipt_chain``)."""
        directory = self.path / RECEIPTS_DIR
        files = sorted(directory.glob("[!.]*.json")) if directory.is_dir() else []
        return [_json.loads(file.read_bytes()) for file in files]

    # --- presenting ----------------------------------------------------------------------------

    def present(
        self, request: Mapping[str, Any], *, domain: str | None = None, suite: str = "eddsa-rdfc-2022"
    ) -> dict[str, Any]:
        """Answer a ``VerifiablePresentationRequest`` (or a VC-API exchange's
        ``{"verifiablePresentationRequest": ...}``) with a presentation signed by the wallet
        key and bound to the request's challenge and domain.

        For each credential query the newest currently valid matching credential is
        presented (one about the wallet's own agent first), and only that: the verifier learns
        what it asked for and no more — except that a delegated MandateCredential comes with
        its delegation chain (the parent mandates and the AgentCredentials they name), without
        which it cannot be checked. With
        ``domain``, the request must be for that domain, so a request relayed from another
        site is refused. Raises ``PresentationRequestError``, ``UnsupportedQueryError``,
        ``RequestDomainMismatchError`` and ``NoMatchingCredentialsError``.
        """
        parsed = PresentationRequest.from_dict(request)
        if domain is not None and parsed.domain != domain:
            raise RequestDomainMismatchError(
                "the request is for another domain", expected=domain, actual=parsed.domain
            )
        now = self._now()
        held = [credential for _, credential in self._stored() if _valid_at(credential, now)]
        # Credentials about this wallet's agent first: a sub-agent also holds its parents'.
        usable = sorted(held, key=lambda credential: self.did not in _subject_ids(credential))
        selected: list[dict[str, Any]] = []
        unmet: list[list[str]] = []
        for query in parsed.credential_queries:
            match = next((c for c in usable if query.matches(c)), None)
            if match is None:
                if query.required:
                    unmet.append(sorted(query.types))
            elif not any(match is chosen for chosen in selected):
                selected.append(match)
        if unmet:
            raise NoMatchingCredentialsError(
                "the wallet holds no currently valid credential for the request", unmet=unmet
            )
        selected += _delegation_chain(selected, held)
        return sign_presentation(
            selected, self._key, challenge=parsed.challenge, domain=parsed.domain, suite=suite, created=now
        )

    # --- provisioning --------------------------------------------------------------------------

    def accept_offer(
        self, uri: str, *, tx_code: str | None = None, session: requests.Session | None = None
    ) -> list[dict[str, Any]]:
        """Collect the credentials of an OpenID4VCI credential offer (``openid-credential-offer://``,
        pre-authorized code flow), proving possession of this wallet's key; import and return
        them. ``tx_code`` is the transaction code the issuer sent separately, if the offer asks
        for one. Raises ``IssuerRequestError`` (the OAuth ``error`` as ``issuer_code``),
        ``InputError``, ``ValidationError`` (a credential not about this wallet's DID), and the
        errors of ``import_credential``."""
        from .oid4vci import accept_offer

        credentials = accept_offer(uri, self._key, tx_code=tx_code, session=session)
        for credential in credentials:
            subjects = credential.get("credentialSubject")
            ids = [
                s.get("id")
                for s in (subjects if isinstance(subjects, list) else [subjects])
                if isinstance(s, dict)
            ]
            if self.did not in ids:
                raise ValidationError(
                    "the issuer sent a credential about another subject", field="credentialSubject"
                )
        return [self.import_credential(credential) for credential in credentials]

    def request_credential(
        self,
        issuer_url: str,
        credential: Mapping[str, Any],
        *,
        token: str,
        session: requests.Session | None = None,
        timeout: float = _ISSUER_TIMEOUT,
    ) -> dict[str, Any]:
        """Ask the issuer service at ``issuer_url`` to issue ``credential`` (VC-API
        ``POST /credentials/issue`` with a bearer ``token``), import the result and return it.

        ``credentialSubject.id`` defaults to the wallet's DID. The URL must be https (plain
        http only to this machine), so the token never crosses a network in clear; redirects
        are not followed. Raises ``UnsafeURLError``, ``IssuerRequestError`` (unreachable, not
        201, or not a ``{"verifiableCredential"}`` answer; carrying the problem's ``code``)
        and the errors of ``import_credential``.
        """
        url = _issue_url(issuer_url)
        if not isinstance(token, str) or not token:
            raise InputError("an issuer token is required")
        body = copy.deepcopy(dict(credential))
        if isinstance(body.get("credentialSubject"), dict):
            body["credentialSubject"].setdefault("id", self.did)
        http = session or requests.Session()
        try:
            response = http.post(
                url,
                data=_dumps({"credential": body, "options": {}}),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                },
                timeout=timeout,
                allow_redirects=False,
                stream=True,
            )
            with response:
                payload = _read_capped(response)
        except requests.RequestException as error:
            raise IssuerRequestError(f"cannot reach the issuer at {url}: {type(error).__name__}") from None
        if response.status_code != 201:
            raise _refusal(response.status_code, payload)
        try:
            answer = _json.loads(payload)
        except InputError as error:
            raise IssuerRequestError(
                f"the issuer's answer is not JSON: {error.message}", status=201
            ) from None
        if not isinstance(answer, dict) or not isinstance(answer.get("verifiableCredential"), dict):
            raise IssuerRequestError('the issuer did not answer {"verifiableCredential": {...}}', status=201)
        return self.import_credential(answer["verifiableCredential"])


def _issue_url(issuer_url: str) -> str:
    parts = urlsplit(issuer_url)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if parts.scheme != "https" and not local:
        raise UnsafeURLError("the issuer URL must be https (http only on this machine)", url=issuer_url)
    if not parts.hostname or parts.username or parts.password or parts.query or parts.fragment:
        raise UnsafeURLError("the issuer URL must be a plain base URL", url=issuer_url)
    return issuer_url.rstrip("/") + "/credentials/issue"


def _read_capped(response: requests.Response) -> bytes:
    body = bytearray()
    for chunk in response.iter_content(16_384):
        body += chunk
        if len(body) > _json.MAX_BYTES:
            raise IssuerRequestError(
                f"the issuer's answer exceeds {_json.MAX_BYTES} bytes", status=response.status_code
            )
    return bytes(body)


def _refusal(status: int, payload: bytes) -> IssuerRequestError:
    """An error for a non-201 answer, carrying the RFC 9457 problem's ``code`` if it has one."""
    try:
        problem = _json.loads(payload)
    except AccreditError:
        problem = None
    code = detail = None
    if isinstance(problem, dict):
        code = problem.get("code") if isinstance(problem.get("code"), str) else None
        text = problem.get("detail") or problem.get("title")
        detail = text[:300] if isinstance(text, str) else None
    message = f"the issuer refused the request (HTTP {status}" + (f", {code})" if code else ")")
    return IssuerRequestError(message + (f": {detail}" if detail else ""), status=status, issuer_code=code)
