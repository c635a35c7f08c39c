"""`token USER_ID [--expires-in SECONDS]`: a token the server (same secret) accepts."""

import secrets

import jwt
import pytest
from support.server import run_cli
from support.settings import clean_environment

SECRET = secrets.token_urlsafe(32)


def issued(env: dict, *args: str) -> str:
    result = run_cli("token", *args, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


async def test_printed_token_is_accepted_by_the_server(db, deployment, clients):
    fan, show = db.add_user(), db.add_show()
    client = clients()
    await client.connect(auth=issued(deployment.env, str(fan.id)))
    assert (await client.wait_for("connected"))["user_id"] == fan.id
    _, active = await client.join(show.id)
    assert [u["user_id"] for u in active["active_users"]] == [fan.id]


async def test_token_for_an_unknown_user_is_refused_by_the_server(deployment, clients):
    client = clients()
    error = await client.refused(auth=issued(deployment.env, "2000000000"))
    assert error["message"] == "Unauthorized"


def test_printed_token_has_flask_jwt_extended_claims():
    token = issued(clean_environment(JWT_SECRET_KEY=SECRET), "42")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "42" and claims["type"] == "access"
    assert {"exp", "iat", "nbf", "jti", "fresh"} <= claims.keys()
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize("seconds", [60, 86400])
def test_expires_in_sets_the_lifetime(seconds):
    token = issued(clean_environment(JWT_SECRET_KEY=SECRET), "42", "--expires-in", str(seconds))
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == seconds


def test_token_is_signed_with_the_configured_secret():
    token = issued(clean_environment(JWT_SECRET_KEY=SECRET), "42")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "x", algorithms=["HS256"])


@pytest.mark.parametrize(
    "args",
    [["abc"], ["0"], ["1", "--expires-in", "-5"], []],
    ids=["letters", "zero", "negative_lifetime", "no_user"],
)
def test_bad_arguments_exit_non_zero_without_a_traceback(args):
    result = run_cli("token", *args, env=clean_environment(JWT_SECRET_KEY=SECRET))
    assert result.returncode != 0 and result.stdout == ""
    assert "Traceback" not in result.stderr and result.stderr.strip()
