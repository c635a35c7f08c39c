"""The system under test: a fresh PostgreSQL database (created, migrated, seeded and dropped
by the harness) and one `sharemyshows-rt serve` process on 127.0.0.1."""

from __future__ import annotations

import asyncio
import collections
import os
import re
import resource
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import asyncpg

ADMIN_DSN = os.environ.get("BENCH_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
NOFILE = 65536

# Rate limits that would throttle the load are raised; everything else is the default.
BENCH_SERVER_ENV = {
    "SHAREMYSHOWS_ENV": "production",
    "SEND_RATE": "100000",
    "SEND_BURST": "100000",
    "SEND_RATE_USER": "100000",
    "SEND_BURST_USER": "100000",
    "TYPING_RATE": "100000",
    "EVENTS_PER_SECOND": "100000",
    "MAX_CONNECTIONS_PER_USER": "1000",
}


class HarnessError(RuntimeError):
    """The harness cannot go on (server does not start, database unreachable...)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(coro):
    return asyncio.run(coro)


class Database:
    """A database of its own on the local PostgreSQL, for one run."""

    def __init__(self, admin_dsn: str = ADMIN_DSN) -> None:
        self.admin_dsn = admin_dsn
        self.name = f"sms_bench_{os.getpid()}_{secrets.token_hex(3)}"
        base = admin_dsn.rsplit("/", 1)[0]
        self.dsn = f"{base}/{self.name}"
        self.created = False

    def create(self) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'CREATE DATABASE "{self.name}"')
            finally:
                await conn.close()

        try:
            _run(go())
        except (OSError, asyncpg.PostgresError) as exc:
            raise HarnessError(f"cannot create a database on {self.admin_dsn}: {exc!r}") from None
        self.created = True

    def drop(self) -> None:
        if not self.created:
            return

        async def go() -> None:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await conn.close()

        _run(go())
        self.created = False

    def seed(self, users: int, shows: int) -> None:
        """Users 1..users (`bench_u<id>`) and shows 1..shows, straight into the tables."""

        async def go() -> None:
            conn = await asyncpg.connect(self.dsn, timeout=10)
            try:
                await conn.copy_records_to_table(
                    "users",
                    records=[(i, f"bench_u{i}") for i in range(1, users + 1)],
                    columns=["id", "username"],
                )
                await conn.copy_records_to_table(
                    "shows",
                    records=[(i, f"Bench show {i}") for i in range(1, shows + 1)],
                    columns=["id", "title"],
                )
                await conn.execute("ANALYZE")
            finally:
                await conn.close()

        _run(go())

    def postgres_version(self) -> str:
        async def go() -> str:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                return await conn.fetchval("SHOW server_version")
            finally:
                await conn.close()

        return _run(go())

    def check_acknowledged(self, acked: list[tuple[int, str]]) -> dict:
        """Every acknowledged (id, text) must be a stored row with that text."""

        async def go() -> dict:
            conn = await asyncpg.connect(self.dsn, timeout=30)
            try:
                ids = [i for i, _ in acked]
                rows = await conn.fetch(
                    "SELECT id, message FROM chat_messages WHERE id = ANY($1::bigint[])", ids
                )
                total = await conn.fetchval("SELECT count(*) FROM chat_messages")
            finally:
                await conn.close()
            stored = {row["id"]: row["message"] for row in rows}
            missing = [i for i, _ in acked if i not in stored]
            wrong = [i for i, text in acked if i in stored and stored[i] != text]
            distinct = len(set(ids))
            return {
                "acknowledged": len(acked),
                "acknowledged_distinct_ids": distinct,
                "found": len(stored),
                "missing": len(missing),
                "missing_ids": missing[:20],
                "text_mismatch": len(wrong),
                "text_mismatch_ids": wrong[:20],
                "rows_in_table": total,
                "stored_not_acknowledged": total - len(stored),
                "ok": not missing and not wrong and distinct == len(acked),
            }

        return _run(go())


def export_source(root: Path, rev: str, into: Path) -> str:
    """`src/` and `alembic/` of git revision `rev`, written under `into` (no change to the
    repository); the full commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if commit.returncode != 0:
        raise HarnessError(f"unknown git revision {rev!r}: {commit.stderr.strip()}")
    sha = commit.stdout.strip()
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", sha, "src", "alembic"], cwd=root, capture_output=True
    )
    if archive.returncode != 0:
        raise HarnessError(f"git archive {rev} failed: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return sha


def _raise_nofile() -> None:
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """`sharemyshows-rt serve` as a child process, its output in `log_path`."""

    def __init__(
        self,
        venv_bin: Path,
        database_url: str,
        log_path: Path,
        overrides: dict[str, str] | None = None,
        port: int | None = None,
        source: Path | None = None,
    ) -> None:
        self.executable = venv_bin / "sharemyshows-rt"
        if not self.executable.exists():
            raise HarnessError(f"{self.executable} is missing: install the service into the venv")
        self.port = port or free_port()
        self.secret = secrets.token_urlsafe(32)
        self.log_path = log_path
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "REDIS_", "JWT_", "SHAREMYSHOWS_"))
        }
        self.env.update(BENCH_SERVER_ENV)
        self.env.update({"DATABASE_URL": database_url, "JWT_SECRET_KEY": self.secret})
        self.env.update(overrides or {})
        if source is not None:  # a snapshot of the code (see `export_source`) before the venv's
            self.env["PYTHONPATH"] = os.pathsep.join(
                [str(source / "src")] + [p for p in [os.environ.get("PYTHONPATH")] if p]
            )
        self.process: subprocess.Popen | None = None
        self._log = None
        self.killed = False

    @property
    def config(self) -> dict:
        """The server's environment settings that differ from the defaults (secret hidden)."""
        shown = dict(BENCH_SERVER_ENV)
        shown.update(
            {
                k: v
                for k, v in self.env.items()
                if k
                in (
                    "LOG_LEVEL",
                    "SEND_QUEUE_LIMIT",
                    "HISTORY_LIMIT",
                    "REDIS_URL",
                    "MAX_FRAME_BYTES",
                    "PING_INTERVAL",
                    "PING_TIMEOUT",
                    "DB_TIMEOUT",
                )
                or k in BENCH_SERVER_ENV
            }
        )
        return shown

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def served_from(self) -> str:
        """Where the server's `sharemyshows_rt` package is imported from."""
        done = subprocess.run(
            [
                str(self.executable.parent / "python"),
                "-c",
                "import sharemyshows_rt; print(sharemyshows_rt.__file__)",
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return str(Path(done.stdout.strip()).parent) if done.returncode == 0 else "?"

    def migrate(self) -> None:
        done = subprocess.run(
            [str(self.executable), "migrate"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise HarnessError(
                f"sharemyshows-rt migrate failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )

    def start(self, timeout: float = 60.0) -> None:
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [str(self.executable), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_raise_nofile,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(
                    f"the server exited with {self.process.returncode} while "
                    f"starting:\n{self.log_tail()}"
                )
            if self._get("/readyz") == 200:
                return
            time.sleep(0.1)
        raise HarnessError(f"the server was not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def _get(self, path: str) -> int | None:
        try:
            with urllib.request.urlopen(self.url + path, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (OSError, urllib.error.URLError):
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no drain, no flush; what was acknowledged must already be committed."""
        if self.alive():
            self.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
            self.process.wait(10)  # type: ignore[union-attr]
            self.killed = True

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (the graceful drain), then SIGKILL after `timeout`; the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


_NOISE = re.compile(r"(sid=|connection |user=|\b)[A-Za-z0-9_\-]{20}\b|\b\d+\b")


def scan_log(path: Path, teardown_offset: int = -1) -> dict:
    """Count the server log's errors, warnings and tracebacks, separately for the run and for
    the teardown (clients closing, then SIGTERM) that starts at byte `teardown_offset`."""
    try:
        data = path.read_bytes()
    except OSError:
        return {"lines": 0}
    cut = teardown_offset if 0 <= teardown_offset <= len(data) else len(data)
    run = _scan(data[:cut].decode(errors="replace"))
    run["teardown"] = _scan(data[cut:].decode(errors="replace"))
    run["lines"] += run["teardown"]["lines"]
    return run


def _scan(text: str) -> dict:
    levels: collections.Counter[str] = collections.Counter()
    examples: collections.OrderedDict[str, str] = collections.OrderedDict()
    tracebacks = 0
    lines = 0
    for line in text.splitlines():
        lines += 1
        if line.startswith("Traceback"):
            tracebacks += 1
        for level in ("CRITICAL", "ERROR", "WARNING"):
            if f" {level} " in line:
                levels[level] += 1
                key = _NOISE.sub("#", line.split(f" {level} ", 1)[1])[:160]
                if key not in examples and len(examples) < 12:
                    examples[key] = line[:400]
                break
    return {
        "lines": lines,
        "errors": levels["ERROR"] + levels["CRITICAL"],
        "warnings": levels["WARNING"],
        "tracebacks": tracebacks,
        "examples": list(examples.values()),
    }
