"""Tables of the dossier service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR, UUID

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TZ = sa.DateTime(timezone=True)

dossiers = sa.Table(
    "dossiers", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("owner_account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("operator_id", UUID(as_uuid=True)),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("registration_number", sa.Text, unique=True),
    sa.Column("submission_no", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("submitted_at", TZ),
    sa.Column("first_submitted_at", TZ),
    sa.Column("closed_at", TZ),
    sa.Column("status_event_at", TZ),
    # Denormalised for search, sort and export.
    sa.Column("authorisation_type", sa.Text),
    sa.Column("flow", sa.Text),
    sa.Column("origin_country", sa.Text),
    sa.Column("destination_country", sa.Text),
    sa.Column("classification_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("applicant_name", sa.Text),
    sa.Column("motive", sa.Text),
    sa.Column("lines_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_quantity", sa.Integer, nullable=False, server_default="0"),
    sa.Column("total_value_eur", sa.Numeric(14, 2)),
    sa.Column("ruleset_version", sa.Text),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("search_vector", TSVECTOR, sa.Computed("to_tsvector('simple', search_text)", persisted=True)),
    # The aggregate's content (steps 1 and 2, lines, determination, justificatifs, completion).
    sa.Column("content", JSONB, nullable=False),
)
sa.Index("ix_dossiers_owner_updated", dossiers.c.owner_account_id, dossiers.c.updated_at.desc())
sa.Index("ix_dossiers_operator_updated", dossiers.c.operator_id, dossiers.c.updated_at.desc(),
         postgresql_where=dossiers.c.operator_id.isnot(None))
sa.Index("ix_dossiers_search_vector", dossiers.c.search_vector, postgresql_using="gin")
sa.Index("ix_dossiers_codes", dossiers.c.classification_codes, postgresql_using="gin")

# Justificatifs attached to a dossier, queryable by document for the antivirus outcome events.
dossier_documents = sa.Table(
    "dossier_documents", metadata,
    sa.Column("dossier_id", UUID(as_uuid=True), sa.ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("document_code", sa.Text, primary_key=True),
    sa.Column("document_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("state", sa.Text, nullable=False),
)

# What each write changed: answers a stale If-Match with the list of changes since.
dossier_revisions = sa.Table(
    "dossier_revisions", metadata,
    sa.Column("dossier_id", UUID(as_uuid=True), sa.ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("changed", ARRAY(sa.Text), nullable=False),
    sa.Column("at", TZ, nullable=False),
    sa.Column("by_account_id", UUID(as_uuid=True)),
)

dossier_history = sa.Table(
    "dossier_history", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("dossier_id", UUID(as_uuid=True), sa.ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("at", TZ, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("actor_kind", sa.Text, nullable=False),  # applicant | officer | system
    sa.Column("actor_id", UUID(as_uuid=True)),
    sa.Column("note", sa.Text),
)

dossier_submissions = sa.Table(
    "dossier_submissions", metadata,
    sa.Column("dossier_id", UUID(as_uuid=True), sa.ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("submission_no", sa.Integer, primary_key=True),
    sa.Column("submitted_at", TZ, nullable=False),
    sa.Column("snapshot", JSONB, nullable=False),
    sa.Column("changed_fields", ARRAY(sa.Text), nullable=False, server_default="{}"),
)

dossier_messages = sa.Table(
    "dossier_messages", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("dossier_id", UUID(as_uuid=True), sa.ForeignKey("dossiers.id", ondelete="CASCADE"), nullable=False),
    sa.Column("author_kind", sa.Text, nullable=False),  # applicant | officer
    sa.Column("author_id", UUID(as_uuid=True), nullable=False),
    sa.Column("author_label", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("document_id", UUID(as_uuid=True)),
    sa.Column("pinned_document_id", UUID(as_uuid=True)),
    sa.Column("filename", sa.Text),
    sa.Column("posted_at", TZ, nullable=False),
    sa.Column("read_by_applicant_at", TZ),
)
sa.Index("ix_dossier_messages_dossier", dossier_messages.c.dossier_id, dossier_messages.c.posted_at)

# One row per year; locked by the transmission transaction that takes the next number, so
# numbers are unique and, a rolled-back transmission giving its number back, without gaps.
registration_counters = sa.Table(
    "registration_counters", metadata,
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last_value", sa.Integer, nullable=False),
)

authorisations = sa.Table(
    "authorisations", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("dossier_id", UUID(as_uuid=True), index=True),
    sa.Column("registration_number", sa.Text),
    sa.Column("holder_account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("holder_operator_id", UUID(as_uuid=True)),
    sa.Column("holder_name", sa.Text, nullable=False),
    sa.Column("flow", sa.Text, nullable=False),
    sa.Column("origin_country", sa.Text, nullable=False),
    sa.Column("destination_country", sa.Text, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("status_changed_at", TZ, nullable=False),
    sa.Column("issued_at", TZ, nullable=False),
    sa.Column("lines", JSONB, nullable=False),
    sa.Column("classification_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Column("conditions", sa.Text),
    sa.Column("pdf_document_id", UUID(as_uuid=True)),
    sa.Column("search_text", sa.Text, nullable=False, server_default=""),
    sa.Column("search_vector", TSVECTOR, sa.Computed("to_tsvector('simple', search_text)", persisted=True)),
)
sa.Index("ix_authorisations_holder", authorisations.c.holder_account_id, authorisations.c.issued_at.desc())
sa.Index("ix_authorisations_operator", authorisations.c.holder_operator_id, authorisations.c.issued_at.desc(),
         postgresql_where=authorisations.c.holder_operator_id.isnot(None))
sa.Index("ix_authorisations_search_vector", authorisations.c.search_vector, postgresql_using="gin")
