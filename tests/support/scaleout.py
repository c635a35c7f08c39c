"""Several `serve` processes as one service: a private redis-server the test owns (so it may
kill and restart it), a cluster of servers sharing one PostgreSQL database and one Redis,
and `serve --workers N` as one process tree. Everything is started and stopped without
blocking the test's event loop, and every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis

from .client import ChatClient, for_show
from .database import Database
from .rigs import rig_environment
from .server import ServerError, ServerProcess, ShowsLogs, free_port, stop_group, tail
from .settings import HOST, STARTUP_TIMEOUT, TIMEOUT
from .tokens import Tokens

REDIS_SERVER = "redis-server"
# Limits low enough to reach in a test (rigs.ROOMY puts them out of the way).
LIMITED = {
    "SEND_RATE": 0.2,
    "SEND_BURST": 3,
    "MAX_CONNECTIONS_PER_USER": 2,
    "SEND_RATE_USER": 0.2,
    "SEND_BURST_USER": 5,
}


def redis_server_problem() -> str | None:
    """Why a private redis-server cannot be started here, or None."""
    if shutil.which(REDIS_SERVER) is None:
        return f"`{REDIS_SERVER}` is not on PATH"
    return None


async def wait_until(
    condition: Callable[[], Any], *, timeout: float, what: str, pause: float = 0.05
) -> Any:
    """Poll `condition` (sync) until it returns something truthy; raise after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = condition()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s (last: {value!r})")
        await asyncio.sleep(pause)


# ---------------------------------------------------------------------------- Redis


class RedisServer:
    """A redis-server of the test's own, on a free port, storing nothing on disk. `kill()`
    and `start()` again restart it on the same port, empty, as a crashed Redis comes back."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(
            host=HOST, port=self.port, db=db, socket_connect_timeout=1, socket_timeout=2
        )

    def start(self, timeout: float = 10.0) -> RedisServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    REDIS_SERVER,
                    "--port",
                    str(self.port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        probe = self.client()
        try:
            while True:
                if self.process.poll() is not None:
                    raise ServerError(
                        f"redis-server exited with {self.process.returncode}:\n"
                        f"{tail(self.log_path)}"
                    )
                try:
                    if probe.ping():
                        return self
                except redis.exceptions.RedisError:
                    pass
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"redis-server on port {self.port} did not answer PING "
                        f"within {timeout}s:\n{tail(self.log_path)}"
                    )
                time.sleep(0.02)
        finally:
            probe.close()

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye to its clients, nothing saved."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_group(self.process, grace=5.0)


# ---------------------------------------------------------------------------- servers


@dataclass
class Cluster(ShowsLogs):
    """`serve` processes on different ports, one database, one Redis, one JWT secret."""

    nodes: list[ServerProcess]
    db: Database
    tokens: Tokens
    redis_url: str
    clients: list[ChatClient] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.nodes)

    def base_url(self, node: int) -> str:
        return self.nodes[node].base_url

    def pid(self, node: int) -> int:
        process = self.nodes[node].process
        assert process is not None
        return process.pid

    async def start(self) -> Cluster:
        await asyncio.gather(
            *(asyncio.to_thread(node.start, STARTUP_TIMEOUT) for node in self.nodes)
        )
        return self

    async def stop(self) -> None:
        await asyncio.gather(*(client.close() for client in self.clients), return_exceptions=True)
        await asyncio.gather(*(asyncio.to_thread(node.stop) for node in self.nodes))

    def client(self, node: int) -> ChatClient:
        """An unconnected client of `node`, closed when the cluster stops."""
        made = ChatClient(self.base_url(node))
        self.clients.append(made)
        return made

    async def connect(self, user, node: int) -> ChatClient:
        made = self.client(node)
        await made.connect(auth=self.tokens.access(user.id))
        return made

    async def one_member_on_each(self, db, show) -> list[ChatClient]:
        """A new user connected to each process in turn, each joined to the show."""
        members = []
        for node in range(len(self)):
            client = await self.connect(db.add_user(), node)
            await client.join(show.id)
            members.append(client)
        return members

    def kill(self, node: int) -> None:
        """SIGKILL one server: it gets no chance to say goodbye to anyone."""
        os.kill(self.pid(node), signal.SIGKILL)
        self.nodes[node].process.wait(timeout=10)

    async def ready_status(self, node: int) -> int:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return (await http.get(f"{self.base_url(node)}/readyz")).status_code

    async def rest_active_users(self, node: int, show_id: int, user) -> dict:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            response = await http.get(
                f"{self.base_url(node)}/api/shows/{show_id}/active_users",
                headers={"Authorization": f"Bearer {self.tokens.access(user.id)}"},
            )
        assert response.status_code == 200, response.text
        return response.json()

    def server_logs(self) -> list[tuple[str, str]]:
        return [
            (f"server {index} ({node.base_url}) log (last 40 lines)", tail(node.log_path, 40))
            for index, node in enumerate(self.nodes)
        ]


def make_cluster(
    size: int,
    database_url: str,
    db: Database,
    redis_url: str,
    workdir: Path,
    name: str,
    **settings: object,
) -> Cluster:
    secret = secrets.token_urlsafe(48)
    env = rig_environment(database_url, secret, REDIS_URL=redis_url, **settings)
    if "REDIS_PREFIX" not in {name.upper() for name in settings}:
        env.pop("REDIS_PREFIX", None)  # never inherited from the caller
    nodes = [ServerProcess(env, workdir / f"{name}-{index}.log") for index in range(size)]
    return Cluster(nodes, db, Tokens(secret), redis_url)


class WorkersServer(ServerProcess):
    """`serve --workers N`: a supervising parent holding the port, N worker processes."""

    def __init__(self, env: dict, log_path: Path, workers: int) -> None:
        super().__init__(env, log_path)
        self.workers = workers

    def start(self, timeout: float = STARTUP_TIMEOUT) -> WorkersServer:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sharemyshows_rt",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def group_pids(self) -> set[int]:
        """Every live process of the server's process group (parent and workers)."""
        assert self.process is not None
        return {pid for pid in _pids() if _pgid(pid) == self.process.pid}


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid) if not _is_zombie(pid) else None
    except (ProcessLookupError, PermissionError):
        return None


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


