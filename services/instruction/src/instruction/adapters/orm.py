"""Tables of the instruction service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TZ = sa.DateTime(timezone=True)

cases = sa.Table(
    "cases", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("dossier_id", UUID(as_uuid=True), nullable=False, unique=True),
    sa.Column("registration_number", sa.Text, nullable=False),
    sa.Column("authorisation_type", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("applicant_account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("applicant_operator_id", UUID(as_uuid=True)),
    sa.Column("applicant_kind", sa.Text, nullable=False),
    sa.Column("applicant_profile", sa.Text, nullable=False),
    sa.Column("applicant_name", sa.Text, nullable=False),
    sa.Column("flow", sa.Text, nullable=False),
    sa.Column("origin_country", sa.Text, nullable=False),
    sa.Column("destination_country", sa.Text, nullable=False),
    sa.Column("submission_no", sa.Integer, nullable=False),
    sa.Column("snapshot", JSONB, nullable=False),
    sa.Column("assigned_to", UUID(as_uuid=True)),
    sa.Column("assigned_at", TZ),
    sa.Column("opened_at", TZ, nullable=False),
    sa.Column("closed_at", TZ),
    # the legal clock (see domain.model.LegalClock)
    sa.Column("deadline_days", sa.Integer),
    sa.Column("deadline_extended", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("clock_started_on", sa.Date, nullable=False),
    sa.Column("clock_elapsed_before", sa.Integer, nullable=False, server_default="0"),
    sa.Column("clock_paused_since", sa.Date),
    sa.Column("deadline", sa.Date),
    sa.Column("closing_reason", sa.Text),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Index("ix_cases_queue", "authorisation_type", "status", "opened_at"),
    sa.Index("ix_cases_deadline", "deadline", postgresql_where=sa.text("deadline IS NOT NULL")),
)

case_versions = sa.Table(
    "case_versions", metadata,
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), primary_key=True),
    sa.Column("submission_no", sa.Integer, primary_key=True),
    sa.Column("snapshot", JSONB, nullable=False),
    sa.Column("changes", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("changed_fields", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("received_at", TZ, nullable=False),
)

completion_requests = sa.Table(
    "completion_requests", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("missing", JSONB, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("requested_by", UUID(as_uuid=True), nullable=False),
    sa.Column("requested_at", TZ, nullable=False),
    sa.Column("answered_at", TZ),
    sa.Column("answered_submission_no", sa.Integer),
)

notes = sa.Table(
    "notes", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("author_id", UUID(as_uuid=True), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", TZ, nullable=False),
)

consultations = sa.Table(
    "consultations", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("ministry", sa.Text, nullable=False),
    sa.Column("requested_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("requested_by", UUID(as_uuid=True), nullable=False),
    sa.Column("question", sa.Text),
    sa.Column("opinion", sa.Text),  # favorable | defavorable | reserve
    sa.Column("opinion_text", sa.Text),
    sa.Column("opinion_on", sa.Date),
    sa.Column("recorded_by", UUID(as_uuid=True)),
)

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("direction", sa.Text, nullable=False),  # officer | applicant
    sa.Column("author_id", UUID(as_uuid=True), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("document_id", UUID(as_uuid=True)),
    sa.Column("posted_at", TZ, nullable=False),
)

proposals = sa.Table(
    "proposals", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("outcome", sa.Text, nullable=False),  # granted | refused
    sa.Column("state", sa.Text, nullable=False),  # proposed | signed | sent_back | lapsed
    sa.Column("proposed_by", UUID(as_uuid=True), nullable=False),
    sa.Column("proposed_at", TZ, nullable=False),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_until", sa.Date),
    sa.Column("lines", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("conditions", sa.Text),
    sa.Column("reasons", sa.Text),
    sa.Column("legal_basis", sa.Text),
    sa.Column("reviewed_by", UUID(as_uuid=True)),
    sa.Column("reviewed_at", TZ),
    sa.Column("review_comment", sa.Text),
    # At most one pending proposal per case.
    sa.Index("uq_proposals_pending", "case_id", unique=True, postgresql_where=sa.text("state = 'proposed'")),
)

decisions = sa.Table(
    "decisions", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, unique=True),
    sa.Column("proposal_id", UUID(as_uuid=True), sa.ForeignKey("proposals.id")),
    sa.Column("outcome", sa.Text, nullable=False),  # granted | refused | implicit_rejection
    sa.Column("reasons", sa.Text),
    sa.Column("legal_basis", sa.Text),
    sa.Column("proposed_by", UUID(as_uuid=True)),
    sa.Column("signed_by", UUID(as_uuid=True)),
    sa.Column("issued_at", TZ, nullable=False),
)

authorisation_counters = sa.Table(
    "authorisation_counters", metadata,
    sa.Column("type", sa.Text, primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("last", sa.Integer, nullable=False),
)

authorisations = sa.Table(
    "authorisations", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("number", sa.Text, nullable=False, unique=True),
    sa.Column("case_id", UUID(as_uuid=True), sa.ForeignKey("cases.id"), nullable=False, unique=True),
    sa.Column("decision_id", UUID(as_uuid=True), sa.ForeignKey("decisions.id"), nullable=False),
    sa.Column("dossier_id", UUID(as_uuid=True), nullable=False),
    sa.Column("registration_number", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("holder_account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("holder_operator_id", UUID(as_uuid=True)),
    sa.Column("holder_name", sa.Text, nullable=False),
    sa.Column("holder_address", sa.Text),
    sa.Column("flow", sa.Text, nullable=False),
    sa.Column("origin_country", sa.Text, nullable=False),
    sa.Column("destination_country", sa.Text, nullable=False),
    sa.Column("valid_from", sa.Date, nullable=False),
    sa.Column("valid_until", sa.Date, nullable=False),
    sa.Column("conditions", sa.Text),
    sa.Column("quantity_limited", sa.Boolean, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("suspended_from", sa.Date),
    sa.Column("suspended_until", sa.Date),
    sa.Column("revoked_at", TZ),
    sa.Column("status_reason", sa.Text),
    sa.Column("verification_code", sa.Text, nullable=False, unique=True),
    sa.Column("issued_at", TZ, nullable=False),
    sa.Column("signed_by", UUID(as_uuid=True), nullable=False),
    sa.Column("pdf_document_id", UUID(as_uuid=True)),
    sa.Column("pdf_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pdf_last_error", sa.Text),
    sa.Index("ix_authorisations_pdf_pending", "issued_at", postgresql_where=sa.text("pdf_document_id IS NULL")),
)

authorisation_lines = sa.Table(
    "authorisation_lines", metadata,
    sa.Column("authorisation_id", UUID(as_uuid=True), sa.ForeignKey("authorisations.id"), primary_key=True),
    sa.Column("line_no", sa.Integer, primary_key=True),
    sa.Column("classification_code", sa.Text, nullable=False),
    sa.Column("designation", sa.Text, nullable=False),
    sa.Column("calibre", sa.Text),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("value_eur", sa.Numeric(14, 2)),
    sa.Column("quantity_used", sa.Integer, nullable=False, server_default="0"),
    sa.Column("value_used", sa.Numeric(14, 2), nullable=False, server_default="0"),
    sa.CheckConstraint("quantity_used >= 0", name="ck_lines_used_not_negative"),
)

imputations = sa.Table(
    "imputations", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("authorisation_id", UUID(as_uuid=True), sa.ForeignKey("authorisations.id"), nullable=False),
    sa.Column("declaration_reference", sa.Text, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("crossing_date", sa.Date, nullable=False),
    sa.Column("office", sa.Text, nullable=False),
    sa.Column("flow", sa.Text, nullable=False),
    sa.Column("country", sa.Text, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("value_eur", sa.Numeric(14, 2)),
    sa.Column("reported_by", sa.Text, nullable=False),
    sa.Column("reported_at", TZ, nullable=False),
    sa.Column("reversed_at", TZ),
    sa.Column("reversed_by", sa.Text),
    sa.Column("reversal_reason", sa.Text),
    sa.UniqueConstraint("authorisation_id", "declaration_reference", "line_no", name="uq_imputations_declaration"),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("occurred_at", TZ, nullable=False),
    sa.Column("actor_id", sa.Text, nullable=False),
    sa.Column("actor_role", sa.Text, nullable=False),  # officer | supervisor | machine | job | applicant
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("case_id", UUID(as_uuid=True), index=True),
    sa.Column("authorisation_id", UUID(as_uuid=True), index=True),
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
    sa.Column("details", JSONB),
)
