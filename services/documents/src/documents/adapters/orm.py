"""Tables of the documents service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table
from sqlalchemy.dialects.postgresql import UUID

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# The library: one row per document of an owner (account, or company for OPPD members).
documents = sa.Table(
    "documents",
    metadata,
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
    # Key in the library bucket; NULL once the object is gone (rejected documents).
    sa.Column("object_key", sa.Text),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_until", sa.Date),
    sa.Column("created_by", UUID(as_uuid=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    sa.Column("scanned_at", sa.DateTime(timezone=True)),
    sa.Index("ix_documents_owner_account", "owner_account_id", "created_at"),
    sa.Index("ix_documents_owner_operator", "owner_operator_id", "created_at"),
    sa.Index("ix_documents_pending", "created_at", postgresql_where=sa.text("status = 'pending_scan'")),
)

# Immutable copies that belong to a transmitted dossier. No foreign key to documents on
# purpose: deleting the library document must leave the pinned copy untouched.
pinned_documents = sa.Table(
    "pinned_documents",
    metadata,
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