# ---------------------------------------------------------------------------- what clients saw


def message_ids(client: ChatClient, show_id: int, since: int = 0) -> list[int]:
    """The ids of `new_message` events for the show, in the order they arrived."""
    return [data["id"] for data in client.received("new_message", for_show(show_id), since)]


def timeline(client: ChatClient, show_id: int, since: int = 0) -> list[int]:
    """Message ids as the client learnt of them: each `message_history` for the show in
    full, then each `new_message`, in arrival order."""
    ids: list[int] = []
    for name, data in client.events[since:]:
        if not (isinstance(data, dict) and data.get("show_id") == show_id):
            continue
        if name == "message_history":
            ids += [message["id"] for message in data["messages"]]
        elif name == "new_message":
            ids.append(data["id"])
    return ids


def assert_once_in_order(ids: list[int], expected: list[int], who: str) -> None:
    """`ids` is exactly `expected` (sorted): every one once, strictly increasing."""
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{who} got message(s) {duplicates} more than once"
    out_of_order = [(a, b) for a, b in zip(ids, ids[1:]) if b <= a]
    assert not out_of_order, f"{who} got messages out of id order: {out_of_order[:5]}"
    missing = sorted(set(expected) - set(ids))
    extra = sorted(set(ids) - set(expected))
    assert not missing and not extra, (
        f"{who}: missing {missing[:20]} ({len(missing)}), unexpected {extra[:20]} ({len(extra)})"
    )


# ---------------------------------------------------------------------------- which process


def worker_pids(server: WorkersServer) -> set[int]:
    """The worker processes of `serve --workers N` (the parent's spawned children that
    serve; not multiprocessing's resource tracker)."""
    assert server.process is not None
    return {
        pid
        for pid in server.group_pids()
        if parent_of(pid) == server.process.pid and "spawn_main" in _cmdline(pid)
    }


def describe_process(pid: int) -> str:
    return _cmdline(pid)[:100] or "?"


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(int(target[8:-1]))
    except OSError:
        pass
    return inodes


def _tcp_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the server side of the TCP connection client:remote_port ->
    server:local_port, from /proc/net/tcp (IPv4, 127.0.0.1)."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], int(fields[9])
            if (
                int(local.split(":")[1], 16) == local_port
                and int(remote.split(":")[1], 16) == remote_port
            ):
                return inode
    return None


def serving_pid(client: ChatClient, server: WorkersServer) -> int | None:
    """The worker process holding this client's websocket connection."""
    sockname = client.sio.eio.ws.get_extra_info("sockname")
    inode = _tcp_inode(server.port, sockname[1])
    if inode is None:
        return None
    for pid in worker_pids(server):
        if inode in _socket_inodes(pid):
            return pid
    return None
