"""The receiver's one Redis step: record a delivery and touch its targets' debounce state.

`Ingest.store()` runs relay/core/lua/ingest.lua as a single EVALSHA (batched with other requests'
under load, `relay.web.script_batch`): the dedupe check, the delivery record and every target's
debounce touch happen atomically, so a 2xx means all of it is in Redis.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import redis.asyncio as aredis

from relay.core import keys
from relay.core.records import Delivery, DeliveryOutcome
from relay.core.scripts import lua
from relay.core.settings import HookSettings, ServerSettings, Settings
from relay.web.script_batch import ScriptBatcher


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


@dataclass(frozen=True)
class DedupeToken:
    """A key under which a repeat of this delivery is recognised, for how long, and how.

    `seen`: a repeat within `ttl` is a duplicate (the sender's delivery id). `pending`: a repeat
    is a duplicate only while the bursts the first one joined are still pending (the body's
    digest, for senders without ids), so the same body after a build is a new change.
    """

    key: str
    ttl: float  # seconds
    mode: str  # "seen" | "pending"


def dedupe_tokens(settings: ServerSettings, delivery: Delivery) -> list[DedupeToken]:
    """How a repeat of `delivery` is recognised. A rejected request takes no part in dedupe, so
    a forged request can never make the real one look like a retry."""
    if delivery.outcome is DeliveryOutcome.REJECTED:
        return []
    if delivery.sender_id:
        digest = hashlib.sha256(delivery.sender_id.encode()).hexdigest()[:32]
        return [
            DedupeToken(keys.dedupe(delivery.hook, "id:" + digest), settings.dedupe_window, "seen")
        ]
    if settings.digest_window <= 0:
        return []
    key = keys.dedupe(delivery.hook, "body:" + delivery.digest)
    return [DedupeToken(key, settings.digest_window, "pending")]


class Ingest:
    def __init__(self, client: aredis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._script = ScriptBatcher(client, lua(keys.SCRIPT_INGEST))

    async def store(self, hook: HookSettings, delivery: Delivery) -> tuple[str, str]:
        """Record `delivery` and, when accepted, touch its targets. Returns (outcome, id); the
        outcome is "duplicate" (and the id the first delivery's) for a repeat (`dedupe_tokens`).
        """
        server = self.settings.server
        tokens = dedupe_tokens(server, delivery)
        touch = delivery.targets if delivery.outcome is DeliveryOutcome.ACCEPTED else ()
        script_keys = [
            *(token.key for token in tokens),
            keys.DELIVERIES,
            keys.hook_deliveries(hook.name),
            keys.DELIVERY_COUNTS,
            keys.DUE,
            *(keys.burst(name) for name in touch),
        ]
        args: list[str | bytes | int] = [
            len(tokens),
            server.keep_deliveries,
            delivery.outcome.value,
            delivery.to_json(),
            hook.name,
        ]
        for token in tokens:
            args += [round(token.ttl * 1000), token.mode]
        for name in touch:
            target = self.settings.targets[name]
            args += [name, round(target.debounce * 1000), round(target.max_wait * 1000)]
        outcome, delivery_id = await self._script(script_keys, args)
        return outcome.decode(), delivery_id.decode()
