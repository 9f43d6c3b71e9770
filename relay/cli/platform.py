"""The Cloudflare clients a CLI command talks through (`relay logs`, `rollback`, `check`).

One `CloudflareClient` under every kind of target's client, as the worker has it
(`workers.runtime.platform`), built from the core alone: each request takes a slot of the
account's shared API budget and is counted for /metrics. A command is run by a person who can
wait a little, so a full budget is waited for (up to `MAX_WAIT`), then `BudgetExhausted`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.usage import budgeted_client
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.settings import Settings
from relay.core.targets import Platform

#: seconds a command waits for a slot of the shared API budget
MAX_WAIT = 10.0


@contextmanager
def cli_platform(settings: Settings, client: redis.Redis) -> Iterator[Platform]:
    """The platform for one command; its HTTP connections are closed when the block ends."""
    cloudflare = budgeted_client(client, settings.cloudflare, max_wait=MAX_WAIT)
    try:
        yield Platform(
            pages=Pages(cloudflare),
            workers=WorkersBuilds(cloudflare),
            has_credentials=settings.cloudflare.has_credentials,
        )
    finally:
        cloudflare.close()
