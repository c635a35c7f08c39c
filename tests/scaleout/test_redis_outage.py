"""Redis crashes and comes back (SIGKILL, then a new redis-server on the same port, empty)
while two processes serve clients who keep sending. The service keeps storing and
acknowledging messages, says it is not ready while Redis is away, and recovers its
subscriptions and presence by itself; no acknowledged message is lost.

The story runs once (the `outage` fixture, about 15 s) and records what happened; each test
checks one promise against that record, so that one broken promise does not hide another."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from support.client import ChatClient, for_show
from support.expect import active_user_ids
from support.rigs import ROOMY, stored
from support.scaleout import (
    Cluster,
    RedisServer,
    assert_once_in_order,
    make_cluster,
    message_ids,
    timeline,
)

SENDS_DURING_OUTAGE = 3  # per sender
RECOVERY_TIMEOUT = 20.0  # Redis back -> subscriptions and presence restored
SEND_TIMEOUT = 10.0


@dataclass
class Send:
    process: int
    text: str
    ack: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return isinstance(self.ack, dict) and self.ack.get("ok") is True

    @property
    def id(self) -> int | None:
        return self.ack["message"]["id"] if self.ok else None


@dataclass
class Outage:
    """What happened, step by step."""

    cluster: Cluster
    show: Any
    users: dict[str, Any]
    clients: dict[str, ChatClient]
    before_ids: list[int] = field(default_factory=list)
    ready_during: list[int | None] = field(default_factory=list)
    ready_after: list[int | None] = field(default_factory=list)
    during: list[Send] = field(default_factory=list)
    after: list[Send] = field(default_factory=list)
    presence_after: dict[int, list[int]] = field(default_factory=dict)
    presence_restored_in: float | None = None
    delivered_after: dict[str, bool] = field(default_factory=dict)
    live: dict[str, list[int]] = field(default_factory=dict)  # new_message ids, stayers
    # Resumes: who -> (ids seen before resuming, the resumed client, its mark).
    resumes: dict[str, tuple[list[int], ChatClient, int]] = field(default_factory=dict)

    def acked_ids(self) -> list[int]:
        return sorted(self.before_ids + [s.id for s in self.during + self.after if s.ok])


async def _send(client: ChatClient, show_id: int, process: int, text: str) -> Send:
    send = Send(process, text)
    started = time.monotonic()
    try:
        send.ack = await client.call(
            "send_message", {"show_id": show_id, "message": text}, timeout=SEND_TIMEOUT
        )
    except Exception as exc:  # recorded; the tests judge
        send.error = f"{type(exc).__name__}: {exc}"
    send.seconds = time.monotonic() - started
    return send


async def _poll(probe, timeout: float, pause: float = 0.1):
    """The first truthy value of `await probe()`, or the last value after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await probe()
        except Exception:  # not answering counts as not yet
            value = None
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(pause)


