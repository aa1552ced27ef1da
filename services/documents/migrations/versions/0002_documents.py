"""Library documents and pinned copies.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_account_id", UUID(as_uuid=True), nullable=False),
        sa.Column("owner_operator_id", UUID(as_uuid=True)),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("document_type", sa.Text),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("signature", sa.Text),
        sa.Column("object_key", sa.Text),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_until", sa.Date),
        sa.Column("created_by", UUID(as_uuid=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("scanned_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_documents_owner_account", "documents", ["owner_account_id", "created_at"])
    op.create_index("ix_documents_owner_operator", "documents", ["owner_operator_id", "created_at"])
    op.create_index("ix_documents_pending", "documents", ["created_at"],
                    postgresql_where=sa.text("status = 'pending_scan'"))
    op.create_table(
        "pinned_documents",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("document_id", UUID(as_uuid=True), nullable=False),
        sa.Column("dossier_id", UUID(as_uuid=True), nullable=False),
        sa.Column("owner_account_id", UUID(as_uuid=True), nullable=False),
        sa.Column("owner_operator_id", UUID(as_uuid=True)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("document_type", sa.Text),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("sha256", sa.Text, nullable=False),
        sa.Column("object_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("dossier_id", "document_id", name="uq_pinned_dossier_document"),
    )


def downgrade() -> None:
    op.drop_table("pinned_documents")
    op.drop_table("documents")
