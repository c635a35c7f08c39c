"""Subscriptions over REST, with the same token as the rest of the API: the public key to
subscribe with, storing a browser's PushSubscription (the same endpoint again updates it),
removing it by endpoint, and what is refused."""

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from support.push_service import Device, b64url, public_point, unb64url
from support.rest import assert_json_error, bearer


async def test_vapid_public_key_is_the_configured_p256_point_in_base64url(push):
    user = push.user()
    response = await push.http.get(
        f"{push.base_url()}/api/push/vapid_public_key", headers=push.auth(user)
    )
    assert response.status_code == 200, response.text
    key = response.json()["public_key"]
    assert "=" not in key and "+" not in key and "/" not in key, f"not base64url: {key!r}"
    point = unb64url(key)
    assert len(point) == 65 and point[0] == 4, f"not an uncompressed P-256 point: {point!r}"
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)  # on the curve
    assert key == push.deployment.vapid.public_key, "not the key `vapid-keys` printed"


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/api/push/vapid_public_key", None),
        ("POST", "/api/push/subscriptions", "subscription"),
        ("DELETE", "/api/push/subscriptions", "endpoint"),
        ("POST", "/api/shows/1/mute", None),
        ("DELETE", "/api/shows/1/mute", None),
    ],
)
@pytest.mark.parametrize("token", ["none", "expired", "wrong_signature"])
async def test_push_routes_answer_401_without_a_valid_token(push, method, path, body, token):
    device = Device(push.peer)
    user = push.user()
    tokens = push.deployment.tokens
    headers = {
        "none": {},
        "expired": bearer(tokens.expired(user.id)),
        "wrong_signature": bearer(tokens.wrong_signature(user.id)),
    }[token]
    json = {
        "subscription": device.subscription(),
        "endpoint": {"endpoint": device.endpoint},
        None: None,
    }[body]
    response = await push.http.request(
        method, f"{push.base_url()}{path}", json=json, headers=headers
    )
    assert_json_error(response, 401)
    assert not push.subscription_rows(endpoint=device.endpoint)


async def test_subscribe_stores_the_subscription_for_the_token_user(push):
    user = push.user()
    device = Device(push.peer)
    response = await push.subscribe(user, device.subscription())
    assert response.status_code == 201, response.text
    rows = push.subscription_rows(endpoint=device.endpoint)
    assert [(r.user_id, r.p256dh, r.auth) for r in rows] == [(user.id, device.p256dh, device.auth)]


async def test_subscribing_the_same_endpoint_again_updates_it(push):
    show, user = push.show(), push.user()
    device = await push.device(user)
    device.new_keys()  # the browser renewed its keys; the endpoint is the same
    again = await push.subscribe(user, device.subscription())
    assert again.status_code == 201, again.text

    rows = push.subscription_rows(endpoint=device.endpoint)
    assert len(rows) == 1, f"the same endpoint is stored {len(rows)} times"
    assert (rows[0].user_id, rows[0].p256dh, rows[0].auth) == (user.id, device.p256dh, device.auth)
    # And pushes are encrypted for the new keys.
    push.check_in(user, show)
    sender = await push.in_room(push.user(), show)
    await push.send(sender, show, ["after the keys changed"])
    [notification] = await push.peer.wait_for(device)
    assert notification.payload["last"]["message"] == "after the keys changed"


async def test_each_device_of_a_user_gets_the_notification(push):
    show, user = push.show(), push.user()
    devices = [await push.device(user) for _ in range(3)]
    assert len(push.subscription_rows(user=user)) == 3
    push.check_in(user, show)
    sender = await push.in_room(push.user(), show)
    await push.send(sender, show, ["to every device"])
    for device in devices:
        [notification] = await push.peer.wait_for(device)
        assert notification.payload["last"]["message"] == "to every device"


async def test_unsubscribe_by_endpoint_removes_it_and_its_pushes(push):
    show, user = push.show(), push.user()
    kept, dropped = await push.device(user), await push.device(user)
    response = await push.http.request(
        "DELETE",
        f"{push.base_url()}/api/push/subscriptions",
        json={"endpoint": dropped.endpoint},
        headers=push.auth(user),
    )
    assert response.status_code == 204, response.text
    assert [r.endpoint for r in push.subscription_rows(user=user)] == [kept.endpoint]

    push.check_in(user, show)
    sender = await push.in_room(push.user(), show)
    await push.send(sender, show, ["only the kept device hears this"])
    await push.peer.wait_for(kept)
    await push.barrier()
    assert push.peer.received(dropped) == []


