"""What the worker's steps need: settings, Redis, the store, the transitions, the targets.

`configure()` is called once by `relay worker` before it starts; every thread of the process
shares the one `Context` (redis-py and httpx clients are thread-safe). An RQ work horse (the
prune jobs) is a forked child: it builds its own on first use, keyed by process id, so nothing
is shared across a fork.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import redis

from relay.core.build_settings import TargetSettings
from relay.core.cloudflare.client import CloudflareClient, tls_context
from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.usage import budgeted_client
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.connections import sync_client
from relay.core.exceptions import RelayError
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.targets import Platform, Target, target_for
from relay.core.transitions import Transitions

_settings: Settings | None = None
_context: tuple[int, Context] | None = None
_lock = threading.Lock()


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    store: Store
    moves: Transitions
    #: every call takes a slot of the shared API budget first, and never waits for one: a full
    #: budget raises BudgetExhausted at once, and the step is put off without losing an attempt
    platform: Platform

    def target(self, config: TargetSettings) -> Target:
        """The target seam for `config` (cheap: the clients and their caches are shared)."""
        return target_for(config, self.platform)


def configure(settings: Settings) -> None:
    global _settings, _context
    _settings, _context = settings, None
    tls_context()  # built once here, before any thread or fork


def platform(settings: Settings, cloudflare: CloudflareClient) -> Platform:
    """Every kind of target's clients, over one Cloudflare client (one pool, one budget)."""
    return Platform(
        pages=Pages(cloudflare),
        workers=WorkersBuilds(cloudflare),
        has_credentials=settings.cloudflare.has_credentials,
    )


def build(settings: Settings, client: redis.Redis) -> Context:
    cloudflare = budgeted_client(client, settings.cloudflare, max_wait=0.0)
    moves = Transitions(client)
    return Context(settings, client, Store(client), moves, platform(settings, cloudflare))


def get() -> Context:
    global _context
    if _settings is None:
        raise RelayError("worker context used before workers.runtime.configure()")
    with _lock:
        if _context is None or _context[0] != os.getpid():
            _context = (os.getpid(), build(_settings, sync_client(_settings)))
        return _context[1]
