"""Sending Web Push messages: encrypted (aes128gcm), VAPID-signed, with TTL, Urgency and
Topic set, retried on 429 (after Retry-After) and 5xx, and a subscription that is gone
(404/410) forgotten. Runs in the background with a bounded queue: never in the chat's way."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
from pywebpush import WebPusher

from .. import metrics
from ..tasks import cancel_all
from ..db.push import PushRepository, Subscription
from .keys import VapidKeys

log = logging.getLogger(__name__)
BACKOFF = (1.0, 2.0, 4.0)  # seconds before the retries of a failed send
MAX_RETRY_AFTER = 60.0
VAPID_LIFETIME = 12 * 3600  # exp of the VAPID JWT: under the 24 h RFC 8292 allows


@dataclass(frozen=True, slots=True)
class Push:
    user_id: int
    payload: dict[str, Any]
    topic: str
    urgency: str


class PushSender:
    def __init__(self, repository: PushRepository, keys: VapidKeys, subject: str, *, ttl: int,
                 timeout: float = 10.0, concurrency: int = 8, max_queue: int = 10_000) -> None:
        self._repository = repository
        self._keys = keys
        self._subject = subject
        self._ttl = ttl
        self._timeout = timeout
        self._concurrency = concurrency
        self._queue: asyncio.Queue[Push] = asyncio.Queue(max_queue)
        self._session: aiohttp.ClientSession | None = None
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        self._workers = [asyncio.create_task(self._work(), name=f"push-sender-{n}")
                         for n in range(self._concurrency)]

    async def stop(self) -> None:
        await cancel_all(self._workers)
        self._workers = []
        if self._session is not None:
            await self._session.close()

    def enqueue(self, push: Push) -> None:
        """Queue a notification for all of a user's devices; dropped (and counted) when full."""
        try:
            self._queue.put_nowait(push)
        except asyncio.QueueFull:
            metrics.PUSHES.labels("dropped").inc()
            log.warning("push queue full: a notification for user %s was dropped", push.user_id)

    async def _work(self) -> None:
        while True:
            push = await self._queue.get()
            try:
                for subscription in await self._repository.subscriptions(push.user_id):
                    try:
                        await self._send(subscription, push)
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # one unusable device must not silence the rest
                        metrics.PUSHES.labels("failed").inc()
                        log.warning("push to a device of user %s at %s failed: %r",
                                    push.user_id, _origin(subscription), exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push to user %s failed", push.user_id)
            finally:
                self._queue.task_done()

    async def _send(self, subscription: Subscription, push: Push) -> None:
        data = orjson.dumps(push.payload)
        pauses = list(BACKOFF)
        while True:
            try:
                status, retry_after = await self._post(subscription, push, data)
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                status, retry_after = None, None
                log.warning("push service %s unreachable: %r", _origin(subscription), exc)
            if status is not None and status < 300:
                metrics.PUSHES.labels("sent").inc()
                return
            if status in (404, 410):
                await self._repository.forget(subscription.endpoint)
                metrics.PUSHES.labels("subscription_removed").inc()
                log.info("push subscription at %s is gone (%s): removed",
                         _origin(subscription), status)
                return
            retryable = status is None or status == 429 or status >= 500
            if not retryable or not pauses:
                metrics.PUSHES.labels("failed").inc()
                log.warning("push to %s failed with %s", _origin(subscription), status)
                return
            pause = pauses.pop(0)
            if status == 429 and retry_after is not None:
                pause = min(max(retry_after, pause), MAX_RETRY_AFTER)
            await asyncio.sleep(pause)

    async def _post(self, subscription: Subscription, push: Push, data: bytes
                    ) -> tuple[int, float | None]:
        endpoint = subscription.endpoint
        pusher = WebPusher({"endpoint": endpoint,
                            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}},
                           aiohttp_session=self._session)
        claims = {"sub": self._subject, "aud": _origin(subscription),
                  "exp": int(time.time()) + VAPID_LIFETIME}
        headers = {**self._keys.vapid.sign(claims), "Urgency": push.urgency, "Topic": push.topic}
        headers.pop("Crypto-Key", None)  # RFC 8292 carries the key in Authorization's k=
        response = await pusher.send_async(data=data, headers=headers, ttl=self._ttl,
                                           content_encoding="aes128gcm",
                                           timeout=aiohttp.ClientTimeout(total=self._timeout))
        response.release()
        return response.status, _seconds(response.headers.get("Retry-After"))


def _origin(subscription: Subscription) -> str:
    parts = urlsplit(subscription.endpoint)
    return f"{parts.scheme}://{parts.netloc}"


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
