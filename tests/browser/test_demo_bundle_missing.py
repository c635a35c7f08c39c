"""A checkout where ./scripts/build-demo never ran: the demo page has no Socket.IO client
bundle. Instead of loading, taking a name and silently staying Disconnected, the page, the
bundle's own URL and the serve log say what to run. The server runs from a copy of the
package without demo/vendor/ (PYTHONPATH), as a fresh clone is."""

from __future__ import annotations

import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.database import sqlite_urls
from support.server import ServerProcess
from support.settings import clean_environment

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "sharemyshows_rt"
WHAT_TO_RUN = "run ./scripts/build-demo (needs Node.js 20+)"
DUMP_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory):
    """`serve` in development mode from a copy of the package without the bundle."""
    workdir = tmp_path_factory.mktemp("no-bundle")
    shutil.copytree(
        PACKAGE,
        workdir / "src" / "sharemyshows_rt",
        ignore=shutil.ignore_patterns("vendor", "__pycache__"),
    )
    (workdir / "alembic").symlink_to(ROOT / "alembic")  # where a checkout has its migrations
    env = clean_environment(
        DATABASE_URL=sqlite_urls(workdir / "dev.db").server, PYTHONPATH=str(workdir / "src")
    )
    server = ServerProcess(env, workdir / "server.log", cwd=workdir).start()
    try:
        yield server
    finally:
        server.stop()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_server_runs_the_copy_without_the_bundle(bare_server):
    probe = subprocess.run(
        [sys.executable, "-c", "import sharemyshows_rt; print(sharemyshows_rt.__file__)"],
        env=bare_server.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout.startswith(bare_server.env["PYTHONPATH"]), probe


def test_serve_log_and_the_bundle_url_say_what_to_run(bare_server):
    assert f"the socket.io client bundle is missing; {WHAT_TO_RUN}" in bare_server.log()
    status, page = get(f"{bare_server.base_url}/demo/")
    assert status == 200 and "vendor/socket.io.min.js" in page
    status, body = get(f"{bare_server.base_url}/demo/vendor/socket.io.min.js")
    assert status == 404 and WHAT_TO_RUN in body, (status, body)


def test_the_page_says_what_to_run_before_anyone_logs_in(bare_server, chromium):
    """Chromium's DOM after the page's scripts ran: the status and the login form say it."""
    page = f"http://localhost:{bare_server.port}/demo/"
    dumped = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=DUMP_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    dom = dumped.stdout
    assert "<body" in dom, (
        f"chromium dumped no page ({dumped.returncode}):\n{dumped.stderr[-2000:]}"
    )
    assert 'data-state="error"' in dom and "Socket.IO client missing" in dom, dom[:3000]
    assert "run ./scripts/build-demo (needs Node.js 20+), then reload this page." in dom, dom
    assert 'id="login-button" type="submit" disabled' in dom, dom
