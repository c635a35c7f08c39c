"""A user-wide send limit: one account joined to many shows cannot send each of them its
per-show rate. SEND_RATE_USER / SEND_BURST_USER bound its sends across shows, refused with
the same `Rate limit exceeded` and `retry_after_ms` (across processes: tests/scaleout/
test_cluster_limits.py)."""

from support.expect import acked_message, assert_error, assert_failed_ack
from support.rigs import stored

# Per show: the defaults (5/s, bursts of 10). Across shows: bursts of 6, one more each 20 s.
USER_LIMITS = {"SEND_RATE_USER": 0.05, "SEND_BURST_USER": 6}


async def test_sends_across_shows_are_refused_past_the_user_burst(launch):
    rig = await launch(**USER_LIMITS)
    fan = rig.db.add_user()
    shows = [rig.db.add_show() for _ in range(3)]
    tab = await rig.connect(fan)
    for show in shows:
        await tab.join(show.id)
    acks = []
    for n in range(9):  # three to each show: well under each show's burst
        show = shows[n % 3]
        since = tab.mark()
        acks.append(
            (since, await tab.call("send_message", {"show_id": show.id, "message": f"message {n}"}))
        )
    for _, ack in acks[:6]:
        acked_message(ack)
    for since, ack in acks[6:]:
        assert_failed_ack(ack, "Rate limit exceeded")
        assert 1 <= ack["error"]["retry_after_ms"] <= 20_000, ack
        assert_error(
            await tab.wait_for("error", since=since),
            event="send_message",
            message="Rate limit exceeded",
        )
    assert sum(len(stored(rig.db, show)) for show in shows) == 6

    # Another account has a bucket of its own.
    other = await rig.connect(rig.db.add_user())
    await other.join(shows[0].id)
    acked_message(await other.call("send_message", {"show_id": shows[0].id, "message": "hi"}))


async def test_a_refusal_by_one_limit_spends_no_token_of_the_other(launch):
    """Refused by the show's bucket: the account's bucket keeps its token for other shows."""
    rig = await launch(SEND_RATE=0.05, SEND_BURST=2, **USER_LIMITS)
    fan = rig.db.add_user()
    busy, quiet = rig.db.add_show(), rig.db.add_show()
    tab = await rig.connect(fan)
    await tab.join(busy.id)
    await tab.join(quiet.id)
    busy_acks = [
        await tab.call("send_message", {"show_id": busy.id, "message": f"b{n}"}) for n in range(6)
    ]
    assert [ack["ok"] for ack in busy_acks] == [True, True, False, False, False, False]
    # Two of the account's six spent; the four refusals spent none.
    quiet_acks = [
        await tab.call("send_message", {"show_id": quiet.id, "message": f"q{n}"}) for n in range(2)
    ]
    assert [ack["ok"] for ack in quiet_acks] == [True, True]
