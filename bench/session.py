"""One benchmark session: database, server, generator workers and sampler, set up and torn
down together; plus the helpers every scenario uses to merge and judge what it measured."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .generator import Generator, raise_fd_limit
from .histogram import Histogram
from .measure import Delta, PostgresCpu, Sampler, process_cpu, system_cpu, tcp_counters
from .server import Database, HarnessError, Server, scan_log

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
GENERATOR_BOUND_CORES = 0.90  # a worker this busy is the bottleneck, not the server
GENERATOR_LAG_MS = 20.0  # p99 timer lag of a worker's loop past which its timing is suspect
OTHER_LOAD_CORES = 0.25  # CPU used by processes outside the benchmark worth a flag


def now_ns() -> int:
    return time.monotonic_ns()


def sleep_until(t_ns: int) -> None:
    delay = (t_ns - time.monotonic_ns()) / 1e9
    if delay > 0:
        time.sleep(delay)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class Session:
    """Everything one scenario runs against; use as a context manager."""

    name: str
    users: int
    shows: int
    workers: int
    log_path: Path
    server_env: dict[str, str] = field(default_factory=dict)
    keep_db: bool = False
    source: Path | None = None  # code snapshot to serve (None: the working tree)
    preflight: float = 1.0  # seconds the machine's own load is measured before the start
    database: Database | None = None
    server: Server | None = None
    generator: Generator | None = None
    sampler: Sampler | None = None
    postgres: PostgresCpu | None = None
    origin: float = 0.0
    log_report: dict = field(default_factory=dict)
    server_exit: int | None = None
    postgres_version: str = ""
    served_from: str = ""
    background_cores: float = 0.0
    teardown_log_offset: int = -1
    settle_s: float | None = None
    tcp_before: dict = field(default_factory=dict)
    tcp_during: dict = field(default_factory=dict)  # kernel TCP counters' growth in the run
    phases: dict = field(default_factory=dict)  # seconds of setup, run, teardown

    def __enter__(self) -> Session:
        raise_fd_limit()
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self) -> None:
        self.origin = time.monotonic()
        busy = system_cpu()[0]
        time.sleep(self.preflight)
        # The machine's load before anything of the run starts, in cores.
        self.background_cores = round((system_cpu()[0] - busy) / self.preflight, 2)
        self.database = Database()
        self.database.create()
        self.postgres_version = self.database.postgres_version()
        self.server = Server(
            VENV_BIN, self.database.dsn, self.log_path, self.server_env, source=self.source
        )
        # The workers start (spawn, imports) while the server is being set up.
        self.generator = Generator(self.workers, "127.0.0.1", self.server.port, self.server.secret)
        self.served_from = self.server.served_from()
        self.server.migrate()
        self.database.seed(self.users, self.shows)
        self.postgres = PostgresCpu(self.database.name)
        self.server.start()
        self.generator.broadcast({"op": "collect"}, timeout=60)  # workers are up
        self.sampler = Sampler(self.server.pid, self.generator.pids, self.postgres).start()
        self.tcp_before = tcp_counters()
        self.phases["setup_s"] = round(time.monotonic() - self.origin, 2)
        log(
            f"{self.name}: server pid {self.server.pid} on port {self.server.port}, database "
            f"{self.database.name} ({self.users} users, {self.shows} shows), "
            f"{self.workers} generator worker(s)"
        )

    def __exit__(self, *exc: Any) -> None:
        began = time.monotonic()
        if self.tcp_before:
            after = tcp_counters()
            self.tcp_during = {
                name: after[name] - value
                for name, value in self.tcp_before.items()
                if name in after
            }
        self.phases["run_s"] = round(began - self.origin - self.phases.get("setup_s", 0.0), 2)
        if self.server is not None:
            try:
                self.teardown_log_offset = self.server.log_path.stat().st_size
            except OSError:
                pass
        if self.generator is not None:
            try:
                if self.server is not None and self.server.alive():
                    self.generator.broadcast({"op": "close_all", "timeout": 10}, timeout=30)
                    self.settle_s = self.settle()
            except Exception as error:  # teardown goes on regardless
                log(f"closing the clients failed: {error}")
            mark = time.monotonic()
            self.generator.stop()
            self.phases["generator_stop_s"] = round(time.monotonic() - mark, 2)
        if self.sampler is not None:
            self.sampler.stop()
        if self.server is not None:
            mark = time.monotonic()
            self.server_exit = self.server.stop()
            self.phases["server_stop_s"] = round(time.monotonic() - mark, 2)
            self.log_report = scan_log(self.server.log_path, self.teardown_log_offset)
        if self.database is not None and not self.keep_db:
            mark = time.monotonic()
            try:
                self.database.drop()
            except Exception as error:
                log(f"dropping database {self.database.name} failed: {error}")
            self.phases["drop_db_s"] = round(time.monotonic() - mark, 2)
        self.phases["teardown_s"] = round(time.monotonic() - began, 2)

    def settle(self, limit: float = 60.0) -> float | None:
        """Seconds until the server is idle (< 5% of a core over half a second) after every
        client closed: its disconnect handling (leaves, check-outs, presence broadcasts).
        None when it is still busy after `limit`."""
        assert self.server is not None
        began = time.monotonic()
        last = process_cpu(self.server.pid)
        while time.monotonic() - began < limit and last is not None:
            time.sleep(0.5)
            cpu = process_cpu(self.server.pid)
            if cpu is None or cpu - last < 0.025:
                return round(time.monotonic() - began - 0.5, 1)
            last = cpu
        return None

    # ------------------------------------------------------------------ helpers

    @property
    def gen(self) -> Generator:
        assert self.generator is not None
        return self.generator

    def split(self, clients: list[list[int]]) -> list[list[list[int]]]:
        """Clients [index, user_id, show_id] dealt to the workers by index."""
        per = [[] for _ in range(self.workers)]
        for client in clients:
            per[client[0] % self.workers].append(client)
        return per

    def connect(
        self,
        clients: list[list[int]],
        *,
        concurrency: int = 50,
        timeout: float = 120.0,
        go_at: int | None = None,
    ) -> dict:
        """Open the clients (joining their show when they have one); merged worker reports."""
        per = self.split(clients)
        replies = self.gen.call(
            [
                {
                    "op": "connect",
                    "clients": c,
                    "go_at": go_at,
                    "concurrency": concurrency,
                    "timeout": timeout,
                }
                for c in per
            ],
            timeout=timeout + 60,
        )
        return merge_connects(replies)

    def snapshot(self):
        assert self.sampler is not None
        return self.sampler.snapshot()

    def timeseries(self) -> list[dict]:
        assert self.sampler is not None
        return self.sampler.timeseries(self.origin)


def merge_connects(replies: list[dict]) -> dict:
    merged: dict[str, Any] = {
        "requested": 0,
        "ready": 0,
        "connected": 0,
        "joined": 0,
        "timed_out": 0,
        "connect_ms": [],
        "join_ms": [],
        "ready_s": [],
        "refused": {},
        "bytes_in": 0,
    }
    for reply in replies:
        for key in ("requested", "ready", "connected", "joined", "timed_out", "bytes_in"):
            merged[key] += reply[key]
        for key in ("connect_ms", "join_ms", "ready_s"):
            merged[key].extend(reply[key])
        for reason, n in reply["refused"].items():
            merged["refused"][reason] = merged["refused"].get(reason, 0) + n
    firsts = [r["first_ready"] for r in replies if r["first_ready"] is not None]
    lasts = [r["last_ready"] for r in replies if r["last_ready"] is not None]
    merged["started"] = min(r["started"] for r in replies)
    merged["first_ready"] = min(firsts) if firsts else None
    merged["last_ready"] = max(lasts) if lasts else None
    return merged


def merge_windows(collects: list[dict], wid: int) -> dict:
    """One measurement window, summed over the workers."""
    latency, lag, acks = Histogram(), Histogram(), Histogram()
    total = {
        "sent": 0,
        "arrivals": 0,
        "acked_ok": 0,
        "acked_error": 0,
        "acks_in_window": 0,
        "delivered": 0,
    }
    worker_lag_p99 = []
    for collect in collects:
        window = collect["windows"].get(wid) or collect["windows"].get(str(wid))
        if window is None:
            continue
        latency.merge(window["latency"])
        acks.merge(window["acks"])
        own_lag = Histogram.from_dict(window["lag"])
        lag.merge(own_lag)
        p99 = own_lag.percentile(99)
        worker_lag_p99.append(None if p99 is None else round(p99 / 1000.0, 2))
        for key in total:
            total[key] += window[key]
    return {
        **total,
        "latency": latency,
        "lag": lag,
        "acks": acks,
        "worker_lag_p99_ms": worker_lag_p99,
    }


def merge_counters(collects: list[dict], key: str) -> dict:
    merged: dict = {}
    for collect in collects:
        for name, n in collect.get(key, {}).items():
            merged[name] = merged.get(name, 0) + n
    return merged


def exact_summary_ms(values: list[float]) -> dict:
    """count, p50, p90, p95, p99, max (nearest rank) of exact millisecond values."""
    if not values:
        return {
            "count": 0,
            "p50_ms": None,
            "p90_ms": None,
            "p95_ms": None,
            "p99_ms": None,
            "max_ms": None,
            "mean_ms": None,
        }
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)], 3)

    return {
        "count": len(ordered),
        "mean_ms": round(sum(ordered) / len(ordered), 3),
        "p50_ms": rank(50),
        "p90_ms": rank(90),
        "p95_ms": rank(95),
        "p99_ms": rank(99),
        "max_ms": round(ordered[-1], 3),
    }


def load_flags(delta: Delta, worker_lag_p99_ms: list[float | None] | None = None) -> list[dict]:
    """What, besides the server, may have limited a measurement."""
    flags = []
    busiest = max((delta.util(c) for c in delta.worker_cpu), default=0.0)
    lags = [lag for lag in (worker_lag_p99_ms or []) if lag is not None]
    if busiest >= GENERATOR_BOUND_CORES:
        flags.append(
            {
                "kind": "generator_bound",
                "detail": f"a generator worker used {busiest:.2f} of a core: the load "
                "generator, not the server, may be the bottleneck",
            }
        )
    elif lags and max(lags) >= GENERATOR_LAG_MS:
        flags.append(
            {
                "kind": "generator_bound",
                "detail": f"a generator worker's loop woke up {max(lags):.0f} ms late (p99),"
                " busy or starved of CPU: its timestamps include its own queueing",
            }
        )
    machine = delta.util(delta.sys_busy)
    if machine >= 0.95 * delta.cores:
        flags.append(
            {
                "kind": "machine_saturated",
                "detail": f"the machine was {machine:.2f}/{delta.cores} cores busy: server, "
                "generator and database competed for CPU",
            }
        )
    other = delta.util(delta.other_cpu)
    if other >= OTHER_LOAD_CORES:
        flags.append(
            {
                "kind": "other_load",
                "detail": f"processes outside the benchmark used {other:.2f} cores",
            }
        )
    return flags


def generator_bound(flags: list[dict]) -> bool:
    return any(flag["kind"] == "generator_bound" for flag in flags)


def target(
    name: str,
    measured: float | None,
    op: str,
    goal: float,
    unit: str,
    flags: list[dict],
    *,
    load_sensitive: bool = True,
) -> dict:
    """A target beside its measurement. A miss of a load-sensitive target (throughput,
    latency) measured while the generator was the bottleneck, or while other processes took
    CPU, is `inconclusive`, not the server's; the number is still shown."""
    if measured is None:
        verdict = "no data"
    else:
        met = measured >= goal if op == ">=" else measured <= goal
        verdict = "met" if met else "missed"
        if not met and load_sensitive and generator_bound(flags):
            verdict = "inconclusive (generator-bound)"
        elif not met and load_sensitive and any(f["kind"] == "other_load" for f in flags):
            verdict = "inconclusive (machine shared with other load)"
    return {
        "name": name,
        "measured": measured,
        "target": f"{op} {goal:g}",
        "unit": unit,
        "verdict": verdict,
    }


def require(condition: bool, message: str) -> None:
    """The measurement could not be made at all: the harness (or the server) is broken."""
    if not condition:
        raise HarnessError(message)
