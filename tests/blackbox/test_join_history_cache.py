"""The join history is cached per show (HISTORY_CACHE_SECONDS) and kept current by every
delivery; once past its time it is still served while one read in the background replaces
it, so no joiner waits for that read, and what only the database knew (a message this
process never delivered) reaches the joiners that come after the read."""

from __future__ import annotations

import asyncio

from support.rigs import rig_fixtures

CACHE_SECONDS = 0.5


shared_rig, rig = rig_fixtures("history-cache", HISTORY_CACHE_SECONDS=CACHE_SECONDS)


def ids(history: dict) -> list[int]:
    return [message["id"] for message in history["messages"]]


async def test_live_messages_are_in_the_cached_history(rig):
    fan, show = rig.db.add_user(), rig.db.add_show()
    sender = await rig.connect(fan)
    await sender.join(show.id)  # reads the history and caches it
    ack = await sender.call("send_message", {"show_id": show.id, "message": "hello"})
    history, _ = await (await rig.connect(rig.db.add_user())).join(show.id)
    assert ids(history) == [ack["message"]["id"]]


async def test_a_stale_history_is_served_then_replaced_by_what_the_database_holds(rig):
    fan, show = rig.db.add_user(), rig.db.add_show()
    first = await rig.connect(fan)
    history, _ = await first.join(show.id)
    assert ids(history) == []
    # A message this process never delivered (as if its delivery had been lost).
    [missed] = rig.db.add_messages(show, fan, ["only the database knows"])
    await asyncio.sleep(CACHE_SECONDS * 1.5)  # the cached history is now past its time
    stale, _ = await (await rig.connect(rig.db.add_user())).join(show.id)
    assert ids(stale) == [], "served from the cache while it is read again"
    loop = asyncio.get_running_loop()
    # Soon after, and well before the cached one is too old to serve at all (x5 its time).
    deadline = loop.time() + CACHE_SECONDS * 2
    while True:  # the background read replaces it
        fresh, _ = await (await rig.connect(rig.db.add_user())).join(show.id)
        if ids(fresh) == [missed] or loop.time() > deadline:
            break
    assert ids(fresh) == [missed]
