"""Counts of the workers' Cloudflare API calls, kept in Redis for /metrics.

Every relay process adds to one hash (`relay.core.keys.CLOUDFLARE_CALLS`), so the scrape of any
receiver shows the whole fleet: answers by status (429 = rate limited) and a cumulative latency
histogram in the buckets of `CLOUDFLARE_BUCKETS`.
"""

from __future__ import annotations

import logging

import redis
from redis.exceptions import RedisError

from relay.core import keys

log = logging.getLogger("relay.worker")

#: latency buckets (seconds) of relay_cloudflare_request_seconds
CLOUDFLARE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def record_call(client: redis.Redis, status: str, seconds: float) -> None:
    """Count one answer (`status`: the HTTP status, or "timeout" / "error") and its latency."""
    pipe = client.pipeline(transaction=False)
    pipe.hincrby(keys.CLOUDFLARE_CALLS, f"status:{status}", 1)
    for bucket in CLOUDFLARE_BUCKETS:
        if seconds <= bucket:
            pipe.hincrby(keys.CLOUDFLARE_CALLS, f"le:{bucket}", 1)
    pipe.hincrby(keys.CLOUDFLARE_CALLS, "count", 1)
    pipe.hincrby(keys.CLOUDFLARE_CALLS, "sum_ms", round(seconds * 1000))
    try:
        pipe.execute()
    except RedisError:
        log.debug("could not count a Cloudflare call (Redis unavailable)")
