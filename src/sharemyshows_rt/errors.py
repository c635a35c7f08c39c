"""Every error a user can see: one type each, with its fixed message, and the one mapping
to the `error` event, the failed acknowledgement and the HTTP body."""

from __future__ import annotations

from typing import Any, ClassVar


class ChatError(Exception):
    """A user-visible failure. `message` is fixed per type; `details` says what exactly."""

    message: ClassVar[str] = "Error"
    status: ClassVar[int] = 400

    def __init__(self, details: str = "", **extra: Any) -> None:
        super().__init__(details or self.message)
        self.details = details
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """`{"message", "details", ...}`: the part every representation shares."""
        return {"message": self.message, "details": self.details, **self.extra}

    def event_payload(self, event: str) -> dict[str, Any]:
        """The `error` event's payload for a failure of the client event `event`."""
        return {**self.body(), "event": event}

    def ack(self) -> dict[str, Any]:
        """The acknowledgement of a failed event."""
        return {"ok": False, "error": self.body()}

    def http_body(self) -> dict[str, Any]:
        """The JSON body of a failed REST call (sent with `status`)."""
        return {"error": self.body()}


class Unauthorized(ChatError):
    message = "Unauthorized"
    status = 401


class ShowNotFound(ChatError):
    message = "Show not found"
    status = 404


class NotInShowRoom(ChatError):
    message = "Not in show chat room"
    status = 403


class Forbidden(ChatError):
    """A state-changing REST request the cookie alone may not make (cross-site), or a
    moderator's action by someone who may not take it."""

    message = "Forbidden"
    status = 403


class PayloadTooLarge(ChatError):
    message = "Payload too large"
    status = 413


class UnsupportedMediaType(ChatError):
    message = "Unsupported media type"
    status = 415


class MissingShowIdOrMessage(ChatError):
    message = "Missing show_id or message"
    status = 422


class MessageTooLong(ChatError):
    message = "Message too long"
    status = 422


class InvalidPayload(ChatError):
    message = "Invalid payload"
    status = 422


class UnknownEvent(ChatError):
    message = "Unknown event"
    status = 404


class RetryLater(ChatError):
    """A refusal that ends by itself: carries `retry_after_ms`, when to try again."""

    status = 429

    def __init__(self, details: str, retry_after: float) -> None:
        super().__init__(details, retry_after_ms=max(1, round(retry_after * 1000)))


class RateLimitExceeded(RetryLater):
    """`retry_after_ms`: when the next message would be accepted."""

    message = "Rate limit exceeded"


class TimedOut(RetryLater):
    """A timed-out user's message; `retry_after_ms`: when the time-out ends."""

    message = "Timed out"


class SlowModeActive(RetryLater):
    """A message sooner than slow mode allows; `retry_after_ms`: when it would be accepted."""

    message = "Slow mode"


class BannedFromShow(ChatError):
    message = "Banned from show"
    status = 403


class MessageNotFound(ChatError):
    message = "Message not found"
    status = 404


class UserNotFound(ChatError):
    message = "User not found"
    status = 404


class TooManyConnections(ChatError):
    message = "Too many connections"
    status = 429


class ServiceUnavailable(ChatError):
    message = "Service unavailable"
    status = 503


class InternalError(ChatError):
    message = "Internal error"
    status = 500


def from_exception(exc: BaseException) -> ChatError:
    """The user-visible error for an unexpected exception: the database or Redis being
    unreachable or refusing work is `Service unavailable`; anything else is an internal error."""
    if isinstance(exc, ChatError):
        return exc
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    from .db.faults import is_unavailable

    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return ServiceUnavailable("Redis is not answering; try again")
    if is_unavailable(exc):
        return ServiceUnavailable("the database is not answering; try again")
    return InternalError("something went wrong on the server")
