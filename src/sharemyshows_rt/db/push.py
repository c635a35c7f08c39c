"""SQL for push notifications: subscriptions, mutes, and who should hear of a show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from .models import ChatMessage, PushSubscription, Show, ShowCheckin, ShowMute, User


@dataclass(frozen=True, slots=True)
class Subscription:
    endpoint: str
    p256dh: str
    auth: str


class PushRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def _dialect(self):
        return postgresql if self._engine.dialect.name == "postgresql" else sqlite

    async def subscribe(
        self, user_id: int, subscription: Subscription, at: datetime, *, keep: int
    ) -> None:
        """Store the subscription for the user (the same endpoint again is updated), then
        forget the user's subscriptions beyond the `keep` renewed most recently."""
        statement = (
            self._dialect()
            .insert(PushSubscription)
            .values(
                user_id=user_id,
                endpoint=subscription.endpoint,
                p256dh=subscription.p256dh,
                auth=subscription.auth,
                created_at=at,
                updated_at=at,
            )
        )
        statement = statement.on_conflict_do_update(
            index_elements=[PushSubscription.endpoint],
            set_={
                "user_id": user_id,
                "p256dh": subscription.p256dh,
                "auth": subscription.auth,
                "updated_at": at,
            },
        )
        newest = (
            select(PushSubscription.id)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.updated_at.desc(), PushSubscription.id.desc())
            .limit(keep)
        )
        async with self._engine.begin() as conn:
            if self._engine.dialect.name == "postgresql":
                # Concurrent subscribes of one user queue here, so the cap holds.
                await conn.execute(
                    select(User.id).where(User.id == user_id).with_for_update(key_share=True)
                )
            await conn.execute(statement)
            await conn.execute(
                delete(PushSubscription).where(
                    PushSubscription.user_id == user_id, PushSubscription.id.not_in(newest)
                )
            )

    async def unsubscribe(self, user_id: int, endpoint: str) -> bool:
        """Remove the user's subscription with this endpoint; False when there was none."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(PushSubscription).where(
                    PushSubscription.user_id == user_id, PushSubscription.endpoint == endpoint
                )
            )
        return result.rowcount > 0

    async def forget(self, endpoint: str) -> None:
        """The push service says the subscription is gone (404/410)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(PushSubscription).where(PushSubscription.endpoint == endpoint)
            )

    async def subscriptions(self, user_id: int) -> list[Subscription]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth
                    ).where(PushSubscription.user_id == user_id)
                )
            ).all()
        return [Subscription(row.endpoint, row.p256dh, row.auth) for row in rows]

    async def mute(self, user_id: int, show_id: int, at: datetime) -> None:
        statement = (
            self._dialect()
            .insert(ShowMute)
            .values(user_id=user_id, show_id=show_id, muted_at=at)
            .on_conflict_do_nothing()
        )
        async with self._engine.begin() as conn:
            await conn.execute(statement)

    async def unmute(self, user_id: int, show_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(ShowMute).where(ShowMute.user_id == user_id, ShowMute.show_id == show_id)
            )

    async def audience(
        self, show_id: int, *, checked_in_since: datetime, mentioned: list[str]
    ) -> list[tuple[int, str]]:
        """Users to tell about a message in the show: checked in (still, or since the
        given time) or mentioned by username; with a subscription; not muted; not the
        sender: (user id, username) pairs."""
        subscribed = exists().where(PushSubscription.user_id == User.id)
        muted = exists().where(ShowMute.user_id == User.id, ShowMute.show_id == show_id)
        checked_in = exists().where(
            ShowCheckin.user_id == User.id,
            ShowCheckin.show_id == show_id,
            or_(
                ShowCheckin.checked_out_at.is_(None), ShowCheckin.checked_out_at > checked_in_since
            ),
        )
        reason = or_(checked_in, User.username.in_(mentioned)) if mentioned else checked_in
        query = select(User.id, User.username).where(reason, subscribed, ~muted)
        async with self._engine.connect() as conn:
            return [(row.id, row.username) for row in (await conn.execute(query)).all()]

    async def undeleted(self, message_ids: list[int]) -> list[tuple[int, str, str]]:
        """(id, username, text) of those messages not deleted since, oldest first."""
        query = (
            select(ChatMessage.id, User.username, ChatMessage.message)
            .join(User, User.id == ChatMessage.user_id)
            .where(ChatMessage.id.in_(message_ids), ChatMessage.deleted_at.is_(None))
            .order_by(ChatMessage.id)
        )
        async with self._engine.connect() as conn:
            return [tuple(row) for row in (await conn.execute(query)).all()]

    async def show_title(self, show_id: int) -> str | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(select(Show.title).where(Show.id == show_id))).scalar()
