"""Who is told of a message: users checked in to the show (still, or checked out less than
PUSH_CHECKIN_WINDOW ago) with no open connection in its room, and users it mentions as
@username; never the sender, never a fan in the room, never one checked out long ago."""

from support.push_rig import PUSH_CHECKIN_WINDOW


async def test_a_checked_in_fan_away_from_the_chat_is_notified(push):
    show = push.show()
    fan = await push.away_fan(show)
    sender = push.user()
    client = await push.in_room(sender, show)
    await push.send(client, show, ["the band is on"])
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["show_id"] == show.id
    assert notification.payload["last"] == {
        "username": sender.username,
        "message": "the band is on",
    }


async def test_a_fan_who_left_the_room_is_notified(push):
    show, fan = push.show(), push.user()
    device = await push.device(fan)
    away = await push.in_room(fan, show)
    await away.leave(show.id)
    await push.db.wait_for_checkin(fan, show, checked_out=True)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["you missed the encore"])
    [notification] = await push.peer.wait_for(device)
    assert notification.payload["last"]["message"] == "you missed the encore"


async def test_a_fan_connected_to_another_show_only_is_notified(push):
    show, elsewhere = push.show(), push.show()
    fan = await push.away_fan(show)
    await push.in_room(fan.user, elsewhere)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["over here"])
    [notification] = await push.peer.wait_for(fan.device)
    assert notification.payload["show_id"] == show.id


async def test_a_fan_checked_out_within_the_window_is_notified(push):
    show = push.show()
    fan = await push.away_fan(show, checked_out_ago=PUSH_CHECKIN_WINDOW / 2)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["still on"])
    await push.peer.wait_for(fan.device)


async def test_a_fan_checked_out_longer_ago_than_the_window_is_not_notified(push):
    show = push.show()
    gone = await push.away_fan(show, checked_out_ago=PUSH_CHECKIN_WINDOW + 600)
    recent = await push.away_fan(show, checked_out_ago=60)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["who is still here?"])
    await push.peer.wait_for(recent.device)
    await push.barrier()
    assert push.peer.received(gone.device) == []


async def test_a_fan_in_the_room_is_not_notified(push):
    show = push.show()
    online, away = push.user(), await push.away_fan(show)
    online_device = await push.device(online)
    listener = await push.in_room(online, show)  # checked in, and connected to the room
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["you can see this already"])
    await listener.wait_for("new_message", lambda data: data.get("show_id") == show.id)
    await push.peer.wait_for(away.device)
    await push.barrier()
    assert push.peer.received(online_device) == []


async def test_a_fan_in_the_room_on_one_tab_of_two_is_not_notified(push):
    show, elsewhere = push.show(), push.show()
    fan = await push.away_fan(show)
    await push.in_room(fan.user, show)
    await push.in_room(fan.user, elsewhere)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, ["one tab is enough"])
    await push.barrier()
    assert push.peer.received(fan.device) == []


async def test_the_sender_is_never_notified_of_their_own_message(push):
    show = push.show()
    sender, witness = push.user(), await push.away_fan(show)
    sender_device = await push.device(sender)
    client = await push.in_room(sender, show)
    # Send and walk away at once: by the time the notifier looks, the sender is a checked
    # in fan with no connection in the room, which is everyone else it notifies.
    since = client.mark()
    await client.emit("send_message", {"show_id": show.id, "message": "bye all"})
    await client.emit("leave_show", {"show_id": show.id})
    await client.wait_for("new_message", since=since)
    await push.db.wait_for_checkin(sender, show, checked_out=True)
    await push.peer.wait_for(witness.device)
    await push.barrier()
    assert push.peer.received(sender_device) == []


async def test_a_mentioned_user_who_never_checked_in_is_notified(push):
    show = push.show()
    mentioned = push.user()
    device = await push.device(mentioned)
    sender = push.user()
    client = await push.in_room(sender, show)
    text = f"@{mentioned.username} come to the chat"
    await push.send(client, show, [text])
    [notification] = await push.peer.wait_for(device)
    assert notification.payload["last"] == {"username": sender.username, "message": text}
    assert notification.headers.get("urgency") == "high", "a mention is urgent"


async def test_a_mentioned_user_in_the_room_is_not_notified(push):
    show = push.show()
    mentioned = push.user()
    device = await push.device(mentioned)
    await push.in_room(mentioned, show)
    client = await push.in_room(push.user(), show)
    await push.send(client, show, [f"hi @{mentioned.username}"])
    await push.barrier()
    assert push.peer.received(device) == []


async def test_a_user_neither_checked_in_nor_mentioned_is_not_notified(push):
    show = push.show()
    stranger, witness = push.user(), await push.away_fan(show)
    device = await push.device(stranger)
    client = await push.in_room(push.user(), show)
    # A near miss: the name inside a longer word or an e-mail address is no mention.
    await push.send(client, show, [f"mail x@{stranger.username} or {stranger.username}"])
    await push.peer.wait_for(witness.device)
    await push.barrier()
    assert push.peer.received(device) == []
