"""`sharemyshows-rt serve --workers N`: N worker processes behind one port, sharing
presence and messages through Redis; refused without REDIS_URL; stopped as a whole by
SIGTERM to the parent."""

import asyncio
import os
import signal

import pytest
import socketio
from support.client import ChatClient
from support.expect import active_user_ids
from support.rigs import rig_environment
from support.scaleout import describe_process, serving_pid, wait_until, worker_pids
from support.server import free_port, run_cli
from support.settings import HOST, TIMEOUT

GRACE = 5  # SHUTDOWN_GRACE for the SIGTERM test, seconds
MAX_CLIENTS = 24  # connections tried until both workers hold at least one


async def _workers_up(server, count: int) -> set[int]:
    """The worker pids once `count` workers run and have finished starting up."""
    await wait_until(
        lambda: server.log().count("Application startup complete.") >= count,
        timeout=30,
        what=f"{count} workers started",
    )
    return await wait_until(
        lambda: (pids := worker_pids(server)) and len(pids) == count and pids,
        timeout=5,
        what=f"{count} worker processes",
    )


async def _spread(server, tokens, db, show) -> dict[int, list[tuple[object, ChatClient]]]:
    """Members of `show` connected (websocket) until both workers serve at least one,
    grouped by the worker holding each connection."""
    by_worker: dict[int, list] = {pid: [] for pid in worker_pids(server)}
    made = []
    try:
        while min(len(held) for held in by_worker.values()) == 0:
            assert len(made) < MAX_CLIENTS, (
                f"{MAX_CLIENTS} connections, all on one worker: {by_worker}"
            )
            # A few at once: the kernel hands a connection to whichever worker accepts first.
            batch = []
            for _ in range(4):
                user = db.add_user()
                client = ChatClient(server.base_url)
                made.append(client)
                batch.append((user, client))
            await asyncio.gather(
                *(client.connect(auth=tokens.access(user.id)) for user, client in batch)
            )
            for user, client in batch:
                await client.join(show.id)
                pid = serving_pid(client, server)
                assert pid in by_worker, f"connection held by {pid}, not a worker {by_worker}"
                by_worker[pid].append((user, client))
    except BaseException:
        await asyncio.gather(*(client.close() for client in made), return_exceptions=True)
        raise
    return by_worker


async def test_two_workers_on_one_port_serve_one_chat(launch_workers, scaleout_db):
    db, show = scaleout_db, scaleout_db.add_show()
    server = await launch_workers(2)
    await _workers_up(server, 2)
    by_worker = await _spread(server, launch_workers.tokens, db, show)
    members = [member for held in by_worker.values() for member in held]
    try:
        everyone = sorted(user.id for user, _ in members)
        for _user, client in members:
            assert sorted(active_user_ids(await client.active_users(show.id))) == everyone
        # One message from a member of each worker reaches every member of both.
        sent = []
        for held in by_worker.values():
            user, client = held[0]
            sent.append(await client.say(show.id, f"from worker, {user.username}"))
        for _user, client in members:
            for message in sent:
                await client.wait_for(
                    "new_message", lambda data, i=message["id"]: data.get("id") == i
                )
    finally:
        await asyncio.gather(*(client.close() for _, client in members), return_exceptions=True)


async def test_two_workers_refuse_long_polling_at_once_and_say_why(launch_workers, scaleout_db):
    """Workers share one socket, so a long-polling session's requests would land on either
    worker, and only one holds the session: under --workers the server is WebSocket-only
    (socket.io-client's default order, ['websocket', 'polling'], connects at once) and says
    so at start. A polling-only client is refused at once, not left hanging."""
    db, show = scaleout_db, scaleout_db.add_show()
    server = await launch_workers(2)
    await _workers_up(server, 2)
    assert "WebSocket only" in server.log()
    user = db.add_user()
    client = ChatClient(server.base_url, transport="polling")
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(auth=launch_workers.tokens.access(user.id))
        assert loop.time() - started < TIMEOUT
        websocket = ChatClient(server.base_url, transport="websocket")
        try:
            await websocket.connect(auth=launch_workers.tokens.access(user.id))
            await websocket.join(show.id)
            await websocket.say(show.id, "websocket works")
        finally:
            await websocket.close()
    finally:
        await client.close()


async def test_several_workers_without_redis_url_are_refused_with_one_line(scaleout_postgres):
    env = rig_environment(scaleout_postgres.server, "a-secret-for-this-test")
    env.pop("REDIS_URL", None)
    result = await asyncio.to_thread(
        run_cli,
        "serve",
        "--host",
        HOST,
        "--port",
        str(free_port()),
        "--workers",
        "2",
        env=env,
        timeout=30,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert "REDIS_URL" in lines[0] and "Traceback" not in result.stderr, lines[0]


async def test_sigterm_to_the_parent_stops_every_worker_within_the_grace_period(
    launch_workers, scaleout_db
):
    db, show = scaleout_db, scaleout_db.add_show()
    server = await launch_workers(2, SHUTDOWN_GRACE=GRACE)
    await _workers_up(server, 2)
    by_worker = await _spread(server, launch_workers.tokens, db, show)
    members = [member for held in by_worker.values() for member in held]
    try:
        # Members on both workers are in the room, mid-conversation.
        await members[0][1].say(show.id, "last song!")
        loop = asyncio.get_running_loop()
        signalled = loop.time()
        os.kill(server.process.pid, signal.SIGTERM)  # the parent alone, as a supervisor does

        # Everything (parent, workers and their helpers) is gone within the grace period.
        processes = {pid: describe_process(pid) for pid in server.group_pids()}
        await wait_until(
            lambda: server.process.poll() is not None and not server.group_pids(),
            timeout=GRACE + 5,
            what=f"every process of {processes} to exit",
        )
        stopped = loop.time() - signalled
        assert stopped <= GRACE, f"stopping took {stopped:.1f}s (grace {GRACE}s)"
        assert server.process.returncode == 0, f"exit status {server.process.returncode}"

        # The clients were disconnected (so they reconnect elsewhere) and checked out.
        for user, client in members:
            await client.wait_for("disconnect", timeout=1)
            await db.wait_for_checkin(user, show, checked_out=True, timeout=1)
        assert "draining failed" not in server.log(), "a worker's drain failed; see its log"
    finally:
        await asyncio.gather(*(client.close() for _, client in members), return_exceptions=True)
