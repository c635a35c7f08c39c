"""The moderation tables (issue 19): who moderates a show, its bans, time-outs and slow
mode as they stand, and the audit trail of every action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigId


def _show_fk(primary_key: bool = True) -> Mapped[int]:
    return mapped_column(ForeignKey("shows.id", ondelete="CASCADE"), primary_key=primary_key)


def _user_fk() -> Mapped[int]:
    return mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)


class ShowModerator(Base):
    __tablename__ = "show_moderators"

    show_id: Mapped[int] = _show_fk()
    user_id: Mapped[int] = _user_fk()
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ShowBan(Base):
    __tablename__ = "show_bans"

    show_id: Mapped[int] = _show_fk()
    user_id: Mapped[int] = _user_fk()
    banned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ShowTimeout(Base):
    __tablename__ = "show_timeouts"

    show_id: Mapped[int] = _show_fk()
    user_id: Mapped[int] = _user_fk()
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ShowSlowMode(Base):
    __tablename__ = "show_slow_modes"

    show_id: Mapped[int] = _show_fk()
    seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ModerationAction(Base):
    __tablename__ = "moderation_actions"
    __table_args__ = (
        Index("ix_moderation_actions_show_id_id", "show_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    show_id: Mapped[int] = _show_fk(primary_key=False)
    actor_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    target_user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
