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
from relay.core.clock import server_ms
from relay.core.records import Trigger, TriggerStatus
from relay.core.scripts import lua

#: the guard that accepts any state: only for a record that lost its fields, whose step lease
#: (held by the caller) is what keeps two workers apart
ANY = "*"


#: the kinds of step; all but "notify" belong to a trigger (their id is the trigger's)
STEP_KINDS = frozenset({"deploy", "watch", "cancel", "notify"})


@dataclass(frozen=True)
class Step:
    """A unit of work on a trigger that runs at a time: its n-th deploy attempt or build poll."""

    kind: str  # "deploy" | "watch" | "cancel" (a trigger's) | "notify" (a notice's)
    trigger_id: str
    n: int

    @property
    def member(self) -> str:
        """The step's member in the steps sorted set."""
        return f"{self.kind}:{self.trigger_id}:{self.n}"

    @property
    def target(self) -> str:
        """The target, from the trigger id (`<target>-<ms>`): known even if the record is lost."""
        return self.trigger_id.rsplit("-", 1)[0]

    @classmethod
    def parse(cls, member: str) -> Step | None:
        kind, _, rest = member.partition(":")
        trigger_id, _, n = rest.rpartition(":")
        if kind not in STEP_KINDS or not trigger_id or not (n.isascii() and n.isdecimal()):
            return None
        return cls(kind, trigger_id, int(n))


@dataclass(frozen=True)
class Lease:
    """A step taken by one worker process: only the holder of `token` may complete it."""

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
        """Write `after` over `before` (which must still be what Redis holds); `done` is the
        step this move completes, `arm` the step it schedules that many seconds from now.
        Returns False, changing nothing, when the trigger moved meanwhile or `done` is no
        longer this caller's lease."""
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
        return self._apply(after.id, after.target, before.status.value, doc, done, arm)

    def lost(self, trigger_id: str, target: str, reason: str, *, done: Lease | None = None) -> bool:
        """The trigger's record lost its fields (Redis restarted empty, trimmed or evicted it):
        it becomes a FAILED trigger that says so, `relay failed` lists it (its target can be
        replayed), and the target is free. `done`: the step that found it, completed."""
        now = server_ms(self.client)
        record = Trigger(
            id=trigger_id,
            target=target,
            status=TriggerStatus.FAILED,
            error=reason,
            created_at=now,
            finished_at=now,
        )
        doc = {
            "set": record.to_hash(),
            "del": [],
            "target": target,
            "release": True,
            "count": f"{target}:failed",
            "failed": "add",
        }
        if not self._apply(trigger_id, target, ANY, doc, done, None):
            return False
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(keys.TRIGGERS, {trigger_id: now}, nx=True)
        pipe.zadd(keys.target_triggers(target), {trigger_id: now}, nx=True)
        pipe.execute()
        return True

    def release(self, trigger: Trigger) -> bool:
        """Free the target a trigger that already ended still holds (a mark left behind)."""
        doc = {"set": {}, "del": [], "target": trigger.target, "release": True, "count": ""}
        return self._apply(trigger.id, trigger.target, trigger.status.value, doc, None, None)

    def drop(self, lease: Lease, trigger: Trigger) -> bool:
        """Complete a step that has nothing left to do (its trigger moved on without it)."""
        doc = {"set": {}, "del": [], "target": trigger.target, "release": False, "count": ""}
        return self._apply(trigger.id, trigger.target, ANY, doc, lease, None)

    def step_done(self, lease: Lease, arm: tuple[Step, float] | None = None) -> bool:
        """Complete a step that belongs to no trigger (a notice's), arming `arm` if given."""
        step, delay = arm if arm is not None else (None, 0.0)
        applied = self.client.register_script(lua(keys.SCRIPT_STEP_DONE))(
            keys=[keys.STEPS, keys.STEP_LEASES],
            args=[lease.step.member, lease.token, step.member if step else "", round(delay * 1000)],
        )
        return bool(applied)

    def replay(self, trigger: Trigger, now: int) -> bool:
        """A failed trigger was queued again: it is REPLAYED (and off `relay failed`)."""
        after = dataclasses.replace(trigger, status=TriggerStatus.REPLAYED, replayed_at=now)
        return self.move(trigger, after)

    def _apply(
        self,
        trigger_id: str,
        target: str,
        expected: str,
        doc: dict[str, Any],
        done: Lease | None,
        arm: tuple[Step, float] | None,
    ) -> bool:
        if done is not None:
            doc |= {"done": done.step.member, "lease": done.token}
        if arm is not None:
            step, delay = arm
            doc["arm"] = [step.member, max(0, round(delay * 1000))]
        applied = self._script(
            keys=[
                keys.trigger(trigger_id),
                keys.inflight(target),
                keys.FAILED,
                keys.BUILD_COUNTS,
                keys.STEPS,
                keys.STEP_LEASES,
                keys.DUE,
                keys.burst(target),
            ],
            args=[trigger_id, expected, orjson.dumps(doc)],
        )
        return bool(applied)


def _failed(before: TriggerStatus, after: TriggerStatus) -> str:
    if after is TriggerStatus.FAILED and before is not TriggerStatus.FAILED:
        return "add"
    if before is TriggerStatus.FAILED and after is not TriggerStatus.FAILED:
        return "remove"
    return ""
