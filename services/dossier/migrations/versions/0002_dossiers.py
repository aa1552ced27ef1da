"""Dossiers, justificatifs, revisions, history, submissions, messages, counters, authorisations.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
from dossier.adapters.orm import metadata

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ["dossiers", "dossier_documents", "dossier_revisions", "dossier_history", "dossier_submissions",
          "dossier_messages", "registration_counters", "authorisations"]


def upgrade() -> None:
    bind = op.get_bind()
    # Created from the table definitions as they stand at this revision; later changes get
    # their own explicit migrations.
    metadata.create_all(bind, tables=[metadata.tables[name] for name in TABLES])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
