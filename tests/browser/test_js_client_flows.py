"""The product document's flows with the real JavaScript client: tests/js/chat-flows.mjs runs
socket.io-client (the version pinned in tests/js/package-lock.json) in Node against a real
server, on ['websocket', 'polling'] and on ['polling'] only, logging in through
/api/dev/login and connecting with the cookie and with `auth: {token}`. Each test below reads
the checks of one flow from the script's JSON summary (one run for the module)."""

from __future__ import annotations

import json

import pytest

# npm ci on a first run, a server, and a Node script bounded at 120 s by its own watchdog.
pytestmark = pytest.mark.timeout(420)

TRANSPORT_SETS = ("websocket+polling", "polling")
SEEDED_TEXTS = ["Doors at 7, opener at 8", "Anyone near the sound desk?", "Setlist leaked!"]


@pytest.fixture(scope="module")
def flows(run_js, dev_server):
    """Fresh shows (two of them with seeded history), then one run of chat-flows.mjs."""
    db = dev_server.db
    host = db.add_user()
    shows = [db.add_show() for _ in range(4)]  # chat and reconnect, per transport set
    seeded = {}
    for show in (shows[0], shows[2]):
        ids = db.add_messages(show, host, SEEDED_TEXTS)
        seeded[str(show.id)] = [
            {"id": message_id, "user_id": host.id, "username": host.username, "message": text}
            for message_id, text in zip(ids, SEEDED_TEXTS)
        ]
    args = ["--api", dev_server.base_url, "--seeded", json.dumps(seeded)]
    for show in shows:
        args += ["--show", str(show.id)]
    run = run_js("chat-flows.mjs", *args, server=dev_server.server)
    run.shows = shows
    return run


def assert_flow_passed(flows, group: str) -> None:
    checks = flows.checks(group)
    assert checks, f"chat-flows.mjs ran no {group!r} checks:\n{flows.report()}"
    covered = {
        label
        for label in TRANSPORT_SETS
        if any(check["scenario"].startswith(f"{label} ") for check in checks)
    }
    assert covered == set(TRANSPORT_SETS), f"{group!r} checks ran on {covered} only"
    failed = [check for check in checks if not check["ok"]]
    assert not failed, f"{len(failed)} {group!r} check(s) failed:\n{flows.report(checks)}"


def test_the_script_passes_every_check(flows):
    assert flows.summary["ok"] and flows.returncode == 0, (
        f"exit {flows.returncode}; {flows.summary['failed']} failed:\n{flows.report()}"
    )
    assert flows.summary["passed"] >= 40, flows.report()


def test_connects_with_the_cookie_and_with_an_auth_token_on_both_transports(flows):
    assert_flow_passed(flows, "connect")


def test_join_show_sends_message_history_then_active_users(flows):
    assert_flow_passed(flows, "join")


def test_history_holds_the_seeded_and_the_sent_messages_in_order(flows):
    assert_flow_passed(flows, "history")
    names = [check["name"] for check in flows.checks("history")]
    assert sum("seeded" in name for name in names) == 2, names


def test_send_message_reaches_everyone_including_the_sender_with_an_ack(flows):
    assert_flow_passed(flows, "send")


def test_typing_reaches_the_other_user_only(flows):
    assert_flow_passed(flows, "typing")


def test_get_active_users_lists_the_room(flows):
    assert_flow_passed(flows, "active_users")


def test_leave_show_tells_the_others_and_stops_delivery(flows):
    assert_flow_passed(flows, "leave")


def test_a_dropped_connection_reconnects_and_resumes_without_loss_or_duplicates(flows):
    assert_flow_passed(flows, "reconnect")
    reconnects = flows.summary["reconnects"]
    assert [r["transports"] for r in reconnects] == list(TRANSPORT_SETS), reconnects
    for reconnect in reconnects:
        assert reconnect["resumed_from_history"] >= 1, reconnect
        assert reconnect["live_after_rejoin"] >= 3, reconnect


def test_messages_the_js_client_sent_are_stored(flows, dev_server):
    chat_show = flows.shows[0]
    stored = [row.message for row in dev_server.db.messages(chat_show)]
    assert stored[: len(SEEDED_TEXTS)] == SEEDED_TEXTS
    for text in (
        "Doors just opened (websocket+polling)",
        "Great set (websocket+polling)",
        "Encore! (websocket+polling)",
    ):
        assert stored.count(text) == 1, (text, stored)
    resumed = [row.message for row in dev_server.db.messages(flows.shows[1])]
    sent = next(
        r["sent"] for r in flows.summary["reconnects"] if r["transports"] == "websocket+polling"
    )
    assert resumed == [f"resume websocket+polling #{n}" for n in range(sent)]
