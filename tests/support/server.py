"""The service as a real process: `python -m sharemyshows_rt ...` in a process group of its own."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from .settings import COMMAND_TIMEOUT, HOST, STARTUP_TIMEOUT


class ShowsLogs:
    """A fixture value whose servers' logs end a failing test's report (support/fixtures.py)."""

    def server_logs(self) -> list[tuple[str, str]]:
        """(title, the end of one server's log), for each of its servers."""
        raise NotImplementedError


class ServerError(RuntimeError):
    """The server could not be started; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def stop_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group, then SIGKILL what is left of it after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, so that an empty group reads as gone
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
    process.poll()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(
    *args: str, env: dict, cwd: Path | None = None, timeout: float = COMMAND_TIMEOUT
) -> Result:
    """Run `python -m sharemyshows_rt ARGS` to completion (bounded), in its own process group."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sharemyshows_rt", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stop_group(process, grace=2.0)
        stdout, stderr = process.communicate()
        raise AssertionError(
            f"`{' '.join(args)}` did not finish within {timeout}s\n{stderr}"
        ) from exc
    return Result(process.returncode, stdout, stderr)


class ServerProcess:
    """`serve` on a free port, its output in `log_path`; `host` is the address it binds
    (it is reached on 127.0.0.1, which 0.0.0.0 and localhost include)."""

    def __init__(self, env: dict, log_path: Path, *, cwd: Path | None = None, host: str = HOST):
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.host = host
        self.port = free_port()
        self.base_url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = STARTUP_TIMEOUT) -> "ServerProcess":
        """Start serving and wait until GET /healthz answers 200; raise with the log if not."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sharemyshows_rt",
                    "serve",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                cwd=self.cwd,
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

    def _wait_until_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerError(
                    f"the server exited with {self.process.returncode} before "
                    f"answering /healthz; its log:\n{tail(self.log_path)}"
                )
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise ServerError(
            f"GET {self.base_url}/healthz did not answer 200 within {timeout}s; "
            f"its log:\n{tail(self.log_path)}"
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL; safe to call more than once."""
        if self.process is not None:
            stop_group(self.process)
