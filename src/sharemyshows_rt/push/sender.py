"""Sending Web Push messages: encrypted (aes128gcm), VAPID-signed, with TTL, Urgency and
Topic set, retried on 429 (after Retry-After) and 5xx, and a subscription that is gone
(404/410) forgotten. Runs in the background, never in the chat's way: a request holds a
slot only while it is in flight (retries are scheduled, not slept), each push service
origin gets a bounded share of the slots, and one that keeps failing is left alone."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from pywebpush import WebPusher
from yarl import URL

from .. import metrics
from ..db.push import PushRepository, Subscription
from ..tasks import cancel_all
from .endpoints import (
    EndpointPolicy,
    EndpointRefused,
    InsideAddress,
    InsideRefusingResolver,
    origin,
)
from .gates import OriginGates
from .keys import VapidKeys

log = logging.getLogger(__name__)
BACKOFF = (1.0, 2.0, 4.0)  # seconds before the retries of a failed send
MAX_RETRY_AFTER = 60.0
VAPID_LIFETIME = 12 * 3600  # exp of the VAPID JWT: under the 24 h RFC 8292 allows
MAX_ANSWER_BYTES = 4096  # of a push service's answer body: nothing in it is needed
INSIDE = -1  # the status of a request never made: the name resolved inside


@dataclass(frozen=True, slots=True)
class Push:
    user_id: int
    payload: dict[str, Any]
    topic: str
    urgency: str


@dataclass(slots=True)
class Delivery:
    """One push to one device, through its retries."""

    subscription: Subscription
    push: Push
    url: URL
    origin: str
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Limits:
    """How hard the sender may lean on push services (README: the PUSH_ settings)."""

    concurrency: int = 16
    origin_concurrency: int = 8
    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    origin_failures: int = 5
    origin_backoff: float = 10.0
    max_queue: int = 10_000


class PushSender:
    def __init__(
        self,
        repository: PushRepository,
        keys: VapidKeys,
        subject: str,
        policy: EndpointPolicy,
        *,
        ttl: int,
        limits: Limits = Limits(),
    ) -> None:
        self._repository = repository
        self._keys = keys
        self._subject = subject
        self._policy = policy
        self._ttl = ttl
        self._limits = limits
        self._queue: asyncio.Queue[Push] = asyncio.Queue(limits.max_queue)
        self._slots = asyncio.Semaphore(limits.concurrency)
        self._gates = OriginGates(
            limits.origin_concurrency, limits.origin_failures, limits.origin_backoff
        )
        self._pending = 0  # deliveries in flight, waiting for a slot or for their retry
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._loader: asyncio.Task[None] | None = None
        self._sessions: dict[bool, aiohttp.ClientSession] = {}

    def start(self) -> None:
        limits = self._limits
        timeout = aiohttp.ClientTimeout(
            total=limits.connect_timeout + limits.read_timeout,
            sock_connect=limits.connect_timeout,
            sock_read=limits.read_timeout,
        )
        # Allow-listed origins (the operator's own push service) may be inside.
        self._sessions = {
            False: aiohttp.ClientSession(
                timeout=timeout, connector=aiohttp.TCPConnector(resolver=InsideRefusingResolver())
            ),
            True: aiohttp.ClientSession(timeout=timeout),
        }
        self._loader = asyncio.create_task(self._load(), name="push-sender")

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        await cancel_all([self._loader, *self._tasks])
        self._loader = None
        for session in self._sessions.values():
            await session.close()

    def enqueue(self, push: Push) -> None:
        """Queue a notification for all of a user's devices; dropped (and counted) when full."""
        try:
            self._queue.put_nowait(push)
        except asyncio.QueueFull:
            metrics.PUSHES.labels("dropped").inc()
            log.warning("push queue full: a notification for user %s was dropped", push.user_id)

    async def _load(self) -> None:
        while True:
            push = await self._queue.get()
            try:
                subscriptions = await self._repository.subscriptions(push.user_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push to user %s failed: no subscriptions read", push.user_id)
                continue
            for subscription in subscriptions:
                self._begin(subscription, push)

    def _begin(self, subscription: Subscription, push: Push) -> None:
        try:
            url = self._policy.check(subscription.endpoint)
        except EndpointRefused as refused:  # stored before the policy, or it changed since
            metrics.PUSHES.labels("failed").inc()
            log.warning("push to a device of user %s refused: %s", push.user_id, refused)
            return
        if self._pending >= self._limits.max_queue:
            metrics.PUSHES.labels("dropped").inc()
            log.warning("push backlog full: a notification for user %s was dropped", push.user_id)
            return
        self._pending += 1
        self._launch(Delivery(subscription, push, url, origin(url)))

    def _launch(self, delivery: Delivery) -> None:
        task = asyncio.create_task(self._attempt(delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _later(self, delay: float, delivery: Delivery) -> None:
        def fire() -> None:
            self._timers.discard(handle)
            self._launch(delivery)

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)

    async def _attempt(self, delivery: Delivery) -> None:
        """One request of the delivery, when its origin and a slot allow; then its outcome."""
        loop = asyncio.get_running_loop()
        gate = self._gates.gate(delivery.origin)
        finished = True
        try:
            async with gate:
                closed = gate.closed_for(loop.time())
                if closed > 0:  # the origin is being left alone: come back when it opens
                    metrics.PUSHES.labels("deferred").inc()
                    finished = False
                    self._later(closed, delivery)
                    return
                async with self._slots:
                    status, retry_after = await self._try(delivery)
                # Told before the slot is let go: the next one waiting sees the breaker.
                if status is None:
                    gate.unreachable(loop.time())
                elif status != INSIDE:
                    gate.answered()
            finished = await self._outcome(delivery, status, retry_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one unusable device must not silence the rest
            metrics.PUSHES.labels("failed").inc()
            log.warning(
                "push to a device of user %s at %s failed: %r",
                delivery.push.user_id,
                delivery.origin,
                exc,
            )
        finally:
            if finished:
                self._pending -= 1

    async def _try(self, delivery: Delivery) -> tuple[int | None, float | None]:
        """The push service's status (None: unreachable, timed out) and Retry-After."""
        try:
            return await self._post(delivery)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            if isinstance(exc.__cause__, InsideAddress):
                return INSIDE, None  # never retried: the name points inside
            log.warning("push service %s unreachable: %r", delivery.origin, exc)
            return None, None

    async def _outcome(
        self, delivery: Delivery, status: int | None, retry_after: float | None
    ) -> bool:
        """Count what the push service said; False when a retry was scheduled."""
        if status is not None and 200 <= status < 300:
            metrics.PUSHES.labels("sent").inc()
            return True
        if status in (404, 410):
            await self._repository.forget(delivery.subscription.endpoint)
            metrics.PUSHES.labels("subscription_removed").inc()
            log.info("push subscription at %s is gone (%s): removed", delivery.origin, status)
            return True
        retryable = status is None or status == 429 or status >= 500
        if not retryable or delivery.retries >= len(BACKOFF):
            metrics.PUSHES.labels("failed").inc()
            why = "its name resolving inside" if status == INSIDE else status
            log.warning("push to %s failed with %s", delivery.origin, why)
            return True
        pause = BACKOFF[delivery.retries]
        if status == 429 and retry_after is not None:
            pause = min(max(retry_after, pause), MAX_RETRY_AFTER)
        delivery.retries += 1
        self._later(pause, delivery)
        return False

    async def _post(self, delivery: Delivery) -> tuple[int, float | None]:
        subscription, push = delivery.subscription, delivery.push
        pusher = WebPusher(
            {
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            }
        )
        body = pusher.encode(orjson.dumps(push.payload), "aes128gcm")["body"]
        claims = {
            "sub": self._subject,
            "aud": delivery.origin,
            "exp": int(time.time()) + VAPID_LIFETIME,
        }
        headers = {
            **self._keys.vapid.sign(claims),
            "Urgency": push.urgency,
            "Topic": push.topic,
            "TTL": str(self._ttl),
            "Content-Encoding": "aes128gcm",
        }
        headers.pop("Crypto-Key", None)  # RFC 8292 carries the key in Authorization's k=
        session = self._sessions[self._policy.allow_listed(delivery.url)]
        # A redirect is a failed delivery: following it could lead anywhere.
        async with session.post(
            delivery.url, data=body, headers=headers, allow_redirects=False
        ) as response:
            await response.content.read(MAX_ANSWER_BYTES)
            return response.status, _seconds(response.headers.get("Retry-After"))


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None
