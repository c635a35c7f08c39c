"""The contract's four tables: users, shows, show_checkins, chat_messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

import sqlalchemy as sa

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        if_not_exists=True,
    )
    op.create_table(
        "shows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_shows"),
        if_not_exists=True,
    )
    op.create_table(
        "show_checkins",
        sa.Column("id", BigId, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_show_checkins"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_show_checkins_user_id_users"
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], ondelete="CASCADE", name="fk_show_checkins_show_id_shows"
        ),
        sa.UniqueConstraint("user_id", "show_id", name="uq_show_checkins_user_show"),
    )
    op.create_table(
        "chat_messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_messages"),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], ondelete="CASCADE", name="fk_chat_messages_show_id_shows"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name="fk_chat_messages_user_id_users"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_chat_messages_show_id_id", "chat_messages", ["show_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_show_id_id", table_name="chat_messages")
    op.drop_table("chat_messages")
    op.drop_table("show_checkins")
    op.drop_table("shows")
    op.drop_table("users")
