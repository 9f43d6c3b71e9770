"""The state of each target, as the dashboard and `GET /api/targets` show it.

idle · debouncing (deliveries collecting, due at a time) · building (a trigger in flight, with
its Cloudflare stage) · retrying (the Cloudflare call failed for now) · paused (`relay pause`:
deliveries collect, nothing builds) · held (a burst waits for a build budget) · failed (the
newest finished trigger failed). A target can be building and collecting the next burst at
once. With it: the pause in force, the budget's usage and whether the target can roll back.
Every read is bounded: a handful of keys per target, whatever the history holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from relay.core.budget import Usage, usage
from relay.core.build_settings import TargetSettings
from relay.core.controls import Pause, pauses
from relay.core.cron import ScheduleStatus, schedule_status
from relay.core.prune_record import PruneStatus, last_prune
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Pending, Store
from relay.web.dashboard.tallies import Tally

#: how many of a target's newest triggers are looked at to find its last finished one
LOOKBACK = 5


class TargetState(StrEnum):
    IDLE = "idle"
    DEBOUNCING = "debouncing"
    BUILDING = "building"
    RETRYING = "retrying"
    PAUSED = "paused"
    HELD = "held"
    FAILED = "failed"

    @property
    def tone(self) -> str:
        if self is TargetState.FAILED:
            return "bad"
        if self is TargetState.PAUSED:
            return "neutral"
        return "good" if self is TargetState.IDLE else "busy"


@dataclass(frozen=True)
class Held:
    """Why a pending burst waits past its due time: "paused", "budget" or "account budget",
    and until when (ms; None: until resumed)."""

    why: str
    until: int | None

    def to_dict(self) -> dict[str, object]:
        return {"why": self.why, "until": self.until}


def held_of(pending: Pending | None, pause: Pause | None, now_ms: int) -> Held | None:
    """What holds the burst now. The claim marks a burst held when it looks at it; a mark
    that no longer stands (the pause was lifted, the budget's time came) is not shown, and a
    paused target's burst is held from the start, before the claim has looked."""
    if pending is None:
        return None
    if pause is not None:
        return Held("paused", pause.until)
    stands = pending.held_until is None or pending.held_until > now_ms
    if pending.held in ("budget", "account budget") and stands:
        return Held(pending.held, pending.held_until)
    return None


@dataclass(frozen=True)
class TargetView:
    name: str
    settings: TargetSettings
    state: TargetState
    pending: Pending | None
    current: Trigger | None  # the trigger in flight
    last: Trigger | None  # the newest trigger in a final state
    tally: Tally
    schedule: ScheduleStatus | None = None  # the `schedule` cron: next and last tick
    prune_schedule: ScheduleStatus | None = None  # the `prune_schedule` cron
    prune: PruneStatus | None = None  # the current or last prune
    paused: Pause | None = None  # the pause in force
    held: Held | None = None  # what holds the pending burst
    budget: Usage | None = None  # the target's build budget, used so far
    can_rollback: bool = False  # its platform can make an earlier deployment live again

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `GET /api/targets` (no secret: a deploy hook URL is never here)."""
        config = self.settings
        return {
            "name": self.name,
            "kind": config.kind,
            "project": config.project,
            "branch": config.branch,
            "debounce": config.debounce,
            "max_wait": config.max_wait,
            "state": self.state.value,
            "pending": self.pending.to_dict() if self.pending else None,
            "current": self.current.to_dict() if self.current else None,
            "last_deployment": self.last.to_dict() if self.last else None,
            "builds": self.tally.builds,
            "deliveries": self.tally.deliveries,
            "builds_saved": self.tally.saved,
            "keep": config.keep,
            "schedule": self.schedule.to_dict() if self.schedule else None,
            "prune_schedule": self.prune_schedule.to_dict() if self.prune_schedule else None,
            "prune": self.prune.to_dict() if self.prune else None,
            "paused": self.paused.to_dict() if self.paused else None,
            "held": self.held.to_dict() if self.held else None,
            "budget": self.budget.to_dict() if self.budget else None,
            "can_rollback": self.can_rollback,
        }


def state_of(
    pending: Pending | None,
    current: Trigger | None,
    last: Trigger | None,
    paused: Pause | None = None,
    held: Held | None = None,
) -> TargetState:
    if current is not None:
        if current.status is TriggerStatus.RETRYING:
            return TargetState.RETRYING
        return TargetState.BUILDING
    if paused is not None:
        return TargetState.PAUSED
    if held is not None:
        return TargetState.HELD
    if pending is not None:
        return TargetState.DEBOUNCING
    if last is not None and last.status.failing:
        return TargetState.FAILED
    return TargetState.IDLE


def target_views(
    store: Store,
    settings: Settings,
    tallies: dict[str, Tally],
    *,
    can_rollback: Callable[[TargetSettings], bool] | None = None,
) -> list[TargetView]:
    """Every target's view; `can_rollback` says which can roll back (default: none)."""
    pending = store.pending()
    paused = pauses(store.client)
    now = store.server_ms()
    crons = {(s.target, s.kind): s for s in schedule_status(store.client, settings)}
    out = []
    for name, config in settings.targets.items():
        recent = store.trigger_page(target=name, limit=LOOKBACK)
        inflight = store.inflight(name)
        current = next((t for t in recent if t.id == inflight and t.status.in_progress), None)
        if current is None and inflight:
            found = store.trigger(inflight)
            current = found if found and found.status.in_progress else None
        last = next((t for t in recent if t.status.final), None)
        burst = pending.get(name)
        pause = paused.get(name)
        held = held_of(burst, pause, now)
        out.append(
            TargetView(
                name=name,
                settings=config,
                state=state_of(burst, current, last, pause, held),
                pending=burst,
                current=current,
                last=last,
                tally=tallies.get(name, Tally()),
                schedule=crons.get((name, "build")),
                prune_schedule=crons.get((name, "prune")),
                prune=last_prune(store.client, name) if config.keep is not None else None,
                paused=pause,
                held=held,
                budget=usage(store.client, name, config.budget, now) if config.budget else None,
                can_rollback=can_rollback(config) if can_rollback is not None else False,
            )
        )
    return out
