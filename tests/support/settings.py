"""Constants the tests share: addresses, the contract's defaults, and how long any wait may take."""

import os

HOST = "127.0.0.1"
ALLOWED_ORIGIN = "http://localhost:3000"
FOREIGN_ORIGIN = "http://evil.example"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
POSTGRES_ADMIN_URL = os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL

# The contract's defaults: the servers we start never set these variables.
HISTORY_LIMIT = 50
MESSAGE_MAX_LENGTH = 1000
REST_LIMIT_MAX = 100
COOKIE_NAME = "access_token_cookie"

TIMEOUT = 5.0  # any single wait for an event, an ack or a row
STARTUP_TIMEOUT = 30.0  # migrate, and the server answering /healthz
COMMAND_TIMEOUT = 60.0  # a one-off command line run

# Variables of the service that the tests' servers must not inherit from the caller.
SERVICE_VARIABLES = (
    "DATABASE_URL", "JWT_SECRET_KEY", "JWT_COOKIE_NAME", "REDIS_URL", "REDIS_PREFIX",
    "CORS_ALLOWED_ORIGINS", "HISTORY_LIMIT", "MESSAGE_MAX_LENGTH", "SHAREMYSHOWS_ENV",
    "MAX_FRAME_BYTES", "PING_INTERVAL", "PING_TIMEOUT", "DB_TIMEOUT", "SEND_RATE", "SEND_BURST",
    "TYPING_RATE", "EVENTS_PER_SECOND", "MAX_CONNECTIONS_PER_USER", "SEND_QUEUE_LIMIT",
    "PRESENCE_LIST_LIMIT", "PRESENCE_COALESCE_MS", "SHUTDOWN_GRACE", "LOG_LEVEL", "LOG_JSON",
    "HANDSHAKE_CONCURRENCY", "METRICS_TOKEN", "METRICS_PORT", "METRICS_HOST",
    "SEND_RATE_USER", "SEND_BURST_USER", "USER_CACHE_SECONDS",
)


def clean_environment(**variables: str) -> dict[str, str]:
    """The caller's environment without the service's own variables, plus `variables`."""
    env = {name: value for name, value in os.environ.items()
           if name.upper() not in SERVICE_VARIABLES}
    env.update(variables)
    return env
