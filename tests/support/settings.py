"""Constants the tests share: addresses, the contract's defaults, and how long any wait may take."""

import os

from sharemyshows_rt.config import Settings

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

# Variables of the service that the tests' servers must not inherit from the caller: every
# setting of config.py, so a new setting is covered the day it is added. Except
# UPSTREAM_VERSION_CHECK: scripts/upstream-canary sets it for the servers the tests start.
PASSED_THROUGH = frozenset({"UPSTREAM_VERSION_CHECK"})
SERVICE_VARIABLES = tuple(
    sorted(name.upper() for name in Settings.model_fields if name.upper() not in PASSED_THROUGH)
)


def clean_environment(**variables: str) -> dict[str, str]:
    """The caller's environment without the service's own variables, plus `variables`."""
    env = {
        name: value for name, value in os.environ.items() if name.upper() not in SERVICE_VARIABLES
    }
    env.update(variables)
    return env
