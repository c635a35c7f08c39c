"""The parts `app.build` assembles from the settings: the chat rules with their delivery, and
the push notifier with its VAPID keys."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .backends.base import Backend
from .chat.checkins import CheckinRecorder
from .chat.limits import Rates
from .chat.moderation import Moderation
from .chat.moderation_state import Guard
from .chat.roster import Roster
from .chat.service import ChatService
from .config import Settings
from .db.moderation import ModerationRepository
from .db.push import PushRepository
from .db.repositories import (
    CheckinRepository,
    MessageRepository,
    ShowRepository,
    UserRepository,
)
from .delivery.feed import Bus, ShowFeed
from .delivery.writer import MessageWriter
from .push.endpoints import EndpointPolicy
from .push.keys import VapidKeys
from .push.keys import beside_database as keys_beside_database
from .push.keys import parse as parse_vapid_key
from .push.notifier import Notifier
from .push.sender import Limits, PushSender
from .transport.fanout import SocketFanout

log = logging.getLogger(__name__)


@dataclass
class ChatParts:
    """The chat rules and the delivery, with what the lifespan starts and stops."""

    chat: ChatService
    feed: ShowFeed
    writer: MessageWriter
    roster: Roster
    checkins: CheckinRecorder
    notifier: Notifier | None
    fanout: SocketFanout
    moderation: Moderation


def chat_parts(
    settings: Settings,
    engine: Any,
    backend: Backend,
    fanout: SocketFanout,
    bus: Bus | None,
    notifier: Notifier | None,
) -> ChatParts:
    """The chat service and its delivery (feed, writer, roster, check-ins) for `settings`."""
    messages = MessageRepository(engine)
    feed = ShowFeed(
        fanout,
        messages,
        bus,
        history_limit=settings.history_limit,
        history_cache_seconds=settings.history_cache_seconds,
        crowd=settings.presence_list_limit,
        crowd_window=settings.message_coalesce_ms / 1000,
    )
    writer = MessageWriter(
        messages,
        feed,
        timeout=settings.db_timeout,
        on_stored=notifier.message_stored if notifier else None,
    )
    roster = Roster(
        backend.presence,
        fanout,
        list_limit=settings.presence_list_limit,
        coalesce_seconds=settings.presence_coalesce_ms / 1000,
    )
    checkins = CheckinRecorder(CheckinRepository(engine))
    guard = Guard(ModerationRepository(engine), backend.slow_gate, fanout)
    chat = ChatService(
        shows=ShowRepository(engine),
        messages=messages,
        checkins=checkins,
        presence=backend.presence,
        roster=roster,
        fanout=fanout,
        feed=feed,
        writer=writer,
        limiter=backend.limiter,
        rates=Rates(
            settings.send_rate,
            settings.send_burst,
            settings.typing_rate,
            settings.send_rate_user,
            settings.send_burst_user,
        ),
        history_limit=settings.history_limit,
        message_max_length=settings.message_max_length,
        guard=guard,
    )
    moderation = _moderation(settings, engine, backend, chat, guard, fanout, feed)
    return ChatParts(chat, feed, writer, roster, checkins, notifier, fanout, moderation)


def _moderation(settings, engine, backend, chat, guard, fanout, feed) -> Moderation:
    return Moderation(
        repository=guard.repository,
        users=UserRepository(engine),
        chat=chat,
        guard=guard,
        fanout=fanout,
        feed=feed,
        channel=backend.moderation,
        delete_own_seconds=settings.delete_own_seconds,
    )


def vapid_keys(settings: Settings) -> VapidKeys | None:
    """The VAPID keys: configured, or (development, SQLite) kept beside the database."""
    if settings.vapid_private_key is not None:
        return parse_vapid_key(settings.vapid_private_key.get_secret_value())
    database = settings.sqlalchemy_url.database
    if settings.development and settings.is_sqlite and database and database != ":memory:":
        return keys_beside_database(Path(database))
    log.warning("push notifications disabled: VAPID_PRIVATE_KEY is not set")
    return None


def notifier(
    settings: Settings,
    keys: VapidKeys | None,
    repository: PushRepository,
    backend: Backend,
    policy: EndpointPolicy,
) -> Notifier | None:
    """The push notifier for stored messages, or None without VAPID keys."""
    if keys is None:
        return None
    subject = settings.vapid_subject or "mailto:dev@localhost"
    sender = PushSender(
        repository,
        keys,
        subject,
        policy,
        ttl=settings.push_ttl,
        limits=Limits(
            concurrency=settings.push_concurrency,
            origin_concurrency=settings.push_origin_concurrency,
            connect_timeout=settings.push_connect_timeout,
            read_timeout=settings.push_read_timeout,
            origin_failures=settings.push_origin_failures,
            origin_backoff=settings.push_origin_backoff,
        ),
    )
    return Notifier(
        repository,
        backend.presence,
        sender,
        backend.coalescer,
        backend.events,
        checkin_window=settings.push_checkin_window,
        url_template=settings.push_url_template,
    )
