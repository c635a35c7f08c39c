"""The text of a message: kept verbatim, and what happens to text a database cannot hold."""

import asyncio

import pytest
from support.client import for_show
from support.expect import acked_message, assert_error, assert_message
from support.scenes import assert_still_usable, pair_in_show

VERBATIM = [
    pytest.param("Ça va? ¿Qué tal? Grüße, 你好, こんにちは, مرحبا", id="accents_cjk_rtl"),
    pytest.param("🎸🔥🤘🏽 👨‍👩‍👧‍👦 🏳️‍🌈", id="emoji_zwj_skin_tones"),
    pytest.param(
        "e\u0301 combining, \u200b zero width, \u202e right-to-left override",
        id="combining_and_invisible",
    ),
    pytest.param("<script>alert('hi')</script> & <b>bold</b> &amp; &lt;", id="html"),
    pytest.param('{"show_id": 1} \\n \\u0000 "quotes" \'single\' `tick`', id="json_and_escapes"),
    pytest.param("Robert'); DROP TABLE chat_messages;--", id="sql"),
]


@pytest.mark.parametrize("text", VERBATIM)
async def test_text_is_kept_verbatim(text, db, connect, http, tokens):
    show, alice, bob = await pair_in_show(db, connect)
    echo = await alice.client.say(show.id, text)
    assert_message(echo, show=show, user=alice.user, text=text)
    assert (await bob.client.wait_for("new_message", for_show(show.id)))["message"] == text
    assert db.messages(show)[-1].message == text
    response = await http.get(
        f"/api/shows/{show.id}/messages",
        headers={"Authorization": f"Bearer {tokens.access(alice.user.id)}"},
    )
    assert [m["message"] for m in response.json()["messages"]] == [text]


async def test_nul_character_is_handled_one_way_everywhere(db, connect):
    """A NUL may be refused with an error or kept; either way the answer is coherent:
    refused means nothing stored and nobody told, kept means the same text everywhere."""
    show, alice, bob = await pair_in_show(db, connect)
    text = "before\x00after"
    ack = await alice.client.call("send_message", {"show_id": show.id, "message": text})
    await bob.client.active_users(show.id)  # barrier
    if ack.get("ok") is True:
        saved = acked_message(ack)
        assert saved["message"] == text
        assert [m["message"] for m in bob.client.received("new_message")] == [text]
        assert [row.message for row in db.messages(show)] == [text]
        latecomer = await connect(db.add_user())
        history, _ = await latecomer.join(show.id)
        assert [m["message"] for m in history["messages"]] == [text]
    else:
        assert bob.client.received("new_message") == [] and db.messages(show) == []
        assert_error(await alice.client.wait_for("error"), event="send_message")
    await assert_still_usable(alice, show)


async def test_nul_character_is_not_a_server_failure(db, connect):
    """Refusing a NUL is refusing bad input: not `Service unavailable` or `Internal error`,
    which tell the client to try the very same thing again later."""
    show, alice, _ = await pair_in_show(db, connect)
    ack = await alice.client.call("send_message", {"show_id": show.id, "message": "a\x00b"})
    if ack.get("ok") is not True:
        assert ack["error"]["message"] not in ("Service unavailable", "Internal error"), ack


async def test_lone_surrogate_gets_an_error_and_nothing_is_stored(db, connect):
    show, alice, bob = await pair_in_show(db, connect)
    await alice.client.emit("send_message", {"show_id": show.id, "message": "broken \ud800 text"})
    assert_error(await alice.client.wait_for("error"), event="send_message")
    await bob.client.active_users(show.id)  # barrier
    assert bob.client.received("new_message") == [] and db.messages(show) == []
    await assert_still_usable(alice, show)
    assert (await alice.client.say(show.id, "fine again"))["message"] == "fine again"


async def test_lone_surrogate_is_refused_as_bad_input(db, connect):
    show, alice, _ = await pair_in_show(db, connect)
    ack = await alice.client.call("send_message", {"show_id": show.id, "message": "x\udfffy"})
    assert ack["ok"] is False
    assert ack["error"]["message"] not in ("Service unavailable", "Internal error"), ack


async def test_a_message_that_cannot_be_stored_does_not_fail_other_senders(db, connect):
    """Several fans send at the same moment, one of them text no database can hold: only
    that one is refused; everyone else's message is stored and delivered."""
    show = db.add_show()
    senders = []
    for _ in range(8):
        client = await connect(db.add_user())
        await client.join(show.id)
        senders.append(client)
    texts = [f"fine {n}" for n in range(len(senders) - 1)] + ["broken \ud800"]
    acks = await asyncio.gather(
        *(
            client.call("send_message", {"show_id": show.id, "message": text})
            for client, text in zip(senders, texts)
        )
    )
    refused = [text for text, ack in zip(texts, acks) if ack.get("ok") is not True]
    assert refused == ["broken \ud800"], f"refused: {refused}"
    assert sorted(row.message for row in db.messages(show)) == sorted(texts[:-1])
