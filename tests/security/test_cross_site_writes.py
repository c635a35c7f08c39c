"""Cross-site writes with the cookie: a page on another site makes the victim's browser send
`fetch(url, {method: 'POST', mode: 'no-cors', credentials: 'include', body})` (text/plain,
the victim's cookie, the page's Origin). Such requests are refused with 403 (415 for a body
that is not JSON) and change nothing; the app's own pages, allowed origins and Bearer
clients keep working. The server allows ALLOWED_ORIGIN (http://localhost:3000)."""

import json

import pytest
from support.rest import assert_json_error, bearer, cookie
from support.security import is_muted, subscription, subscriptions_of
from support.settings import ALLOWED_ORIGIN, FOREIGN_ORIGIN

SUBSCRIPTIONS = "/api/push/subscriptions"


def no_cors_post(token: str, origin: str | None, body: dict, **extra: str) -> dict:
    """What a browser sends for a no-cors fetch with credentials: text/plain and the cookie."""
    headers = {**cookie(token), "Content-Type": "text/plain;charset=UTF-8", **extra}
    if origin is not None:
        headers["Origin"] = origin
    return {"content": json.dumps(body), "headers": headers}


def json_post(token: str, body: dict, **headers: str) -> dict:
    return {
        "content": json.dumps(body),
        "headers": {**cookie(token), "Content-Type": "application/json", **headers},
    }


async def test_a_foreign_page_cannot_register_its_push_endpoint_with_the_cookie(rig, http):
    victim = rig.db.add_user()
    token = rig.tokens.access(victim.id)
    response = await http.post(SUBSCRIPTIONS, **no_cors_post(token, FOREIGN_ORIGIN, subscription()))
    assert assert_json_error(response, 403)["error"]["message"] == "Forbidden"
    # Not even as JSON: the origin alone refuses it.
    response = await http.post(
        SUBSCRIPTIONS, **json_post(token, subscription(), Origin=FOREIGN_ORIGIN)
    )
    assert_json_error(response, 403)
    assert subscriptions_of(rig.db, victim) == []


@pytest.mark.parametrize(
    "origin", ["null", "http://localhost:3000.evil.example", "https://localhost:3000"]
)
async def test_lookalike_and_opaque_origins_are_refused(rig, http, origin):
    victim = rig.db.add_user()
    response = await http.post(
        SUBSCRIPTIONS, **json_post(rig.tokens.access(victim.id), subscription(), Origin=origin)
    )
    assert_json_error(response, 403)
    assert subscriptions_of(rig.db, victim) == []


async def test_without_origin_the_referer_decides(rig, http):
    victim = rig.db.add_user()
    token = rig.tokens.access(victim.id)
    foreign = await http.post(
        SUBSCRIPTIONS, **json_post(token, subscription(), Referer=f"{FOREIGN_ORIGIN}/attack.html")
    )
    neither = await http.post(SUBSCRIPTIONS, **json_post(token, subscription()))
    assert_json_error(foreign, 403)
    assert_json_error(neither, 403)
    assert subscriptions_of(rig.db, victim) == []
    mine = subscription()
    allowed = await http.post(
        SUBSCRIPTIONS, **json_post(token, mine, Referer=f"{ALLOWED_ORIGIN}/shows/1?x=y")
    )
    assert allowed.status_code == 201, allowed.text
    assert subscriptions_of(rig.db, victim) == [mine["endpoint"]]


async def test_an_allowed_origin_must_still_send_json(rig, http):
    victim = rig.db.add_user()
    token = rig.tokens.access(victim.id)
    response = await http.post(SUBSCRIPTIONS, **no_cors_post(token, ALLOWED_ORIGIN, subscription()))
    assert assert_json_error(response, 415)["error"]["message"] == "Unsupported media type"
    assert subscriptions_of(rig.db, victim) == []


