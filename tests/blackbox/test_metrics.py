"""GET /metrics: Prometheus's text format, with counters that follow what happens."""

import re


def sample(text: str, name: str, labels: str = "") -> float:
    """The value of one sample (`name{labels}`) in an exposition, 0.0 when absent."""
    pattern = re.escape(name) + (r"\{" + re.escape(labels) + r"\}" if labels else "") + r" (\S+)"
    match = re.search(r"^" + pattern + r"$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_metrics_count_events_messages_errors_and_connections(db, connect, http):
    before = (await http.get("/metrics")).text
    fan, show = db.add_user(), db.add_show()
    client = await connect(fan)
    await client.join(show.id)
    await client.say(show.id, "counted")
    await client.call("join_show", {"show_id": 2_000_000_000})
    response = await http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    assert (
        sample(after, "sharemyshows_messages_stored_total")
        >= sample(before, "sharemyshows_messages_stored_total") + 1
    )
    assert (
        sample(after, "sharemyshows_events_received_total", 'event="join_show"')
        >= sample(before, "sharemyshows_events_received_total", 'event="join_show"') + 2
    )
    assert (
        sample(after, "sharemyshows_errors_total", 'message="Show not found"')
        >= sample(before, "sharemyshows_errors_total", 'message="Show not found"') + 1
    )
    assert sample(after, "sharemyshows_connections") >= 1
    assert f'sharemyshows_show_connections{{show_id="{show.id}"}}' in after
    assert "sharemyshows_handler_seconds_bucket" in after
    assert "sharemyshows_db_seconds_bucket" in after


async def test_unknown_event_names_do_not_grow_the_label_set(db, connect, http):
    client = await connect(db.add_user())
    for name in ("a_made_up_event", "another_one", "x" * 50):
        await client.call(name, {})
    text = (await http.get("/metrics")).text
    assert "a_made_up_event" not in text and "another_one" not in text
    assert 'sharemyshows_events_received_total{event="other"}' in text
