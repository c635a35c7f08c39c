"""What the harness measures from outside the processes: CPU time and memory from /proc,
PostgreSQL's backend CPU, the machine's total CPU, and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PG_AUX = (
    "checkpointer",
    "background writer",
    "walwriter",
    "autovacuum launcher",
    "logical replication launcher",
    "stats collector",
    "archiver",
)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return text[text.rindex(")") + 2 :].split()


def process_cpu(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None when it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_rss_kib(pid: int) -> int | None:
    """VmRSS of a process in KiB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def system_cpu() -> tuple[float, float, float]:
    """(busy, total, stolen) CPU seconds of the whole machine since boot, all cores; stolen:
    what the hypervisor gave to other virtual machines while this one wanted to run (counted
    in busy)."""
    parts = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    values = [int(v) for v in parts[:8]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    total = sum(values)
    return (total - idle) / CLK_TCK, total / CLK_TCK, values[7] / CLK_TCK


TCP_COUNTERS = ("ListenOverflows", "TCPTimeouts", "TCPSynRetrans", "RetransSegs")


def tcp_counters() -> dict[str, int]:
    """The machine's TCP counters that show connections the kernel dropped or retried (all
    processes: on a machine running only the benchmark, the benchmark's)."""
    found: dict[str, int] = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        for names, values in zip(lines[::2], lines[1::2]):
            for name, value in zip(names.split()[1:], values.split()[1:]):
                if name in TCP_COUNTERS:
                    found[name] = int(value)
    return found


class PostgresCpu:
    """CPU of the PostgreSQL processes serving one database (its backends, found by the
    database name in their process title), and of the server's shared auxiliary processes.

    Backends come and go (the service's pool opens and closes connections), so every one is
    remembered with the last CPU seen; a backend's CPU after the last sample before it exits
    is missed (the sampler runs every half second)."""

    def __init__(self, database: str) -> None:
        self.database = database
        self._lock = threading.Lock()
        self._backends: dict[int, float] = {}  # pid -> last cpu (backends are new: base 0)
        self._aux_base: dict[int, float] = {}
        self._aux_last: dict[int, float] = {}
        self.sample()

    def sample(self) -> tuple[float, float]:
        """(backend CPU s, auxiliary CPU s) so far."""
        with self._lock:
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                pid = int(entry.name)
                known = pid in self._backends or pid in self._aux_last
                if not known:
                    try:
                        if Path(f"/proc/{pid}/comm").read_text().strip() != "postgres":
                            continue
                        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                    except (FileNotFoundError, ProcessLookupError, PermissionError):
                        continue
                    words = title.decode(errors="replace").split()
                    if self.database in words:
                        self._backends[pid] = 0.0
                    elif any(name in " ".join(words) for name in PG_AUX):
                        cpu = process_cpu(pid)
                        if cpu is not None:
                            self._aux_base[pid] = cpu
                            self._aux_last[pid] = cpu
                        continue
                    else:
                        continue
                cpu = process_cpu(pid)
                if cpu is None:
                    continue
                if pid in self._backends:
                    self._backends[pid] = cpu
                else:
                    self._aux_last[pid] = cpu
            backends = sum(self._backends.values())
            aux = sum(self._aux_last[p] - self._aux_base[p] for p in self._aux_last)
            return backends, aux

    @property
    def backend_count(self) -> int:
        return len(self._backends)


@dataclass
class Sample:
    t: float  # monotonic seconds
    server_cpu: float | None
    server_rss_kib: int | None
    worker_cpu: list[float | None]
    db_cpu: float
    db_aux_cpu: float
    sys_busy: float
    sys_total: float
    self_cpu: float
    sys_steal: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Delta:
    """Resources used between two samples."""

    seconds: float
    server_cpu: float
    worker_cpu: list[float]
    db_cpu: float
    db_aux_cpu: float
    sys_busy: float
    self_cpu: float
    server_rss_kib: int | None
    sys_steal: float = 0.0
    cores: int = field(default_factory=lambda: os.cpu_count() or 1)

    @property
    def generator_cpu(self) -> float:
        return sum(self.worker_cpu)

    @property
    def other_cpu(self) -> float:
        """CPU of everything else on the machine (other users, other databases)."""
        return max(
            0.0,
            self.sys_busy
            - self.server_cpu
            - self.generator_cpu
            - self.db_cpu
            - self.db_aux_cpu
            - self.self_cpu,
        )

    def util(self, cpu: float) -> float:
        return cpu / self.seconds if self.seconds > 0 else 0.0

    def report(self) -> dict:
        return {
            "seconds": round(self.seconds, 3),
            "server_cpu_s": round(self.server_cpu, 3),
            "server_cores": round(self.util(self.server_cpu), 3),
            "generator_cpu_s": round(self.generator_cpu, 3),
            "generator_cores": round(self.util(self.generator_cpu), 3),
            "generator_worker_cores": [round(self.util(c), 3) for c in self.worker_cpu],
            "db_backend_cpu_s": round(self.db_cpu, 3),
            "db_backend_cores": round(self.util(self.db_cpu), 3),
            "db_aux_cpu_s": round(self.db_aux_cpu, 3),
            "harness_cpu_s": round(self.self_cpu, 3),
            "machine_busy_cores": round(self.util(self.sys_busy), 3),
            "other_cores": round(self.util(self.other_cpu), 3),
            # Part of "others": a virtual machine's CPU taken by its neighbours.
            "steal_cores": round(self.util(self.sys_steal), 3),
            "cores": self.cores,
            "server_rss_kib": self.server_rss_kib,
        }


class Sampler:
    """Samples the server, the generator workers, PostgreSQL and the machine every
    `interval` seconds in a thread, and on demand (`snapshot`) at window edges."""

    def __init__(
        self, server_pid: int, worker_pids: list[int], postgres: PostgresCpu, interval: float = 0.5
    ) -> None:
        self.server_pid = server_pid
        self.worker_pids = worker_pids
        self.postgres = postgres
        self.interval = interval
        self.samples: list[Sample] = []
        self._last_server_cpu = 0.0
        self._last_worker_cpu = [0.0] * len(worker_pids)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> Sampler:
        self.samples.append(self.snapshot())
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            sample = self.snapshot()
            with self._lock:
                self.samples.append(sample)

    def snapshot(self) -> Sample:
        server_cpu = process_cpu(self.server_pid)
        if server_cpu is not None:
            self._last_server_cpu = server_cpu
        worker_cpu = []
        for i, pid in enumerate(self.worker_pids):
            cpu = process_cpu(pid)
            if cpu is not None:
                self._last_worker_cpu[i] = cpu
            worker_cpu.append(cpu if cpu is not None else self._last_worker_cpu[i])
        db, aux = self.postgres.sample()
        busy, total, stolen = system_cpu()
        own = os.times()
        return Sample(
            time.monotonic(),
            server_cpu if server_cpu is not None else self._last_server_cpu,
            process_rss_kib(self.server_pid),
            worker_cpu,
            db,
            aux,
            busy,
            total,
            own.user + own.system,
            stolen,
        )

    @staticmethod
    def delta(a: Sample, b: Sample) -> Delta:
        return Delta(
            seconds=b.t - a.t,
            server_cpu=(b.server_cpu or 0.0) - (a.server_cpu or 0.0),
            worker_cpu=[(y or 0.0) - (x or 0.0) for x, y in zip(a.worker_cpu, b.worker_cpu)],
            db_cpu=b.db_cpu - a.db_cpu,
            db_aux_cpu=b.db_aux_cpu - a.db_aux_cpu,
            sys_busy=b.sys_busy - a.sys_busy,
            self_cpu=b.self_cpu - a.self_cpu,
            server_rss_kib=b.server_rss_kib,
            sys_steal=b.sys_steal - a.sys_steal,
        )

    def timeseries(self, origin: float) -> list[dict]:
        """Per-interval utilisation, for plots and the JSON."""
        with self._lock:
            samples = list(self.samples)
        rows = []
        for a, b in zip(samples, samples[1:]):
            d = self.delta(a, b)
            if d.seconds <= 0:
                continue
            rows.append(
                {
                    "t": round(b.t - origin, 3),
                    "server_cores": round(d.util(d.server_cpu), 3),
                    "generator_cores": [round(d.util(c), 3) for c in d.worker_cpu],
                    "db_cores": round(d.util(d.db_cpu), 3),
                    "machine_cores": round(d.util(d.sys_busy), 3),
                    "server_rss_kib": b.server_rss_kib,
                }
            )
        return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def ephemeral_ports() -> int:
    """How many local ports 127.0.0.1 clients can use (net.ipv4.ip_local_port_range)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(high) - int(low) + 1
    except (OSError, ValueError):
        return 28232  # Linux's default range


def _nofile() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def python_speed() -> float:
    """How fast this machine runs Python right now, in thousands of reference operations
    per CPU-second (best of three): shared virtual machines differ from day to day, and
    CPU-seconds per unit of work only compare between runs of similar speed."""
    payload = {
        "id": 12345,
        "show_id": 7,
        "user_id": 42,
        "username": "fan_42",
        "message": "what a show tonight! " * 3,
        "timestamp": "2026-11-27T20:15:00Z",
    }
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for i in range(20_000):
            text = json.dumps(payload, separators=(",", ":"))
            data = json.loads(text)
            data["id"] = i
            _ = f"{data['username']}:{data['id']}".encode()
        best = min(best, time.process_time() - started)
    return round(20.0 / best, 1)


def machine_info(root: Path) -> dict:
    """The machine and software a result was measured on."""
    dirty = _git(root, "status", "--porcelain", "--", "src", "alembic", "pyproject.toml")
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "python_speed_kops": python_speed(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": {
            name: _version(name)
            for name in (
                "sharemyshows-rt",
                "python-socketio",
                "python-engineio",
                "uvicorn",
                "uvloop",
                "websockets",
                "starlette",
                "SQLAlchemy",
                "asyncpg",
                "orjson",
                "pydantic",
            )
        },
        "git_commit": _git(root, "rev-parse", "--short", "HEAD"),
        "git_src_dirty": bool(dirty),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "ephemeral_ports": ephemeral_ports(),
        "nofile_limit": _nofile(),
        "argv": sys.argv[1:],
    }
