"""A pending (folded, not yet sent) push notification leaves out messages deleted since:
the count drops them, and nothing is sent when nothing is left."""

from support.push_rig import FOLD_TIMEOUT


async def delete(client, show, message) -> None:
    ack = await client.call("delete_message", {"show_id": show.id, "message_id": message["id"]})
    assert ack.get("ok") is True, ack


async def test_a_fold_leaves_out_deleted_messages(push):
    show = push.show()
    fan = await push.away_fan(show)
    sender = push.user()
    client = await push.in_room(sender, show)
    saved = await push.send(client, show, ["first", "kept", "deleted one", "deleted two"])
    for message in saved[2:]:
        await delete(client, show, message)
    immediate, folded = await push.peer.wait_for(fan.device, 2, timeout=FOLD_TIMEOUT)
    assert immediate.payload["count"] == 1
    assert folded.payload["count"] == 1
    assert folded.payload["last"] == {"username": sender.username, "message": "kept"}


async def test_a_fold_of_only_deleted_messages_is_not_sent(push):
    show = push.show()
    fan = await push.away_fan(show)
    client = await push.in_room(push.user(), show)
    saved = await push.send(client, show, ["first", "gone", "gone too"])
    for message in saved[1:]:
        await delete(client, show, message)
    await push.peer.wait_for(fan.device, 1, timeout=FOLD_TIMEOUT)
    await push.fold_barrier()
    assert [n.payload["count"] for n in push.peer.notifications(fan.device)] == [1]
