"""The claimer: turns due bursts into triggers and due timers into RQ jobs.

Every worker process runs one in a thread, every `interval` (100 ms). Two Lua scripts keep it
correct with any number of them: `claim.lua` hands each due burst to exactly one claimer (and
skips targets with a build in flight, so a burst that arrives during a build waits for it and
then becomes exactly one more build), and `pop_timers.lua` takes due timers under a lease, so a
claimer that dies between taking a timer and enqueueing its job only delays it. Enqueued jobs
have deterministic ids with `unique=True`, which makes a repeated enqueue a no-op.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from redis.exceptions import RedisError
from rq import Callback, Queue
from rq.exceptions import DuplicateJobError
from rq.registry import StartedJobRegistry
from rq.timeouts import TimerDeathPenalty

from relay.core import keys
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import text
from workers.cron import ScheduleTicker

log = logging.getLogger("relay.claimer")

#: how often each claimer looks for due work (seconds); bounds the debounce precision
INTERVAL = 0.1
#: at most this many bursts or timers are taken per look
BATCH = 200
#: a timer taken but not yet enqueued comes due again after this long (ms)
LEASE_MS = 30_000
#: a target with a build in flight has its due burst looked at again this often (ms)
RECHECK_MS = 1_000
#: RQ job settings: deploy calls are bounded by the HTTP timeouts, so 120 s is ample
JOB_TIMEOUT = 120
RESULT_TTL = 3600
FAILURE_TTL = 7 * 86400

#: how often a claimer looks for jobs whose worker died (their heartbeat expired)
REAP_INTERVAL = 5.0

JOBS = {"deploy": "workers.jobs.deploy", "watch": "workers.jobs.watch"}


class Claimer:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client: Any = client  # replies handled as Any: layouts are fixed by relay.core.keys
        self.settings = settings
        self.queue = Queue(keys.QUEUE, connection=client)
        self._claim = client.register_script(lua(keys.SCRIPT_CLAIM))
        self._pop = client.register_script(lua(keys.SCRIPT_POP_TIMERS))
        self._last_trim = 0.0
        self._last_reap = 0.0
        self.schedules = ScheduleTicker(client, settings)  # cron ticks, looked at once a second

    def claim(self) -> list[str]:
        """Turn due bursts into triggers; returns their ids."""
        inflight_ms = (
            int(max(t.stuck_after for t in self.settings.targets.values()) * 1000 + 3600_000)
            if self.settings.targets
            else 3600_000
        )
        ids = self._claim(
            keys=[keys.DUE, keys.TRIGGERS, keys.TIMERS],
            args=[
                keys.BURST_PREFIX,
                keys.INFLIGHT_PREFIX,
                keys.TRIGGER_PREFIX,
                keys.TRIGGERS_BY_TARGET_PREFIX,
                BATCH,
                inflight_ms,
                RECHECK_MS,
            ],
        )
        return [text(i) for i in ids]

    def enqueue_due(self) -> int:
        """Enqueue the RQ job of every due timer; returns how many were taken."""
        members = [text(m) for m in self._pop(keys=[keys.TIMERS], args=[BATCH, LEASE_MS])]
        for member in members:
            kind, trigger_id, n = member.split(":")
            try:
                self.queue.enqueue_call(
                    JOBS[kind],
                    args=(trigger_id, int(n)),
                    job_id=f"{kind}-{trigger_id}-{n}",
                    unique=True,
                    timeout=JOB_TIMEOUT,
                    result_ttl=RESULT_TTL,
                    failure_ttl=FAILURE_TTL,
                    on_failure=Callback("workers.jobs.on_job_failure"),
                    description=f"{kind} {trigger_id} (#{n})",
                )
            except DuplicateJobError:
                pass  # enqueued before, by a claimer that died before removing the timer
            self.client.zrem(keys.TIMERS, member)
        return len(members)

    def trim(self) -> None:
        """Keep at most `server.keep_deployments` triggers (oldest go first)."""
        keep = self.settings.server.keep_deployments
        excess = self.client.zcard(keys.TRIGGERS) - keep
        if excess <= 0:
            return
        old = [text(i) for i in self.client.zrange(keys.TRIGGERS, 0, excess - 1)]
        targets = self.client.pipeline(transaction=False)
        for trigger_id in old:
            targets.hget(keys.trigger(trigger_id), "target")
        pipe = self.client.pipeline(transaction=True)
        for trigger_id, target in zip(old, targets.execute(), strict=True):
            pipe.delete(keys.trigger(trigger_id))
            pipe.zrem(keys.TRIGGERS, trigger_id)
            pipe.zrem(keys.FAILED, trigger_id)
            if target:
                pipe.zrem(keys.target_triggers(text(target)), trigger_id)
        pipe.execute()

    def reap(self) -> None:
        """Settle jobs whose worker died: RQ calls their on_failure (`workers.jobs`), which
        retries or fails the trigger. One claimer at a time does it (a short lock)."""
        if self.client.set(keys.REAPER_LOCK, "1", nx=True, px=int(REAP_INTERVAL * 1000)):
            # the claimer is a thread: failure callbacks must not use SIGALRM timeouts here
            StartedJobRegistry(queue=self.queue, death_penalty_class=TimerDeathPenalty).cleanup()

    def tick(self) -> int:
        self.schedules.maybe_tick()
        claimed = self.claim()
        taken = self.enqueue_due()
        now = time.monotonic()
        if now - self._last_reap > REAP_INTERVAL:
            self._last_reap = now
            self.reap()
        if now - self._last_trim > 60:
            self._last_trim = now
            self.trim()
        return len(claimed) + taken

    def run(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Tick until `stop` is set; a Redis outage is logged once and waited out."""
        down_since: float | None = None
        while not stop.is_set():
            try:
                busy = self.tick()
            except RedisError as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("claimer: Redis unavailable (%s); retrying", type(exc).__name__)
                stop.wait(min(2.0, interval * 10))
                continue
            if down_since is not None:
                log.warning("claimer: Redis is back after %.1fs", time.monotonic() - down_since)
                down_since = None
            if not busy:
                stop.wait(interval)
