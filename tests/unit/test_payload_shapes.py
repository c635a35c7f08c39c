"""The plain dicts built on busy paths have exactly the shape of the model documented for
them: the TypedDict that types the builder and the pydantic model name the same fields, and
what the builders really build validates against the model."""

from datetime import UTC, datetime
from typing import get_type_hints

import pytest

from sharemyshows_rt.backends.memory.presence import MemoryPresence
from sharemyshows_rt.chat.roster import Roster
from sharemyshows_rt.db.repositories import StoredMessage
from sharemyshows_rt.schemas import (
    ActiveUsersPage,
    ActiveUsersPayload,
    MessageOut,
    NewMessage,
    PresenceChange,
    PresenceChangePayload,
    UserRef,
    message_payload,
)


@pytest.mark.parametrize(
    ("typed", "model"),
    [
        (NewMessage, MessageOut),
        (ActiveUsersPayload, ActiveUsersPage),
        (PresenceChangePayload, PresenceChange),
    ],
)
def test_each_typed_dict_names_its_models_fields(typed, model):
    assert set(get_type_hints(typed)) == set(model.model_fields)


@pytest.mark.parametrize("client_msg_id", [None, "c-1"])
def test_message_payload_is_a_message_out(client_msg_id):
    stored = StoredMessage(7, 3, 5, "ann", "hi", datetime(2026, 1, 2, tzinfo=UTC), client_msg_id)
    payload = message_payload(stored)
    assert list(payload) == list(get_type_hints(NewMessage)) == list(MessageOut.model_fields)
    assert MessageOut.model_validate(payload).model_dump() == payload


class Recorder:
    """A fan-out that keeps what the roster broadcasts."""

    def __init__(self):
        self.sent = []

    async def to_show(self, event, data, show_id, skip=None):
        self.sent.append((event, data))


async def fill(presence, show_id, users):
    for n in range(1, users + 1):
        await presence.join(show_id, n, f"u{n}", f"sid{n}")


async def test_roster_pages_and_changes_are_the_documented_models():
    presence, fanout = MemoryPresence(), Recorder()
    roster = Roster(presence, fanout, list_limit=2, coalesce_seconds=0.0)
    await fill(presence, 1, 2)
    page = await roster.page(1)
    assert ActiveUsersPage.model_validate(page).model_dump(exclude={"offset"}) == page
    await roster.joined(1, UserRef(user_id=2, username="u2"), "sid2")
    await roster.left(1, UserRef(user_id=2, username="u2"))
    await fill(presence, 1, 5)  # past the list limit: changes are folded into one
    await roster.joined(1, UserRef(user_id=5, username="u5"), "sid5")
    await roster.close()
    events = [event for event, _ in fanout.sent]
    assert events == ["user_joined", "user_left", "user_joined"]
    for _, change in fanout.sent:
        model = PresenceChange.model_validate(change)
        assert model.model_dump(exclude_none=True, exclude_defaults=False).keys() == change.keys()
    assert fanout.sent[-1][1]["joined_count"] == 1
