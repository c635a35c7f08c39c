"""send_message's rules: trimming, the length limit, the product document's error messages."""

import pytest
from support.expect import assert_error, assert_message
from support.scenes import pair_in_show
from support.settings import MESSAGE_MAX_LENGTH


async def test_text_is_trimmed(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, " \t\n  padded message \n\t ")
    assert echo["message"] == "padded message"
    assert db.messages(show)[-1].message == "padded message"


async def test_inner_whitespace_is_kept(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, "line one\n\n  line  two")
    assert echo["message"] == "line one\n\n  line  two"


async def test_max_length_is_accepted(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    text = "y" * MESSAGE_MAX_LENGTH
    assert_message(await alice.client.say(show.id, text), show=show, user=alice.user, text=text)


async def test_max_length_counts_after_trimming(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    text = "y" * MESSAGE_MAX_LENGTH
    echo = await alice.client.say(show.id, f"   {text}   ")
    assert_message(echo, show=show, user=alice.user, text=text)


async def test_max_length_counts_characters_not_bytes(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    text = "é" * MESSAGE_MAX_LENGTH
    assert (await alice.client.say(show.id, text))["message"] == text


async def test_one_over_the_limit_is_message_too_long(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit(
        "send_message", {"show_id": show.id, "message": "x" * (MESSAGE_MAX_LENGTH + 1)}
    )
    assert_error(
        await alice.client.wait_for("error"), event="send_message", message="Message too long"
    )
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message") == [] and db.messages(show) == []


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"message": "no show"}, id="no_show_id"),
        pytest.param({"show_id": "SHOW"}, id="no_message"),
        pytest.param({"show_id": "SHOW", "message": ""}, id="empty_message"),
        pytest.param({"show_id": "SHOW", "message": " \n\t "}, id="blank_message"),
        pytest.param({"show_id": "SHOW", "message": None}, id="null_message"),
        pytest.param({"show_id": None, "message": "hi"}, id="null_show_id"),
    ],
)
async def test_missing_parts_are_missing_show_id_or_message(payload, db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    payload = {key: show.id if value == "SHOW" else value for key, value in payload.items()}
    await alice.client.emit("send_message", payload)
    assert_error(
        await alice.client.wait_for("error"),
        event="send_message",
        message="Missing show_id or message",
    )
    assert db.messages(show) == []


async def test_sending_before_joining_is_not_in_show_chat_room(db, connect):
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.emit("send_message", {"show_id": show.id, "message": "hello?"})
    assert_error(
        await client.wait_for("error"), event="send_message", message="Not in show chat room"
    )
    assert db.messages(show) == []


async def test_sending_after_leaving_is_not_in_show_chat_room(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.leave(show.id)
    await alice.client.emit("send_message", {"show_id": show.id, "message": "still here?"})
    assert_error(
        await alice.client.wait_for("error"), event="send_message", message="Not in show chat room"
    )
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message") == [] and db.messages(show) == []


async def test_sending_to_another_show_than_the_joined_one_is_refused(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    elsewhere = db.add_show()
    await alice.client.emit("send_message", {"show_id": elsewhere.id, "message": "wrong room"})
    assert_error(
        await alice.client.wait_for("error"), event="send_message", message="Not in show chat room"
    )
    assert db.messages(elsewhere) == []


async def test_another_tab_of_a_member_must_join_too(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    other_tab = await connect(alice.user)
    await other_tab.emit("send_message", {"show_id": show.id, "message": "from a new tab"})
    assert_error(
        await other_tab.wait_for("error"), event="send_message", message="Not in show chat room"
    )
