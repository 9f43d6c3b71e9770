"""The state of each target, as the dashboard and `GET /api/targets` show it.

idle · debouncing (deliveries collecting, due at a time) · building (a trigger in flight, with
its Cloudflare stage) · retrying (the Cloudflare call failed for now) · failed (the newest
finished trigger failed). A target can be building and collecting the next burst at once.
Every read is bounded: a handful of keys per target, whatever the history holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relay.core.cron import ScheduleStatus, schedule_status
from relay.core.prune_record import PruneStatus, last_prune
from relay.core.settings import Settings, TargetSettings
from relay.core.store import FINAL, Store
from relay.web.dashboard.tallies import Tally

#: final statuses shown as a failed target
FAILED_STATUSES = {"failed", "failure", "stuck"}
#: how many of a target's newest triggers are looked at to find its last finished one
LOOKBACK = 5


@dataclass(frozen=True)
class Pending:
    count: int
    first: int  # ms
    last: int  # ms
    due: int  # ms, Redis clock
    reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TargetView:
    name: str
    settings: TargetSettings
    state: str
    pending: Pending | None
    current: dict[str, str] | None  # the trigger in flight
    last: dict[str, str] | None  # the newest trigger in a final state
    tally: Tally
    schedule: ScheduleStatus | None = None  # the `schedule` cron: next and last tick
    prune_schedule: ScheduleStatus | None = None  # the `prune_schedule` cron
    prune: PruneStatus | None = None  # the current or last prune

    @property
    def last_duration(self) -> float | None:
        return duration(self.last) if self.last else None

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
            "state": self.state,
            "pending": self.pending.to_dict() if self.pending else None,
            "current": self.current,
            "last_deployment": (
                {**self.last, "duration": self.last_duration} if self.last else None
            ),
            "builds": self.tally.builds,
            "deliveries": self.tally.deliveries,
            "builds_saved": self.tally.saved,
            "keep": config.keep,
            "schedule": self.schedule.to_dict() if self.schedule else None,
            "prune_schedule": self.prune_schedule.to_dict() if self.prune_schedule else None,
            "prune": self.prune.to_dict() if self.prune else None,
        }


def duration(trigger: dict[str, str]) -> float | None:
    """Seconds the build took (Cloudflare's), else from trigger to finish (the relay's)."""
    if trigger.get("build_seconds"):
        return float(trigger["build_seconds"])
    start, end = trigger.get("created_at"), trigger.get("finished_at")
    if start and end and start.isdigit() and end.isdigit():
        return (int(end) - int(start)) / 1000
    return None


def _pending(raw: dict[str, str] | None) -> Pending | None:
    if raw is None:
        return None
    return Pending(
        count=int(raw.get("count") or 0),
        first=int(raw.get("first") or 0),
        last=int(raw.get("last") or 0),
        due=int(raw["due"]),
        reason=raw.get("reason"),
    )


def state_of(
    pending: Pending | None, current: dict[str, str] | None, last: dict[str, str] | None
) -> str:
    if current is not None:
        return "retrying" if current.get("status") == "retrying" else "building"
    if pending is not None:
        return "debouncing"
    if last is not None and last.get("status") in FAILED_STATUSES:
        return "failed"
    return "idle"


def target_views(store: Store, settings: Settings, tallies: dict[str, Tally]) -> list[TargetView]:
    pending = store.pending()
    crons = {(s.target, s.kind): s for s in schedule_status(store.client, settings)}
    out = []
    for name, config in settings.targets.items():
        recent = store.triggers(target=name, limit=LOOKBACK)
        inflight = store.inflight(name)
        current = next(
            (t for t in recent if t.get("id") == inflight and t.get("status") not in FINAL), None
        )
        if current is None and inflight:
            found = store.trigger(inflight)
            current = found if found and found.get("status") not in FINAL else None
        last = next((t for t in recent if t.get("status") in FINAL), None)
        burst = _pending(pending.get(name))
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
