"""Small set-ups many tests start from: people connected and in a show."""

from dataclasses import dataclass

from .client import ChatClient, about, for_show
from .database import Show, User
from .expect import active_user_ids


@dataclass
class Person:
    user: User
    client: ChatClient


async def fan_in_show(db, connect) -> tuple[Show, Person]:
    """One user, connected and in a new show."""
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    return show, Person(fan, client)


async def pair_in_show(db, connect) -> tuple[Show, Person, Person]:
    """Two users in a new show; the first has seen the second join."""
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    first = await connect(alice)
    await first.join(show.id)
    second = await connect(bob)
    await second.join(show.id)
    await first.wait_for("user_joined", about(bob))
    return show, Person(alice, first), Person(bob, second)


async def assert_still_usable(person: Person, show: Show) -> None:
    """The connection still answers an acknowledged get_active_users, and the user is still
    listed in the show they joined."""
    since = person.client.mark()
    ack = await person.client.call("get_active_users", {"show_id": show.id})
    assert isinstance(ack, dict) and ack.get("ok") is True, f"get_active_users: {ack!r}"
    active = await person.client.wait_for("active_users", for_show(show.id), since=since)
    assert person.user.id in active_user_ids(active), active
    assert person.client.connected
