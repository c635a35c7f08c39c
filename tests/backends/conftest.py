"""The backends' contract suite runs each test against memory and against the real Redis
(TEST_REDIS_URL, default 127.0.0.1:6379), each Redis test under a key prefix of its own.
Redis unreachable: an error under CI=true, a skip otherwise."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from support.fixtures import unavailable

from sharemyshows_rt.backends.base import Backend
from sharemyshows_rt.backends.memory.backend import MemoryBackend
from sharemyshows_rt.backends.redis.backend import RedisBackend

REDIS_URL = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/0"
WINDOW = 60.0  # the push coalescing window of the backends under test


@pytest.fixture
def window() -> float:
    """The push coalescing window of the backends under test, in seconds."""
    return WINDOW


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL} is unreachable ({exc!r})", "it (set TEST_REDIS_URL)")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture(params=["memory", "redis"])
async def backend(request) -> AsyncIterator[Backend]:
    """A fresh backend of each kind; the Redis one's keys are removed afterwards."""
    if request.param == "memory":
        made: Backend = MemoryBackend(coalesce_seconds=WINDOW)
        yield made
        await made.stop()
        return
    url = request.getfixturevalue("redis_url")
    namespace = f"smsrt-contract-{uuid.uuid4().hex}"
    made = RedisBackend(url, namespace, coalesce_seconds=WINDOW)
    try:
        yield made
    finally:
        keys = [key async for key in made.redis.scan_iter(match=f"{namespace}:*")]
        if keys:
            await made.redis.delete(*keys)
        await made.stop()
