"""Service configuration: where the data lives, which database, how keys are sealed.

Environment variables (each overrides the default, not an explicit argument):
``ACCREDIT_DATA_DIR`` (default ``./.accredit``), ``ACCREDIT_DATABASE_URL`` (default SQLite in
the data directory; ``postgresql+psycopg://...`` for several instances), ``ACCREDIT_PASSPHRASE``
(seal keys with a passphrase instead of the ``master.key`` file in the data directory),
``ACCREDIT_MASTER_KEY_FILE`` (keep the master key file outside the data directory, e.g. on a
separate volume or a secrets mount: a copy of the data directory alone then opens nothing),
``ACCREDIT_BASE_URL`` (the URL clients reach the service at, named in credential ids and status
list URLs; ``accredit serve`` and ``accredit init`` apply it, and a change is audited),
``ACCREDIT_VERIFY_SUITES`` (comma-separated cryptosuites the verify routes accept; default
eddsa-rdfc-2022,eddsa-jcs-2022; add Ed25519Signature2020 for older peers),
``ACCREDIT_MAX_BACKDATE_SECONDS`` (how far in the past an issued credential's validity may
start; default 300), ``ACCREDIT_OPEN_RATE_LIMIT`` (requests per minute per client address on
the routes anyone may call; default 600).

The data directory is made 0700 and every file in it 0600, also when it already existed.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from ..proofs import RECOMMENDED_SUITES, SUITES
from .sealing import Sealer
from .storage import Store


def _env_path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default)


def _env_suites() -> frozenset[str]:
    value = os.environ.get("ACCREDIT_VERIFY_SUITES")
    if not value:
        return RECOMMENDED_SUITES
    suites = frozenset(s.strip() for s in value.split(",") if s.strip())
    unknown = sorted(suites - set(SUITES))
    if unknown:
        raise ValueError(
            f"ACCREDIT_VERIFY_SUITES names unknown cryptosuites {unknown}; known: {sorted(SUITES)}"
        )
    return suites


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``create_app`` and the CLI need to find and open an issuer."""

    data_dir: Path = field(default_factory=lambda: _env_path("ACCREDIT_DATA_DIR", ".accredit"))
    database_url: str | None = field(default_factory=lambda: os.environ.get("ACCREDIT_DATABASE_URL"))
    passphrase: str | None = field(default_factory=lambda: os.environ.get("ACCREDIT_PASSPHRASE"), repr=False)
    master_key_file: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("ACCREDIT_MASTER_KEY_FILE")) else None
    )
    base_url: str | None = field(default_factory=lambda: os.environ.get("ACCREDIT_BASE_URL") or None)
    # Let did:web and status-list fetches reach private addresses: tests and closed networks only.
    allow_private_fetch: bool = False
    max_body_bytes: int = 1_000_000
    rate_limit_per_minute: int = 6000  # per API token
    # Per client address on the routes anyone may call (verify, challenges, status lists,
    # did.json); shared by every worker and instance through the database.
    open_rate_limit_per_minute: int = field(
        default_factory=lambda: int(os.environ.get("ACCREDIT_OPEN_RATE_LIMIT") or 600)
    )
    # Cryptosuites the verify routes accept: the recommended ones unless the deployment adds
    # Ed25519Signature2020 for older peers (off by default, as in the library).
    accepted_suites: frozenset[str] = field(default_factory=_env_suites)
    # How far before now a caller may start a credential's validity. Short by default: a
    # backdated mandate would seem to have covered actions taken before it was issued.
    max_backdate: timedelta = field(
        default_factory=lambda: timedelta(seconds=int(os.environ.get("ACCREDIT_MAX_BACKDATE_SECONDS") or 300))
    )
    list_max_age: int = 30  # seconds verifiers may cache a status list (the kill switch delay)

    @property
    def url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'accredit.db').resolve()}"

    @property
    def key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    def prepare_data_dir(self) -> None:
        """Create the data directory private to its owner, and tighten one that exists."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        for entry in self.data_dir.iterdir():
            if entry.is_file() and not entry.is_symlink():
                os.chmod(entry, 0o600)

    def open_store(self) -> Store:
        if self.database_url is None:
            self.prepare_data_dir()
            # SQLite gives its -wal and -shm files the database file's mode: create it 0600.
            os.close(os.open(self.data_dir / "accredit.db", os.O_WRONLY | os.O_CREAT, 0o600))
        store = Store(self.url)
        store.migrate()
        return store

    def sealer(self, store: Store, *, create: bool = False) -> Sealer:
        """The master key: from the passphrase (salt kept in the database), else the key file."""
        if self.passphrase:
            with store.write() as connection:
                salt = store.setting(connection, "kdf_salt")
                if salt is None:
                    salt = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
                    store.set_setting(connection, "kdf_salt", salt)
            return Sealer.from_passphrase(self.passphrase, base64.b64decode(salt))
        if create:
            self.prepare_data_dir()
        return Sealer.from_key_file(self.key_file, create=create)
