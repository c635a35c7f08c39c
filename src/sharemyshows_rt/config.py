"""Settings: every environment variable of the contract, read and checked once."""

from __future__ import annotations

import hashlib
from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL

from .config_database import async_url
from .schemas.limits import PRESENCE_PAGE_MAX

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sharemyshows_rt.db"
# Known to everyone who reads this file: good for a laptop, refused anywhere else.
DEVELOPMENT_SECRET = "sharemyshows-rt-development-secret-do-not-use-in-production"
DEVELOPMENT = "development"
# RFC 7518 §3.2: an HS256 key at least as long as the hash (32 bytes).
SECRET_MIN_BYTES = 32


class ConfigError(Exception):
    """Configuration that cannot work; the message is one line for the operator."""


def _csv(value: object) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return list(value)  # type: ignore[arg-type]


class Settings(BaseSettings):
    """The service's configuration, from the environment (names as in the contract)."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    jwt_secret_key: SecretStr | None = None
    jwt_cookie_name: str = Field("access_token_cookie", min_length=1)
    redis_url: str | None = None
    redis_prefix: str | None = None
    cors_allowed_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://localhost:5173",
    ]
    history_limit: int = Field(50, ge=0, le=500)
    message_max_length: int = Field(1000, ge=1, le=60_000)
    sharemyshows_env: str | None = None

    # Transport limits: not in the contract's table, documented in the README.
    max_frame_bytes: int = Field(64 * 1024, ge=1024)
    socketio_transports: Annotated[list[str], NoDecode] = ["polling", "websocket"]
    ping_interval: int = Field(25, gt=0)  # whole seconds: see _whole_seconds
    ping_timeout: float = Field(20.0, gt=0)
    db_timeout: float = Field(5.0, gt=0)

    # Limits (README: "Limits"). Rates are per second.
    send_rate: float = Field(5.0, gt=0)
    send_burst: int = Field(10, ge=1)
    send_rate_user: float = Field(10.0, gt=0)
    send_burst_user: int = Field(20, ge=1)
    typing_rate: float = Field(2.0, gt=0)
    events_per_second: int = Field(100, ge=1)
    max_connections_per_user: int = Field(10, ge=1)
    user_cache_seconds: float = Field(60.0, ge=0, le=3600)
    handshake_concurrency: int = Field(64, ge=1, le=100_000)
    send_queue_limit: int = Field(500, ge=10)
    history_cache_seconds: float = Field(2.0, ge=0, le=3600)
    presence_list_limit: int = Field(100, ge=1, le=PRESENCE_PAGE_MAX)
    presence_coalesce_ms: int = Field(1000, ge=0, le=60_000)
    message_coalesce_ms: int = Field(20, ge=0, le=1000)
    shutdown_grace: float = Field(10.0, gt=0)
    # Moderation (docs/moderation.md): the admin claim's name; how long authors may delete.
    admin_claim: str = Field("is_admin", min_length=1)
    delete_own_seconds: float = Field(300.0, ge=0, le=30 * 24 * 3600)
    vapid_private_key: SecretStr | None = None
    vapid_subject: str | None = None
    push_endpoint_allowlist: Annotated[list[str], NoDecode] = []
    # The public push services (FCM, Mozilla, Apple, Windows); `*`: any public host.
    push_service_hosts: Annotated[list[str], NoDecode] = [
        "fcm.googleapis.com",
        "*.push.services.mozilla.com",
        "*.push.apple.com",
        "*.notify.windows.com",
    ]
    push_concurrency: int = Field(16, ge=1, le=1000)
    push_origin_concurrency: int = Field(8, ge=1, le=1000)
    push_connect_timeout: float = Field(3.0, gt=0, le=60)
    push_read_timeout: float = Field(5.0, gt=0, le=120)
    push_origin_failures: int = Field(5, ge=1)
    push_origin_backoff: float = Field(10.0, gt=0, le=3600)
    push_checkin_window: float = Field(6 * 3600, ge=0)
    push_coalesce_seconds: float = Field(60.0, ge=1)
    push_ttl: int = Field(6 * 3600, ge=1, le=28 * 24 * 3600)
    push_url_template: str = "/shows/{show_id}"
    metrics_token: SecretStr | None = None
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str | None = None
    log_level: str = "INFO"
    log_json: bool = False
    # strict: `serve` refuses engineio/socketio/uvicorn/websockets releases outside the tested
    # ranges (upstream.py); warn: it logs them and serves.
    upstream_version_check: Literal["strict", "warn"] = "strict"

    @field_validator("cors_allowed_origins", "push_endpoint_allowlist", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> list[str]:
        return [origin.rstrip("/") for origin in _csv(value)]

    @field_validator("push_service_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> list[str]:
        return [host.lower() for host in _csv(value)]

    @field_validator("socketio_transports", mode="before")
    @classmethod
    def _transports(cls, value: object) -> list[str]:
        transports = [transport.lower() for transport in _csv(value)]
        if not transports or set(transports) - {"polling", "websocket"}:
            raise ValueError("must list polling and/or websocket")
        return transports

    @field_validator("upstream_version_check", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("ping_interval", mode="before")
    @classmethod
    def _whole_seconds(cls, value: object) -> object:
        # python-engineio announces pingInterval as int(seconds) * 1000: 0.3 would be
        # announced as 0 while the server pings every 0.3 s, and clients time out between.
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value  # pydantic says what is wrong with it
        if not number.is_integer():
            raise ValueError(
                "must be a whole number of seconds (Engine.IO announces whole seconds to clients)"
            )
        return int(number)

    @field_validator("redis_url", "redis_prefix", "sharemyshows_env", "metrics_host", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "jwt_secret_key",
        "metrics_token",
        "metrics_port",
        "vapid_private_key",
        "vapid_subject",
        mode="before",
    )
    @classmethod
    def _blank_secret_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        async_url(value)  # raises ValueError with a readable message
        return value

    @field_validator("vapid_private_key")
    @classmethod
    def _vapid_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            from .push.keys import parse

            parse(value.get_secret_value())  # raises ValueError with a readable message
        return value

    @field_validator("vapid_subject")
    @classmethod
    def _vapid_subject(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("mailto:", "https://")):
            raise ValueError("must be a mailto: or https:// URL (RFC 8292)")
        return value

    @field_validator("push_url_template")
    @classmethod
    def _url_template(cls, value: str) -> str:
        try:
            value.format(show_id=1)
        except (KeyError, IndexError, ValueError):
            raise ValueError("may use only {show_id}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @model_validator(mode="after")
    def _secret_outside_development(self) -> Settings:
        if self.jwt_secret_key is None and not self.development:
            raise ValueError(
                f"JWT_SECRET_KEY is required when SHAREMYSHOWS_ENV is {self.environment!r} "
                "(the ShareMyShows Flask app's secret)"
            )
        if (
            self.jwt_secret_key is not None
            and not self.development
            and self.jwt_secret_key.get_secret_value().strip() == DEVELOPMENT_SECRET
        ):
            raise ValueError(
                "JWT_SECRET_KEY is the published development secret: anyone can "
                "sign tokens with it; set the Flask app's own secret"
            )
        if (
            self.vapid_private_key is not None
            and self.vapid_subject is None
            and not self.development
        ):
            raise ValueError(
                "VAPID_SUBJECT (mailto: or https:// contact) is required with VAPID_PRIVATE_KEY"
            )
        return self

    @cached_property
    def sqlalchemy_url(self) -> URL:
        """DATABASE_URL with its async driver (asyncpg or aiosqlite) filled in."""
        return async_url(self.database_url)

    @property
    def redis_namespace(self) -> str:
        """Prefix of every Redis key and channel: REDIS_PREFIX, or one derived from the
        database, so that the processes of one deployment meet and other deployments on
        the same Redis never do."""
        if self.redis_prefix:
            return self.redis_prefix
        database = self.sqlalchemy_url.render_as_string(hide_password=True)
        return "smsrt:" + hashlib.sha256(database.encode()).hexdigest()[:12]

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.get_backend_name() == "sqlite"

    @property
    def environment(self) -> str:
        """SHAREMYSHOWS_ENV, or the contract's default: development without a secret on SQLite."""
        if self.sharemyshows_env:
            return self.sharemyshows_env.strip().lower()
        if self.jwt_secret_key is None and self.is_sqlite:
            return DEVELOPMENT
        return "production"

    @property
    def development(self) -> bool:
        return self.environment == DEVELOPMENT

    @property
    def implicit_development(self) -> bool:
        """Development by default (no secret, SQLite) rather than by SHAREMYSHOWS_ENV: it
        never reaches the network."""
        return self.development and not self.sharemyshows_env

    @property
    def jwt_secret(self) -> str:
        """The HS256 secret: the configured one, or the fixed development secret."""
        if self.jwt_secret_key is not None:
            return self.jwt_secret_key.get_secret_value()
        return DEVELOPMENT_SECRET

    @property
    def uses_development_secret(self) -> bool:
        return self.jwt_secret_key is None


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; raise ConfigError with one readable line when it is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper()
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{name}: {message}" if name else message)
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
