"""Tables of the classification service (its database is its own: no other service reads it)."""

import sqlalchemy as sa
from eaps_kit.messaging import inbox_table, outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)

# One row per ruleset version ever published: a version is published (and announced) once, and
# its content may never change afterwards (the checksum is compared at every load).
ruleset_publications = sa.Table(
    "ruleset_publications", metadata,
    sa.Column("version", sa.String(64), primary_key=True),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
)
