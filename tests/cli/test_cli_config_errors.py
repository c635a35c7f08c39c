"""Bad configuration: every command exits non-zero with exactly one line on stderr, saying
what is wrong, and no traceback. The runs happen concurrently, once per module."""

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.server import free_port, run_cli
from support.settings import HOST, clean_environment

SECRET = secrets.token_urlsafe(32)
CONFIGS = {
    "history_limit_negative": ({"HISTORY_LIMIT": "-3", "JWT_SECRET_KEY": SECRET}, "HISTORY_LIMIT"),
    "database_url_unparseable": (
        {"DATABASE_URL": "::not a url::", "JWT_SECRET_KEY": SECRET},
        "DATABASE_URL",
    ),
    "database_url_mysql": (
        {"DATABASE_URL": "mysql://user@127.0.0.1/shows", "JWT_SECRET_KEY": SECRET},
        "DATABASE_URL",
    ),
    "production_without_secret": ({"SHAREMYSHOWS_ENV": "production"}, "JWT_SECRET_KEY"),
    "postgres_without_secret": (
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/shows"},
        "JWT_SECRET_KEY",
    ),
    # Engine.IO would announce 0.3 s as 0 ms (int(seconds) * 1000) and ping every 0.3 s.
    "ping_interval_fraction": (
        {"PING_INTERVAL": "0.3", "JWT_SECRET_KEY": SECRET},
        "PING_INTERVAL: must be a whole number of seconds",
    ),
}
COMMANDS = {
    "serve": ["serve", "--host", HOST, "--port", "PORT"],
    "migrate": ["migrate"],
    "token": ["token", "1"],
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """(config, command) -> Result, all run at once, each in an empty directory."""
    base = tmp_path_factory.mktemp("config-errors")

    def run(key):
        config, command = key
        cwd = base / f"{config}-{command}"
        cwd.mkdir()
        args = [str(free_port()) if arg == "PORT" else arg for arg in COMMANDS[command]]
        return run_cli(*args, env=clean_environment(**CONFIGS[config][0]), cwd=cwd, timeout=30)

    keys = [(config, command) for config in CONFIGS for command in COMMANDS]
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(keys, pool.map(run, keys)))


def assert_one_clear_line(result, names: str) -> None:
    assert result.returncode != 0, f"exited 0; stdout: {result.stdout!r}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert names in lines[0], f"the line does not name {names}: {lines[0]!r}"


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("config", CONFIGS)
def test_bad_configuration_is_one_line(config, command, outcomes):
    assert_one_clear_line(outcomes[(config, command)], CONFIGS[config][1])


def test_unreachable_postgres_is_one_line(tmp_path):
    env = clean_environment(
        DATABASE_URL="postgresql://postgres@127.0.0.1:1/shows", JWT_SECRET_KEY=SECRET
    )
    result = run_cli(
        "serve", "--host", HOST, "--port", str(free_port()), env=env, cwd=tmp_path, timeout=30
    )
    assert_one_clear_line(result, "database")


def test_bad_configuration_creates_no_database_file(tmp_path):
    env = clean_environment(HISTORY_LIMIT="-3")
    result = run_cli("serve", "--host", HOST, "--port", str(free_port()), env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert list(tmp_path.iterdir()) == []
