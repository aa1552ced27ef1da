"""Tables of the identity service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TS = sa.DateTime(timezone=True)

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text, nullable=False, unique=True),  # normalised, lower case
    sa.Column("password_hash", sa.Text, nullable=False),
    # applicant | staff
    sa.Column("category", sa.Text, nullable=False),
    sa.Column("roles", JSONB, nullable=False),
    sa.Column("kind", sa.Text),  # individual | professional (applicants)
    sa.Column("profile", sa.Text),
    sa.Column("first_name", sa.Text, nullable=False),
    sa.Column("last_name", sa.Text, nullable=False),
    sa.Column("phone", sa.Text),  # E.164
    sa.Column("company_name", sa.Text),
    sa.Column("siret", sa.Text),
    sa.Column("eori", sa.Text),
    sa.Column("pae_code", sa.Text),  # PAE agents: the PAE they work for
    # pending (verification under way) | active | disabled
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("email_verified_at", TS),
    sa.Column("phone_verified_at", TS),
    sa.Column("totp_secret", sa.Text),  # encrypted
    sa.Column("totp_last_step", sa.BigInteger),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TS, nullable=False, server_default=sa.func.now()),
)

email_tokens = sa.Table(
    "email_tokens", metadata,
    sa.Column("token_hash", sa.Text, primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),  # verify_email | reset_password
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

phone_codes = sa.Table(
    "phone_codes", metadata,
    # The verification id the applicant holds. A duplicate registration gets a decoy row with no
    # account, which behaves the same (expiry, tries) so that it reveals nothing.
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), index=True),
    sa.Column("code_hash", sa.Text, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("used_at", TS),
)

refresh_tokens = sa.Table(
    "refresh_tokens", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("token_hash", sa.Text, nullable=False, unique=True),
    sa.Column("family_id", UUID(as_uuid=True), nullable=False, index=True),
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("amr", JSONB, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS),
    sa.Column("revoked_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

signing_keys = sa.Table(
    "signing_keys", metadata,
    sa.Column("kid", sa.Text, primary_key=True),
    sa.Column("alg", sa.Text, nullable=False),
    sa.Column("private_jwk", sa.Text, nullable=False),  # encrypted
    sa.Column("public_jwk", JSONB, nullable=False),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("retired_at", TS),  # stops signing
    sa.Column("publish_until", TS),  # leaves the JWKS (its last tokens have expired)
)

operators = sa.Table(
    "operators", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("siret", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("eori", sa.Text),
    sa.Column("oppd_granted_at", TS),
    sa.Column("teleservices", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

operator_members = sa.Table(
    "operator_members", metadata,
    # An account acts for one company at most: its token carries one operator id.
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("operator_id", UUID(as_uuid=True), sa.ForeignKey("operators.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("role", sa.Text, nullable=False),  # administrator | member
    sa.Column("added_by", UUID(as_uuid=True)),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

invitations = sa.Table(
    "operator_invitations", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("operator_id", UUID(as_uuid=True), sa.ForeignKey("operators.id", ondelete="CASCADE"), nullable=False),
    sa.Column("email", sa.Text, nullable=False, index=True),
    sa.Column("invited_by", UUID(as_uuid=True), nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("accepted_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

habilitation_requests = sa.Table(
    "habilitation_requests", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("operator_id", UUID(as_uuid=True), sa.ForeignKey("operators.id"), nullable=False),
    sa.Column("pae_code", sa.Text, nullable=False, index=True),
    sa.Column("company_name", sa.Text, nullable=False),
    sa.Column("siret", sa.Text, nullable=False),
    sa.Column("eori", sa.Text),
    sa.Column("teleservices", JSONB, nullable=False),
    sa.Column("justification", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),  # pending | granted | refused
    sa.Column("decided_by", UUID(as_uuid=True)),
    sa.Column("decided_at", TS),
    sa.Column("reason", sa.Text),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

machine_clients = sa.Table(
    "machine_clients", metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("client_id", sa.Text, nullable=False, unique=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("scopes", JSONB, nullable=False),
    sa.Column("secret_hash", sa.Text, nullable=False),
    sa.Column("previous_secret_hash", sa.Text),
    sa.Column("previous_secret_expires_at", TS),
    sa.Column("disabled_at", TS),
    sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
)

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("at", TS, nullable=False, server_default=sa.func.now()),
    sa.Column("actor_id", UUID(as_uuid=True)),  # None: the system or the administration command
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("target_type", sa.Text, nullable=False),
    sa.Column("target_id", sa.Text, nullable=False),
    sa.Column("before", JSONB),
    sa.Column("after", JSONB),
)