@pytest.fixture(scope="module")
async def outage(scaleout_postgres, scaleout_db, redis_available, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("outage")
    redis = RedisServer(workdir)
    redis.start()
    cluster = make_cluster(
        2, scaleout_postgres.server, scaleout_db, redis.url(0), workdir, "outage", **ROOMY
    )
    try:
        await cluster.start()
        yield await _story(cluster, redis, scaleout_db)
    finally:
        await cluster.stop()
        redis.stop()


async def _story(cluster: Cluster, redis: RedisServer, db) -> Outage:
    show = db.add_show()
    users = {name: db.add_user() for name in ("alice", "bob", "carol")}
    clients = {
        "alice": await cluster.connect(users["alice"], 0),
        "bob": await cluster.connect(users["bob"], 1),
        "carol": await cluster.connect(users["carol"], 1),
    }
    for client in clients.values():
        await client.join(show.id)
    story = Outage(cluster, show, users, clients)

    # Before: both directions work.
    for name, _process in (("alice", 0), ("bob", 1)):
        said = await clients[name].say(show.id, f"before from {name}")
        story.before_ids.append(said["id"])
    for client in clients.values():
        await client.wait_until(
            lambda c=client: set(story.before_ids) <= set(message_ids(c, show.id)),
            what="the messages before the outage",
        )

    redis.kill()
    story.ready_during = [
        await _poll(lambda n=n: _status(cluster, n, 503), 10) for n in range(len(cluster))
    ]
    for n in range(SENDS_DURING_OUTAGE):
        story.during.append(await _send(clients["alice"], show.id, 0, f"during {n} from alice"))
        story.during.append(await _send(clients["bob"], show.id, 1, f"during {n} from bob"))

    redis.start()
    restarted = time.monotonic()
    story.ready_after = [
        await _poll(lambda n=n: _status(cluster, n, 200), RECOVERY_TIMEOUT)
        for n in range(len(cluster))
    ]

    # Presence comes back by itself: every process lists all three again.
    everyone = sorted(user.id for user in users.values())

    async def listed(client) -> list[int] | None:
        ids = sorted(active_user_ids(await client.active_users(show.id)))
        return ids if ids == everyone else None

    for process, name in ((0, "alice"), (1, "bob")):
        story.presence_after[process] = await _poll(
            lambda c=clients[name]: listed(c), RECOVERY_TIMEOUT
        ) or sorted(active_user_ids(await clients[name].active_users(show.id)))
    story.presence_restored_in = time.monotonic() - restarted

    # Cross-process delivery comes back: one message each way.
    for name, process, reader in (("alice", 0, "bob"), ("bob", 1, "alice")):
        send = await _send(clients[name], show.id, process, f"after from {name}")
        story.after.append(send)
        if not send.ok:
            story.delivered_after[name] = False
            continue
        try:
            await clients[reader].wait_for(
                "new_message", lambda d, i=send.id: d.get("id") == i, timeout=RECOVERY_TIMEOUT
            )
            story.delivered_after[name] = True
        except AssertionError:
            story.delivered_after[name] = False

    # Let every member have what a process delivers late (the check comes later).
    everything = [row.id for row in stored(db, show)]
    for client in clients.values():
        with contextlib.suppress(AssertionError):
            await client.wait_until(
                lambda c=client: set(message_ids(c, show.id)) >= set(everything), timeout=5
            )
    story.live = {name: message_ids(client, show.id) for name, client in clients.items()}

    # Every member is then cut off and resumes on the other process from the last message
    # it saw: alice and bob as they stayed through the outage; carol from the last one
    # before it, as a client cut off just before Redis went would.
    seen = dict(story.live.items())
    seen["carol"] = [i for i in seen["carol"] if i <= max(story.before_ids)]
    for name, process in (("alice", 0), ("bob", 1), ("carol", 1)):
        await clients[name].drop()
        resumed = cluster.client(1 - process)
        await resumed.connect(auth=cluster.tokens.access(users[name].id))
        since = resumed.mark()
        ack = await resumed.call(
            "join_show", {"show_id": show.id, "last_message_id": seen[name][-1]}
        )
        assert ack.get("ok") is True, ack
        await resumed.wait_for("message_history", for_show(show.id), since=since)
        story.resumes[name] = (seen[name], resumed, since)
    return story


async def _status(cluster: Cluster, node: int, wanted: int) -> int | None:
    status = await cluster.ready_status(node)
    return status if status == wanted else None


def _describe(sends: list[Send]) -> str:
    return "; ".join(
        f"{s.text!r} on process {s.process}: "
        f"{s.ack if s.ack is not None else s.error} ({s.seconds:.1f}s)"
        for s in sends
    )


# ---------------------------------------------------------------------------- the promises


async def test_sends_are_acknowledged_and_stored_while_redis_is_down(outage, scaleout_db):
    failed = [send for send in outage.during if not send.ok]
    assert not failed, f"sends refused while Redis was down: {_describe(failed)}"
    rows = {row.id: row.message for row in stored(scaleout_db, outage.show)}
    for send in outage.during:
        assert rows.get(send.id) == send.text, f"{send.text!r} acked as {send.id} but not stored"


async def test_readyz_is_503_while_redis_is_down_and_200_after(outage):
    assert outage.ready_during == [503] * len(outage.cluster), (
        f"/readyz while Redis was down: {outage.ready_during}"
    )
    assert outage.ready_after == [200] * len(outage.cluster), (
        f"/readyz after Redis came back: {outage.ready_after}"
    )


async def test_presence_is_right_again_on_every_process_after_redis_restarts(outage):
    everyone = sorted(user.id for user in outage.users.values())
    assert outage.presence_after == {0: everyone, 1: everyone}, (
        f"active_users {outage.presence_restored_in:.1f}s after Redis came back: "
        f"{outage.presence_after}"
    )


async def test_cross_process_delivery_works_again_after_redis_restarts(outage):
    failed = [send for send in outage.after if not send.ok]
    assert not failed, f"sends after the outage: {_describe(failed)}"
    assert outage.delivered_after == {"alice": True, "bob": True}, (
        f"delivered to the other process after the outage: {outage.delivered_after}"
    )


async def test_no_acknowledged_message_is_lost(outage, scaleout_db):
    rows = [row.id for row in stored(scaleout_db, outage.show)]
    missing = sorted(set(outage.acked_ids()) - set(rows))
    assert not missing, f"acknowledged but not stored: {missing}"


async def test_members_resuming_after_the_outage_get_exactly_what_they_missed(outage, scaleout_db):
    """Each member, cut off after the outage, resumes on the other process with the last
    message id it saw: what it saw and what it gets then are every stored message, once."""
    everything = [row.id for row in stored(scaleout_db, outage.show)]
    problems = []
    for name, (seen, resumed, since) in outage.resumes.items():
        got = timeline(resumed, outage.show.id, since)
        try:
            assert_once_in_order(
                got,
                [i for i in everything if i > seen[-1]],
                f"{name} resuming after message {seen[-1]}",
            )
        except AssertionError as exc:
            problems.append(str(exc))
        missing = sorted(set(everything) - set(seen + got))
        if missing:
            problems.append(f"{name} never got messages {missing} (saw {seen}, then {got})")
    assert not problems, "; ".join(problems) + f" (stored: {everything})"


async def test_members_who_stayed_connected_get_every_message_once_in_order(outage, scaleout_db):
    """What a process could not deliver while Redis was away reaches its members once Redis
    is back (fallback.py: delivering from the database, then catching up): every member
    that stayed connected ends up with every stored message, once, in id order."""
    everything = [row.id for row in stored(scaleout_db, outage.show)]
    problems = []
    for name in ("alice", "bob"):
        try:
            assert_once_in_order(outage.live[name], everything, name)
        except AssertionError as exc:
            problems.append(f"{exc} (got {outage.live[name]})")
    assert not problems, "; ".join(problems) + f" (stored: {everything})"
