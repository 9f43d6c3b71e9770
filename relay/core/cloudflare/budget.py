"""The Cloudflare API budget shared by every relay process (default 1,200 requests / 5 min).

Cloudflare blocks a token for five minutes once it passes its limit, so the relay keeps under it
itself: each request first takes a slot from a sliding window kept in Redis. When the window is
full the caller waits (deploys, polls and prunes alike) instead of earning a 429.
"""

from __future__ import annotations

import time
import uuid

import redis

from relay.core import keys
from relay.core.exceptions import BudgetExhausted
from relay.core.scripts import lua
from relay.core.settings import CloudflareSettings


class ApiBudget:
    def __init__(
        self, client: redis.Redis, settings: CloudflareSettings, *, max_wait: float = 60.0
    ) -> None:
        self.settings = settings
        self.max_wait = max_wait
        self._script = client.register_script(lua(keys.SCRIPT_BUDGET))

    def take(self) -> None:
        deadline = time.monotonic() + self.max_wait
        while True:
            wait_ms = int(
                self._script(
                    keys=[keys.API_BUDGET],
                    args=[
                        self.settings.budget,
                        int(self.settings.budget_window * 1000),
                        uuid.uuid4().hex,
                    ],
                )
            )
            if wait_ms == 0:
                return
            if time.monotonic() + wait_ms / 1000 > deadline:
                raise BudgetExhausted(f"Cloudflare API budget full for {wait_ms / 1000:.0f}s more")
            time.sleep(wait_ms / 1000)
