"""`moderators add|remove|list SHOW_ID [USER_ID]`: the rows the server's rules read, and one
line with exit 2 on bad input."""

import pytest
from support.moderation import act, ok, refused
from support.scenes import pair_in_show
from support.server import run_cli


def moderators(env: dict, *args: str):
    return run_cli("moderators", *args, env=env)


async def test_add_list_remove_and_the_server_follows(db, deployment, connect):
    show, alice, bob = await pair_in_show(db, connect)
    payload = {"show_id": show.id, "seconds": 5}
    refused(await act(bob.client, "set_slow_mode", payload), "Forbidden")
    added = moderators(deployment.env, "add", str(show.id), str(bob.user.id))
    assert added.returncode == 0, added.stderr
    assert "now moderates" in added.stdout
    again = moderators(deployment.env, "add", str(show.id), str(bob.user.id))
    assert again.returncode == 0 and "already" in again.stdout
    listed = moderators(deployment.env, "list", str(show.id))
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.strip().splitlines()
    assert line.split("\t")[:2] == [str(bob.user.id), bob.user.username]
    ok(await act(bob.client, "set_slow_mode", {**payload, "seconds": 0}))
    removed = moderators(deployment.env, "remove", str(show.id), str(bob.user.id))
    assert removed.returncode == 0 and "no longer" in removed.stdout
    assert moderators(deployment.env, "list", str(show.id)).stdout.strip() == ""
    refused(await act(bob.client, "set_slow_mode", payload), "Forbidden")


@pytest.mark.parametrize(
    "args",
    [
        ["add", "SHOW"],
        ["add", "SHOW", "abc"],
        ["add", "0", "USER"],
        ["add", "2000000000", "USER"],
        ["add", "SHOW", "2000000000"],
        ["list", "SHOW", "USER"],
        ["remove", "x", "USER"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, db, deployment):
    show, user = db.add_show(), db.add_user()
    args = [str(show.id) if a == "SHOW" else str(user.id) if a == "USER" else a for a in args]
    result = moderators(deployment.env, *args)
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stdout == ""
