"""Every token the server must refuse: the client gets connect_error `Unauthorized`."""

import time

import pytest
from support.tokens import OMIT

UNKNOWN_USER_ID = 2_000_000_000
REFUSED = {
    "no_token": lambda tokens, fan: None,
    "empty_token": lambda tokens, fan: "",
    "not_a_jwt": lambda tokens, fan: "not-a-jwt",
    "bad_signature": lambda tokens, fan: tokens.wrong_signature(fan.id),
    "expired": lambda tokens, fan: tokens.expired(fan.id),
    "not_yet_valid": lambda tokens, fan: tokens.access(fan.id, nbf=int(time.time()) + 3600),
    "alg_none": lambda tokens, fan: tokens.unsigned(fan.id),
    "hs512": lambda tokens, fan: tokens.access(fan.id, algorithm="HS512"),
    "hs384": lambda tokens, fan: tokens.access(fan.id, algorithm="HS384"),
    "refresh_token": lambda tokens, fan: tokens.access(fan.id, type="refresh"),
    "unknown_user": lambda tokens, fan: tokens.access(UNKNOWN_USER_ID),
    "no_sub": lambda tokens, fan: tokens.access(fan.id, sub=OMIT),
    "sub_letters": lambda tokens, fan: tokens.access(fan.id, sub="alice"),
    "sub_digits_then_letters": lambda tokens, fan: tokens.access(fan.id, sub=f"{fan.id}abc"),
    "sub_negative": lambda tokens, fan: tokens.access(fan.id, sub=f"-{fan.id}"),
    "sub_fraction": lambda tokens, fan: tokens.access(fan.id, sub=fan.id + 0.5),
    "sub_true": lambda tokens, fan: tokens.access(fan.id, sub=True),
}


def only_unauthorized(client, error) -> None:
    assert isinstance(error, dict) and error.get("message") == "Unauthorized", error
    assert client.received("connected") == [] and not client.connected


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("case", REFUSED)
async def test_refused_with_unauthorized(case, transport, db, tokens, clients):
    fan = db.add_user()
    client = clients(transport)
    token = REFUSED[case](tokens, fan)
    error = await client.refused(**({} if token is None else {"auth": token}))
    only_unauthorized(client, error)


@pytest.mark.parametrize("case", ["expired", "bad_signature", "alg_none", "refresh_token"])
@pytest.mark.parametrize("via", ["query", "cookie"])
async def test_refused_with_bad_token_in(via, case, db, tokens, clients):
    fan = db.add_user()
    client = clients()
    error = await client.refused(**{via: REFUSED[case](tokens, fan)})
    only_unauthorized(client, error)


async def test_refused_client_can_then_connect_with_a_good_token(db, tokens, clients):
    fan = db.add_user()
    refused = clients()
    only_unauthorized(refused, await refused.refused(auth=tokens.expired(fan.id)))
    accepted = clients()
    await accepted.connect(auth=tokens.access(fan.id))
    assert (await accepted.wait_for("connected"))["user_id"] == fan.id
