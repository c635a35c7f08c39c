"""A Web Push service of the tests' own (RFC 8030's push service, seen from the application
server): an aiohttp server on a free port that records every request the chat service sends
to a subscription's endpoint and answers as the test tells it (201, 404, 410, 429 with
Retry-After, 500, or never). A `Device` is the browser's side of one subscription: a P-256
key pair and an auth secret, the PushSubscription JSON to POST, and the decryption of what
arrives (RFC 8291, aes128gcm)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .settings import HOST, TIMEOUT

# The VAPID Authorization header (RFC 8292 section 3): `vapid t=<JWT>, k=<public key>`.
VAPID_AUTHORIZATION = re.compile(r"^vapid\s+t=(?P<t>[^,\s]+)\s*,\s*k=(?P<k>[^,\s]+)\s*$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed P-256 point (65 bytes, 0x04 first), as browsers and VAPID carry it."""
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


# ---------------------------------------------------------------------------- the browser side


class Device:
    """One browser's push subscription: keys the test holds, an endpoint on the peer."""

    def __init__(self, peer: PushPeer, name: str | None = None) -> None:
        self.name = name or secrets.token_hex(8)
        self.endpoint = peer.endpoint(self.name)
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = secrets.token_bytes(16)

    @property
    def p256dh(self) -> str:
        return b64url(public_point(self.private_key.public_key()))

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def subscription(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives the page, to POST to the service."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": self.auth},
        }

    def new_keys(self) -> None:
        """The browser renewed the subscription's keys (the endpoint stays)."""
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = secrets.token_bytes(16)

    def decrypt(self, body: bytes) -> Any:
        """The JSON payload of one push message, decrypted as a browser would."""
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


# ---------------------------------------------------------------------------- the push service


@dataclass(frozen=True)
class Reply:
    status: int = 201
    headers: dict[str, str] = field(default_factory=dict)
    endless: bool = False  # a body that never ends, streamed until the client hangs up


HANG = object()  # a reply that never comes (until the peer is released)


@dataclass
class Received:
    """One request the chat service sent to a subscription's endpoint."""

    name: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # the event loop's clock when it arrived
    status: int | None = None  # what the peer answered; None while held open


@dataclass
class Notification:
    """A received push message and its decrypted payload."""

    request: Received
    payload: Any

    @property
    def headers(self) -> dict[str, str]:
        return self.request.headers

    @property
    def at(self) -> float:
        return self.request.at


class PushPeer:
    """The push service: POST /push/{name} is the endpoint of the device called `name`.

    Every request is answered 201 unless the test scripted otherwise with `answer(name,
    ...)` (replies used in order, then 201 again) or `hang(name)` (every request held open
    until `release()`)."""

    def __init__(self) -> None:
        self.port = 0
        self.requests: list[Received] = []
        self._scripts: dict[str, deque[Any]] = {}
        self._hanging: set[str] = set()
        self._released = asyncio.Event()
        self._arrived = asyncio.Event()
        self._held = 0
        self.hung_up = 0  # endless answers whose reader went away
        self._runner: web.AppRunner | None = None

    async def start(self) -> PushPeer:
        app = web.Application(client_max_size=64 * 1024)
        app.router.add_post("/push/{name}", self._receive)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    def endpoint(self, name: str) -> str:
        return f"{self.origin}/push/{name}"

    # ------------------------------------------------------------------ what to answer

    def answer(self, device: Device, *replies: Reply | object) -> None:
        """The next requests to this device get these replies (then 201 again)."""
        self._scripts.setdefault(device.name, deque()).extend(replies)

    def hang(self, device: Device) -> None:
        """Hold every request to this device open, answering nothing, until release()."""
        self._hanging.add(device.name)

    def release(self) -> None:
        """Answer every held request 201 and stop hanging."""
        self._hanging.clear()
        self._released.set()
        self._released = asyncio.Event()

    @property
    def held(self) -> int:
        """Requests being held open right now."""
        return self._held

    async def _receive(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        received = Received(
            name,
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
            asyncio.get_running_loop().time(),
        )
        self.requests.append(received)
        self._arrived.set()
        script = self._scripts.get(name)
        reply = script.popleft() if script else (HANG if name in self._hanging else Reply())
        if reply is HANG:
            released = self._released
            self._held += 1
            try:
                await released.wait()
            finally:
                self._held -= 1
            reply = Reply()
        received.status = reply.status
        if reply.endless:
            return await self._endless(request, reply)
        return web.Response(status=reply.status, headers=reply.headers)

    async def _endless(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        response = web.StreamResponse(status=reply.status, headers=reply.headers)
        await response.prepare(request)
        try:
            while True:
                await response.write(b"x" * 16384)
                await asyncio.sleep(0.01)
        except (ConnectionError, RuntimeError):
            self.hung_up += 1  # the client read what it wanted and closed the connection
            self._arrived.set()
        return response

    # ------------------------------------------------------------------ what arrived

    def received(self, device: Device) -> list[Received]:
        return [request for request in self.requests if request.name == device.name]

    def notifications(self, device: Device) -> list[Notification]:
        return [
            Notification(request, device.decrypt(request.body)) for request in self.received(device)
        ]

    async def wait_until(self, condition, *, timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"push service: no {what} within {timeout}s")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.1))
            except TimeoutError:
                pass  # `condition` may depend on more than arrivals (held requests)

    async def wait_for(
        self, device: Device, count: int = 1, *, timeout: float = TIMEOUT
    ) -> list[Notification]:
        """The device's first `count` push messages, decrypted, waiting at most `timeout`."""
        try:
            await self.wait_until(
                lambda: len(self.received(device)) >= count,
                timeout=timeout,
                what=f"{count} request(s) to device {device.name}",
            )
        except AssertionError as failure:
            got = [n.payload for n in self.notifications(device)]
            raise AssertionError(f"{failure}; it got {len(got)}: {got}") from None
        return self.notifications(device)[:count]


# ---------------------------------------------------------------------------- VAPID


def vapid_claims(authorization: str, public_key: str, audience: str) -> dict[str, Any]:
    """The claims of a `vapid t=..., k=...` Authorization header, after checking that `k` is
    `public_key` and that the JWT verifies with it (ES256) for `audience`."""
    match = VAPID_AUTHORIZATION.match(authorization)
    assert match, f"not a `vapid t=<JWT>, k=<key>` Authorization header: {authorization!r}"
    assert match["k"].rstrip("=") == public_key, (
        f"k={match['k']!r} is not the server's public key {public_key!r}"
    )
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    header = jwt.get_unverified_header(match["t"])
    assert header.get("alg") == "ES256", header
    return jwt.decode(
        match["t"],
        key,
        algorithms=["ES256"],
        audience=audience,
        options={"require": ["aud", "exp", "sub"]},
    )
