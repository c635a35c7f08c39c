"""Access tokens never reach the server's log, uvicorn's access log included."""

import asyncio
import json
import uuid

import pytest
from support.rest import bearer, cookie
from support.settings import TIMEOUT


async def log_reaches(deployment, marker: str) -> str:
    """The server's whole log, once it holds `marker` (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while marker not in (text := deployment.server.log()):
        assert loop.time() < deadline, f"{marker!r} never reached the server's log"
        await asyncio.sleep(0.02)
    return text


def assert_not_logged(secret: str, log: str) -> None:
    lines = [line for line in log.splitlines() if secret in line]
    if lines:
        raise AssertionError(
            f"a token is in {len(lines)} line(s) of the server's log, e.g.:\n{lines[0][:300]}"
        )


async def mark_log(http, deployment) -> str:
    marker = f"marker-{uuid.uuid4().hex}"
    await http.get("/healthz", params={"marker": marker})
    return await log_reaches(deployment, marker)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_query_string_token_is_not_logged(transport, db, tokens, deployment, clients, http):
    fan, show = db.add_user(), db.add_show()
    token = tokens.access(fan.id)
    client = clients(transport)
    await client.connect(query=token)
    sid = client.sid
    await client.join(show.id)
    await client.say(show.id, "hello from the query string")
    await client.close()
    log = await mark_log(http, deployment)
    if transport == "polling":
        assert "token=[redacted]" in log  # the access log did record the requests
    else:  # uvicorn's websocket lines are dropped (QuietWebSocketOpenings); ours is there
        assert f"connect sid={sid} user={fan.id}" in log
    assert_not_logged(token.split(".")[2], log)  # not even the signature


async def test_refused_query_string_token_is_not_logged(db, tokens, deployment, clients, http):
    fan = db.add_user()
    token = tokens.expired(fan.id)
    await clients().refused(query=token)
    assert_not_logged(token, await mark_log(http, deployment))


async def test_rest_tokens_are_not_logged(db, tokens, deployment, http):
    fan, show = db.add_user(), db.add_show()
    tokens_used = [tokens.access(fan.id) for _ in range(4)]
    url = f"/api/shows/{show.id}/messages"
    await http.get(url, headers=bearer(tokens_used[0]))
    await http.get(url, headers=cookie(tokens_used[1]))
    await http.get(url, params={"token": tokens_used[2]})
    await http.get(url, params={"access_token": tokens_used[3]})
    log = await mark_log(http, deployment)
    for token in tokens_used:
        assert_not_logged(token, log)


async def test_percent_escaped_token_parameter_is_not_logged(db, tokens, deployment, http):
    """`%74oken` is `token` to the server's query parser (it authenticates the connection),
    so it must be `token` to the redaction too. Raw Engine.IO polling: client libraries
    would normalise the name."""
    fan = db.add_user()
    token = tokens.access(fan.id)
    base = f"/socket.io/?EIO=4&transport=polling&%74oken={token}"
    opened = await http.get(base)
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    sid = json.loads(opened.text[1:])["sid"]
    assert (await http.post(f"{base}&sid={sid}", content="40")).status_code == 200
    answer = (await http.get(f"{base}&sid={sid}")).text
    assert answer.startswith("40{"), f"the server did not take the token: {answer!r}"
    await http.post(f"{base}&sid={sid}", content="1")  # close
    assert_not_logged(token, await mark_log(http, deployment))
