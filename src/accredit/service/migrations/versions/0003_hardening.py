"""hardening: token expiry, type limits and row MACs; agents; shared rate limits; challenges

Revision ID: 0003
Revises: 0002

Existing token rows get no expiry and no MAC here (the migration has no master key); the
issuer authenticates them once at its first start after the upgrade (``Issuer.__init__``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("credential_types", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    op.create_table(
        "agents",
        sa.Column("did", sa.String(length=2048), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("did"),
    )
    op.create_table(
        "rate_limits",
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("tokens", sa.Float(precision=53), nullable=False),
        sa.Column("updated", sa.Float(precision=53), nullable=False),
        sa.PrimaryKeyConstraint("bucket"),
    )
    op.create_table(
        "challenges",
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("domain", sa.String(length=512), nullable=False),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("value"),
    )
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.create_index("ix_challenges_expires", ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("challenges", schema=None) as batch_op:
        batch_op.drop_index("ix_challenges_expires")
    op.drop_table("challenges")
    op.drop_table("rate_limits")
    op.drop_table("agents")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("credential_types")
        batch_op.drop_column("expires_at")
