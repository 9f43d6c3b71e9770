"""The receiver's one Redis step: record a delivery and touch its targets' debounce state.

`Ingest.store()` runs relay/core/lua/ingest.lua as a single EVALSHA (batched with other requests'
under load, `relay.web.script_batch`): the dedupe check, the delivery record and every target's
debounce touch happen atomically, so a 2xx means all of it is in Redis.
"""

from __future__ import annotations

import hashlib

import redis.asyncio as aredis

from relay.core import keys
from relay.core.records import Delivery, DeliveryOutcome
from relay.core.scripts import lua
from relay.core.settings import HookSettings, Settings
from relay.web.script_batch import ScriptBatcher


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def dedupe_token(delivery: Delivery) -> str:
    """The key part under which a retry of this delivery is recognised: the sender's delivery
    id where the scheme has one, else the digest of the signed body."""
    if delivery.sender_id:
        return "id:" + hashlib.sha256(delivery.sender_id.encode()).hexdigest()[:32]
    return "body:" + delivery.digest


class Ingest:
    def __init__(self, client: aredis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self._script = ScriptBatcher(client, lua(keys.SCRIPT_INGEST))

    async def store(self, hook: HookSettings, delivery: Delivery) -> tuple[str, str]:
        """Record `delivery` and, when accepted, touch its targets. Returns (outcome, id).

        The outcome is "duplicate" (and the id the first delivery's) when the sender's delivery
        id, or for senders without one the body's digest, was seen within the window. A
        rejected request is only recorded: it never takes part in dedupe, so a forged request
        cannot make the real one look like a retry.
        """
        server = self.settings.server
        window = server.dedupe_window if delivery.sender_id else server.digest_window
        if delivery.outcome is DeliveryOutcome.REJECTED:
            window = 0
        token = dedupe_token(delivery)
        touch = delivery.targets if delivery.outcome is DeliveryOutcome.ACCEPTED else ()
        script_keys = [
            keys.dedupe(hook.name, token),
            keys.DELIVERIES,
            keys.hook_deliveries(hook.name),
            keys.DELIVERY_COUNTS,
            keys.DUE,
            *(keys.burst(name) for name in touch),
        ]
        args: list[str | bytes | int] = [
            int(window * 1000),
            server.keep_deliveries,
            delivery.outcome.value,
            delivery.to_json(),
            hook.name,
        ]
        for name in touch:
            target = self.settings.targets[name]
            args += [name, int(target.debounce * 1000), int(target.max_wait * 1000)]
        outcome, delivery_id = await self._script(script_keys, args)
        return outcome.decode(), delivery_id.decode()
