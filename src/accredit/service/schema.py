"""The issuer service's tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create
and evolve them; this module is their single description.

Times are integer Unix seconds (portable across SQLite and PostgreSQL, compared as numbers).
Uniqueness that matters for security is enforced by the database, not by the code: no two
credentials can ever hold the same index of one status list, whatever the number of workers
or instances issuing at once.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", String(512), primary_key=True),  # the verification method id
    Column("public_key_multibase", String(128), nullable=False),
    Column("secret_ciphertext", LargeBinary, nullable=False),  # AES-GCM under the master key
    Column("created_at", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False),
)

status_lists = Table(
    "status_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("purpose", String(16), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("version", BigInteger, nullable=False, default=0),  # bumped on every change
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("purpose", "sequence", name="uq_status_lists_purpose_sequence"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("subject_id", String(2048), nullable=False),
    Column("types", Text, nullable=False),  # JSON list
    Column("key_id", String(512), ForeignKey("signing_keys.id"), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=True),
    Column("digest", String(80), nullable=False),
    Column("revocation_list", Integer, ForeignKey("status_lists.id"), nullable=False),
    Column("revocation_index", Integer, nullable=False),
    Column("suspension_list", Integer, ForeignKey("status_lists.id"), nullable=False),
    Column("suspension_index", Integer, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("suspended", Boolean, nullable=False, default=False),
    Column("document", Text, nullable=False),  # the signed credential, for GET /credentials/{id}
    # False for a VC 1.1 credential: it carries no Bitstring Status List entry, so its slots are
    # reserved but a status change would reach no verifier.
    Column("status_entries", Boolean, nullable=False, server_default=true()),
    UniqueConstraint("revocation_list", "revocation_index", name="uq_credentials_revocation_slot"),
    UniqueConstraint("suspension_list", "suspension_index", name="uq_credentials_suspension_slot"),
)
Index("ix_credentials_subject", credentials.c.subject_id)

# Every subject id of a credential (several subjects are allowed): the kill switch's index.
credential_subjects = Table(
    "credential_subjects",
    metadata,
    Column("credential_id", String(128), ForeignKey("credentials.id"), primary_key=True),
    Column("subject_id", String(2048), primary_key=True),
)
Index("ix_credential_subjects_subject", credential_subjects.c.subject_id)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of a 256-bit random token
    Column("scopes", String(200), nullable=False),  # space-separated
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),  # NULL only on rows from before 0003
    Column("credential_types", Text, nullable=True),  # JSON list the token may issue; NULL: any
    # HMAC under a key derived from the master key over every column above: a row written by
    # someone with database access alone does not authenticate (see integrity.py).
    Column("mac", String(64), nullable=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("details", Text, nullable=False),  # JSON object
    Column("previous_digest", String(80), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("key_id", String(512), nullable=False),
    Column("signature", String(128), nullable=False),
)

# One row: the head of the audit chain. Appending updates it first, which serializes
# appenders on every database (a row lock on PostgreSQL, the write lock on SQLite).
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("digest", String(80), nullable=False),
)

# The kill switch as agent state. The signed audit log is the authority (integrity.py replays
# it); this row is what queries read, and `accredit audit verify` compares the two.
agents = Table(
    "agents",
    metadata,
    Column("did", String(2048), primary_key=True),
    Column("state", String(16), nullable=False),  # active | suspended
    Column("registered", Boolean, nullable=False, default=False),
    Column("profile", Text, nullable=True),  # JSON: name, builder, build, contacts (POST /agents)
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# Request budgets per client address or token, shared by every worker and instance.
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("bucket", String(200), primary_key=True),
    Column("tokens", Float(precision=53), nullable=False),
    Column("updated", Float(precision=53), nullable=False),
)

# Challenges from POST /challenges, each accepted by POST /presentations/verify once.
challenges = Table(
    "challenges",
    metadata,
    Column("value", String(128), primary_key=True),
    Column("domain", String(512), nullable=False),
    Column("query", Text, nullable=True),  # JSON: the request's queries, to check the answer against
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)
Index("ix_challenges_expires", challenges.c.expires_at)

# OpenID4VCI pre-authorized codes (stored hashed), each spent once.
offers = Table(
    "offers",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("agent_did", String(2048), nullable=False),
    Column("configurations", Text, nullable=False),  # JSON list of credential configuration ids
    Column("tx_code_hash", String(64), nullable=True),
    Column("attempts", Integer, nullable=False, default=0),  # wrong transaction codes so far
    Column("expires_at", BigInteger, nullable=False),
    Column("used", Boolean, nullable=False, default=False),
)

# OpenID4VCI access tokens from the token endpoint (stored hashed), short-lived.
access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_did", String(2048), nullable=False),
    Column("configurations", Text, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)