async def test_unsubscribe_takes_the_endpoint_as_a_query_parameter_too(push):
    user = push.user()
    device = await push.device(user)
    response = await push.http.delete(
        f"{push.base_url()}/api/push/subscriptions",
        params={"endpoint": device.endpoint},
        headers=push.auth(user),
    )
    assert response.status_code == 204, response.text
    assert push.subscription_rows(endpoint=device.endpoint) == []


async def test_unsubscribe_leaves_other_users_subscriptions_alone(push):
    owner, other = push.user(), push.user()
    device = await push.device(owner)
    response = await push.http.request(
        "DELETE",
        f"{push.base_url()}/api/push/subscriptions",
        json={"endpoint": device.endpoint},
        headers=push.auth(other),
    )
    assert response.status_code == 204, response.text
    assert len(push.subscription_rows(endpoint=device.endpoint)) == 1


@pytest.mark.parametrize(
    "service",
    [
        "https://fcm.googleapis.com/fcm/send/",  # Chrome, Edge's Chromium forks, Opera
        "https://updates.push.services.mozilla.com/wpush/v2/",  # Firefox
        "https://web.push.apple.com/",  # Safari
        "https://wns2-par02p.notify.windows.com/w/?token=",  # Edge (Windows)
    ],
)
async def test_https_endpoints_of_the_public_push_services_are_accepted(push, service):
    user = push.user()
    device = Device(push.peer)
    subscription = {**device.subscription(), "endpoint": service + secrets.token_hex(8)}
    response = await push.subscribe(user, subscription)
    assert response.status_code == 201, response.text
    assert len(push.subscription_rows(endpoint=subscription["endpoint"])) == 1


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.invalid/wpush/{token}",  # plain http, not in the allowlist
        "http://127.0.0.1:9/push/{token}",  # the peer's host, another port: another origin
        "ftp://push.example.invalid/{token}",
        "/push/{token}",  # not absolute
        "not a url at all {token}",
    ],
)
async def test_endpoints_outside_https_and_the_allowlist_are_refused_with_422(push, endpoint):
    user = push.user()
    endpoint = endpoint.format(token=secrets.token_hex(8))
    subscription = {**Device(push.peer).subscription(), "endpoint": endpoint}
    assert_json_error(await push.subscribe(user, subscription), 422)
    assert push.subscription_rows(endpoint=endpoint) == []


def _point_off_the_curve() -> str:
    """65 bytes that look like an uncompressed point (0x04, x, y) but are not on P-256."""
    while True:
        candidate = b"\x04" + secrets.token_bytes(64)
        try:
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), candidate)
        except ValueError:
            return b64url(candidate)


def _compressed_point() -> str:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public_point(key)
    return b64url(bytes([2 + (point[-1] & 1)]) + point[1:33])


BAD_KEYS = {
    "p256dh_compressed": lambda keys: {**keys, "p256dh": _compressed_point()},
    "p256dh_wrong_prefix": lambda keys: {
        **keys,
        "p256dh": b64url(b"\x05" + unb64url(keys["p256dh"])[1:]),
    },
    "p256dh_too_long": lambda keys: {**keys, "p256dh": b64url(unb64url(keys["p256dh"]) + b"\0")},
    "p256dh_off_the_curve": lambda keys: {**keys, "p256dh": _point_off_the_curve()},
    "p256dh_not_base64url": lambda keys: {**keys, "p256dh": "*" * 87},
    "p256dh_missing": lambda keys: {"auth": keys["auth"]},
    "auth_15_bytes": lambda keys: {**keys, "auth": b64url(secrets.token_bytes(15))},
    "auth_17_bytes": lambda keys: {**keys, "auth": b64url(secrets.token_bytes(17))},
    "auth_not_a_string": lambda keys: {**keys, "auth": 1234567890123456},
    "auth_missing": lambda keys: {"p256dh": keys["p256dh"]},
}


@pytest.mark.parametrize("case", sorted(BAD_KEYS))
async def test_bad_keys_are_refused_with_422(push, case):
    user = push.user()
    subscription = Device(push.peer).subscription()
    subscription["keys"] = BAD_KEYS[case](subscription["keys"])
    assert_json_error(await push.subscribe(user, subscription), 422)
    assert push.subscription_rows(endpoint=subscription["endpoint"]) == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"keys": {}}', b'"endpoint"'])
async def test_a_body_that_is_no_subscription_is_refused_with_422(push, body):
    user = push.user()
    response = await push.http.post(
        f"{push.base_url()}/api/push/subscriptions",
        content=body,
        headers={**push.auth(user), "Content-Type": "application/json"},
    )
    assert_json_error(response, 422)
