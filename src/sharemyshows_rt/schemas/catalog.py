"""Every Socket.IO event, by name, with its payload model (and, for a client's event, the
acknowledgement it gets): the one list the AsyncAPI document and TypeScript types come from."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from .events import (
    AckError,
    ActiveUsersAck,
    ActiveUsersPage,
    Connected,
    ErrorEvent,
    HistoryAck,
    MessageHistory,
    MessageOut,
    MuteAck,
    PresenceChange,
    SendMessageAck,
    ShowAck,
    TypingAck,
    UserTyping,
)
from .inbound import (
    GetActiveUsers,
    GetMessageHistory,
    JoinShow,
    LeaveShow,
    MuteShow,
    SendMessage,
    Typing,
)


@dataclass(frozen=True)
class ClientEvent:
    payload: type[BaseModel]
    ack: type[BaseModel]  # when it succeeds; a failure is acknowledged with AckError
    summary: str


CLIENT_EVENTS = {
    "join_show": ClientEvent(JoinShow, ShowAck, "Join a show's chat (history, then presence)"),
    "leave_show": ClientEvent(LeaveShow, ShowAck, "Leave a show's chat"),
    "send_message": ClientEvent(SendMessage, SendMessageAck, "Send a chat message"),
    "typing": ClientEvent(Typing, TypingAck, "Say whether one is typing"),
    "get_active_users": ClientEvent(GetActiveUsers, ActiveUsersAck, "A page of who is present"),
    "get_message_history": ClientEvent(GetMessageHistory, HistoryAck, "A page of older messages"),
    "mute_show": ClientEvent(MuteShow, MuteAck, "No push notifications for this show"),
    "unmute_show": ClientEvent(MuteShow, MuteAck, "Push notifications for this show again"),
}
ACK_ERROR = AckError

SERVER_EVENTS: dict[str, tuple[type[BaseModel], str]] = {
    "connected": (Connected, "The handshake is complete"),
    "new_message": (MessageOut, "A message in a joined show"),
    "message_history": (MessageHistory, "A page of a show's messages, oldest first"),
    "active_users": (ActiveUsersPage, "Who is present in a show"),
    "user_joined": (PresenceChange, "Someone joined a show's chat"),
    "user_left": (PresenceChange, "Someone left a show's chat"),
    "user_typing": (UserTyping, "Someone is typing, or stopped"),
    "error": (ErrorEvent, "A client event failed"),
}
