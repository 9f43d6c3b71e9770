"""The account's use of the Cloudflare API across every relay process: the shared budget, and
the counts of calls made that /metrics shows.

Cloudflare blocks a token for five minutes once it passes its limit (1,200 requests / 5 min), so
the relay keeps under it itself: each request first takes a slot from a sliding window kept in
Redis (`ApiBudget.take`). When the window is full the caller waits (deploys, polls and prunes
alike) instead of earning a 429, or, when it cannot wait that long, gets `BudgetExhausted`
with how long the wait would be. Every answer is counted in one hash (`record_call`), so the
scrape of any receiver shows the whole fleet: answers by status (429 = rate limited) and a
cumulative latency histogram.
"""

from __future__ import annotations

import logging
import time
import uuid
from functools import partial

import redis
from redis.exceptions import RedisError

from relay.core import keys
from relay.core.cloudflare.client import CloudflareClient
from relay.core.exceptions import BudgetExhausted
from relay.core.scripts import lua
from relay.core.settings import CloudflareSettings

log = logging.getLogger("relay.cloudflare")

#: latency buckets (seconds) of relay_cloudflare_request_seconds
CLOUDFLARE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApiBudget:
    def __init__(
        self, client: redis.Redis, settings: CloudflareSettings, *, max_wait: float = 60.0
    ) -> None:
        self.settings = settings
        self.max_wait = max_wait
        self._script = client.register_script(lua(keys.SCRIPT_BUDGET))

    def try_take(self) -> float:
        """Take a slot now and return 0, or return the seconds until one frees up."""
        wait_ms = int(
            self._script(
                keys=[keys.API_BUDGET],
                args=[
                    self.settings.budget,
                    round(self.settings.budget_window * 1000),
                    uuid.uuid4().hex,
                ],
            )
        )
        return wait_ms / 1000

    def take(self) -> None:
        """Take a slot, waiting for one up to `max_wait` seconds (else `BudgetExhausted`)."""
        deadline = time.monotonic() + self.max_wait
        while True:
            wait = self.try_take()
            if wait == 0:
                return
            if time.monotonic() + wait > deadline:
                raise BudgetExhausted(
                    f"Cloudflare API budget full for {wait:.0f}s more", retry_after=wait
                )
            time.sleep(wait)


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


def budgeted_client(
    client: redis.Redis, settings: CloudflareSettings, *, max_wait: float = 60.0
) -> CloudflareClient:
    """A Cloudflare client whose every request takes the shared budget and is counted."""
    budget = ApiBudget(client, settings, max_wait=max_wait)
    return CloudflareClient(
        settings, before_request=budget.take, after_response=partial(record_call, client)
    )
