"""Moderation on the demo page in a real browser: tests/js/demo-moderation.mjs drives Debian's
Chromium with playwright-core. Two browser contexts: a site admin (the development login's
`admin: true` puts the ADMIN_CLAIM claim in the token) and a fan. The fan's message deleted by
the admin leaves both windows; the fan deletes their own; the admin times the fan out (the
fan's next send says `Timed out`), turns slow mode on, bans the fan (the fan's page stops)
and unbans them. Then the database, the state route and the audit trail must hold what the
pages showed."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import text

# npm ci on a first run, a server, and a Node script bounded at 120 s by its own watchdog.
pytestmark = pytest.mark.timeout(420)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
SCREENSHOT = ARTIFACTS / "demo-moderation.png"  # the moderator's page after the ban
GROUPS = {"login", "delete", "timeout", "slow-mode", "ban", "browser"}


def test_a_moderator_and_a_fan_on_the_demo_page(run_js, chromium, dev_server, page_server):
    show = dev_server.db.add_show()
    SCREENSHOT.unlink(missing_ok=True)
    query = urlencode({"api": dev_server.localhost_url, "show": show.id})
    run = run_js(
        "demo-moderation.mjs",
        "--page",
        f"{page_server.origin}/index.html?{query}",
        "--chromium",
        chromium,
        "--screenshot",
        str(SCREENSHOT),
        server=dev_server.server,
    )
    assert run.summary["ok"] and run.returncode == 0, (
        f"exit {run.returncode}; {run.summary['failed']} failed:\n{run.report()}"
    )
    assert GROUPS <= {check["group"] for check in run.summary["checks"]}, run.report()
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 10_000, SCREENSHOT

    ids = run.summary["ids"]
    with dev_server.db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, deleted_at FROM chat_messages WHERE show_id = :show ORDER BY id"),
            {"show": show.id},
        ).all()
    # Kept as deleted, not removed; the time-out refused the fourth message (never stored).
    assert [row.id for row in rows] == [ids["spam"], ids["oops"], ids["rant"]], rows
    assert {row.id for row in rows if row.deleted_at is not None} == {ids["spam"], ids["oops"]}

    # What the pages showed is the show's state and audit trail: slow mode on, nobody banned
    # any more, and every action (the fan's own deletion included), newest first.
    with httpx.Client(base_url=dev_server.base_url, timeout=10) as client:
        admin = client.post("/api/dev/login", json={"username": "auditor", "admin": True})
        assert admin.status_code == 200 and admin.json()["is_admin"] is True, admin.text
        bearer = {"Authorization": f"Bearer {admin.json()['token']}"}
        state = client.get(f"/api/shows/{show.id}/moderation/state", headers=bearer)
        audit = client.get(f"/api/shows/{show.id}/moderation", headers=bearer)
    assert state.status_code == 200, state.text
    assert (state.json()["slow_mode_seconds"], state.json()["bans"]) == (30, []), state.json()
    assert audit.status_code == 200, audit.text
    actions = [
        (a["action"], a["actor"]["username"], a["message_id"]) for a in audit.json()["actions"]
    ]
    mod, fan = run.summary["mod"], run.summary["fan"]
    assert actions == [
        ("unban_user", mod, None),
        ("ban_user", mod, None),
        ("set_slow_mode", mod, None),
        ("timeout_user", mod, None),
        ("delete_message", fan, ids["oops"]),
        ("delete_message", mod, ids["spam"]),
    ], actions


def test_the_development_login_makes_an_admin_only_when_asked(dev_server):
    """The demo's moderator: `admin: true` (the JSON true) puts the admin claim in the token,
    which the moderation state route honours; without it, a fan; anything else is refused."""
    show = dev_server.db.add_show()
    route = f"/api/shows/{show.id}/moderation/state"
    with httpx.Client(base_url=dev_server.base_url, timeout=10) as client:
        answers = {}
        for label, extra in (("fan", {}), ("admin", {"admin": True})):
            client.cookies.clear()  # a login with a cookie would need an Origin (CSRF)
            login = client.post("/api/dev/login", json={"username": f"dev_{label}", **extra})
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['token']}"}
            answers[label] = (login.json()["is_admin"], client.get(route, headers=bearer))
        client.cookies.clear()
        refused = client.post("/api/dev/login", json={"username": "dev_x", "admin": "true"})
    assert answers["fan"][0] is False and answers["fan"][1].status_code == 403
    assert answers["admin"][0] is True and answers["admin"][1].status_code == 200
    assert answers["admin"][1].json()["slow_mode_seconds"] == 0
    assert refused.status_code == 422, refused.text
