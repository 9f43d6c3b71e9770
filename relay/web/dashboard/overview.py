"""The state of each target, as the dashboard and `GET /api/targets` show it.

idle · debouncing (deliveries collecting, due at a time) · building (a trigger in flight, with
its Cloudflare stage) · retrying (the Cloudflare call failed for now) · failed (the newest
finished trigger failed). A target can be building and collecting the next burst at once.
Every read is bounded: a handful of keys per target, whatever the history holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from relay.core.cron import ScheduleStatus, schedule_status
from relay.core.prune_record import PruneStatus, last_prune
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings, TargetSettings
from relay.core.store import Pending, Store
from relay.web.dashboard.tallies import Tally

#: how many of a target's newest triggers are looked at to find its last finished one
LOOKBACK = 5


class TargetState(StrEnum):
    IDLE = "idle"
    DEBOUNCING = "debouncing"
    BUILDING = "building"
    RETRYING = "retrying"
    FAILED = "failed"

    @property
    def tone(self) -> str:
        if self is TargetState.FAILED:
            return "bad"
        return "good" if self is TargetState.IDLE else "busy"


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
        }


def state_of(pending: Pending | None, current: Trigger | None, last: Trigger | None) -> TargetState:
    if current is not None:
        if current.status is TriggerStatus.RETRYING:
            return TargetState.RETRYING
        return TargetState.BUILDING
    if pending is not None:
        return TargetState.DEBOUNCING
    if last is not None and last.status.failing:
        return TargetState.FAILED
    return TargetState.IDLE


def target_views(store: Store, settings: Settings, tallies: dict[str, Tally]) -> list[TargetView]:
    pending = store.pending()
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
        out.append(
            TargetView(
                name=name,
                settings=config,
                state=state_of(burst, current, last),
                pending=burst,
                current=current,
                last=last,
                tally=tallies.get(name, Tally()),
                schedule=crons.get((name, "build")),
                prune_schedule=crons.get((name, "prune")),
                prune=last_prune(store.client, name) if config.keep is not None else None,
            )
        )
    return out
