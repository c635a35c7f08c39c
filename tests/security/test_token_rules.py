"""Tokens: `exp` is required (socket and REST); outside development the published
development secret ends every command with exit 2 and one line; a secret shorter than
32 bytes (RFC 7518 section 3.2) is a warning at start."""

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.rest import assert_json_error, bearer, cookie
from support.server import ServerProcess, free_port, run_cli
from support.settings import HOST, clean_environment
from support.tokens import OMIT

from sharemyshows_rt.config import DEVELOPMENT_SECRET


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("via", ["auth", "query", "cookie"])
async def test_a_token_without_expiry_is_refused_by_the_socket(via, transport, db, tokens, clients):
    forever = tokens.access(db.add_user().id, exp=OMIT)
    refusal = await clients(transport).refused(**{via: forever})
    assert refusal["message"] == "Unauthorized", refusal


@pytest.mark.parametrize("headers", [bearer, cookie])
async def test_a_token_without_expiry_is_refused_by_rest(headers, db, tokens, http):
    show = db.add_show()
    forever = tokens.access(db.add_user().id, exp=OMIT)
    response = await http.get(f"/api/shows/{show.id}/messages", headers=headers(forever))
    assert assert_json_error(response, 401)["error"]["message"] == "Unauthorized"


DEVELOPMENT_SECRET_CONFIGS = {
    "sqlite": {"JWT_SECRET_KEY": DEVELOPMENT_SECRET},
    "production": {"JWT_SECRET_KEY": DEVELOPMENT_SECRET, "SHAREMYSHOWS_ENV": "production"},
    "postgresql": {
        "JWT_SECRET_KEY": DEVELOPMENT_SECRET,
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/shows",
    },
}
COMMANDS = {
    "serve": ["serve", "--host", HOST, "--port", "PORT"],
    "migrate": ["migrate"],
    "token": ["token", "1"],
}


@pytest.fixture(scope="module")
def development_secret_outcomes(tmp_path_factory):
    base = tmp_path_factory.mktemp("development-secret")

    def run(key):
        config, command = key
        cwd = base / f"{config}-{command}"
        cwd.mkdir()
        args = [str(free_port()) if arg == "PORT" else arg for arg in COMMANDS[command]]
        return run_cli(
            *args, env=clean_environment(**DEVELOPMENT_SECRET_CONFIGS[config]), cwd=cwd, timeout=20
        )

    keys = [(config, command) for config in DEVELOPMENT_SECRET_CONFIGS for command in COMMANDS]
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(keys, pool.map(run, keys)))


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("config", DEVELOPMENT_SECRET_CONFIGS)
def test_the_development_secret_is_refused_outside_development(
    config, command, development_secret_outcomes
):
    result = development_secret_outcomes[(config, command)]
    assert result.returncode == 2, f"exit {result.returncode}; stderr:\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "JWT_SECRET_KEY" in lines[0] and "development secret" in lines[0], lines[0]
    assert DEVELOPMENT_SECRET not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "secret, warned",
    [(secrets.token_hex(8), True), (secrets.token_hex(16), False)],
    ids=["16-bytes", "32-bytes"],
)
def test_a_short_secret_is_a_warning_at_start(secret, warned, tmp_path):
    server = ServerProcess(
        clean_environment(JWT_SECRET_KEY=secret), tmp_path / "server.log", cwd=tmp_path
    )
    server.start()
    try:
        log = server.log()
    finally:
        server.stop()
    line = [line for line in log.splitlines() if "RFC 7518" in line]
    if warned:
        assert line and "WARNING" in line[0] and f"{len(secret)} bytes" in line[0], log
    else:
        assert not line, line
    assert secret not in log
