"""Presence shared by every process through Redis. Each process heartbeats a liveness key;
a survivor sweeps the connections of a process that died, so no ghost stays listed."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ... import metrics
from ...tasks import cancel
from ..presence import Departure, Member, Presence
from .outage import LocalWhileDown
from .presence_scripts import JOIN, LEAVE, PAGE

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 3.0
ALIVE_SECONDS = 10.0  # a process silent this long is dead: its connections are swept


# A show's keys and this process's `entries`, in the order the scripts take them as KEYS.
def _keys(prefix: str, show_id: int, proc: str) -> list[str]:
    base = f"{prefix}:show:{show_id}"
    return [f"{base}:sids", f"{base}:order", f"{base}:names", f"{prefix}:proc:{proc}:entries"]


Swept = Callable[[list[Departure]], Awaitable[None]]
DeadProcess = Callable[[str], Awaitable[object]]


class RedisPresence(LocalWhileDown, Presence):
    """Membership in Redis hashes per show; this process's own memberships are mirrored
    locally (for fast checks, to stand in while Redis is down, and to restore Redis after
    it lost its data)."""

    kept_here = "presence"

    def __init__(
        self,
        redis: Redis,
        namespace: str,
        *,
        proc: str | None = None,
        on_dead_process: DeadProcess | None = None,
    ) -> None:
        self._redis = redis
        self._prefix = f"{namespace}:presence"
        self.proc = proc or uuid.uuid4().hex
        self._join = redis.register_script(JOIN)
        self._leave = redis.register_script(LEAVE)
        self._page = redis.register_script(PAGE)
        self._local: dict[str, tuple[int, str, set[int]]] = {}  # sid -> (user, name, shows)
        self._tabs: dict[tuple[int, int], set[str]] = {}  # (show, user) -> sids here
        self._unrecorded_leaves: set[tuple[int, str]] = set()  # Redis was down: retry
        self._resync_needed = False
        self._on_swept: Swept | None = None  # given at start
        # What else a dead process leaves behind (its connection slots), released by the
        # survivor that sweeps it.
        self._on_dead_process = on_dead_process
        self._task: asyncio.Task[None] | None = None
        self._loop_ticks = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self, on_swept: Swept | None = None) -> None:
        """Announce this process and start heartbeating and sweeping; `on_swept` hears of
        the departures of the dead processes swept."""
        self._on_swept = on_swept
        await self._beat()
        self.start_heartbeat()

    def start_heartbeat(self, on_swept: Swept | None = None) -> None:
        """Heartbeat (and sweep) without announcing first: Redis did not answer at start."""
        self._on_swept = self._on_swept or on_swept
        if self._task is None:
            self._task = asyncio.create_task(self._heartbeat(), name="presence-heartbeat")

    async def close(self) -> None:
        await cancel(self._task)
        self._task = None
        try:  # leave nothing behind for the others to sweep
            await self._redis.delete(f"{self._prefix}:alive:{self.proc}")
            await self._redis.srem(f"{self._prefix}:procs", self.proc)
        except Exception as exc:
            log.warning("could not unregister process %s from Redis: %r", self.proc, exc)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            try:
                await self._beat()
                await self._retry_leaves()
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("presence heartbeat failed (Redis unreachable?): %r", exc)

    async def _beat(self) -> None:
        alive_key = f"{self._prefix}:alive:{self.proc}"
        restored = await self._redis.set(alive_key, "1", px=int(ALIVE_SECONDS * 1000), xx=True)
        if not restored or self._resync_needed:
            # First beat, or Redis lost its data (restart): publish what this process holds.
            await self._redis.set(alive_key, "1", px=int(ALIVE_SECONDS * 1000))
            await self._redis.sadd(f"{self._prefix}:procs", self.proc)
            await self._resync()

    async def _retry_leaves(self) -> None:
        for show_id, sid in list(self._unrecorded_leaves):
            await self._leave_one(show_id, sid, self.proc)
            self._unrecorded_leaves.discard((show_id, sid))

    async def _resync(self) -> None:
        self._resync_needed = False
        if self._local:
            log.warning("restoring %d connection(s) of this process into Redis", len(self._local))
        now = time.time()
        for sid, (user_id, username, shows) in list(self._local.items()):
            for show_id in sorted(shows):  # a copy: joins and leaves go on meanwhile
                await self._join(
                    keys=_keys(self._prefix, show_id, self.proc),
                    args=[sid, user_id, username, f"{show_id}:{sid}", now, self._base(show_id)],
                )

    async def sweep(self) -> list[Departure]:
        """Remove the connections of processes that stopped heartbeating; report departures."""
        departures: list[Departure] = []
        for proc in await self._redis.smembers(f"{self._prefix}:procs"):
            proc = proc.decode() if isinstance(proc, bytes) else proc
            if proc == self.proc or await self._redis.exists(f"{self._prefix}:alive:{proc}"):
                continue
            # One survivor sweeps a dead process; the lock expires if that survivor dies too.
            if not await self._redis.set(
                f"{self._prefix}:sweeping:{proc}", self.proc, nx=True, ex=30
            ):
                continue
            if self._on_dead_process is not None:
                await self._on_dead_process(proc)
            departures += await self._sweep(proc)
        if departures and self._on_swept is not None:
            await self._on_swept(departures)
        return departures

    async def _sweep(self, proc: str) -> list[Departure]:
        entries_key = f"{self._prefix}:proc:{proc}:entries"
        departures = []
        for entry in await self._redis.smembers(entries_key):
            entry = entry.decode() if isinstance(entry, bytes) else entry
            show, _, sid = entry.partition(":")
            departure = await self._leave_one(int(show), sid, proc)
            if departure is not None:
                departures.append(departure)
        await self._redis.delete(entries_key)
        await self._redis.srem(f"{self._prefix}:procs", proc)
        log.warning("swept %d connection(s) of dead process %s", len(departures), proc)
        return departures

    # ------------------------------------------------------------------ Presence

    async def join(self, show_id: int, user_id: int, username: str, sid: str) -> bool:
        tabs = self._tabs.setdefault((show_id, user_id), set())
        first_here = not tabs
        tabs.add(sid)
        self._local.setdefault(sid, (user_id, username, set()))[2].add(show_id)
        try:
            with metrics.timed(metrics.REDIS_SECONDS, "presence_join"):
                first = await self._join(
                    keys=_keys(self._prefix, show_id, self.proc),
                    args=[
                        sid,
                        user_id,
                        username,
                        f"{show_id}:{sid}",
                        time.time(),
                        self._base(show_id),
                    ],
                )
        except RedisError as exc:
            self._carry_on_locally(exc)
            return first_here
        return bool(first)

    def _redis_was_down(self) -> None:
        # The heartbeat writes this process's view back to Redis.
        self._resync_needed = True

    async def leave(self, show_id: int, sid: str) -> Departure | None:
        entry = self._local.get(sid)
        if entry is None or show_id not in entry[2]:
            return None
        user_id, username, _ = entry
        entry[2].discard(show_id)
        if not entry[2]:
            del self._local[sid]
        tabs = self._tabs.get((show_id, user_id), set())
        tabs.discard(sid)
        if not tabs:
            self._tabs.pop((show_id, user_id), None)
        try:
            return await self._leave_one(show_id, sid, self.proc)
        except RedisError as exc:
            # The connection has left either way; Redis hears of it on the next heartbeat.
            self._unrecorded_leaves.add((show_id, sid))
            self._carry_on_locally(exc)
            return Departure(show_id, user_id, username, last=not tabs)

    async def _leave_one(self, show_id: int, sid: str, proc: str) -> Departure | None:
        result = await self._leave(
            keys=_keys(self._prefix, show_id, proc),
            args=[sid, f"{show_id}:{sid}", self._base(show_id)],
        )
        if result is None:
            return None
        user, name, last = result
        name = name.decode() if isinstance(name, bytes) else name
        return Departure(show_id, int(user), name, bool(last))

    def shows_of(self, sid: str) -> list[int]:
        entry = self._local.get(sid)
        return sorted(entry[2]) if entry else []

    async def page(self, show_id: int, offset: int, limit: int) -> tuple[list[Member], int]:
        base = self._base(show_id)
        try:
            with metrics.timed(metrics.REDIS_SECONDS, "presence_page"):
                result = await self._page(
                    keys=[f"{base}:order", f"{base}:names"], args=[offset, limit, base]
                )
        except RedisError as exc:
            self._carry_on_locally(exc)
            members = self._local_members(show_id)
            return members[offset : offset + limit], len(members)
        rows = [part.decode() if isinstance(part, bytes) else part for part in result[1:]]
        members = [
            Member(int(rows[i]), rows[i + 1], rows[i + 2])
            for i in range(0, len(rows), 3)
            if rows[i + 2]
        ]
        return members, int(result[0])

    def _base(self, show_id: int) -> str:
        return f"{self._prefix}:show:{show_id}"

    def _local_members(self, show_id: int) -> list[Member]:
        """Who is in the show on this process (all there is to go on without Redis)."""
        return [
            Member(user_id, self._local[min(sids)][1], min(sids))
            for (show, user_id), sids in self._tabs.items()
            if show == show_id and sids
        ]

    async def present_users(self, show_id: int, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        try:
            scores = await self._redis.zmscore(f"{self._base(show_id)}:order", user_ids)
        except RedisError as exc:
            self._carry_on_locally(exc)
            local = {member.user_id for member in self._local_members(show_id)}
            return {user_id for user_id in user_ids if user_id in local}
        return {user_id for user_id, score in zip(user_ids, scores) if score is not None}

    async def is_member(self, show_id: int, sid: str) -> bool:
        entry = self._local.get(sid)
        return entry is not None and show_id in entry[2]
