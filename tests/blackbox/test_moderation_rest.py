"""The moderation REST routes: DELETE a message (same rules as the event, same cookie and
CSRF rules as every state-changing route), the audit trail and the standing state."""

from datetime import UTC, datetime, timedelta

from support.client import for_show
from support.moderation import act, add_moderator, deletion, ok
from support.scenes import pair_in_show
from support.settings import ALLOWED_ORIGIN


def bearer(tokens, user, **claims) -> dict:
    return {"Authorization": f"Bearer {tokens.access(user.id, **claims)}"}


async def test_author_deletes_over_rest_and_the_room_is_told(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "rest")
    answer = await http.delete(
        f"/api/shows/{show.id}/messages/{echo['id']}", headers=bearer(tokens, alice.user)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"show_id": show.id, "message_id": echo["id"]}
    await bob.client.wait_for("message_deleted", for_show(show.id))


async def test_rest_delete_refusals(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    [old] = db.add_messages(show, alice.user, ["old"], start=datetime.now(UTC) - timedelta(hours=1))
    path = f"/api/shows/{show.id}/messages/{old}"
    assert (await http.delete(path)).status_code == 401
    answer = await http.delete(path, headers=bearer(tokens, alice.user))
    assert answer.status_code == 403 and answer.json()["error"]["message"] == "Forbidden"
    missing = await http.delete(
        f"/api/shows/{show.id}/messages/999999999", headers=bearer(tokens, bob.user)
    )
    assert missing.json()["error"]["message"] == "Message not found"
    assert deletion(db, old).deleted_at is None


async def test_cookie_delete_needs_origin_and_csrf(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    add_moderator(db, show, bob.user)
    [message] = db.add_messages(show, alice.user, ["cookie"])
    path = f"/api/shows/{show.id}/messages/{message}"
    cookie = {"Cookie": f"access_token_cookie={tokens.access(bob.user.id, csrf='c-s-r-f')}"}
    evil = await http.delete(path, headers={**cookie, "Origin": "https://evil.example"})
    assert evil.status_code == 403
    no_csrf = await http.delete(path, headers={**cookie, "Origin": ALLOWED_ORIGIN})
    assert no_csrf.status_code == 403
    assert deletion(db, message).deleted_at is None
    good = await http.delete(
        path, headers={**cookie, "Origin": ALLOWED_ORIGIN, "X-CSRF-TOKEN": "c-s-r-f"}
    )
    assert good.status_code == 200, good.text
    assert deletion(db, message).deleted_by == bob.user.id


async def test_audit_trail_is_for_moderators_newest_first_and_paged(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    add_moderator(db, show, bob.user)
    for seconds in (10, 20, 30):
        ok(
            await act(
                bob.client,
                "set_slow_mode",
                {"show_id": show.id, "seconds": seconds, "reason": f"r{seconds}"},
            )
        )
    path = f"/api/shows/{show.id}/moderation"
    assert (await http.get(path, headers=bearer(tokens, alice.user))).status_code == 403
    first = (await http.get(path, params={"limit": 2}, headers=bearer(tokens, bob.user))).json()
    assert first["show_id"] == show.id and first["has_more"] is True
    assert [a["seconds"] for a in first["actions"]] == [30, 20]
    action = first["actions"][0]
    assert action["actor"] == {"user_id": bob.user.id, "username": bob.user.username}
    assert (action["action"], action["reason"]) == ("set_slow_mode", "r30")
    assert action["created_at"].endswith("Z")
    rest = await http.get(
        path, params={"before_id": first["actions"][-1]["id"]}, headers=bearer(tokens, bob.user)
    )
    assert [a["seconds"] for a in rest.json()["actions"]] == [10]
    admin = await http.get(path, headers=bearer(tokens, db.add_user(), is_admin=True))
    assert admin.status_code == 200


async def test_state_lists_slow_mode_bans_and_timeouts(db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    add_moderator(db, show, bob.user)
    banned = db.add_user()
    ok(await act(bob.client, "set_slow_mode", {"show_id": show.id, "seconds": 15}))
    ok(await act(bob.client, "ban_user", {"show_id": show.id, "user_id": banned.id}))
    ok(
        await act(
            bob.client,
            "timeout_user",
            {"show_id": show.id, "user_id": alice.user.id, "seconds": 100},
        )
    )
    path = f"/api/shows/{show.id}/moderation/state"
    assert (await http.get(path, headers=bearer(tokens, alice.user))).status_code == 403
    state = (await http.get(path, headers=bearer(tokens, bob.user))).json()
    assert state["show_id"] == show.id and state["slow_mode_seconds"] == 15
    assert [(b["user_id"], b["username"]) for b in state["bans"]] == [(banned.id, banned.username)]
    assert [t["user_id"] for t in state["timeouts"]] == [alice.user.id]
