"""Running the steps of triggers (deploy attempts, build polls) in the worker's own threads.

A step is taken from `relay:steps` under a lease (`lua/take_steps.lua`) when it is due and a
thread is free, and runs at once: no queue and no fork stand between a claimed burst and its
Cloudflare call, so a single worker starts each build within the claim interval of its due time,
however many builds are being polled meanwhile. While a step runs, its lease is renewed (every
the claimer's loop, six times per lease); the transition that ends the step removes it. A worker
that dies (SIGKILL, an out-of-memory kill, a host that goes away) stops renewing: each of its
steps comes due again `[worker] step_lease` (30 s) later and another worker takes it over, so no
death leaves a trigger, or its target, waiting for longer than about half a minute.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from redis.exceptions import RedisError

from relay.core import keys
from relay.core.records import TriggerStatus
from relay.core.scripts import lua
from relay.core.store import text
from relay.core.transitions import Lease, Step
from workers.deploy import deploy
from workers.notifications.outbox import send_step
from workers.outcomes import retry_later
from workers.runtime import Context
from workers.supersede import cancel
from workers.watch import watch

log = logging.getLogger("relay.worker")

#: a live worker renews the leases of the steps it runs this many times per lease
RENEWALS_PER_LEASE = 6

STEPS: dict[str, Callable[[Context, Lease], str]] = {
    "deploy": deploy,
    "watch": watch,
    "cancel": cancel,
    "notify": send_step,
}


class StepRunner:
    def __init__(self, ctx: Context, name: str) -> None:
        self.ctx = ctx
        self.token = f"{name}:{uuid.uuid4().hex[:12]}"
        config = ctx.settings.worker
        #: a step taken but not renewed comes due again after this long (ms): the longest a
        #: dead worker's step waits before another worker takes it over
        self.lease_ms = round(config.step_lease * 1000)
        self.renew_every = config.step_lease / RENEWALS_PER_LEASE
        self.threads = config.step_threads
        self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="step")
        self.running: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._take = ctx.redis.register_script(lua(keys.SCRIPT_TAKE_STEPS))
        self._renew = ctx.redis.register_script(lua(keys.SCRIPT_RENEW_STEPS))
        self._renewed_at = 0.0
        self.accepting = True

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self.running)

    def take(self) -> int:
        """Start every due step a free thread can run; returns how many started."""
        free = self.threads - self.busy
        if free <= 0 or not self.accepting:
            return 0
        members = self._take(
            keys=[keys.STEPS, keys.STEP_LEASES], args=[free, self.lease_ms, self.token]
        )
        started = 0
        for member in members:
            step = Step.parse(text(member))
            if step is None:
                log.error("dropping a malformed step %r", text(member))
                self.ctx.redis.zrem(keys.STEPS, member)
                continue
            lease = Lease(step, self.token)
            with self._lock:
                self.running[step.member] = lease
            self.pool.submit(self._run, lease)
            started += 1
        return started

    def renew(self, *, force: bool = False) -> None:
        """Keep the leases of the running steps (at most every `renew_every` seconds)."""
        now = time.monotonic()
        if not force and now - self._renewed_at < self.renew_every:
            return
        self._renewed_at = now
        with self._lock:
            members = list(self.running)
        if members:
            self._renew(
                keys=[keys.STEPS, keys.STEP_LEASES], args=[self.lease_ms, self.token, *members]
            )

    def _run(self, lease: Lease) -> None:
        step = lease.step
        try:
            outcome = STEPS[step.kind](self.ctx, lease)
            log.debug("%s: %s", step.member, outcome)
        except RedisError as exc:
            # its lease runs out and the step runs again, here or on another worker
            log.warning("%s: Redis unavailable (%s); it will run again", step.member, exc)
        except Exception as exc:
            log.exception("%s failed unexpectedly", step.member)
            self._settle_after_error(lease, exc)
        finally:
            with self._lock:
                self.running.pop(step.member, None)

    def _settle_after_error(self, lease: Lease, exc: Exception) -> None:
        """A bug, not Cloudflare's answer: the attempt is counted as failed (and the next one
        armed), a poll is made again; never a silent loss."""
        step = lease.step
        if step.kind not in {"deploy", "watch"}:
            # a cancel or a notice: never retried after a bug (its trigger settles by its watch)
            self.ctx.moves.step_done(lease)
            return
        try:
            trigger = self.ctx.store.trigger(step.trigger_id)
            if trigger is None or not trigger.status.in_progress:
                return
            message = f"internal error in the {step.kind} step ({type(exc).__name__})"
            if step.kind == "deploy":
                retry_later(
                    self.ctx, trigger, max(step.n, trigger.attempts), None, message, done=lease
                )
            elif trigger.status is TriggerStatus.BUILDING:
                poll = self.ctx.settings.cloudflare.poll_interval
                again = Step("watch", trigger.id, step.n + 1)
                self.ctx.moves.move(trigger, trigger, done=lease, arm=(again, poll))
        except Exception:
            log.exception("%s could not be settled; its lease will run out", step.member)

    def stop(self, *, wait: bool = True) -> None:
        """Take no more steps; let the running ones finish (SIGTERM's warm shutdown)."""
        self.accepting = False
        self.pool.shutdown(wait=wait)
