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
from .moderation import (
    BanAck,
    Banned,
    BanUser,
    DeleteMessage,
    DeleteMessageAck,
    MessageDeleted,
    SetSlowMode,
    SlowMode,
    SlowModeAck,
    TimeoutAck,
    TimeoutUser,
    UnbanUser,
    UserTimedOut,
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
    "delete_message": ClientEvent(
        DeleteMessage, DeleteMessageAck, "Delete a message (one's own for a while; moderators)"
    ),
    "timeout_user": ClientEvent(TimeoutUser, TimeoutAck, "Time a user out (0 lifts it)"),
    "ban_user": ClientEvent(BanUser, BanAck, "Ban a user from a show (purge: their last day)"),
    "unban_user": ClientEvent(UnbanUser, BanAck, "Lift a ban"),
    "set_slow_mode": ClientEvent(SetSlowMode, SlowModeAck, "Slow a show's chat (0 turns it off)"),
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
    "message_deleted": (MessageDeleted, "A message of a joined show was deleted"),
    "user_timed_out": (UserTimedOut, "A user may not send in a show until a time"),
    "banned": (Banned, "This user was banned from a show and has left it"),
    "slow_mode": (SlowMode, "A show's slow mode changed (or is on, after joining)"),
    "error": (ErrorEvent, "A client event failed"),
}
