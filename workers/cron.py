"""Cron ticks: a target's `schedule` rebuilds it, its `prune_schedule` prunes it (UTC).

Each fire time of a cron expression is a *slot* (Unix seconds). Every claimer looks at most once
a second (`ScheduleTicker.maybe_tick`) for each target's latest slot; `cron_slot.lua` lets exactly
one process decide it, keeping a high-water mark (`last_slot`) in the target's state hash, so a
slot is never decided twice, whatever restarts. A fired "build" slot goes through
`relay.core.controls.touch(reason="schedule")`, so it coalesces with a webhook burst like any other
change; a fired "prune" slot enqueues the prune job (`workers.prune.enqueue_prune`).

Restart-safe: a target's state is *armed* (`since`) the first time any worker sees its cron, and
slots before that never fire, so starting the relay never builds by itself. A slot that nobody
saw at its time (every worker down) still fires, once, if a worker sees it within `GRACE`;
older slots, and earlier slots overtaken by a newer one, are counted as missed.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from relay.core import keys
from relay.core.controls import touch
from relay.core.cron import crons, latest_slot, next_slot, skipped_between
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import decode_hash
from workers.prune_job import enqueue_prune

log = logging.getLogger("relay.schedule")

#: a slot first seen at most this long after its time still fires (once); later ones are missed
GRACE = 600.0
#: how often `maybe_tick` really looks (seconds)
CHECK_INTERVAL = 1.0
#: a slot's mark outlives the grace window; the state hash's high-water mark outlives it
MARK_TTL = int(2 * GRACE)


@dataclass(frozen=True)
class Tick:
    kind: str  # "build" | "prune"
    target: str
    slot: int  # Unix seconds
    outcome: str  # "fired" | "missed"


class ScheduleTicker:
    """One per claimer; the in-process memory only saves Redis calls, never decides."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.crons = crons(settings)
        self._script = client.register_script(lua(keys.SCRIPT_CRON_SLOT))
        self._seen: dict[tuple[str, str], int] = {}  # (kind, target) -> slot known decided
        self._next_check = 0.0

    def maybe_tick(self) -> list[Tick] | None:
        """`tick()` at most once per CHECK_INTERVAL; None when it did not look."""
        if not self.crons or time.monotonic() < self._next_check:
            return None
        self._next_check = time.monotonic() + CHECK_INTERVAL
        try:
            return self.tick()
        except RedisError:
            raise  # the claimer's loop waits Redis out
        except Exception:  # a bug here must not stop the claimer (and every deploy) with it
            log.exception("schedule tick failed")
            return []

    def tick(self, now: float | None = None) -> list[Tick]:
        """Decide every target's latest slot not yet decided; `now` (Unix s) defaults to the
        Redis server clock. Returns what this call decided."""
        if now is None:
            seconds, micros = self.client.time()
            now = int(seconds) + int(micros) / 1e6
        out = []
        for kind, target, expr in self.crons:
            tick = self._one(kind, target, expr, now)
            if tick is not None:
                out.append(tick)
        return out

    def _one(self, kind: str, target: str, expr: str, now: float) -> Tick | None:
        slot = latest_slot(expr, now)
        if self._seen.get((kind, target)) == slot:
            return None
        state_key = keys.schedule_state(kind, target)
        state = decode_hash(self.client.hgetall(state_key))
        upcoming = next_slot(expr, now)
        if state.get("expr") != expr:  # first sight of this cron: arm it from now on
            armed: dict[FieldT, EncodableT] = {
                "expr": expr,
                "since": int(now * 1000),
                "next_slot": upcoming,
            }
            self.client.hset(state_key, mapping=armed)
            self._seen[(kind, target)] = slot
            return None
        since = int(state["since"]) / 1000
        last = int(state.get("last_slot") or 0)
        if slot < since or slot <= last:
            self._seen[(kind, target)] = slot
            return None
        outcome = "fired" if now - slot <= GRACE else "missed"
        skipped = skipped_between(expr, max(last, math.ceil(since) - 1), slot)
        won = self._script(
            keys=[keys.cron_slot(kind, target, slot), state_key],
            args=[slot, MARK_TTL, outcome, int(now * 1000), upcoming, skipped],
        )
        self._seen[(kind, target)] = slot
        if not won:
            return None
        if outcome == "missed":
            log.warning("%s of %s: slot %s missed (no worker within the grace)", kind, target, slot)
        elif kind == "build":
            touch(self.client, self.settings, target, reason="schedule")
        else:
            enqueue_prune(self.client, target, slot)
        return Tick(kind, target, slot, outcome)


def tick_schedules(
    client: redis.Redis, settings: Settings, *, now: float | None = None
) -> list[Tick]:
    """One look at every cron, as a freshly started process would (tests, tools)."""
    return ScheduleTicker(client, settings).tick(now)
