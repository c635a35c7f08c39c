"""Rows deleted under a running server: a user deleted while connected (the tables cascade)
who then joins another show makes a check-in row the database refuses. That row is logged
once and dropped; every other check-in of the process is still written. The deleted user's
connection is refused (Unauthorized) from its next event once the user cache expires."""

import asyncio

from sqlalchemy import text
from support.expect import assert_failed_ack
from support.rigs import stored
from support.settings import TIMEOUT


def delete_user(db, user) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})


async def test_a_check_in_the_database_refuses_does_not_block_the_others(rig):
    doomed, first, second = rig.db.add_user(), rig.db.add_user(), rig.db.add_user()
    before, after = rig.db.add_show(), rig.db.add_show()
    gone = await rig.connect(doomed)
    await gone.join(before.id)
    await rig.db.wait_for_checkin(doomed, before, checked_out=False)
    delete_user(rig.db, doomed)
    # Within the user cache's lifetime the join is served: its check-in breaks the foreign key.
    await gone.join(after.id)
    bystander = await rig.connect(first)
    await bystander.join(after.id)
    await rig.db.wait_for_checkin(first, after, checked_out=False)

    refused = f"check-in of user {doomed.id} in show {after.id} cannot be written"
    await rig.wait_for_log(refused)
    later = await rig.connect(second)  # the next batches do not carry the dropped row again
    await later.join(before.id)
    await rig.db.wait_for_checkin(second, before, checked_out=False)
    await later.leave(before.id)
    await rig.db.wait_for_checkin(second, before, checked_out=True)
    assert rig.server.log().count(refused) == 1
    assert rig.db.checkin(doomed, after) is None


async def test_a_deleted_users_connection_is_refused_once_the_cache_expires(launch):
    rig = await launch(USER_CACHE_SECONDS=1)
    doomed, show = rig.db.add_user(), rig.db.add_show()
    client = await rig.connect(doomed)
    await client.join(show.id)
    delete_user(rig.db, doomed)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1 + TIMEOUT
    while True:  # bounded poll: the cache's lifetime, then the refusal
        ack = await client.call("get_active_users", {"show_id": show.id})
        if ack.get("ok") is False:
            break
        assert loop.time() < deadline, f"still served {1 + TIMEOUT}s after the delete: {ack}"
        await asyncio.sleep(0.1)
    assert_failed_ack(ack, "Unauthorized")
    sent = await client.call("send_message", {"show_id": show.id, "message": "from a ghost"})
    assert_failed_ack(sent, "Unauthorized")
    assert stored(rig.db, show) == []