@pytest.mark.parametrize("origin", ["allowed", "own"])
async def test_allowed_and_own_origins_write_with_the_cookie(rig, http, origin):
    victim = rig.db.add_user()
    mine = subscription()
    sent_from = ALLOWED_ORIGIN if origin == "allowed" else rig.base_url
    response = await http.post(
        SUBSCRIPTIONS, **json_post(rig.tokens.access(victim.id), mine, Origin=sent_from)
    )
    assert response.status_code == 201, response.text
    assert subscriptions_of(rig.db, victim) == [mine["endpoint"]]


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_a_foreign_page_cannot_mute_a_show(rig, http, method):
    victim, show = rig.db.add_user(), rig.db.add_show()
    response = await http.request(
        method,
        f"/api/shows/{show.id}/mute",
        **no_cors_post(rig.tokens.access(victim.id), FOREIGN_ORIGIN, {}),
    )
    assert_json_error(response, 403)
    # No body at all (a plain form-less fetch): still the origin.
    response = await http.request(
        method,
        f"/api/shows/{show.id}/mute",
        headers={**cookie(rig.tokens.access(victim.id)), "Origin": FOREIGN_ORIGIN},
    )
    assert_json_error(response, 403)
    assert not is_muted(rig.db, victim, show)


async def test_a_foreign_page_cannot_unmute_or_unsubscribe(rig, http):
    victim, show = rig.db.add_user(), rig.db.add_show()
    token = rig.tokens.access(victim.id)
    mine = subscription()
    assert (await http.post(f"/api/shows/{show.id}/mute", headers=bearer(token))).status_code == 200
    assert (await http.post(SUBSCRIPTIONS, json=mine, headers=bearer(token))).status_code == 201
    foreign = {**cookie(token), "Origin": FOREIGN_ORIGIN}
    assert_json_error(await http.delete(f"/api/shows/{show.id}/mute", headers=foreign), 403)
    assert_json_error(
        await http.delete(SUBSCRIPTIONS, params={"endpoint": mine["endpoint"]}, headers=foreign),
        403,
    )
    assert is_muted(rig.db, victim, show)
    assert subscriptions_of(rig.db, victim) == [mine["endpoint"]]


async def test_bearer_requests_need_neither_origin_nor_csrf_header(rig, http):
    """A browser never adds Authorization by itself: a Bearer request is the app's own."""
    fan, show = rig.db.add_user(), rig.db.add_show()
    token = rig.tokens.access(fan.id, csrf="double-submit")
    response = await http.put(
        f"/api/shows/{show.id}/mute", headers={**bearer(token), "Origin": FOREIGN_ORIGIN}
    )
    assert response.status_code == 200, response.text
    assert is_muted(rig.db, fan, show)


async def test_a_token_with_a_csrf_claim_needs_the_double_submit_header(rig, http):
    """Flask-JWT-Extended's cookie tokens carry `csrf`; its frontend sends X-CSRF-TOKEN."""
    fan, show = rig.db.add_user(), rig.db.add_show()
    token = rig.tokens.access(fan.id, csrf="3f0c2b1e-csrf-claim")
    url = f"/api/shows/{show.id}/mute"
    allowed = {**cookie(token), "Origin": ALLOWED_ORIGIN}
    assert_json_error(await http.post(url, headers=allowed), 403)
    assert_json_error(await http.post(url, headers={**allowed, "X-CSRF-TOKEN": "guess"}), 403)
    assert not is_muted(rig.db, fan, show)
    response = await http.post(url, headers={**allowed, "X-CSRF-TOKEN": "3f0c2b1e-csrf-claim"})
    assert response.status_code == 200, response.text
    assert is_muted(rig.db, fan, show)


async def test_the_preflight_lets_the_frontend_send_the_csrf_header(rig, http):
    response = await http.options(
        SUBSCRIPTIONS,
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-csrf-token",
        },
    )
    assert response.status_code == 200, response.text
    assert "x-csrf-token" in response.headers["access-control-allow-headers"].lower()


async def test_reads_with_the_cookie_are_unchanged(rig, http):
    fan, show = rig.db.add_user(), rig.db.add_show()
    response = await http.get(
        f"/api/shows/{show.id}/messages",
        headers={**cookie(rig.tokens.access(fan.id)), "Origin": FOREIGN_ORIGIN},
    )
    assert response.status_code == 200, response.text
