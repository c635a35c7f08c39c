"""Every payload the service reads or sends, defined once: `inbound` (client events),
`events` (server events and acks), `rest` (REST bodies), `limits` (the named limits)."""

from __future__ import annotations

from .events import (AckError, ActiveUser, ActiveUserItem, ActiveUsers, ActiveUsersAck,
                     ActiveUsersPage, ActiveUsersPayload, Connected, ErrorBody, ErrorEvent,
                     HistoryAck, MessageHistory, MessageOut, MessagePageOut, MuteAck, NewMessage,
                     Outgoing, PresenceChange, PresenceChangePayload, SendMessageAck, ShowAck,
                     TypingAck, UserRef, UserRefItem, UserTyping, message_payload)
from .inbound import (GetActiveUsers, GetMessageHistory, Id, Incoming, JoinShow, LeaveShow,
                      MessageId, MuteShow, PushEndpoint, PushKeys, PushSubscriptionIn, SendMessage,
                      ShowRef, Text, Typing, parse)
from .limits import (CLIENT_MSG_ID_MAX, EVENT_NAME_ECHO_MAX, HISTORY_PAGE_MAX, MAX_DB_INT,
                     MAX_MESSAGE_ID, MAX_OFFSET, PRESENCE_PAGE_MAX)
from .rest import (ActiveUsersQuery, ErrorResponse, Health, MessagesQuery, MuteState, Subscribed,
                   VapidKey)

__all__ = [
    "CLIENT_MSG_ID_MAX", "EVENT_NAME_ECHO_MAX", "HISTORY_PAGE_MAX", "MAX_DB_INT", "MAX_MESSAGE_ID",
    "MAX_OFFSET", "PRESENCE_PAGE_MAX", "AckError", "ActiveUser", "ActiveUserItem", "ActiveUsers",
    "ActiveUsersAck", "ActiveUsersPage", "ActiveUsersPayload", "ActiveUsersQuery", "Connected",
    "ErrorBody", "ErrorEvent", "ErrorResponse", "GetActiveUsers", "GetMessageHistory", "Health",
    "HistoryAck", "Id", "Incoming", "JoinShow", "LeaveShow", "MessageHistory", "MessageId",
    "MessageOut", "MessagePageOut", "MessagesQuery", "MuteAck", "MuteShow", "NewMessage",
    "Outgoing", "PresenceChange", "PresenceChangePayload", "PushEndpoint", "PushKeys",
    "PushSubscriptionIn", "SendMessage", "SendMessageAck", "ShowAck", "ShowRef", "Text",
    "Typing", "TypingAck", "UserRef", "UserRefItem", "UserTyping", "message_payload", "parse",
    "MuteState", "Subscribed", "VapidKey",
]
