"""Fixtures for the JavaScript client and browser tests: Node.js and the pinned npm packages
(tests/js, installed from the lock file by scripts/build-demo), Debian's Chromium, a
development-mode server (SQLite, /api/dev/login, /demo/) and the demo page served from a
second origin.

Missing Node.js or Chromium skips these tests, with the reason; under CI=true it fails them
(CI installs Chromium with scripts/install-browser first).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.database import Database, sqlite_urls
from support.fixtures import unavailable
from support.server import ServerProcess, tail
from support.settings import HOST, clean_environment

ROOT = Path(__file__).resolve().parents[2]
JS_DIR = ROOT / "tests" / "js"
DEMO_DIR = ROOT / "src" / "sharemyshows_rt" / "demo"
ARTIFACTS = ROOT / "test-artifacts"
BUILD_DEMO = ROOT / "scripts" / "build-demo"
NODE_MAJOR = 20
INSTALL_TIMEOUT = 120.0  # npm ci from the lock file
SCRIPT_TIMEOUT = 150.0  # one Node script; each script bounds itself at 120 s (watchdog)


@pytest.fixture(scope="session")
def node() -> str:
    """The `node` executable, version 20 or newer."""
    path = shutil.which("node")
    if path is None:
        unavailable("node is not installed: the JavaScript client tests need Node.js 20+")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    major = int(version.stdout.strip().lstrip("v").split(".")[0] or 0)
    if major < NODE_MAJOR:
        unavailable(f"node {version.stdout.strip()} is too old: Node.js {NODE_MAJOR}+ is needed")
    return path


@pytest.fixture(scope="session")
def js_packages(node) -> Path:
    """tests/js/node_modules from package-lock.json (npm ci, skipped when already installed),
    and the demo page's vendor/socket.io.min.js: both made by scripts/build-demo."""
    if shutil.which("npm") is None:
        unavailable("npm is not installed: the JavaScript client tests need it")
    try:
        built = subprocess.run(
            [str(BUILD_DEMO)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"scripts/build-demo (npm ci) did not finish within {INSTALL_TIMEOUT}s")
    if built.returncode != 0:
        unavailable(f"scripts/build-demo failed ({built.returncode}):\n{built.stderr[-3000:]}")
    assert (DEMO_DIR / "vendor" / "socket.io.min.js").is_file()
    return JS_DIR / "node_modules"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium (CHROMIUM, default /usr/bin/chromium)."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        unavailable(
            f"{path} is missing: run scripts/install-browser (as root) to install Debian's chromium"
        )
    return path


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@dataclass
class PageServer:
    """A plain static HTTP server for the demo directory, on an origin of its own."""

    port: int

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.port}"


@pytest.fixture(scope="session")
def page_server() -> Iterator[PageServer]:
    httpd = ThreadingHTTPServer((HOST, 0), functools.partial(QuietHandler, directory=str(DEMO_DIR)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="demo-page-server", daemon=True)
    thread.start()
    try:
        yield PageServer(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@dataclass
class DevServer:
    """`serve` in development mode: SQLite, no JWT_SECRET_KEY, /api/dev/login and /demo/."""

    server: ServerProcess
    db: Database

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def localhost_url(self) -> str:
        """The API as a browser on localhost reaches it (same site as the page server)."""
        return f"http://localhost:{self.server.port}"


@pytest.fixture(scope="session")
def dev_server(page_server, tmp_path_factory) -> Iterator[DevServer]:
    workdir = tmp_path_factory.mktemp("dev-server")
    urls = sqlite_urls(workdir / "dev.db")
    env = clean_environment(
        DATABASE_URL=urls.server, CORS_ALLOWED_ORIGINS=f"{page_server.origin},http://localhost:3000"
    )
    server = ServerProcess(env, workdir / "server.log").start()
    db = Database(urls.tests)
    try:
        yield DevServer(server, db)
    finally:
        db.dispose()
        server.stop()


@dataclass
class ScriptRun:
    """A Node script's JSON summary of checks, and its output."""

    returncode: int
    summary: dict
    stderr: str

    def checks(self, group: str) -> list[dict]:
        return [check for check in self.summary["checks"] if check["group"] == group]

    def report(self, checks: list[dict] | None = None) -> str:
        checks = self.summary["checks"] if checks is None else checks
        return "\n".join(
            f"{'ok  ' if c['ok'] else 'FAIL'} {c['name']}"
            + ("" if c["ok"] else f"\n       {c['error']}")
            for c in checks
        )


def run_node_script(
    node: str,
    script: str,
    *args: str,
    server: ServerProcess | None = None,
    timeout: float = SCRIPT_TIMEOUT,
) -> ScriptRun:
    """Run tests/js/SCRIPT with ARGS (bounded); its parsed summary, or a failure that shows
    what it printed (and the end of the server's log)."""
    command = [node, str(JS_DIR / script), *args]
    try:
        done = subprocess.run(
            command,
            cwd=JS_DIR,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{script} did not finish within {timeout}s:\n{exc.stderr or ''}", pytrace=False
        )
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        log = f"\nserver log:\n{tail(server.log_path, 30)}" if server else ""
        pytest.fail(
            f"{script} exited {done.returncode} without a JSON summary.\nstdout:\n"
            f"{done.stdout[-2000:]}\nstderr:\n{done.stderr[-4000:]}{log}",
            pytrace=False,
        )
    return ScriptRun(done.returncode, summary, done.stderr)


@pytest.fixture(scope="session")
def run_js(node, js_packages):
    """run_js(script, *args, server=None) -> ScriptRun: a tests/js script's checks."""
    return functools.partial(run_node_script, node)
