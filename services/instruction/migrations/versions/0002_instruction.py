"""Cases, decisions, authorisations, imputations and the append-only audit trail.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 21:18:11.744105
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Text(), nullable=False),
    sa.Column('actor_role', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=True),
    sa.Column('authorisation_id', sa.UUID(), nullable=True),
    sa.Column('before', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('after', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_audit_log_authorisation_id'), 'audit_log', ['authorisation_id'], unique=False)
    op.create_index(op.f('ix_audit_log_case_id'), 'audit_log', ['case_id'], unique=False)
    op.create_table('authorisation_counters',
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('type', 'year')
    )
    op.create_table('cases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('dossier_id', sa.UUID(), nullable=False),
    sa.Column('registration_number', sa.Text(), nullable=False),
    sa.Column('authorisation_type', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('applicant_account_id', sa.UUID(), nullable=False),
    sa.Column('applicant_operator_id', sa.UUID(), nullable=True),
    sa.Column('applicant_kind', sa.Text(), nullable=False),
    sa.Column('applicant_profile', sa.Text(), nullable=False),
    sa.Column('applicant_name', sa.Text(), nullable=False),
    sa.Column('flow', sa.Text(), nullable=False),
    sa.Column('origin_country', sa.Text(), nullable=False),
    sa.Column('destination_country', sa.Text(), nullable=False),
    sa.Column('submission_no', sa.Integer(), nullable=False),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('assigned_to', sa.UUID(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadline_days', sa.Integer(), nullable=True),
    sa.Column('deadline_extended', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('clock_started_on', sa.Date(), nullable=False),
    sa.Column('clock_elapsed_before', sa.Integer(), server_default='0', nullable=False),
    sa.Column('clock_paused_since', sa.Date(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=True),
    sa.Column('closing_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dossier_id')
    )
    op.create_index('ix_cases_deadline', 'cases', ['deadline'], unique=False,
                    postgresql_where=sa.text('deadline IS NOT NULL'))
    op.create_index('ix_cases_queue', 'cases', ['authorisation_type', 'status', 'opened_at'], unique=False)
    op.create_table('case_versions',
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('submission_no', sa.Integer(), nullable=False),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
              nullable=False),
    sa.Column('changed_fields', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"),
              nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'submission_no')
    )
    op.create_table('completion_requests',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('missing', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('requested_by', sa.UUID(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_submission_no', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_completion_requests_case_id'), 'completion_requests', ['case_id'], unique=False)
    op.create_table('consultations',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('ministry', sa.Text(), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('requested_by', sa.UUID(), nullable=False),
    sa.Column('question', sa.Text(), nullable=True),
    sa.Column('opinion', sa.Text(), nullable=True),
    sa.Column('opinion_text', sa.Text(), nullable=True),
    sa.Column('opinion_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.UUID(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_consultations_case_id'), 'consultations', ['case_id'], unique=False)
    op.create_table('messages',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('direction', sa.Text(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('document_id', sa.UUID(), nullable=True),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_messages_case_id'), 'messages', ['case_id'], unique=False)
    op.create_table('notes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('author_id', sa.UUID(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_notes_case_id'), 'notes', ['case_id'], unique=False)
    op.create_table('proposals',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('proposed_by', sa.UUID(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('lines', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.UUID(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_proposals_case_id'), 'proposals', ['case_id'], unique=False)
    op.create_index('uq_proposals_pending', 'proposals', ['case_id'], unique=True,
                    postgresql_where=sa.text("state = 'proposed'"))
    op.create_table('decisions',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('proposal_id', sa.UUID(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=True),
    sa.Column('proposed_by', sa.UUID(), nullable=True),
    sa.Column('signed_by', sa.UUID(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )
    op.create_table('authorisations',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('case_id', sa.UUID(), nullable=False),
    sa.Column('decision_id', sa.UUID(), nullable=False),
    sa.Column('dossier_id', sa.UUID(), nullable=False),
    sa.Column('registration_number', sa.Text(), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('holder_account_id', sa.UUID(), nullable=False),
    sa.Column('holder_operator_id', sa.UUID(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=False),
    sa.Column('holder_address', sa.Text(), nullable=True),
    sa.Column('flow', sa.Text(), nullable=False),
    sa.Column('origin_country', sa.Text(), nullable=False),
    sa.Column('destination_country', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=True),
    sa.Column('quantity_limited', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('suspended_from', sa.Date(), nullable=True),
    sa.Column('suspended_until', sa.Date(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('verification_code', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_by', sa.UUID(), nullable=False),
    sa.Column('pdf_document_id', sa.UUID(), nullable=True),
    sa.Column('pdf_attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('pdf_last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('verification_code')
    )
    op.create_index('ix_authorisations_pdf_pending', 'authorisations', ['issued_at'], unique=False,
                    postgresql_where=sa.text('pdf_document_id IS NULL'))
    op.create_table('authorisation_lines',
    sa.Column('authorisation_id', sa.UUID(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('classification_code', sa.Text(), nullable=False),
    sa.Column('designation', sa.Text(), nullable=False),
    sa.Column('calibre', sa.Text(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('value_eur', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('quantity_used', sa.Integer(), server_default='0', nullable=False),
    sa.Column('value_used', sa.Numeric(precision=14, scale=2), server_default='0', nullable=False),
    sa.CheckConstraint('quantity_used >= 0', name='ck_lines_used_not_negative'),
    sa.ForeignKeyConstraint(['authorisation_id'], ['authorisations.id'], ),
    sa.PrimaryKeyConstraint('authorisation_id', 'line_no')
    )
    op.create_table('imputations',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('authorisation_id', sa.UUID(), nullable=False),
    sa.Column('declaration_reference', sa.Text(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('crossing_date', sa.Date(), nullable=False),
    sa.Column('office', sa.Text(), nullable=False),
    sa.Column('flow', sa.Text(), nullable=False),
    sa.Column('country', sa.Text(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('value_eur', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('reported_by', sa.Text(), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_by', sa.Text(), nullable=True),
    sa.Column('reversal_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['authorisation_id'], ['authorisations.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('authorisation_id', 'declaration_reference', 'line_no', name='uq_imputations_declaration')
    )

    # The audit trail is append-only: whatever role the service connects as, an UPDATE,
    # DELETE or TRUNCATE of audit_log raises (the test proves it with the service's own
    # connection). Only a migration that drops these triggers could change history.
    op.execute("""
        CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END $$ LANGUAGE plpgsql;
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
    """)
    op.execute("""
        CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
        FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_table('imputations')
    op.drop_table('authorisation_lines')
    op.drop_index('ix_authorisations_pdf_pending', table_name='authorisations',
                  postgresql_where=sa.text('pdf_document_id IS NULL'))
    op.drop_table('authorisations')
    op.drop_table('decisions')
    op.drop_index('uq_proposals_pending', table_name='proposals', postgresql_where=sa.text("state = 'proposed'"))
    op.drop_index(op.f('ix_proposals_case_id'), table_name='proposals')
    op.drop_table('proposals')
    op.drop_index(op.f('ix_notes_case_id'), table_name='notes')
    op.drop_table('notes')
    op.drop_index(op.f('ix_messages_case_id'), table_name='messages')
    op.drop_table('messages')
    op.drop_index(op.f('ix_consultations_case_id'), table_name='consultations')
    op.drop_table('consultations')
    op.drop_index(op.f('ix_completion_requests_case_id'), table_name='completion_requests')
    op.drop_table('completion_requests')
    op.drop_table('case_versions')
    op.drop_index('ix_cases_queue', table_name='cases')
    op.drop_index('ix_cases_deadline', table_name='cases', postgresql_where=sa.text('deadline IS NOT NULL'))
    op.drop_table('cases')
    op.drop_table('authorisation_counters')
    op.drop_index(op.f('ix_audit_log_case_id'), table_name='audit_log')
    op.drop_index(op.f('ix_audit_log_authorisation_id'), table_name='audit_log')
    op.drop_table('audit_log')
