"""The load generator: worker processes, each one asyncio loop (uvloop when installed)
holding thousands of `SioClient`s, driven by the orchestrator through a pipe.

Commands (dicts with "op") run one at a time; each is answered with one dict:
  connect    open clients (optionally join a show each), report connect/join latencies
  send       send chat messages open-loop (fixed rate) or closed-loop (next after ack)
  collect    counters, delivery latency per measurement window, loop lag, close reasons
  close_all  close every client
  exit       stop the worker
"""

from __future__ import annotations

import asyncio
import collections
import multiprocessing
import os
import resource
import time
import traceback
from typing import Any

import jwt

from .histogram import Histogram
from .hub import Hub, Sending, Window
from .protocol import CLOSED, CONNECTED, SioClient, open_client

_monotonic_ns = time.monotonic_ns


def raise_fd_limit(wanted: int = 65536) -> int:
    """Raise RLIMIT_NOFILE as far as allowed (root may raise the hard limit); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for target_hard in (max(hard, wanted), hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target_hard), target_hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def make_token(secret: str, user_id: int, lifetime: int = 6 * 3600) -> str:
    """An HS256 access token as Flask-JWT-Extended issues it."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "type": "access",
        "fresh": False,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": os.urandom(8).hex(),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class Worker:
    def __init__(self, conn: Any, worker: int, host: str, port: int, secret: str) -> None:
        self.conn = conn
        self.worker = worker
        self.host = host
        self.port = port
        self.secret = secret
        self.hub = Hub(worker)
        self.clients: dict[int, SioClient] = {}
        self.tokens: dict[int, str] = {}  # the last token made for each user
        self.loop: asyncio.AbstractEventLoop | None = None

    async def serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        lag = asyncio.create_task(self._watch_lag())
        try:
            while True:
                command = await self.loop.run_in_executor(None, self.conn.recv)
                op = command.pop("op")
                try:
                    reply = await getattr(self, "op_" + op)(**command)
                except (Exception, asyncio.CancelledError) as exc:
                    reply = {
                        "error": f"{type(exc).__name__}: {exc}",
                        "traceback": traceback.format_exc(),
                    }
                self.conn.send(reply)
                if op == "exit":
                    break
        finally:
            lag.cancel()

    async def _watch_lag(self) -> None:
        """Timer lag of this loop: how late a 10 ms sleep wakes up (a busy generator shows)."""
        period = 10_000_000
        while True:
            before = _monotonic_ns()
            await asyncio.sleep(period / 1e9)
            after = _monotonic_ns()
            for window in self.hub.windows.values():
                if window.t0 <= after < window.t1:
                    window.lag.add(max(0, after - before - period) / 1000.0)

    # ------------------------------------------------------------------ commands

    async def op_connect(
        self,
        clients: list[list[int]],
        go_at: int | None = None,
        concurrency: int = 0,
        timeout: float = 60.0,
        reuse_tokens: bool = False,
        window: list[int] | None = None,
    ) -> dict:
        """Open clients [index, user_id, show_id (0: none)]; each is ready once connected,
        or once joined when it has a show. Waits for all (or `timeout`). With
        `reuse_tokens`, a user connects with the token it had before (an app reconnecting).
        `window` [wid, t0, t1]: this loop's lag in that span is recorded (collect)."""
        loop = self.loop
        assert loop is not None
        if window is not None:
            self.hub.windows[window[0]] = Window(*window)
        made = []
        for index, user_id, show_id in clients:
            token = self.tokens.get(user_id) if reuse_tokens else None
            if token is None:
                token = self.tokens[user_id] = make_token(self.secret, user_id)
            client = SioClient(
                self.hub, index, user_id, token, self.host, self.port, show_id or None
            )
            client.waiter = loop.create_future()
            self.clients[index] = client
            made.append(client)
        if go_at:
            await asyncio.sleep(max(0.0, (go_at - _monotonic_ns()) / 1e9))
        started = _monotonic_ns()
        gate = asyncio.Semaphore(concurrency) if concurrency else None

        async def one(client: SioClient) -> None:
            # The waiter is shielded: a timed-out task must not cancel what it waits for.
            if gate is not None:
                async with gate:
                    if await open_client(loop, client, timeout):
                        await asyncio.shield(client.waiter)  # type: ignore[arg-type]
            elif await open_client(loop, client, timeout):
                await asyncio.shield(client.waiter)  # type: ignore[arg-type]

        tasks = [asyncio.ensure_future(one(client)) for client in made]
        done, not_done = await asyncio.wait(tasks, timeout=timeout)
        for task in not_done:
            task.cancel()
        finished = _monotonic_ns()
        connect_ms, join_ms, ready_at, ready_s = [], [], [], []
        for client in made:
            if client.t_connected:
                connect_ms.append((client.t_connected - client.t_start) / 1e6)
            if client.t_joined:
                join_ms.append((client.t_joined - client.t_join_sent) / 1e6)
            waiter = client.waiter
            if waiter is not None and waiter.done() and not waiter.cancelled() and waiter.result():
                ready_at.append(client.t_joined or client.t_connected)
                ready_s.append((ready_at[-1] - started) / 1e9)
        return {
            "requested": len(made),
            "ready": len(ready_at),
            "connected": sum(1 for c in made if c.t_connected),
            "joined": sum(1 for c in made if c.t_joined),
            "timed_out": len(not_done),
            "started": started,
            "finished": finished,
            "first_ready": min(ready_at) if ready_at else None,
            "last_ready": max(ready_at) if ready_at else None,
            "connect_ms": connect_ms,
            "join_ms": join_ms,
            "ready_s": ready_s,
            "refused": dict(self.hub.refused.most_common(10)),
            "bytes_in": self.hub.bytes_in,
        }

    async def op_send(
        self,
        senders: list[int],
        start_at: int,
        end_at: int,
        windows: list[list[int]],
        rate: float = 0.0,
        closed_loop: bool = False,
        inflight: int = 1,
        size: int = 64,
        record: bool = False,
    ) -> dict:
        """Send from `senders` between start_at and end_at: at `rate` messages/s in total
        (open loop), or each sender `inflight` at a time, the next after each ack (closed)."""
        hub = self.hub
        for wid, t0, t1 in windows:
            hub.windows[wid] = Window(wid, t0, t1)
        hub.sending = Sending(end_at, closed_loop, record, size, [tuple(w) for w in windows])  # type: ignore[misc]
        # Only clients that are connected and in their show send (a failed join is reported
        # by `connect`; its client would only collect "Not in show chat room" errors).
        clients = [
            c
            for c in (self.clients.get(i) for i in senders)
            if c is not None and c.state == CONNECTED and (not c.show_id or c.t_joined)
        ]
        send_lag = Histogram()
        sent_before = hub.sent_total
        await asyncio.sleep(max(0.0, (start_at - _monotonic_ns()) / 1e9))
        if closed_loop:
            now = _monotonic_ns()
            for client in clients:
                if client.state == CONNECTED:
                    for _ in range(inflight):
                        hub.send_one(client, now)
            while _monotonic_ns() < end_at:
                if not any(c.state == CONNECTED for c in clients):
                    break  # the server is gone
                await asyncio.sleep(0.05)
        elif rate > 0 and clients:
            interval = 1e9 / rate
            k = 0
            turn = 0
            while True:
                now = _monotonic_ns()
                if now >= end_at:
                    break
                due = start_at + int(k * interval)
                if due > now:
                    await asyncio.sleep((due - now) / 1e9)
                    continue
                while due <= now and due < end_at:
                    for _ in range(len(clients)):
                        client = clients[turn % len(clients)]
                        turn += 1
                        if client.state == CONNECTED:
                            break
                    else:
                        break
                    send_lag.add((now - due) / 1000.0)
                    hub.send_one(client, _monotonic_ns())
                    k += 1
                    due = start_at + int(k * interval)
                if all(c.state == CLOSED for c in clients):
                    break
        hub.sending.closed_loop = False  # acks arriving from now on send nothing more
        reply = {
            "sent": hub.sent_total - sent_before,
            "send_lag": send_lag.to_dict(),
            "senders": len(clients),
            "ack_errors": dict(hub.ack_errors.most_common(10)),
        }
        if record:
            reply["acked"] = hub.acked
            hub.acked = []
        return reply

    async def op_collect(self, reset: bool = False) -> dict:
        hub = self.hub
        states = collections.Counter(c.state for c in self.clients.values())
        reply = {
            "bytes_in": hub.bytes_in,
            "frames_in": hub.frames_in,
            "deliveries": hub.deliveries,
            "sent": hub.sent_total,
            "events": {k.decode(): v for k, v in hub.events.items()},
            "errors": dict(hub.errors.most_common(10)),
            "closed": dict(hub.closed.most_common(10)),
            "refused": dict(hub.refused.most_common(10)),
            "ack_errors": dict(hub.ack_errors.most_common(10)),
            "open": states.get(CONNECTED, 0),
            "windows": {wid: w.report() for wid, w in hub.windows.items()},
            "pending_acks": sum(len(c.pending) for c in self.clients.values()),
            "delivery_seconds": dict(hub.delivery_seconds),
            "ack_seconds": dict(hub.ack_seconds),
        }
        if reset:
            hub.windows.clear()
        return reply

    async def op_close_all(self, timeout: float = 10.0) -> dict:
        clients = [c for c in self.clients.values() if c.state != CLOSED]
        for client in clients:
            client.waiter = self.loop.create_future()  # type: ignore[union-attr]
            client.close()
        waiters = [c.waiter for c in clients if c.waiter is not None]
        if waiters:
            await asyncio.wait(waiters, timeout=timeout)
        for client in clients:
            if client.state != CLOSED:
                client.abort("not closed in time")
        self.clients.clear()
        return {"closed": len(clients)}

    async def op_exit(self) -> dict:
        return {"bye": True}


