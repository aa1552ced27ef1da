"""Tables of the notifications service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

TZ = sa.DateTime(timezone=True)

# Contact directory, learnt from identity's events (never read from identity's database).
contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("account_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("email", sa.Text),
    sa.Column("phone", sa.Text),
    sa.Column("language", sa.Text, nullable=False, server_default="fr"),
    sa.Column("first_name", sa.Text),
    sa.Column("last_name", sa.Text),
    sa.Column("company_name", sa.Text),
    sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
)

# Which account a dossier belongs to, learnt from dossier.submitted / resubmitted.
dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("dossier_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("operator_id", UUID(as_uuid=True)),
    sa.Column("registration_number", sa.Text, nullable=False),
    sa.Column("authorisation_type", sa.Text),
    sa.Column("flow", sa.Text),
    sa.Column("origin_country", sa.Text),
    sa.Column("destination_country", sa.Text),
    sa.Column("holder_name", sa.Text),
    sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
)

# Officers who acted on a dossier (completion request, admissibility, comment): they are told
# in the officer portal when the applicant answers.
dossier_officers = sa.Table(
    "dossier_officers",
    metadata,
    sa.Column("dossier_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("officer_id", UUID(as_uuid=True), primary_key=True),
)

# Authorisations as decided, to describe later status changes on the public feed.
authorisations = sa.Table(
    "authorisations",
    metadata,
    sa.Column("authorisation_id", UUID(as_uuid=True), primary_key=True),
    sa.Column("number", sa.Text, nullable=False),
    sa.Column("dossier_id", UUID(as_uuid=True), nullable=False),
    sa.Column("registration_number", sa.Text, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("holder_name", sa.Text),
    sa.Column("flow", sa.Text),
    sa.Column("origin_country", sa.Text),
    sa.Column("destination_country", sa.Text),
    sa.Column("valid_from", sa.Date),
    sa.Column("valid_until", sa.Date),
)

# One row per email or SMS to send: rendered once, delivered (and retried) by the dispatcher.
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("channel", sa.Text, nullable=False),  # email | sms
    sa.Column("template", sa.Text, nullable=False),
    sa.Column("recipient_account_id", UUID(as_uuid=True)),
    sa.Column("address", sa.Text, nullable=False),
    sa.Column("subject", sa.Text),
    sa.Column("body_text", sa.Text, nullable=False),
    sa.Column("body_html", sa.Text),
    sa.Column("cause_event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TZ, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("delivered_at", TZ),
    # Each notification is sent once per event, whatever the redeliveries.
    sa.UniqueConstraint("cause_event_id", "channel", "template", "address", name="uq_messages_once_per_event"),
)
sa.Index("ix_messages_due", messages.c.next_attempt_at, postgresql_where=sa.text("status = 'pending'"))

in_app = sa.Table(
    "in_app_notifications",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    sa.Column("recipient_account_id", UUID(as_uuid=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("dossier_id", UUID(as_uuid=True)),
    sa.Column("registration_number", sa.Text),
    sa.Column("authorisation_id", UUID(as_uuid=True)),
    sa.Column("authorisation_number", sa.Text),
    sa.Column("link", sa.Text),
    sa.Column("cause_event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("read_at", TZ),
    sa.UniqueConstraint("cause_event_id", "recipient_account_id", name="uq_in_app_once_per_event"),
)
sa.Index("ix_in_app_recipient", in_app.c.recipient_account_id, in_app.c.created_at)

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", UUID(as_uuid=True), primary_key=True),
    # The machine client (``sub``) of the administration that registered it: the only one to see it.
    sa.Column("owner_client_id", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("event_types", ARRAY(sa.Text), nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_secret_expires_at", TZ),
    sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("updated_at", TZ, nullable=False, server_default=sa.func.now()),
)
sa.Index("ix_webhook_endpoints_owner", webhook_endpoints.c.owner_client_id)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),  # the webhook-id header (msg_...)
    sa.Column(
        "endpoint_id", UUID(as_uuid=True), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("owner_client_id", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("cause_event_id", UUID(as_uuid=True), nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="pending"),  # pending | delivered | dead | cancelled
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", TZ, nullable=False),
    sa.Column("first_attempt_at", TZ),
    sa.Column("last_attempt_at", TZ),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("delivered_at", TZ),
    sa.UniqueConstraint("endpoint_id", "cause_event_id", name="uq_webhook_once_per_event"),
)
sa.Index(
    "ix_webhook_deliveries_due", webhook_deliveries.c.next_attempt_at, postgresql_where=sa.text("status = 'pending'")
)
sa.Index("ix_webhook_deliveries_endpoint", webhook_deliveries.c.endpoint_id, webhook_deliveries.c.created_at)

webhook_attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.Text, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("attempted_at", TZ, nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Integer, nullable=False),
)
sa.Index("ix_webhook_attempts_delivery", webhook_attempts.c.delivery_id)

DISPATCH_CHANNEL = "eaps_notifications_dispatch"
