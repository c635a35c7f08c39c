"""Muting a show: over the socket (`mute_show` / `unmute_show`, acknowledged) or REST
(POST / DELETE /api/shows/{id}/mute). A muted fan hears nothing of that show; unmuted,
they are notified again. Other shows are not affected."""

from support.expect import assert_failed_ack
from support.rest import assert_json_error


async def _message(push, show, text: str):
    client = await push.in_room(push.user(), show)
    await push.send(client, show, [text])


async def test_mute_and_unmute_over_the_socket(push):
    show = push.show()
    fan = await push.away_fan(show)
    socket = await push.connect(fan.user)  # connected, but not in the show's room

    ack = await socket.call("mute_show", {"show_id": show.id})
    assert ack == {"ok": True, "show_id": show.id, "muted": True}
    assert push.muted(fan.user, show)
    await _message(push, show, "while muted")
    await push.barrier()
    assert push.peer.received(fan.device) == []

    ack = await socket.call("unmute_show", {"show_id": show.id})
    assert ack == {"ok": True, "show_id": show.id, "muted": False}
    assert not push.muted(fan.user, show)
    await _message(push, show, "after unmuting")
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["count"] == 1
    assert notification.payload["last"]["message"] == "after unmuting"


async def test_mute_and_unmute_over_rest(push):
    show, other_show = push.show(), push.show()
    fan = await push.away_fan(show)
    push.check_in(fan.user, other_show)
    url = f"{push.base_url()}/api/shows/{show.id}/mute"

    response = await push.http.post(url, headers=push.auth(fan.user))
    assert response.status_code == 200, response.text
    assert response.json() == {"show_id": show.id, "muted": True}
    again = await push.http.post(url, headers=push.auth(fan.user))  # idempotent
    assert again.status_code == 200, again.text

    await _message(push, show, "while muted")
    # Other shows still notify; this one, sent after, is also the barrier.
    await _message(push, other_show, "another show")
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["show_id"] == other_show.id
    await push.barrier()
    assert len(push.peer.received(fan.device)) == 1

    response = await push.http.delete(url, headers=push.auth(fan.user))
    assert response.status_code == 200, response.text
    assert response.json() == {"show_id": show.id, "muted": False}
    await _message(push, show, "unmuted")
    _, notification = await push.peer.wait_for(fan.device, 2)
    assert notification.payload["show_id"] == show.id
    assert notification.payload["last"]["message"] == "unmuted"


async def test_a_mention_does_not_break_a_mute(push):
    show = push.show()
    fan = await push.away_fan(show)
    response = await push.http.post(
        f"{push.base_url()}/api/shows/{show.id}/mute", headers=push.auth(fan.user)
    )
    assert response.status_code == 200, response.text
    await _message(push, show, f"@{fan.user.username} are you there?")
    await push.barrier()
    assert push.peer.received(fan.device) == []


async def test_muting_an_unknown_show_is_refused(push):
    user = push.user()
    missing = 2_000_000_000
    for method in ("POST", "DELETE"):
        response = await push.http.request(
            method, f"{push.base_url()}/api/shows/{missing}/mute", headers=push.auth(user)
        )
        assert assert_json_error(response, 404)["error"]["message"] == "Show not found"
    socket = await push.connect(user)
    for event in ("mute_show", "unmute_show"):
        assert_failed_ack(await socket.call(event, {"show_id": missing}), "Show not found")


async def test_mute_show_with_a_bad_payload_is_refused_and_the_socket_stays_usable(push):
    user, show = push.user(), push.show()
    socket = await push.connect(user)
    for payload in ({}, {"show_id": "abc"}, "nope", {"show_id": show.id, "extra": 1}):
        assert_failed_ack(await socket.call("mute_show", payload))
    assert not push.muted(user, show)
    assert (await socket.call("mute_show", {"show_id": show.id}))["ok"] is True
