"""How a trigger moves from one state to the next: one atomic Redis step per move.

A move writes the trigger's changed fields, completes the step that made it (when that step is
still leased to the caller), arms the next step, and, when the new state is final, counts the
outcome and releases the target, all in `lua/transition.lua`. It is guarded: it applies only
while the trigger is still in the state the caller read, so two processes can never both move
one trigger, and a crash between two moves leaves it in the last state fully written.

    QUEUED ─▶ TRIGGERING ─▶ BUILDING ─▶ SUCCESS | FAILURE | CANCELED | SKIPPED | STUCK
                  │   ▲          (watch)
                  ▼   │
               RETRYING ─▶ FAILED ─▶ REPLAYED          TRIGGERING ─▶ TRIGGERED | DRY_RUN

The full diagram, with what moves each arrow, is in docs/architecture.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from relay.core import keys
from relay.core.records import Trigger, TriggerStatus
from relay.core.scripts import lua


@dataclass(frozen=True)
class Step:
    """A unit of work on a trigger that runs at a time: its n-th deploy attempt or build poll."""

    kind: str  # "deploy" | "watch"
    trigger_id: str
    n: int

    @property
    def member(self) -> str:
        """The step's member in the timers sorted set."""
        return f"{self.kind}:{self.trigger_id}:{self.n}"

    @classmethod
    def parse(cls, member: str) -> Step:
        kind, trigger_id, n = member.split(":")
        return cls(kind, trigger_id, int(n))


@dataclass(frozen=True)
class Lease:
    """A step taken by one runner: only the holder of `token` may complete it."""

    step: Step
    token: str


class Transitions:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self._script = client.register_script(lua(keys.SCRIPT_TRANSITION))

    def move(
        self,
        before: Trigger,
        after: Trigger,
        *,
        done: Lease | None = None,
        arm: tuple[Step, float] | None = None,
    ) -> bool:
        """Write `after` over `before` (which must still be what Redis holds); `arm` schedules
        a step that many seconds from now. Returns False, changing nothing, when the trigger
        moved meanwhile or `done` is no longer this caller's lease."""
        setting, removing = after.changes(before)
        final = after.status.final and before.status.in_progress
        doc: dict[str, Any] = {
            "set": setting,
            "del": removing,
            "target": after.target,
            "release": final,
            "count": f"{after.target}:{after.status.value}" if final else "",
            "failed": _failed(before.status, after.status),
        }
        if done is not None:
            doc |= {"done": done.step.member, "lease": done.token}
        if arm is not None:
            step, delay = arm
            doc["arm"] = [step.member, max(0, round(delay * 1000))]
        applied = self._script(
            keys=[
                keys.trigger(after.id),
                keys.inflight(after.target),
                keys.FAILED,
                keys.BUILD_COUNTS,
                keys.TIMERS,
                keys.STEP_LEASES,
                keys.DUE,
                keys.burst(after.target),
            ],
            args=[after.id, before.status.value, orjson.dumps(doc)],
        )
        return bool(applied)

    def replay(self, trigger: Trigger, now: int) -> bool:
        """A failed trigger was queued again: it is REPLAYED (and off `relay failed`)."""
        after = dataclasses.replace(trigger, status=TriggerStatus.REPLAYED, replayed_at=now)
        return self.move(trigger, after)


def _failed(before: TriggerStatus, after: TriggerStatus) -> str:
    if after is TriggerStatus.FAILED and before is not TriggerStatus.FAILED:
        return "add"
    if before is TriggerStatus.FAILED and after is not TriggerStatus.FAILED:
        return "remove"
    return ""
