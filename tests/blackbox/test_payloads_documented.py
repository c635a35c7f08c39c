"""What a real server sends is what /asyncapi.json says: every event and acknowledgement of a
whole conversation validates against its documented payload schema, and carries no field the
schema does not name."""

import jsonschema_rs
from support.client import for_show


def checker(document):
    """check(kind, name, data): `data` against the document's payload for message `name`."""
    messages, schemas = document["components"]["messages"], document["components"]["schemas"]

    def fields(ref):
        return set(schemas[ref.rsplit("/", 1)[1]]["properties"])

    def check(name, data):
        payload = messages[name]["payload"]
        validator = jsonschema_rs.validator_for({**payload, "components": document["components"]})
        errors = [e.message for e in validator.iter_errors(data)]
        assert errors == [], f"{name}: {data}: {errors}"
        refs = [branch["$ref"] for branch in payload.get("oneOf", [payload])]
        assert any(set(data) <= fields(ref) for ref in refs), f"{name}: undocumented {data}"

    return check


async def test_a_conversation_matches_the_asyncapi_document(db, connect, http):
    check = checker((await http.get("/asyncapi.json")).json())
    alice, bob, show = db.add_user(), db.add_user(), db.add_show()
    db.add_messages(show, alice, ["earlier"])
    first, second = await connect(alice), await connect(bob)
    acks = {"join_show": [await first.call("join_show", {"show_id": show.id})]}
    await first.wait_for("active_users", for_show(show.id))
    acks["join_show"].append(await second.call("join_show", {"show_id": show.id}))
    await first.wait_for("user_joined", for_show(show.id))
    calls = [
        ("typing", {"show_id": show.id, "is_typing": True}),
        ("send_message", {"show_id": show.id, "message": "hi", "client_msg_id": "c-1"}),
        ("send_message", {"show_id": show.id + 10**6, "message": "nowhere"}),
        ("get_message_history", {"show_id": show.id, "limit": 1}),
        ("get_active_users", {"show_id": show.id, "limit": 1}),
        ("mute_show", {"show_id": show.id}),
        ("unmute_show", {"show_id": show.id}),
        ("leave_show", {"show_id": show.id}),
    ]
    for event, payload in calls:
        acks.setdefault(event, []).append(await second.call(event, payload))
    await first.wait_for("user_left", for_show(show.id))
    await first.active_users(show.id)  # a barrier: everything before it has arrived

    for event, answers in acks.items():
        for ack in answers:
            check(f"{event}_ack", ack)
    assert any(ack["ok"] is False for ack in acks["send_message"])
    seen = set()
    for client in (first, second):
        for event, data in client.events:
            if event in ("connect", "disconnect"):
                continue
            check(event, data)
            seen.add(event)
    assert {
        "connected",
        "message_history",
        "active_users",
        "user_joined",
        "user_typing",
        "new_message",
        "error",
        "user_left",
    } <= seen
