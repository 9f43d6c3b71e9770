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
from relay.core.build_settings import HookSettings
from relay.core.connections import Ack
from relay.core.records import Delivery, DeliveryOutcome
from relay.core.scripts import lua
from relay.core.settings import ServerSettings, Settings
from relay.web.providers.base import Verified
from relay.web.script_batch import Arg, Args, ScriptBatcher


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


def _hashed(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def dedupe_tokens(
    settings: ServerSettings, delivery: Delivery, verified: Verified | None
) -> list[DedupeToken]:
    """How a repeat of `delivery` is recognised, from what its verification established.

    Only signed material makes a repeat a duplicate for long: the signed delivery id
    (`dedupe_window`), or the signature itself where it covers a timestamp (as long as the
    tolerance lets a replay through). An unsigned id is a hint: it recognises the sender's own
    retries, and a replay with a new one is simply not recognised by it. The body's digest only
    merges a repeat into a burst still pending. A rejected request takes no part in dedupe, so a
    forged request can never make the real one look like a retry.
    """
    if delivery.outcome is DeliveryOutcome.REJECTED or verified is None:
        return []
    hook = delivery.hook
    tokens = []
    if verified.delivery_id:
        key = keys.dedupe(hook, "id:" + _hashed(verified.delivery_id))
        tokens.append(DedupeToken(key, settings.dedupe_window, "seen"))
    if verified.replay_token:
        # a signature over a timestamp is unique to one sending: remember it as long as the
        # tolerance lets a replay through (both ways), or for dedupe_window when unbounded
        window = verified.replay_window
        ttl = 2 * window if window > 0 else settings.dedupe_window
        key = keys.dedupe(hook, "sig:" + _hashed(verified.replay_token))
        tokens.append(DedupeToken(key, ttl, "seen"))
    if verified.hint_id:
        key = keys.dedupe(hook, "hint:" + _hashed(verified.hint_id))
        tokens.append(DedupeToken(key, settings.dedupe_window, "seen"))
    if not verified.delivery_id and settings.digest_window > 0:
        key = keys.dedupe(hook, "body:" + delivery.digest)
        tokens.append(DedupeToken(key, settings.digest_window, "pending"))
    return tokens


class Ingest:
    def __init__(self, client: aredis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        # `[redis] ack` beyond "written": the batch's pipeline ends with the WAIT / WAITAOF
        self._script = ScriptBatcher(client, lua(keys.SCRIPT_INGEST), Ack.of(settings.redis))
        # per hook: the keys and Lua arguments that are the same for each of its deliveries
        self._fixed = {name: _fixed(name, hook, settings) for name, hook in settings.hooks.items()}

    async def store(
        self, hook: HookSettings, delivery: Delivery, verified: Verified | None = None
    ) -> tuple[str, str]:
        """Record `delivery` and, when accepted, touch its targets. Returns (outcome, id); the
        outcome is "duplicate" (and the id the first delivery's) for a repeat (`dedupe_tokens`).
        """
        server = self.settings.server
        tokens = dedupe_tokens(server, delivery, verified)
        fixed = self._fixed.get(hook.name) or _fixed(hook.name, hook, self.settings)
        accepted = delivery.outcome is DeliveryOutcome.ACCEPTED
        # KEYS: the dedupe keys, the fixed keys, the bursts touched; then ARGV (lua/ingest.lua)
        args: list[Arg | Args] = [token.key for token in tokens]
        args.append(fixed.keys)
        numkeys = len(tokens) + fixed.keys.count
        touched: list[Arg | Args] = []
        if accepted and delivery.targets == hook.targets:
            args.append(fixed.burst_keys)
            numkeys += fixed.burst_keys.count
            touched.append(fixed.target_args)
        elif accepted:
            for name in delivery.targets:
                target = self.settings.targets[name]
                args.append(keys.burst(name))
                numkeys += 1
                touched += [name, round(target.debounce * 1000), round(target.max_wait * 1000)]
        args += [len(tokens), fixed.keep, delivery.outcome.value, delivery.to_json(), fixed.hook]
        for token in tokens:
            args += [round(token.ttl * 1000), token.mode]
        args += touched
        outcome, delivery_id = await self._script(numkeys, args)
        return outcome.decode(), delivery_id.decode()


@dataclass(frozen=True)
class _Fixed:
    """What every delivery of one hook sends alike, packed once (`Args`)."""

    keys: Args  # the deliveries stream, the hook's id stream, the counts, the due set
    burst_keys: Args  # the burst of each of the hook's targets
    target_args: Args  # per target: name, quiet ms, max wait ms
    keep: Args  # the streams' cap
    hook: Args  # the hook's name


def _fixed(name: str, hook: HookSettings, settings: Settings) -> _Fixed:
    target_args: list[Arg] = []
    for target_name in hook.targets:
        target = settings.targets[target_name]
        target_args += [
            target_name,
            round(target.debounce * 1000),
            round(target.max_wait * 1000),
        ]
    return _Fixed(
        keys=Args(keys.DELIVERIES, keys.hook_deliveries(name), keys.DELIVERY_COUNTS, keys.DUE),
        burst_keys=Args(*(keys.burst(target_name) for target_name in hook.targets)),
        target_args=Args(*target_args),
        keep=Args(settings.server.keep_deliveries),
        hook=Args(name),
    )
