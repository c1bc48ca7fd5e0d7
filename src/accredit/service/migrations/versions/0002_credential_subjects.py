"""every subject of a credential; whether it carries the service's status entries

A credential may have several subjects (VC Data Model 2.0 §4.8): the kill switch must find it
under each of their ids, not only the first. A VC 1.1 credential carries no Bitstring Status
List entries, so revoking or suspending it could reach no verifier: the service says so
instead of pretending.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 23:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The column first: on SQLite a batch alteration copies and drops ``credentials``, which a
    # table already referencing it would forbid.
    with op.batch_alter_table("credentials") as batch:
        batch.add_column(sa.Column("status_entries", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_table(
        "credential_subjects",
        sa.Column("credential_id", sa.String(length=128), nullable=False),
        sa.Column("subject_id", sa.String(length=2048), nullable=False),
        sa.ForeignKeyConstraint(["credential_id"], ["credentials.id"]),
        sa.PrimaryKeyConstraint("credential_id", "subject_id"),
    )
    op.create_index("ix_credential_subjects_subject", "credential_subjects", ["subject_id"])
    op.execute(
        "INSERT INTO credential_subjects (credential_id, subject_id) "
        "SELECT id, subject_id FROM credentials WHERE subject_id <> ''"
    )


def downgrade() -> None:
    op.drop_index("ix_credential_subjects_subject", table_name="credential_subjects")
    op.drop_table("credential_subjects")
    with op.batch_alter_table("credentials") as batch:
        batch.drop_column("status_entries")