def worker_main(conn: Any, worker: int, host: str, port: int, secret: str) -> None:
    raise_fd_limit()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # plain asyncio still works, only slower
        runner = asyncio.run
    runner(Worker(conn, worker, host, port, secret).serve())


class WorkerError(RuntimeError):
    pass


class Generator:
    """The orchestrator's side: W worker processes and their pipes."""

    def __init__(self, count: int, host: str, port: int, secret: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes = []
        self.processes = []
        self._pending: list[str] = []
        for worker in range(count):
            parent, child = context.Pipe()
            process = context.Process(
                target=worker_main,
                args=(child, worker, host, port, secret),
                name=f"bench-generator-{worker}",
                daemon=True,
            )
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def submit(self, commands: list[dict]) -> None:
        """Send commands[i] to worker i; `gather` collects the answers."""
        self._pending = [c["op"] for c in commands]
        for pipe, command in zip(self.pipes, commands):
            pipe.send(command)

    def gather(self, timeout: float | None = None) -> list[dict]:
        replies = []
        deadline = None if timeout is None else time.monotonic() + timeout
        for worker, pipe in enumerate(self.pipes[: len(self._pending)]):
            wait = None if deadline is None else max(0.1, deadline - time.monotonic())
            if not pipe.poll(wait):
                raise WorkerError(
                    f"generator worker {worker} did not answer "
                    f"{self._pending[worker]} within {timeout:.0f}s"
                )
            reply = pipe.recv()
            if "error" in reply:
                raise WorkerError(
                    f"generator worker {worker}: {reply['error']}\n{reply.get('traceback', '')}"
                )
            replies.append(reply)
        self._pending = []
        return replies

    def call(self, commands: list[dict], timeout: float | None = None) -> list[dict]:
        """Send commands[i] to worker i (all at once), then wait for every answer."""
        self.submit(commands)
        return self.gather(timeout)

    def broadcast(self, command: dict, timeout: float | None = None) -> list[dict]:
        return self.call([dict(command) for _ in self.pipes], timeout)

    def stop(self) -> None:
        for pipe, process in zip(self.pipes, self.processes):
            if process.is_alive():
                try:
                    pipe.send({"op": "exit"})
                except (OSError, BrokenPipeError):
                    pass
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(2)
