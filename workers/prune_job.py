"""Pruning alongside deploys: prune's share of the API budget, and the scheduled RQ job.

Every Cloudflare call already takes a slot from the budget shared by all relay processes
(`relay.core.cloudflare.usage`). On top of that, prune's calls go through a `Pacer`: they are
spaced so that prune alone uses at most SHARE of the budget, and they wait while the shared
window is more than CEILING full, so deploys and build polls always find room.

A `prune_schedule` slot enqueues `prune_job(target, slot, 1)`. It works for CHUNK_SECONDS, then
enqueues its continuation (part 2, 3, ...) at the back of the queue, so that deploy jobs queued
meanwhile run first, even with a single worker; a chunk interrupted by a Cloudflare error is
continued after RETRY_AFTER. Job ids are unique per slot and part.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import redis
from rq.exceptions import DuplicateJobError

from relay.core import keys
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.usage import ApiBudget, record_call
from relay.core.exceptions import BudgetExhausted, CloudflareRejected, PruneBusy, PruneInterrupted
from relay.core.job_queue import job_queue
from relay.core.settings import CloudflareSettings, Settings
from workers import runtime as context
from workers.prune import Pruner

log = logging.getLogger("relay.prune")

#: prune's calls are spaced to use at most this fraction of the API budget
SHARE = 0.5
#: and wait while the shared window is fuller than this fraction (the rest is for deploys)
CEILING = 0.8
#: how long a call waits for room before the prune stops, resumable (seconds)
MAX_YIELD = 120.0
#: a scheduled prune hands its worker back this often (seconds)
CHUNK_SECONDS = 120.0
#: an interrupted chunk is continued this much later (seconds)
RETRY_AFTER = 60.0
#: a chunk lists every page first: allow for large projects
JOB_TIMEOUT = 1800
#: continuations per slot, at most (a prune that keeps failing waits for its next slot)
MAX_PARTS = 200


class Pacer:
    """Called before each of prune's requests (`CloudflareClient(before_request=...)`)."""

    def __init__(
        self,
        client: redis.Redis,
        settings: CloudflareSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.window_ms = int(settings.budget_window * 1000)
        self.interval = settings.budget_window / (settings.budget * SHARE)
        self.ceiling = settings.budget * CEILING
        self.sleep = sleep
        self._next = 0.0

    def used(self) -> int:
        """Requests in the shared window right now (every process, deploys included)."""
        seconds, micros = self.client.time()
        now = int(seconds) * 1000 + int(micros) // 1000
        return int(self.client.zcount(keys.API_BUDGET, now - self.window_ms, "+inf"))

    def __call__(self) -> None:
        wait = self._next - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        deadline = time.monotonic() + MAX_YIELD
        while self.used() >= self.ceiling:
            if time.monotonic() > deadline:
                raise BudgetExhausted(f"the Cloudflare API budget stayed busy for {MAX_YIELD:.0f}s")
            self.sleep(min(1.0, self.interval * 4))
        self._next = time.monotonic() + self.interval


def paced_client(client: redis.Redis, settings: Settings) -> Pages:
    """A Pages client whose calls take prune's share of the shared budget."""
    pacer = Pacer(client, settings.cloudflare)
    budget = ApiBudget(client, settings.cloudflare)

    def before_request() -> None:
        pacer()
        budget.take()

    return Pages(
        CloudflareClient(
            settings.cloudflare,
            before_request=before_request,
            after_response=partial(record_call, client),
        )
    )


def enqueue_prune(
    client: redis.Redis, target: str, slot: int, part: int = 1, delay: float = 0
) -> None:
    """Queue (part `part` of) the prune of `target` for cron slot `slot`; once per id."""
    queue = job_queue(client)
    options: dict[str, Any] = {
        "job_id": f"prune-{target}-{slot}-{part}",
        "unique": True,
        "job_timeout": JOB_TIMEOUT,
        "result_ttl": 7 * 86400,
        "failure_ttl": 7 * 86400,
        "description": f"prune {target} (slot {slot}, part {part})",
    }
    try:
        if delay > 0:
            queue.enqueue_in(timedelta(seconds=delay), prune_job, target, slot, part, **options)
        else:
            queue.enqueue(prune_job, target, slot, part, **options)
    except DuplicateJobError:
        pass  # queued before: a slot is pruned once


def prune_job(target: str, slot: int, part: int = 1) -> str:
    """RQ entry point (`workers.prune_job.prune_job`): one chunk of a scheduled prune."""
    ctx = context.get()
    settings = ctx.settings
    config = settings.targets.get(target)
    if config is None or config.project is None or config.keep is None:
        return "not prunable (no project or keep)"
    if not settings.cloudflare.has_credentials:
        return "skipped: no Cloudflare credentials"
    pages = paced_client(ctx.redis, settings)
    pruner = Pruner(
        ctx.redis,
        settings,
        target,
        pages,
        dry_run=settings.dry_run,
        origin="schedule",
        time_limit=CHUNK_SECONDS,
    )
    try:
        report = pruner.run()
    except PruneBusy as exc:
        return str(exc)
    except CloudflareRejected as exc:  # e.g. the project is gone: recorded as failed
        log.error("prune of %s failed: %s", target, exc)
        return "failed"
    except PruneInterrupted as exc:
        log.warning("%s", exc)
        if part < MAX_PARTS:
            enqueue_prune(ctx.redis, target, slot, part + 1, delay=RETRY_AFTER)
        return "interrupted"
    finally:
        pages.close()
    if report.status == "paused" and part < MAX_PARTS:
        enqueue_prune(ctx.redis, target, slot, part + 1)
    log.info("prune of %s: %s, %d deleted", target, report.status, len(report.deleted))
    return report.status
