"""VAPID keys: `sharemyshows-rt vapid-keys` prints a pair to configure; in development
(SQLite, no JWT_SECRET_KEY) a pair is made once and kept beside the database; elsewhere,
without VAPID_PRIVATE_KEY, push is off (one log line, 503 for the public key); a bad key
stops every command with one line."""

import re
import secrets
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from support.database import Database, sqlite_urls
from support.push_rig import (
    VAPID_SUBJECT,
    parse_vapid_keys,
    push_environment,
    start_servers,
    stop_servers,
)
from support.push_service import b64url, public_point, unb64url
from support.rest import assert_json_error, bearer
from support.server import ServerProcess, free_port, run_cli
from support.settings import HOST, TIMEOUT
from support.tokens import Tokens

DEMO_TOKEN = re.compile(r"^\s*alice \(user (\d+)\): (\S+)$", re.MULTILINE)


def public_key_of(private_key: str) -> str:
    """The public key of a VAPID_PRIVATE_KEY value (raw 32 bytes, base64url)."""
    raw = unb64url(private_key)
    assert len(raw) == 32, f"VAPID_PRIVATE_KEY is {len(raw)} bytes, not 32"
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    return b64url(public_point(key.public_key()))


async def public_key_answer(base_url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=TIMEOUT) as http:
        return await http.get(f"{base_url}/api/push/vapid_public_key", headers=bearer(token))


def test_vapid_keys_prints_a_matching_pair():
    result = run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None))
    assert result.returncode == 0, result.stderr
    pair = parse_vapid_keys(result.stdout)
    assert public_key_of(pair.private_key) == pair.public_key
    again = parse_vapid_keys(
        run_cli("vapid-keys", env=push_environment("sqlite:///unused.db", None)).stdout
    )
    assert again.private_key != pair.private_key, "every run makes a new pair"


async def test_a_server_started_with_the_printed_key_serves_its_public_key(push):
    """The shared server runs on a pair `vapid-keys` printed; its pushes verify against the
    printed public key (see test_coalescing)."""
    response = await push.http.get(
        f"{push.base_url()}/api/push/vapid_public_key", headers=push.auth(push.user())
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"public_key": push.deployment.vapid.public_key}


async def test_development_keeps_one_generated_pair_beside_the_database(tmp_path):
    urls = sqlite_urls(tmp_path / "devchat.db")
    env = push_environment(urls.server, None)  # development: SQLite, no JWT_SECRET_KEY
    keyfile = tmp_path / "devchat.vapid.pem"

    first = ServerProcess(env, tmp_path / "first.log", cwd=tmp_path)
    await start_servers([first])
    try:
        user_id, token = DEMO_TOKEN.search(first.log()).groups()
        response = await public_key_answer(first.base_url, token)
        assert response.status_code == 200, response.text
        key = response.json()["public_key"]
    finally:
        await stop_servers([first])
    assert keyfile.is_file(), (
        f"no {keyfile.name} beside the database: {sorted(p.name for p in tmp_path.iterdir())}"
    )
    assert keyfile.stat().st_mode & 0o077 == 0, "the private key is readable by others"
    private = serialization.load_pem_private_key(keyfile.read_bytes(), password=None)
    assert b64url(public_point(private.public_key())) == key

    second = ServerProcess(env, tmp_path / "second.log", cwd=tmp_path)
    await start_servers([second])
    try:
        _, token = DEMO_TOKEN.search(second.log()).groups()
        response = await public_key_answer(second.base_url, token)
        assert response.status_code == 200, response.text
        assert response.json()["public_key"] == key, "a restart made a new key pair"
    finally:
        await stop_servers([second])


