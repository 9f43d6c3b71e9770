"""What jobs need in a worker process: settings, Redis, the store and the Cloudflare client.

`configure()` is called once by `relay worker` before it starts; RQ's work horses are forked from
it and build their own connections on first use (keyed by process id, so nothing is shared across
a fork).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import redis

from relay.core.cloudflare.client import tls_context
from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.usage import budgeted_client
from relay.core.connections import sync_client
from relay.core.exceptions import RelayError
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.transitions import Transitions

_settings: Settings | None = None
_context: tuple[int, Context] | None = None


@dataclass
class Context:
    settings: Settings
    redis: redis.Redis
    store: Store
    moves: Transitions
    pages: Pages


def configure(settings: Settings) -> None:
    global _settings, _context
    _settings, _context = settings, None
    tls_context()  # built once here, inherited by every forked work horse


def get() -> Context:
    global _context
    if _settings is None:
        raise RelayError("worker context used before workers.runtime.configure()")
    if _context is None or _context[0] != os.getpid():
        client = sync_client(_settings)
        pages = Pages(budgeted_client(client, _settings.cloudflare))
        _context = (
            os.getpid(),
            Context(_settings, client, Store(client), Transitions(client), pages),
        )
    return _context[1]
