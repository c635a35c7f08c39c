"""SQL for chat messages: stored in batches (idempotent per client_msg_id) and read in pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from ..clock import as_utc
from .models import ChatMessage, User


@dataclass(slots=True)  # not frozen: made per message, and frozen ones are slower to make
class MessageDraft:
    """A message about to be stored: everything but the id the database gives it."""

    show_id: int
    user_id: int
    username: str
    message: str
    created_at: datetime
    client_msg_id: str | None = None


@dataclass(slots=True)  # not frozen: see MessageDraft
class StoredMessage:
    id: int
    show_id: int
    user_id: int
    username: str
    message: str
    created_at: datetime
    client_msg_id: str | None = None


@dataclass(slots=True)  # not frozen: see MessageDraft
class Saved:
    """The outcome of storing one draft: the row, and whether this draft created it
    (False: a retry of a message stored before, which is returned instead)."""

    message: StoredMessage
    created: bool


@dataclass(frozen=True, slots=True)
class MessagePage:
    messages: list[StoredMessage]
    has_more: bool


class MessageRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_many(self, drafts: list[MessageDraft]) -> list[Saved]:
        """Store the drafts in one transaction; a draft whose (show, user, client_msg_id) is
        already stored gets that message back instead. Results are in the drafts' order."""
        results: list[Saved | None] = [None] * len(drafts)
        plain = [index for index, draft in enumerate(drafts) if draft.client_msg_id is None]
        keyed: dict[tuple[int, int, str], list[int]] = {}
        for index, draft in enumerate(drafts):
            if draft.client_msg_id is not None:
                keyed.setdefault(_key(draft), []).append(index)
        async with self._engine.begin() as conn:
            if plain:
                ids = await _insert_plain(conn, [drafts[i] for i in plain])
                for index, id in zip(plain, ids):
                    results[index] = Saved(_stored(drafts[index], id), True)
            if keyed:
                await self._add_keyed(conn, drafts, keyed, results)
        return [result for result in results if result is not None]

    async def _add_keyed(self, conn, drafts, keyed, results) -> None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(ChatMessage)
            .on_conflict_do_nothing(index_elements=["show_id", "user_id", "client_msg_id"])
            .returning(
                ChatMessage.id, ChatMessage.show_id, ChatMessage.user_id, ChatMessage.client_msg_id
            )
        )
        firsts = {key: indexes[0] for key, indexes in keyed.items()}
        inserted = (await conn.execute(statement, [_row(drafts[i]) for i in firsts.values()])).all()
        for row in inserted:
            key = (row.show_id, row.user_id, row.client_msg_id)
            indexes = keyed.pop(key)
            original = _stored(drafts[indexes[0]], row.id)
            results[indexes[0]] = Saved(original, True)
            for index in indexes[1:]:
                results[index] = Saved(original, False)
        if not keyed:
            return
        existing = (
            await conn.execute(
                _message_select().where(
                    tuple_(ChatMessage.show_id, ChatMessage.user_id, ChatMessage.client_msg_id).in_(
                        list(keyed)
                    )
                )
            )
        ).all()
        for row in existing:
            for index in keyed.pop((row.show_id, row.user_id, row.client_msg_id), []):
                results[index] = Saved(_from_row(row), False)
        if keyed:  # a conflicting row that vanished in between: cannot happen without deletes
            raise LookupError(f"messages {sorted(keyed)} neither stored nor found")

    async def by_client_msg_id(
        self, show_id: int, user_id: int, client_msg_id: str
    ) -> StoredMessage | None:
        """The message this user stored in this show under `client_msg_id`, if any."""
        query = _message_select().where(
            ChatMessage.show_id == show_id,
            ChatMessage.user_id == user_id,
            ChatMessage.client_msg_id == client_msg_id,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _from_row(row) if row is not None else None

    async def page(
        self, show_id: int, *, limit: int, before_id: int | None = None, after_id: int | None = None
    ) -> MessagePage:
        """The newest `limit` messages of a show between `after_id` and `before_id`
        (both exclusive), oldest first; `has_more` says older ones exist in that range."""
        query = (
            _message_select()
            .where(ChatMessage.show_id == show_id, ChatMessage.deleted_at.is_(None))
            .order_by(ChatMessage.id.desc())
            .limit(limit + 1)
        )
        if before_id is not None:
            query = query.where(ChatMessage.id < before_id)
        if after_id is not None:
            query = query.where(ChatMessage.id > after_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        messages = [_from_row(row) for row in rows[:limit]]
        messages.reverse()
        return MessagePage(messages, has_more=len(rows) > limit)

    async def after(
        self, show_id: int, after_id: int, *, limit: int, created_before: datetime | None = None
    ) -> list[StoredMessage]:
        """The oldest `limit` messages of a show after `after_id` (and created before the
        given time), oldest first."""
        query = (
            _message_select()
            .where(
                ChatMessage.show_id == show_id,
                ChatMessage.id > after_id,
                ChatMessage.deleted_at.is_(None),
            )
            .order_by(ChatMessage.id)
            .limit(limit)
        )
        if created_before is not None:
            query = query.where(ChatMessage.created_at < created_before)
        async with self._engine.connect() as conn:
            return [_from_row(row) for row in (await conn.execute(query)).all()]


# A group commit's drafts as five arrays: one statement of five parameters whatever the
# batch's size (a VALUES list is 5 parameters a row, parsed and planned for each batch size).
# Rows are inserted in the arrays' order, so their ids come from the sequence in that order:
# sorted, they are the drafts' ids in order (what SQLAlchemy's own insertmanyvalues relies on).
_INSERT_ARRAYS = text(
    "INSERT INTO chat_messages (show_id, user_id, message, created_at, client_msg_id) "
    "SELECT show_id, user_id, message, created_at, client_msg_id FROM unnest("
    "CAST(:show_ids AS integer[]), CAST(:user_ids AS integer[]), CAST(:messages AS text[]), "
    "CAST(:created_ats AS timestamptz[]), CAST(:client_msg_ids AS varchar[])) WITH ORDINALITY "
    "AS draft(show_id, user_id, message, created_at, client_msg_id, position) "
    "ORDER BY position RETURNING id"
)


async def _insert_plain(conn, drafts: list[MessageDraft]) -> list[int]:
    """Insert the drafts; their ids, in the drafts' order."""
    if conn.dialect.name == "postgresql":
        ids = (
            (
                await conn.execute(
                    _INSERT_ARRAYS,
                    {
                        "show_ids": [d.show_id for d in drafts],
                        "user_ids": [d.user_id for d in drafts],
                        "messages": [d.message for d in drafts],
                        "created_ats": [d.created_at for d in drafts],
                        "client_msg_ids": [d.client_msg_id for d in drafts],
                    },
                )
            )
            .scalars()
            .all()
        )
        return sorted(ids)
    statement = insert(ChatMessage).returning(ChatMessage.id, sort_by_parameter_order=True)
    return list((await conn.execute(statement, [_row(draft) for draft in drafts])).scalars())


def _key(draft: MessageDraft) -> tuple[int, int, str]:
    assert draft.client_msg_id is not None
    return (draft.show_id, draft.user_id, draft.client_msg_id)


def _row(draft: MessageDraft) -> dict:
    return {
        "show_id": draft.show_id,
        "user_id": draft.user_id,
        "message": draft.message,
        "created_at": draft.created_at,
        "client_msg_id": draft.client_msg_id,
    }


def _stored(draft: MessageDraft, id: int) -> StoredMessage:
    return StoredMessage(
        id,
        draft.show_id,
        draft.user_id,
        draft.username,
        draft.message,
        draft.created_at,
        draft.client_msg_id,
    )


def _message_select():
    return select(
        ChatMessage.id,
        ChatMessage.show_id,
        ChatMessage.user_id,
        User.username,
        ChatMessage.message,
        ChatMessage.created_at,
        ChatMessage.client_msg_id,
    ).join(User, User.id == ChatMessage.user_id)


def _from_row(row) -> StoredMessage:
    return StoredMessage(
        row.id,
        row.show_id,
        row.user_id,
        row.username,
        row.message,
        as_utc(row.created_at),
        row.client_msg_id,
    )
