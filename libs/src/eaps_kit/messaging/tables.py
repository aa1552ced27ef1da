"""Outbox and inbox tables, added to each service's metadata and created by its first migration."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.schema import SchemaItem

OUTBOX_CHANNEL = "eaps_outbox"


def _outbox_elements() -> list[SchemaItem]:
    return [
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("body", JSONB, nullable=False),
        sa.Column("headers", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_error", sa.Text),
    ]


def _inbox_elements() -> list[SchemaItem]:
    return [
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


_PENDING_WHERE = "published_at IS NULL"


def outbox_table(metadata: sa.MetaData) -> sa.Table:
    if "outbox" in metadata.tables:
        return metadata.tables["outbox"]
    table = sa.Table("outbox", metadata, *_outbox_elements())
    sa.Index("ix_outbox_pending", table.c.next_attempt_at, postgresql_where=sa.text(_PENDING_WHERE))
    return table


def inbox_table(metadata: sa.MetaData) -> sa.Table:
    if "inbox" in metadata.tables:
        return metadata.tables["inbox"]
    return sa.Table("inbox", metadata, *_inbox_elements())


def create_messaging_tables(op: Any) -> None:
    """Call from a service's first Alembic migration."""
    op.create_table("outbox", *_outbox_elements())
    op.create_index("ix_outbox_pending", "outbox", ["next_attempt_at"], postgresql_where=sa.text(_PENDING_WHERE))
    op.create_table("inbox", *_inbox_elements())
    # Wake the relay as soon as an outbox row commits (NOTIFY is delivered at commit).
    op.execute(f"""
        CREATE OR REPLACE FUNCTION eaps_outbox_notify() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('{OUTBOX_CHANNEL}', ''); RETURN NULL; END $$ LANGUAGE plpgsql;
    """)
    op.execute("""
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
        FOR EACH STATEMENT EXECUTE FUNCTION eaps_outbox_notify();
    """)
