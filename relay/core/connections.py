"""Redis connections for each kind of process.

The receiver's client fails fast: a sender waiting on a dead Redis must get a 503 within a
second, never a hang, so it has short timeouts and no client-side retries. Workers and the CLI
use a patient client that retries briefly, because for them a blip is not worth an error.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aredis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from relay.core.settings import Settings

#: seconds the receiver waits for Redis before answering 503 (connect and each command)
RECEIVER_TIMEOUT = 0.4


def async_client(settings: Settings) -> aredis.Redis:
    """The receiver's client: fail within RECEIVER_TIMEOUT rather than retry."""
    client: aredis.Redis = aredis.Redis.from_url(
        settings.redis.url.reveal(),
        socket_timeout=RECEIVER_TIMEOUT,
        socket_connect_timeout=RECEIVER_TIMEOUT,
        retry=Retry(ExponentialBackoff(), 0),
        health_check_interval=0,
        max_connections=256,
        decode_responses=False,
    )
    return client


def sync_client(settings: Settings, *, timeout: float = 5.0, **extra: Any) -> redis.Redis:
    """The worker's and CLI's client: a few quick retries smooth over a blip."""
    client: redis.Redis = redis.Redis.from_url(
        settings.redis.url.reveal(),
        socket_timeout=timeout,
        socket_connect_timeout=min(timeout, 2.0),
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
        health_check_interval=30,
        **extra,
    )
    return client


def describe_url(settings: Settings) -> str:
    """The Redis URL with any password masked, for messages and `relay check`."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(settings.redis.url.reveal())
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:****@{host}" + (f":{parts.port}" if parts.port else "")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)
