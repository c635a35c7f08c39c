"""Logging for the whole process, uvicorn's included. Access tokens never reach a log."""

from __future__ import annotations

import logging
import logging.config
import re
import time
from typing import Any
from urllib.parse import unquote_plus

import orjson

_QUERY_PARAMETER = re.compile(r"(^|[?&;])([^=&#\s?]*)=([^&#\s]*)")
# A push endpoint is a capability too: whoever knows it can push to that device.
SECRET_PARAMETERS = frozenset({"token", "access_token", "jwt", "endpoint"})
# A JWT, whole or cut short: its header is base64url JSON, and `{"` encodes as `eyJ`.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,2}")


def redact(text: str) -> str:
    """`text` with the value of any `token` query parameter replaced (however its name is
    percent-encoded or cased)."""
    if "%" not in text and not any(name in text.lower() for name in SECRET_PARAMETERS):
        return text  # no secret name, not even encoded: nothing to look for (most lines)
    return redact_parameters(text)


def redact_parameters(text: str) -> str:
    """What `redact` does, without its shortcut: every query parameter's name decoded."""

    def hide(match: re.Match[str]) -> str:
        name = unquote_plus(match.group(2)).strip().lower()
        return (
            f"{match.group(1)}{match.group(2)}=[redacted]"
            if name in SECRET_PARAMETERS
            else match.group(0)
        )

    return _QUERY_PARAMETER.sub(hide, text)


def conceal(text: str) -> str:
    """`text` with anything shaped like a JWT replaced: the last word on every emitted line,
    whatever a library put in it (headers, cookies, exception texts)."""
    return _JWT.sub("[token]", text) if "eyJ" in text else text


def _loggable(arg: object) -> object:
    if isinstance(arg, str):
        return redact(arg)
    if getattr(arg, "opcode", None) is not None and isinstance(getattr(arg, "data", None), bytes):
        # A websockets frame at DEBUG: its text shows the payload's start and end, so a
        # token cut short there could not be recognised. The kind and size say enough.
        return f"{arg.opcode.name} [{len(arg.data)} bytes]"  # type: ignore[attr-defined]
    return arg


class RedactTokens(logging.Filter):
    """Rewrites uvicorn's access-log arguments (and any message) so tokens never show;
    websocket frames are logged without their payload."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_loggable(arg) for arg in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


class ConcealingFormatter(logging.Formatter):
    """The text format, with any JWT left in the finished line (exception included) hidden."""

    def format(self, record: logging.LogRecord) -> str:
        return conceal(super().format(record))


_last_said: dict[str, float] = {}


def now_and_then(
    logger: logging.Logger, key: str, message: str, *args: Any, seconds: float = 10.0
) -> None:
    """A warning that would repeat on every request while something is down: said once
    per `seconds` per key."""
    now = time.monotonic()
    if now - _last_said.get(key, -seconds) >= seconds:
        _last_said[key] = now
        logger.warning(message, *args)


def event(logger: logging.Logger, action: str, level: int = logging.INFO, **fields: Any) -> None:
    """One line about what a connection did: `action key=value ...` as text, and the same
    fields as JSON keys with LOG_JSON. Never pass a token or message text here."""
    if logger.isEnabledFor(level):
        text = " ".join(f"{key}={value}" for key, value in fields.items())
        logger.log(level, "%s %s", action, text, extra={"action": action, "fields": fields})


class QuietWebSocketOpenings(logging.Filter):
    """uvicorn's per-websocket lines ("connection open", "[accepted]", "connection closed")
    say less than this service's own connect and disconnect lines, and cost a storm of
    fans two log lines each."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.msg if isinstance(record.msg, str) else ""
        return not (
            message in ("connection open", "connection closed") or message.endswith("[accepted]")
        )


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        action = getattr(record, "action", None)
        if action is not None:
            entry["action"] = action
            entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return conceal(orjson.dumps(entry, default=str).decode())


def configure(level: str = "INFO", json: bool = False) -> None:
    """Configure the root logger and uvicorn's loggers through it."""
    # Nothing we print uses the caller's file and line, the thread or the process: not
    # collecting them saves a quarter of each line ("Optimization" in the logging HOWTO).
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    formatter = (
        {"()": JsonFormatter}
        if json
        else {
            "()": ConcealingFormatter,
            "format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        }
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "redact": {"()": RedactTokens},
                "quiet_websockets": {"()": QuietWebSocketOpenings},
            },
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["redact"],
                }
            },
            "root": {"level": level, "handlers": ["stderr"]},
            "loggers": {
                "uvicorn": {"level": level, "handlers": [], "propagate": True},
                "uvicorn.error": {
                    "level": level,
                    "handlers": [],
                    "propagate": True,
                    "filters": ["quiet_websockets"],
                },
                "uvicorn.access": {"level": level, "handlers": [], "propagate": True},
                # Alembic announces its context at INFO on every check; `migrate` says what it did.
                "alembic": {"level": "WARNING"},
                # python-socketio logs every packet at INFO, with payloads: far too chatty.
                "socketio": {"level": "WARNING"},
                "engineio": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                "alembic.runtime.plugins": {"level": "WARNING"},
            },
        }
    )
