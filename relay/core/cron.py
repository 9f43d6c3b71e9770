"""Cron as the relay reads it: slots of a cron expression, and each target's schedule state.

Each fire time of a cron expression is a *slot* (Unix seconds, UTC). A target's `schedule`
(kind "build") rebuilds it and its `prune_schedule` (kind "prune") prunes it; the workers decide
each slot exactly once (`workers.cron`) and keep a state hash per target and kind
(`relay.core.keys.schedule_state`), which `schedule_status` reads for the dashboard and the API.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import redis
from croniter import croniter

from relay.core import keys
from relay.core.build_settings import TargetSettings
from relay.core.settings import Settings
from relay.core.store import decode_hash

#: earlier skipped slots are counted up to this many per decision
MAX_COUNTED = 1000
#: kind -> the TargetSettings field holding its cron expression
KINDS = {"build": "schedule", "prune": "prune_schedule"}


def cron_of(target: TargetSettings, kind: str) -> str | None:
    value = getattr(target, KINDS[kind])
    return value if isinstance(value, str) else None


def latest_slot(expr: str, now: float) -> int:
    """The latest fire time at or before `now` (cron fields are whole minutes)."""
    return int(croniter(expr, int(now) + 1).get_prev(float))


def next_slot(expr: str, now: float) -> int:
    return int(croniter(expr, now).get_next(float))


def crons(settings: Settings) -> list[tuple[str, str, str]]:
    """(kind, target, expression) of every cron in the settings."""
    return [
        (kind, target.name, expr)
        for target in settings.targets.values()
        for kind in KINDS
        if (expr := cron_of(target, kind)) is not None
    ]


def skipped_between(expr: str, after: int, before: int) -> int:
    """How many slots lie strictly between `after` and `before` (capped)."""
    count, it = 0, croniter(expr, after)
    while count < MAX_COUNTED and it.get_next(float) < before:
        count += 1
    return count


@dataclass(frozen=True)
class ScheduleStatus:
    target: str
    kind: str  # "build" (`schedule`) | "prune" (`prune_schedule`)
    cron: str
    next_slot: int  # Unix s, from the cron and the current time
    last_fired: int | None  # Unix s of the last slot that fired
    fired_at: int | None  # when it fired (ms)
    last_missed: int | None
    missed: int
    armed_since: int | None  # ms; None until a worker has seen this cron

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def schedule_status(client: redis.Redis, settings: Settings) -> list[ScheduleStatus]:
    """Every target's crons, last and next tick (for the dashboard and the JSON API)."""
    found = crons(settings)
    pipe = client.pipeline(transaction=False)
    for kind, target, _ in found:
        pipe.hgetall(keys.schedule_state(kind, target))
    out = []
    for (kind, target, expr), raw in zip(found, pipe.execute(), strict=True):
        state = decode_hash(raw)
        if state.get("expr") != expr:
            state = {}  # not armed yet, or armed for an earlier expression
        out.append(
            ScheduleStatus(
                target=target,
                kind=kind,
                cron=expr,
                next_slot=next_slot(expr, time.time()),
                last_fired=_int(state, "last_fired"),
                fired_at=_int(state, "fired_at"),
                last_missed=_int(state, "last_missed"),
                missed=_int(state, "missed") or 0,
                armed_since=_int(state, "since"),
            )
        )
    return out


def _int(state: dict[str, str], name: str) -> int | None:
    return int(state[name]) if state.get(name) else None
