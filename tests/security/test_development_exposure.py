"""Development by default (no JWT_SECRET_KEY, SQLite: the public secret and the demo login)
never reaches the network. `serve` on any other than a loopback address exits 2 with one
line, before it creates anything; SHAREMYSHOWS_ENV=development set on purpose may, loudly.
The Docker image runs in production mode: without JWT_SECRET_KEY it does not serve."""

import json
import secrets
import shlex
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from support.server import ServerProcess, free_port, run_cli
from support.settings import clean_environment

DOCKERFILE = Path(__file__).resolve().parents[2] / "Dockerfile"
# 192.0.2.1 is a documentation address (RFC 5737): not this host's, and never bound here.
REFUSED = {
    "every-ipv4-address": ("0.0.0.0", "1"),
    "every-ipv6-address": ("::", "1"),
    "another-host": ("192.0.2.1", "1"),
    "workers": ("0.0.0.0", "2"),
}


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """case -> (Result, its directory), all run at once, each in an empty directory."""
    base = tmp_path_factory.mktemp("exposure")

    def run(case):
        host, workers = REFUSED[case]
        cwd = base / case
        cwd.mkdir()
        return run_cli(
            "serve",
            "--host",
            host,
            "--port",
            str(free_port()),
            "--workers",
            workers,
            env=clean_environment(),
            cwd=cwd,
            timeout=20,
        ), cwd

    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(REFUSED, pool.map(run, REFUSED)))


def assert_one_line_naming(result, *names: str) -> str:
    assert result.returncode == 2, f"exit {result.returncode}; stderr:\n{result.stderr}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    for name in names:
        assert name in lines[0], f"the line does not name {name}: {lines[0]!r}"
    return lines[0]


@pytest.mark.parametrize("case", REFUSED)
def test_default_development_is_refused_on_a_network_address(case, refusals):
    result, cwd = refusals[case]
    assert_one_line_naming(result, "JWT_SECRET_KEY", "SHAREMYSHOWS_ENV=development")
    assert list(cwd.iterdir()) == [], "it created a database before refusing"


def test_default_development_serves_on_localhost(tmp_path):
    server = ServerProcess(
        clean_environment(), tmp_path / "server.log", cwd=tmp_path, host="localhost"
    )
    server.start()
    try:
        # development as before: the demo login is there
        answer = httpx.post(f"{server.base_url}/api/dev/login", json={"username": "carol"})
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()


@pytest.mark.parametrize("secret", ["", secrets.token_urlsafe(48)], ids=["no-secret", "secret"])
def test_explicit_development_may_serve_everywhere_with_a_warning(secret, tmp_path):
    env = clean_environment(SHAREMYSHOWS_ENV="development", JWT_SECRET_KEY=secret)
    server = ServerProcess(env, tmp_path / "server.log", cwd=tmp_path, host="0.0.0.0")
    server.start()
    try:
        warning = [
            line for line in server.log().splitlines() if "DEVELOPMENT MODE ON 0.0.0.0" in line
        ]
        assert warning and "WARNING" in warning[0], server.log()
        # the demo login is what the warning is about
        answer = httpx.post(f"{server.base_url}/api/dev/login", json={"username": "dave"})
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()


def image_environment() -> dict[str, str]:
    """The ENV of the Dockerfile's final stage (PATH aside: it names the image's venv)."""
    stage = DOCKERFILE.read_text().replace("\\\n", " ").split("\nFROM ")[-1]
    env = {}
    for line in stage.splitlines():
        if line.startswith("ENV "):
            for pair in shlex.split(line[4:]):
                name, _, value = pair.partition("=")
                env[name] = value
    env.pop("PATH", None)
    return env


def image_command() -> list[str]:
    """The Dockerfile's CMD, after the program's name."""
    line = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")][-1]
    return json.loads(line[4:])[1:]


def test_the_image_without_a_secret_exits_2_with_one_line(tmp_path):
    env = image_environment()
    # the image's volume, here a directory of the test
    env["DATABASE_URL"] = env["DATABASE_URL"].replace("/app/data", str(tmp_path))
    result = run_cli(
        *image_command(),
        "--port",
        str(free_port()),
        env=clean_environment(**env),
        cwd=tmp_path,
        timeout=20,
    )
    assert_one_line_naming(result, "JWT_SECRET_KEY")
    assert list(tmp_path.iterdir()) == []
