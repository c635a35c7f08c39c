"""The service's limits, named once: every model, route, setting and document uses these."""

from __future__ import annotations

MAX_DB_INT = 2**31 - 1  # show and user ids are PostgreSQL `integer`s
MAX_MESSAGE_ID = 2**63 - 1  # message ids are `bigint`s
MAX_OFFSET = 10**9  # past any room's size: a larger offset is refused, not sliced
HISTORY_PAGE_MAX = 100  # messages in one history page (socket or REST)
PRESENCE_PAGE_MAX = 1000  # users in one page of who is present
CLIENT_MSG_ID_MAX = 64  # characters of a client's own message id
EVENT_NAME_ECHO_MAX = 100  # characters of an unknown event's name echoed back in `error`
MODERATION_REASON_MAX = 200  # characters of a moderator's reason
TIMEOUT_MAX_SECONDS = 86_400  # a time-out lasts at most a day
SLOW_MODE_MAX_SECONDS = 600  # slow mode allows at least one message per 10 minutes
PURGE_SECONDS = 86_400  # a ban's purge deletes the user's messages of the last 24 hours
# Messages a resuming client is sent at most (it pages back for the rest); a resume is told
# of deletions among as many messages before its last one, those it may have shown.
RESUME_LIMIT = 500
