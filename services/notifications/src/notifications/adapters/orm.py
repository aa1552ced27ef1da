"""Tables of the notifications service (its database is its own: no other service reads it)."""

import sqlalchemy as sa

from eaps_kit.messaging import inbox_table, outbox_table

metadata = sa.MetaData()
outbox = outbox_table(metadata)
inbox = inbox_table(metadata)
