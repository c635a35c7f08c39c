"""Moderation: show_moderators, show_bans, show_timeouts, show_slow_modes,
moderation_actions, and chat_messages kept as deleted (deleted_at, deleted_by).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def _show_user(table: str) -> list:
    return [
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("show_id", "user_id", name=f"pk_{table}"),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], ondelete="CASCADE", name=f"fk_{table}_show_id_shows"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name=f"fk_{table}_user_id_users"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "show_moderators",
        *_show_user("show_moderators"),
        sa.Column("added_at", When, nullable=False),
    )
    op.create_table(
        "show_bans", *_show_user("show_bans"), sa.Column("banned_at", When, nullable=False)
    )
    op.create_table(
        "show_timeouts", *_show_user("show_timeouts"), sa.Column("until", When, nullable=False)
    )
    op.create_table(
        "show_slow_modes",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("set_at", When, nullable=False),
        sa.PrimaryKeyConstraint("show_id", name="pk_show_slow_modes"),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], ondelete="CASCADE", name="fk_show_slow_modes_show_id_shows"
        ),
    )
    op.create_table(
        "moderation_actions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_user_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_moderation_actions"),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            ondelete="CASCADE",
            name="fk_moderation_actions_show_id_shows",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            ondelete="CASCADE",
            name="fk_moderation_actions_actor_id_users",
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_moderation_actions_show_id_id", "moderation_actions", ["show_id", "id"])
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("deleted_at", When, nullable=True))
        batch.add_column(sa.Column("deleted_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("deleted_by")
        batch.drop_column("deleted_at")
    op.drop_index("ix_moderation_actions_show_id_id", table_name="moderation_actions")
    op.drop_table("moderation_actions")
    op.drop_table("show_slow_modes")
    op.drop_table("show_timeouts")
    op.drop_table("show_bans")
    op.drop_table("show_moderators")
