"""The safety net: whatever died, every target is free again and every trigger settles.

Every few seconds one worker (whichever holds `keys.REAPER_LOCK`) looks at each target's
in-flight mark. A mark whose trigger is gone (Redis lost it) becomes a FAILED trigger that says
so; a mark whose trigger already ended is cleared; a trigger still in progress whose pending step
was lost (not in `relay:steps`) has that step armed again. Leases make this rare: a step whose
worker died comes back by itself; the reaper covers what a lease cannot, such as data lost by
Redis. It also cleans RQ's registry of abandoned prune jobs.

`trim` keeps the history bounded (`server.keep_deployments`) without ever dropping a failure
that waits for a replay, until `server.keep_failed` passes.
"""

from __future__ import annotations

import logging

import redis
from rq import Queue
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from relay.core import budget, keys
from relay.core.clock import server_ms
from relay.core.records import TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Store, text
from relay.core.transitions import Step, Transitions

log = logging.getLogger("relay.reaper")

#: how often one worker reaps (seconds); also the lock's TTL
INTERVAL = 5.0
#: a worker whose heartbeat is older than this is dropped from relay:workers (seconds)
FORGET_WORKERS_AFTER = 600
LOST = "the trigger holding the target lost its record (Redis restarted empty, or evicted it)"
#: triggers looked at per round of trimming
TRIM_CHUNK = 500


def pending_step(status: TriggerStatus, attempts: int, step: str | None, trigger_id: str) -> Step:
    """The step a trigger in progress waits for, when its own record of it was lost."""
    known = Step.parse(step) if step else None
    if known is not None:
        return known
    if status is TriggerStatus.BUILDING:
        return Step("watch", trigger_id, 1)
    if status is TriggerStatus.TRIGGERING:
        return Step("deploy", trigger_id, max(attempts, 1))  # runs as "interrupted"
    return Step("deploy", trigger_id, attempts + 1)


class Reaper:
    def __init__(self, client: redis.Redis, settings: Settings, queue: Queue) -> None:
        self.client = client
        self.settings = settings
        self.queue = queue
        self.store = Store(client)
        self.moves = Transitions(client)

    def reap(self) -> bool:
        """One round, if no other worker holds the lock; returns whether it ran."""
        if not self.client.set(keys.REAPER_LOCK, "1", nx=True, px=int(INTERVAL * 1000)):
            return False
        for name in self.settings.targets:
            self._target(name)
        # the claimer is a thread: failure callbacks must not use SIGALRM timeouts here
        StartedJobRegistry(queue=self.queue, death_penalty_class=TimerDeathPenalty).cleanup()
        self._forget_quiet_workers()
        self.trim()
        self._trim_budget_usage()
        return True

    def _trim_budget_usage(self) -> None:
        """Builds older than the longest budget window no longer count anywhere."""
        horizon = server_ms(self.client) - budget.KEEP_MS
        pipe = self.client.pipeline(transaction=False)
        pipe.zremrangebyscore(keys.BUILDS_USED, "-inf", horizon)
        for name in self.settings.targets:
            pipe.zremrangebyscore(keys.builds_used(name), "-inf", horizon)
        pipe.execute()

    def _target(self, name: str) -> None:
        holder = self.store.inflight(name)
        if holder is None:
            return
        trigger = self.store.trigger(holder)
        if trigger is None:
            if self.moves.lost(holder, name, LOST):
                log.warning("target %s was held by a trigger that no longer exists", name)
            return
        if trigger.status.final:
            self.moves.release(trigger)
            log.warning("target %s was still held by %s (%s): freed", name, holder, trigger.status)
            return
        step = pending_step(trigger.status, trigger.attempts, trigger.step, trigger.id)
        if self.client.zscore(keys.STEPS, step.member) is None:
            armed = self.moves.move(trigger, trigger, arm=(step, 0))
            if armed:
                log.warning(
                    "trigger %s (%s) had lost its next step: armed again", holder, trigger.status
                )

    def _forget_quiet_workers(self) -> None:
        now = server_ms(self.client)
        for beat in self.store.workers():
            if beat.age(now) > FORGET_WORKERS_AFTER:
                self.client.hdel(keys.WORKERS, beat.name)

    def trim(self) -> int:
        """Keep at most `server.keep_deployments` triggers, the oldest going first, except
        failures that wait for a replay (kept until `server.keep_failed`) and triggers in
        progress. Returns how many were deleted."""
        server = self.settings.server
        now = server_ms(self.client)
        expired = self.client.zrangebyscore(keys.FAILED, "-inf", now - server.keep_failed * 1000)
        if expired:
            self.client.zrem(keys.FAILED, *expired)
            log.info("%d failure(s) older than keep_failed left `relay failed`", len(expired))
        excess = self.client.zcard(keys.TRIGGERS) - server.keep_deployments
        deleted, start = 0, 0
        while deleted < excess:
            ids = [
                text(i) for i in self.client.zrange(keys.TRIGGERS, start, start + TRIM_CHUNK - 1)
            ]
            if not ids:
                break
            start += len(ids)
            failed = self.client.pipeline(transaction=False)
            for trigger_id in ids:
                failed.zscore(keys.FAILED, trigger_id)
            summaries = self.store.summaries(ids)
            doomed = [
                (trigger_id, summary.target if summary else None)
                for trigger_id, waiting, summary in zip(
                    ids, failed.execute(), summaries, strict=True
                )
                if waiting is None and (summary is None or summary.status.final)
            ][: excess - deleted]
            pipe = self.client.pipeline(transaction=True)
            for trigger_id, target in doomed:
                pipe.delete(keys.trigger(trigger_id))
                pipe.zrem(keys.TRIGGERS, trigger_id)
                if target:
                    pipe.zrem(keys.target_triggers(target), trigger_id)
            pipe.execute()
            deleted += len(doomed)
            start -= len(doomed)
        return deleted
