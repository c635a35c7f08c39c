"""Authenticator: where the token is looked for, and which tokens name a user."""

import asyncio
import time

import jwt
import pytest

from sharemyshows_rt.chat.auth import LEEWAY_SECONDS, Authenticator, Identity, issue_token
from sharemyshows_rt.db.repositories import UserRecord
from sharemyshows_rt.errors import Unauthorized

SECRET = "unit-test-secret-" + "x" * 64


class Users:
    """A stand-in for UserRepository: one known user."""

    async def get_many(self, user_ids: list[int]):
        return {7: UserRecord(7, "alice")} if 7 in user_ids else {}


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(SECRET, "access_token_cookie", Users())


def token(sub="7", secret=SECRET, algorithm="HS256", **claims) -> str:
    now = int(time.time())
    body = {
        "sub": sub,
        "type": "access",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "j",
        "fresh": False,
        **claims,
    }
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=algorithm)


def environ(query: str = "", cookie: str = "") -> dict:
    return {"QUERY_STRING": query, "HTTP_COOKIE": cookie}


def test_socket_token_prefers_the_auth_payload(auth):
    assert auth.socket_token({"token": "A"}, environ("token=Q", "access_token_cookie=C")) == "A"


def test_socket_token_then_the_query(auth):
    assert auth.socket_token(None, environ("EIO=4&token=Q", "access_token_cookie=C")) == "Q"


def test_socket_token_then_the_cookie(auth):
    assert auth.socket_token(None, environ("EIO=4", "access_token_cookie=C")) == "C"


@pytest.mark.parametrize("payload", [{"token": ""}, {"token": 5}, {"other": "A"}, "A", ["A"]])
def test_socket_token_skips_an_unusable_auth_payload(auth, payload):
    assert auth.socket_token(payload, environ("token=Q")) == "Q"


def test_socket_token_none_anywhere(auth):
    assert auth.socket_token(None, environ("EIO=4&token=", "")) is None


def test_http_token_prefers_bearer_then_cookie(auth):
    assert auth.http_token({"authorization": "Bearer B", "cookie": "access_token_cookie=C"}) == "B"
    assert auth.http_token({"authorization": "bearer B"}) == "B"
    assert auth.http_token({"authorization": "Basic xyz", "cookie": "access_token_cookie=C"}) == "C"
    assert auth.http_token({}) is None


def test_valid_token_names_the_user(auth):
    assert auth.user_id(token()) == 7
    assert auth.user_id(token(sub=7)) == 7
    assert auth.user_id(token(type=None)) == 7


def test_issued_token_is_valid(auth):
    assert auth.user_id(issue_token(SECRET, 7, expires_in=60)) == 7


REFUSED = {
    "none": None,
    "empty": "",
    "garbage": "not-a-jwt",
    "wrong_secret": token(secret="another-secret-" + "y" * 64),
    "expired": token(exp=int(time.time()) - 3600),
    "not_yet_valid": token(nbf=int(time.time()) + 3600),
    "alg_none": jwt.encode({"sub": "7", "type": "access"}, None, algorithm="none"),
    "hs512": token(algorithm="HS512"),
    "refresh": token(type="refresh"),
    "no_sub": token(sub=None),
    "sub_letters": token(sub="alice"),
    "sub_zero": token(sub="0"),
    "sub_negative": token(sub=-7),
    "sub_too_big": token(sub=str(2**31)),
    "sub_true": token(sub=True),
    "sub_float": token(sub=7.0),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refused_tokens(auth, case):
    with pytest.raises(Unauthorized):
        auth.user_id(REFUSED[case])


async def test_identify_finds_the_user(auth):
    assert await auth.identify(token()) == Identity(7, "alice")


async def test_identify_refuses_an_unknown_user(auth):
    with pytest.raises(Unauthorized):
        await auth.identify(token(sub="8"))


async def test_concurrent_lookups_share_one_query():
    """A reconnect storm: lookups that arrive while a query is out wait for the next one,
    which asks for all of them at once."""
    from sharemyshows_rt.chat.auth import UserLoader

    calls = []

    class CountingUsers:
        async def get_many(self, user_ids):
            calls.append(sorted(user_ids))
            return {
                user_id: UserRecord(user_id, f"fan{user_id}") for user_id in user_ids if user_id % 2
            }

    loader = UserLoader(CountingUsers())
    found = await asyncio.gather(*(loader.get(user_id) for user_id in range(1, 21)))
    assert [user.username if user else None for user in found] == [
        f"fan{n}" if n % 2 else None for n in range(1, 21)
    ]
    assert len(calls) <= 2 and sorted(sum(calls, [])) == list(range(1, 21))


# ---------------------------------------------------------------------------- verified tokens


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


class CountingDecode:
    """jwt.decode, counted; or refusing everything once `refuse` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.refuse = False

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.refuse:
            raise jwt.ExpiredSignatureError("Signature has expired")
        return jwt.api_jwt.decode(*args, **kwargs)


@pytest.fixture
def decode(monkeypatch) -> CountingDecode:
    counting = CountingDecode()
    monkeypatch.setattr("sharemyshows_rt.chat.auth.jwt.decode", counting)
    return counting


def test_a_verified_token_is_not_verified_again(decode):
    auth = Authenticator(SECRET, "access_token_cookie", Users())
    valid = token()
    assert [auth.user_id(valid) for _ in range(3)] == [7, 7, 7]
    assert decode.calls == 1


def test_a_remembered_token_is_checked_in_full_once_it_expires(decode):
    clock = Clock()
    auth = Authenticator(SECRET, "access_token_cookie", Users(), wall_clock=clock)
    expires = int(clock.now) + 60
    valid = token(exp=expires)
    assert auth.user_id(valid) == 7
    clock.now = expires + LEEWAY_SECONDS - 0.5  # PyJWT still accepts it
    assert auth.user_id(valid) == 7
    assert decode.calls == 1
    clock.now = expires + LEEWAY_SECONDS  # PyJWT refuses from here on
    decode.refuse = True
    with pytest.raises(Unauthorized, match="ExpiredSignatureError"):
        auth.user_id(valid)
    assert decode.calls == 2


def test_refused_tokens_are_not_remembered(decode):
    auth = Authenticator(SECRET, "access_token_cookie", Users())
    forged = token(secret="another-secret-" + "y" * 64)
    for _ in range(2):
        with pytest.raises(Unauthorized):
            auth.user_id(forged)
    assert decode.calls == 2
    tampered = token()[:-2] + ("AA" if not token().endswith("AA") else "BB")
    with pytest.raises(Unauthorized):
        auth.user_id(tampered)


def test_a_token_without_expiry_is_refused_every_time(decode):
    auth = Authenticator(SECRET, "access_token_cookie", Users())
    forever = token(exp=None)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="MissingRequiredClaimError"):
            auth.user_id(forever)
    assert decode.calls == 2


def test_the_remembered_tokens_are_bounded(decode, monkeypatch):
    monkeypatch.setattr("sharemyshows_rt.chat.auth.VERIFIED_TOKENS_KEPT", 3)
    auth = Authenticator(SECRET, "access_token_cookie", Users())
    tokens = [token(jti=f"j{n}") for n in range(4)]
    for valid in tokens:
        auth.user_id(valid)
    assert decode.calls == 4
    auth.user_id(tokens[3])  # kept after the others were forgotten
    assert decode.calls == 4
    auth.user_id(tokens[0])
    assert decode.calls == 5
