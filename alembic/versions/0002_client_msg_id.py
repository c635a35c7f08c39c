"""Idempotent send: chat_messages.client_msg_id, unique per user and show.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

import sqlalchemy as sa

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("client_msg_id", sa.String(64), nullable=True))
        # NULLs never collide, so messages sent without an id are unaffected.
        batch.create_unique_constraint(
            "uq_chat_messages_client_msg_id", ["show_id", "user_id", "client_msg_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_constraint("uq_chat_messages_client_msg_id", type_="unique")
        batch.drop_column("client_msg_id")