async def test_without_a_key_outside_development_push_is_off_and_says_so(tmp_path):
    urls = sqlite_urls(tmp_path / "prod.db")
    secret = secrets.token_urlsafe(48)
    env = push_environment(urls.server, secret)  # a secret: not development
    server = ServerProcess(env, tmp_path / "server.log", cwd=tmp_path)
    await start_servers([server])
    db = Database(urls.tests)
    try:
        user = db.add_user()
        response = await public_key_answer(server.base_url, Tokens(secret).access(user.id))
        assert_json_error(response, 503)
        lines = [line for line in server.log().splitlines() if "VAPID_PRIVATE_KEY" in line]
        assert len(lines) == 1, f"expected one log line about VAPID_PRIVATE_KEY: {lines}"
        assert "disabled" in lines[0].lower() or "off" in lines[0].lower(), lines[0]
        assert not list(tmp_path.glob("*.vapid.pem")), "no key is generated outside development"
    finally:
        db.dispose()
        await stop_servers([server])


GOOD_KEY = b64url(
    ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big")
)
# name -> (settings, the variable the one line must name, the secret it must not echo)
BAD_CONFIGS = {
    "key_not_base64": ({"VAPID_PRIVATE_KEY": "this is not a key"}, "VAPID_PRIVATE_KEY"),
    "key_truncated_to_16_bytes": ({"VAPID_PRIVATE_KEY": GOOD_KEY[:22]}, "VAPID_PRIVATE_KEY"),
    "key_zero": ({"VAPID_PRIVATE_KEY": b64url(bytes(32))}, "VAPID_PRIVATE_KEY"),
    "key_above_the_group_order": ({"VAPID_PRIVATE_KEY": b64url(b"\xff" * 32)}, "VAPID_PRIVATE_KEY"),
    "key_broken_pem": (
        {
            "VAPID_PRIVATE_KEY": "-----BEGIN EC PRIVATE KEY-----\nbm90IGEga2V5\n"
            "-----END EC PRIVATE KEY-----"
        },
        "VAPID_PRIVATE_KEY",
    ),
    "subject_missing": ({"VAPID_PRIVATE_KEY": GOOD_KEY, "VAPID_SUBJECT": ""}, "VAPID_SUBJECT"),
    "subject_not_a_url": (
        {"VAPID_PRIVATE_KEY": GOOD_KEY, "VAPID_SUBJECT": "ops@example.com"},
        "VAPID_SUBJECT",
    ),
}
COMMANDS = {
    "serve": ["serve", "--host", HOST, "--port", "PORT"],
    "migrate": ["migrate"],
    "token": ["token", "1"],
}
COMMAND_BOUND = 15  # seconds; a refused configuration exits in about one
RUNS = [(config, "serve") for config in BAD_CONFIGS] + [
    ("key_not_base64", "migrate"),
    ("key_zero", "token"),
]


@pytest.fixture(scope="module")
def bad_config_outcomes(tmp_path_factory):
    """(bad configuration, command) -> Result, all run at once, each in an empty directory
    (outside development: a JWT secret is set)."""
    base = tmp_path_factory.mktemp("bad-vapid")

    def run(case):
        config, command = case
        cwd = base / f"{config}-{command}"
        cwd.mkdir()
        settings = {"VAPID_SUBJECT": VAPID_SUBJECT, **BAD_CONFIGS[config][0]}
        env = push_environment(
            f"sqlite+aiosqlite:///{cwd}/chat.db", secrets.token_urlsafe(32), **settings
        )
        args = [str(free_port()) if arg == "PORT" else arg for arg in COMMANDS[command]]
        try:
            return run_cli(*args, env=env, cwd=cwd, timeout=COMMAND_BOUND)
        except AssertionError as failure:  # it did not exit: reported by its own test
            return failure

    with ThreadPoolExecutor(len(RUNS)) as pool:
        return dict(zip(RUNS, pool.map(run, RUNS)))


@pytest.mark.parametrize("case", RUNS, ids=[f"{config}-{command}" for config, command in RUNS])
def test_bad_vapid_settings_stop_the_command_with_one_line(bad_config_outcomes, case):
    result = bad_config_outcomes[case]
    if isinstance(result, AssertionError):
        pytest.fail(f"the command went on regardless: {str(result).splitlines()[0]}")
    settings, variable = BAD_CONFIGS[case[0]]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, f"exited 0:\n{result.stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert variable in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert settings["VAPID_PRIVATE_KEY"] not in result.stderr, "the private key is echoed"
