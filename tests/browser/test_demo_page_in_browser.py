"""The demo chat page in a real browser: tests/js/demo-chat.mjs drives Debian's Chromium with
playwright-core. Two browser contexts (two people, each with their own cookies) log in through
POST /api/dev/login, then exchange messages and typing both ways.

Cross-origin, as a real front end runs: the page comes from a static server on
http://localhost:<page_port>, the API from http://localhost:<api_port> (CORS_ALLOWED_ORIGINS
lists the page's origin; both are on localhost, so the SameSite=Lax cookie is same-site).
Same-origin, as a person trying the demo does: /demo/ served by the API itself.
The cross-origin run saves test-artifacts/demo-chat.png (bob's page, alice typing)."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest

# npm ci on a first run, a server, and a Node script bounded at 120 s by its own watchdog.
pytestmark = pytest.mark.timeout(420)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_passed(run) -> None:
    assert run.summary["ok"] and run.returncode == 0, (
        f"exit {run.returncode}; {run.summary['failed']} failed:\n{run.report()}"
    )
    groups = {check["group"] for check in run.summary["checks"]}
    assert {"login", "presence", "typing", "messages", "reconnect"} <= groups, groups


def assert_png(path) -> None:
    assert path.is_file(), f"no screenshot at {path}"
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000, f"{path}: {len(data)} bytes"


def polling_handshake(base_url: str, *, origin: str) -> tuple:
    """(status, whether a session was opened, body) of an Engine.IO polling handshake sent
    with `Origin: origin`, as a browser sends it."""
    request = urllib.request.Request(
        f"{base_url}/socket.io/?EIO=4&transport=polling", headers={"Origin": origin}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode(errors="replace")
            return response.status, '"sid"' in body, body[:200]
    except urllib.error.HTTPError as error:
        body = error.read().decode(errors="replace")
        return error.code, False, body[:200]


@pytest.fixture
def fresh_show(dev_server):
    return dev_server.db.add_show()


def test_two_people_chat_on_the_demo_page_from_another_origin(
    run_js, chromium, dev_server, page_server, fresh_show
):
    screenshot = ARTIFACTS / "demo-chat.png"
    screenshot.unlink(missing_ok=True)
    query = urlencode({"api": dev_server.localhost_url, "show": fresh_show.id})
    run = run_js(
        "demo-chat.mjs",
        "--page",
        f"{page_server.origin}/index.html?{query}",
        "--chromium",
        chromium,
        "--screenshot",
        str(screenshot),
        server=dev_server.server,
    )
    assert_passed(run)
    assert run.summary["api"] == dev_server.localhost_url
    assert_png(screenshot)
    assert_png(ARTIFACTS / "demo-chat-alice.png")
    texts = [row.message for row in dev_server.db.messages(fresh_show)]
    assert texts == [
        "Hey! Is anyone else here for the opener?",
        "Front row! The <em>sound</em> is great & loud",
        "See you at the merch stand after the show",
        "Which song is next? (sent while bob reconnects)",
    ], texts


def test_the_demo_page_served_by_the_api_itself_uses_its_own_origin(
    run_js, chromium, dev_server, fresh_show
):
    """docs/deploy.md's "try it by hand": ./scripts/serve, then open /demo/ on the API. The
    page's socket then comes from the API's own origin, which CORS_ALLOWED_ORIGINS does not
    list (it lists other front ends): a same-origin page is not cross-site, and must connect."""
    own_origin = dev_server.localhost_url
    handshake = polling_handshake(own_origin, origin=own_origin)
    assert handshake[:2] == (200, True), (
        f"GET /socket.io/?EIO=4&transport=polling with Origin: {own_origin} (the API's own "
        f"origin, where /demo/ is served) answered {handshake[0]} {handshake[2]!r}: the "
        "server refuses its own origin unless CORS_ALLOWED_ORIGINS lists it, so the demo page "
        "it serves cannot open a socket"
    )
    run = run_js(
        "demo-chat.mjs",
        "--page",
        f"{dev_server.localhost_url}/demo/?{urlencode({'show': fresh_show.id})}",
        "--chromium",
        chromium,
        server=dev_server.server,
    )
    assert_passed(run)
    assert run.summary["api"] == dev_server.localhost_url
    assert len(dev_server.db.messages(fresh_show)) == 4
