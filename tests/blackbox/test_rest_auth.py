"""The REST API takes the token as `Authorization: Bearer` or the cookie; 401 JSON otherwise."""

import pytest
from support.rest import assert_json_error, bearer, cookie

ROUTES = ["messages", "active_users"]


@pytest.mark.parametrize("route", ROUTES)
async def test_bearer_token_is_accepted(route, db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/{route}", headers=bearer(tokens.access(fan.id))
    )
    assert response.status_code == 200 and response.json()["show_id"] == show.id


@pytest.mark.parametrize("route", ROUTES)
async def test_cookie_is_accepted(route, db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/{route}", headers=cookie(tokens.access(fan.id))
    )
    assert response.status_code == 200 and response.json()["show_id"] == show.id


async def test_cookie_after_a_malformed_cookie_is_accepted(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    headers = {"Cookie": f"theme=dark mode; access_token_cookie={tokens.access(fan.id)}"}
    response = await http.get(f"/api/shows/{show.id}/messages", headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize("route", ROUTES)
async def test_without_a_token_is_401_json(route, db, http):
    show = db.add_show()
    body = assert_json_error(await http.get(f"/api/shows/{show.id}/{route}"), 401)
    assert body["error"]["message"] == "Unauthorized"


BAD_TOKENS = {
    "expired": lambda tokens, fan: tokens.expired(fan.id),
    "bad_signature": lambda tokens, fan: tokens.wrong_signature(fan.id),
    "alg_none": lambda tokens, fan: tokens.unsigned(fan.id),
    "refresh_token": lambda tokens, fan: tokens.access(fan.id, type="refresh"),
    "unknown_user": lambda tokens, fan: tokens.access(2_000_000_000),
    "not_a_jwt": lambda tokens, fan: "not-a-jwt",
}


@pytest.mark.parametrize("case", BAD_TOKENS)
@pytest.mark.parametrize("route", ROUTES)
async def test_with_a_bad_token_is_401_json(route, case, db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    token = BAD_TOKENS[case](tokens, fan)
    assert_json_error(await http.get(f"/api/shows/{show.id}/{route}", headers=bearer(token)), 401)


@pytest.mark.parametrize("authorization", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc"])
async def test_other_authorization_schemes_are_401(authorization, db, http):
    show = db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/messages", headers={"Authorization": authorization}
    )
    assert_json_error(response, 401)


async def test_token_in_the_query_string_is_not_rest_auth(db, tokens, http):
    fan, show = db.add_user(), db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/messages", params={"token": tokens.access(fan.id)}
    )
    assert_json_error(response, 401)


async def test_unauthorized_before_not_found(http):
    assert_json_error(await http.get("/api/shows/2000000000/messages"), 401)
