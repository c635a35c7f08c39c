"""Messages to a crowd (`MESSAGE_COALESCE_MS`): in a show with more members on the process
than `PRESENCE_LIST_LIMIT`, the messages of a window go out together. Every member still
gets every message once, in id order; none arrives before the window is over; a fan who
joins meanwhile finds them in the join history and never gets them twice; a small show is
not held back. (A sender's ack, written at the commit, shows which: in a crowd it comes
before the sender's own `new_message`, in a small show after it, in the same write.)

These need settings of their own (a crowd of more than 3, a window of 400 ms), so they run
on a server of their own per backend, like the presence caps."""

from __future__ import annotations

import asyncio
import time

from support.client import for_show
from support.expect import acked_message
from support.rigs import Rig, rig_fixtures
from support.scenes import Person

CROWD = 3
WINDOW = 0.4
SETTINGS = {"PRESENCE_LIST_LIMIT": CROWD, "MESSAGE_COALESCE_MS": int(WINDOW * 1000)}


shared_rig, rig = rig_fixtures("crowd", **SETTINGS)


async def show_with(rig: Rig, size: int):
    show = rig.db.add_show()
    people = []
    for _ in range(size):
        user = rig.db.add_user()
        person = Person(user, await rig.connect(user))
        await person.client.join(show.id)
        people.append(person)
    return show, people


async def send(person: Person, show_id: int, text: str) -> dict:
    ack = await person.client.call("send_message", {"show_id": show_id, "message": text})
    return acked_message(ack)


def new_messages(person: Person, show_id: int) -> list[dict]:
    return person.client.received("new_message", for_show(show_id))


async def all_delivered(people: list[Person], show_id: int, count: int) -> None:
    for person in people:
        await person.client.wait_until(
            lambda p=person: len(new_messages(p, show_id)) >= count,
            what=f"{count} new_message in show {show_id}",
        )


async def test_a_crowd_gets_every_message_once_in_order_after_the_window(rig):
    show, people = await show_with(rig, CROWD + 1)
    started = time.monotonic()
    saved = await asyncio.gather(
        *(send(person, show.id, f"from {n}") for n, person in enumerate(people))
    )
    # Each sender's ack was written at its commit, the broadcast waits for the window.
    assert all(new_messages(person, show.id) == [] for person in people)
    await all_delivered(people, show.id, len(saved))
    assert time.monotonic() - started >= WINDOW, "a crowd's messages wait for the window"
    expected = sorted(message["id"] for message in saved)
    for person in people:
        assert [m["id"] for m in new_messages(person, show.id)] == expected
    by_id = {message["id"]: message for message in saved}
    assert all(m == by_id[m["id"]] for m in new_messages(people[0], show.id))


async def test_a_fan_joining_during_the_window_gets_the_message_once_in_history(rig):
    show, people = await show_with(rig, CROWD + 1)
    saved = await send(people[0], show.id, "just before the newcomer")
    user = rig.db.add_user()
    newcomer = Person(user, await rig.connect(user))
    history, _ = await newcomer.client.join(show.id)
    assert saved["id"] in [m["id"] for m in history["messages"]]
    await all_delivered(people, show.id, 1)
    later = await send(people[1], show.id, "after the newcomer")
    await all_delivered([newcomer], show.id, 1)
    assert [m["id"] for m in new_messages(newcomer, show.id)] == [later["id"]]


async def test_a_show_up_to_the_limit_is_not_held_back(rig):
    show, people = await show_with(rig, CROWD)
    saved = await send(people[0], show.id, "small room")
    # Written with the commit, before the ack (the same write): in as the ack is.
    assert [m["id"] for m in new_messages(people[0], show.id)] == [saved["id"]]
    await all_delivered(people, show.id, 1)
