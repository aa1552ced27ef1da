"""Contacts, dossier map, messages, in-app notifications, webhooks.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from notifications.adapters.orm import (
    DISPATCH_CHANNEL,
    authorisations,
    contacts,
    dossier_officers,
    dossiers,
    in_app,
    messages,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = [
    contacts,
    dossiers,
    dossier_officers,
    authorisations,
    messages,
    in_app,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
]


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)
    # Wake the dispatcher as soon as something to send commits.
    op.execute(f"""
        CREATE OR REPLACE FUNCTION eaps_notifications_dispatch_notify() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('{DISPATCH_CHANNEL}', ''); RETURN NULL; END $$ LANGUAGE plpgsql;
    """)
    for name in ("messages", "webhook_deliveries"):
        op.execute(f"""
            CREATE TRIGGER {name}_dispatch_notify AFTER INSERT OR UPDATE OF next_attempt_at ON {name}
            FOR EACH STATEMENT EXECUTE FUNCTION eaps_notifications_dispatch_notify();
        """)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
    op.execute(sa.text("DROP FUNCTION IF EXISTS eaps_notifications_dispatch_notify()"))
