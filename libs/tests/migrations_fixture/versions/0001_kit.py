"""Kit test schema: outbox, inbox and one business table."""
import sqlalchemy as sa
from alembic import op
from eaps_kit.messaging import create_messaging_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table("widgets", sa.Column("id", sa.Uuid, primary_key=True), sa.Column("name", sa.Text, nullable=False))
    op.create_table("effects", sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
                    sa.Column("message_id", sa.Text, nullable=False), sa.Column("note", sa.Text))
