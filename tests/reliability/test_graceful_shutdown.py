"""Graceful shutdown on SIGTERM: the server takes no new connection, lets the events it is
handling finish, closes every socket (clients reconnect elsewhere), checks every present user
out, stores every message it acknowledged, and exits 0 within SHUTDOWN_GRACE."""

import asyncio
from dataclasses import dataclass, field

import pytest
import socketio
from sqlalchemy.engine import make_url
from support.client import ChatClient
from support.expect import acked_message
from support.rigs import ROOMY, Rig, stored
from support.settings import HOST, TIMEOUT
from support.tcp_proxy import TcpProxy

GRACE = 4.0
EXIT_MARGIN = 3.0


@dataclass
class Ledger:
    acked: list[int] = field(default_factory=list)


async def call_unless_gone(client: ChatClient, event: str, data: dict):
    """The ack, or None when the connection closes first (an ack can never come then)."""
    since = client.mark()
    call = asyncio.ensure_future(client.call(event, data, timeout=GRACE + TIMEOUT))
    gone = asyncio.ensure_future(
        client.wait_for("disconnect", since=since, timeout=GRACE + TIMEOUT)
    )
    done, pending = await asyncio.wait({call, gone}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if call in done and call.exception() is None:
        return call.result()
    return None


async def keep_sending(client: ChatClient, show, tag: str, ledger: Ledger) -> None:
    """Acknowledged sends back to back until the connection goes."""
    for n in range(10_000):
        ack = await call_unless_gone(
            client,
            "send_message",
            {"show_id": show.id, "message": f"{tag} {n}", "client_msg_id": f"{tag}-{n}"},
        )
        if ack is None or not client.connected:
            return
        if ack.get("ok") is True:
            ledger.acked.append(acked_message(ack)["id"])


def assert_clean_shutdown_log(rig: Rig) -> None:
    after_signal = rig.server.log().split("draining before shutdown", 1)[-1]
    assert "draining failed" not in after_signal, after_signal[-3000:]
    assert "Traceback" not in after_signal, after_signal[-3000:]
    assert "drained" in after_signal


async def test_sigterm_drains_every_connection_and_exits_0(launch):
    rig = await launch(SHUTDOWN_GRACE=GRACE, **ROOMY)
    show = rig.db.add_show()
    people = [rig.db.add_user() for _ in range(5)]
    transports = ["websocket", "websocket", "polling", "polling", "websocket"]
    clients = [
        await rig.connect(user, transport=transport) for user, transport in zip(people, transports)
    ]
    clients.append(await rig.connect(people[4], transport="polling"))  # a second tab
    for client in clients:
        await client.join(show.id)

    ledger = Ledger()
    senders = [
        asyncio.create_task(keep_sending(client, show, f"s{n}", ledger))
        for n, client in enumerate(clients[:4])
    ]
    try:
        # Messages are in flight when the signal comes.
        await clients[-1].wait_until(lambda: len(ledger.acked) >= 20, what="20 stored messages")
        rig.terminate()
        await rig.wait_for_log("draining ")

        # No new connection is accepted once draining has begun. Polling: a websocket that
        # meets uvicorn's own shutdown is closed with 1012, which python-engineio's client
        # mistakes for a packet (TypeError) instead of a refusal.
        newcomer = rig.client("polling")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await newcomer.connect(auth=rig.tokens.access(rig.db.add_user().id))
        # Every client sees its connection close (a reconnecting client would go elsewhere).
        for client in clients:
            await client.wait_for("disconnect", timeout=GRACE + EXIT_MARGIN)
        code = await rig.exit_code(timeout=GRACE + EXIT_MARGIN)
    finally:
        await asyncio.gather(*senders)

    assert code is not None, f"still running {GRACE + EXIT_MARGIN}s after SIGTERM"
    assert_clean_shutdown_log(rig)
    ids = {row.id for row in stored(rig.db, show)}
    missing = [i for i in ledger.acked if i not in ids]
    assert not missing, f"acknowledged as stored, but not in the database: {missing}"
    for user in people:
        row = rig.db.checkin(user, show)
        assert row is not None and row.checked_out_at is not None, (
            f"user {user.id} is still checked in after the shutdown: {row}"
        )
    assert code == 0, f"exit status {code} after SIGTERM (negative: killed by that signal)"


async def test_sigterm_while_users_are_leaving_drains_cleanly(launch, reliability_postgres):
    """Users leave while the database does not answer (a paused proxy), the signal comes,
    then the database is back: the drain does not trip over connections that went away by
    themselves, and their check-outs, still unwritten at the signal, are written before the
    process exits."""
    proxy = await TcpProxy(
        make_url(reliability_postgres.server).host or HOST,
        make_url(reliability_postgres.server).port or 5432,
    ).start()
    try:
        database_url = make_url(reliability_postgres.server).set(host=HOST, port=proxy.port)
        rig = await launch(
            SHUTDOWN_GRACE=GRACE,
            DB_TIMEOUT=GRACE,
            database_url=database_url.render_as_string(hide_password=False),
        )
        show = rig.db.add_show()
        leavers = [rig.db.add_user() for _ in range(3)]
        clients = [await rig.connect(user) for user in leavers]
        for client in clients:
            await client.join(show.id)
        # Someone outside the show, who asks who is in it (presence needs no database).
        observer = await rig.connect(rig.db.add_user())

        proxy.pause()  # check-outs cannot be written from now on
        for client in clients:
            await client.close()

        async def present() -> list[int]:
            ack = await observer.call("get_active_users", {"show_id": show.id})
            assert ack.get("ok") is True, ack
            return [entry["user_id"] for entry in ack["active_users"]]

        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while await present():  # each departure is under way: gone, check-out unwritten
            assert loop.time() < deadline, "the leavers never left the show"
            await asyncio.sleep(0.02)
        rig.terminate()
        await rig.wait_for_log("draining ")
        proxy.restore()
        await observer.wait_for("disconnect", timeout=GRACE + EXIT_MARGIN)
        code = await rig.exit_code(timeout=GRACE + EXIT_MARGIN)
        assert code is not None, f"still running {GRACE + EXIT_MARGIN}s after SIGTERM"
        assert_clean_shutdown_log(rig)
        for user in leavers:
            row = rig.db.checkin(user, show)
            assert row is not None and row.checked_out_at is not None, (
                f"user {user.id} is still checked in after the shutdown: {row}"
            )
    finally:
        await proxy.close()
