"""Settings: the contract's defaults, comma-separated origins, database URL normalisation,
and when the development secret may be used."""

import pytest
from support.settings import SERVICE_VARIABLES

from sharemyshows_rt.config import (
    DEFAULT_DATABASE_URL,
    DEVELOPMENT_SECRET,
    ConfigError,
    load_settings,
)
from sharemyshows_rt.config_database import async_url


@pytest.fixture(autouse=True)
def no_service_environment(monkeypatch, tmp_path):
    for name in SERVICE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file of the caller's


def test_defaults(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "s")
    settings = load_settings()
    assert (
        settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./sharemyshows_rt.db"
    )
    assert settings.history_limit == 50 and settings.message_max_length == 1000
    assert settings.jwt_cookie_name == "access_token_cookie"
    assert settings.redis_url is None
    assert settings.cors_allowed_origins == ["http://localhost:3000", "http://localhost:5173"]


def test_origins_are_comma_separated(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", " https://a.example, https://b.example/ ,,")
    assert load_settings().cors_allowed_origins == ["https://a.example", "https://b.example"]


def test_single_origin(monkeypatch):
    monkeypatch.setenv("CORS_ALLOWED_ORIGINS", "http://localhost:3000")
    assert load_settings().cors_allowed_origins == ["http://localhost:3000"]


@pytest.mark.parametrize(
    "raw, driver",
    [
        ("postgres://u:p@db/shows", "postgresql+asyncpg"),
        ("postgresql://u:p@db/shows", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u:p@db/shows", "postgresql+asyncpg"),
        ("sqlite:///x.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite"),
    ],
)
def test_database_url_gets_its_async_driver(raw, driver):
    url = async_url(raw)
    assert url.drivername == driver
    assert url.database == ("shows" if "db/" in raw else "x.db")


def test_sslmode_becomes_asyncpg_ssl():
    url = async_url("postgresql://u@db/shows?sslmode=require&application_name=rt")
    assert dict(url.query) == {"ssl": "require", "application_name": "rt"}


def test_password_survives_normalisation():
    url = async_url("postgres://user:s3cret@db:6543/shows")
    assert (url.username, url.password, url.host, url.port) == ("user", "s3cret", "db", 6543)


@pytest.mark.parametrize(
    "raw",
    ["mysql://u@h/db", "postgresql+psycopg2://u@h/db", "sqlite+pysqlite:///x.db", "::not a url::"],
)
def test_unusable_database_urls(raw):
    with pytest.raises(ValueError):
        async_url(raw)


def test_development_without_a_secret_on_sqlite():
    settings = load_settings()
    assert settings.development and settings.uses_development_secret
    assert settings.jwt_secret == DEVELOPMENT_SECRET


def test_a_secret_means_production():
    settings = load_settings(jwt_secret_key="real-secret")
    assert not settings.development and settings.jwt_secret == "real-secret"


def test_blank_secret_counts_as_unset(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "  ")
    assert load_settings().uses_development_secret


@pytest.mark.parametrize(
    "env",
    [
        {"DATABASE_URL": "postgresql://u@db/shows"},
        {"SHAREMYSHOWS_ENV": "production"},
        {"SHAREMYSHOWS_ENV": "staging"},
    ],
)
def test_no_secret_outside_development_is_refused(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "JWT_SECRET_KEY" in str(refused.value)


def test_explicit_development_on_postgres_may_use_the_development_secret(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/shows")
    monkeypatch.setenv("SHAREMYSHOWS_ENV", "development")
    assert load_settings().jwt_secret == DEVELOPMENT_SECRET


@pytest.mark.parametrize(
    "name, value",
    [
        ("HISTORY_LIMIT", "-3"),
        ("HISTORY_LIMIT", "many"),
        ("MESSAGE_MAX_LENGTH", "0"),
        ("DATABASE_URL", "mysql://h/d"),
    ],
)
def test_config_error_is_one_line_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv("JWT_SECRET_KEY", "s")
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message and name in message


@pytest.mark.parametrize("value", ["0.3", "1.5", "25.01"])
def test_ping_interval_in_fractions_of_a_second_is_refused(monkeypatch, value):
    """python-engineio would announce int(seconds) * 1000 ms (0.3 s as 0) and ping at 0.3 s."""
    monkeypatch.setenv("JWT_SECRET_KEY", "s")
    monkeypatch.setenv("PING_INTERVAL", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert "PING_INTERVAL: must be a whole number of seconds" in str(refused.value)


@pytest.mark.parametrize("value, seconds", [("1", 1), ("25", 25), ("3.0", 3)])
def test_ping_interval_in_whole_seconds_is_accepted(monkeypatch, value, seconds):
    monkeypatch.setenv("JWT_SECRET_KEY", "s")
    monkeypatch.setenv("PING_INTERVAL", value)
    assert load_settings().ping_interval == seconds
