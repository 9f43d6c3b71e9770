"""The moves the deploy and watch steps make, each one transition (`relay.core.transitions`).

Each completes the step that made it (`done`: the runner's lease on it), so the step and the
trigger's new state are written together: a final state (counted, the target released, the
team told), a retry (the next attempt armed), or failed for good (on the list `relay failed`
shows, replayable). A move that finds the trigger moved meanwhile, or its lease taken over by
another worker, changes nothing and says so (False).
"""

from __future__ import annotations

import dataclasses
import logging
import random

from relay.core.clock import server_ms
from relay.core.exceptions import CloudflareError
from relay.core.records import Trigger, TriggerStatus
from relay.core.transitions import Lease, Step
from workers.notifications.news import tell_outcome
from workers.runtime import Context

log = logging.getLogger("relay.worker")


def backoff(ctx: Context, attempt: int) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, capped at retry.max."""
    retry = ctx.settings.retry
    delay = min(retry.max, retry.initial * 2.0 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not a secret)


def with_error(trigger: Trigger, exc: CloudflareError | None, message: str | None) -> Trigger:
    """`trigger` carrying this error (Cloudflare's code and status when it sent them)."""
    if exc is None:
        return dataclasses.replace(trigger, error=message, error_code=None, error_status=None)
    return dataclasses.replace(
        trigger, error=exc.message, error_code=exc.code, error_status=exc.http_status
    )


def finish(ctx: Context, before: Trigger, after: Trigger, done: Lease | None) -> bool:
    """A final state `after` (its status set by the caller)."""
    ended = dataclasses.replace(after, finished_at=server_ms(ctx.redis), next_attempt_at=None)
    if not ctx.moves.move(before, ended, done=done):
        log.info("trigger %s moved meanwhile; %s not recorded", before.id, after.status)
        return False
    log.info("trigger %s: %s", ended.id, ended.status)
    tell_outcome(ctx.redis, ctx.settings, ended)
    return True


def fail_for_good(
    ctx: Context,
    before: Trigger,
    exc: CloudflareError | None,
    message: str | None = None,
    *,
    done: Lease | None,
) -> bool:
    """Retries are used up or pointless: listed by `relay failed`, replayable."""
    after = with_error(dataclasses.replace(before, status=TriggerStatus.FAILED), exc, message)
    if not finish(ctx, before, after, done):
        return False
    log.warning("trigger %s failed for good: %s", before.id, exc or message)
    return True


def retry_later(
    ctx: Context,
    before: Trigger,
    attempt: int,
    exc: CloudflareError | None,
    message: str | None = None,
    *,
    done: Lease | None,
    retry_after: float | None = None,
) -> bool:
    """Arm attempt `attempt + 1`, or fail for good when the attempts are used up.

    A Retry-After from Cloudflare always wins, even over `retry.max`.
    """
    if attempt >= ctx.settings.retry.attempts:
        return fail_for_good(ctx, before, exc, message, done=done)
    delay = retry_after if retry_after is not None else backoff(ctx, attempt)
    after = with_error(
        dataclasses.replace(
            before,
            status=TriggerStatus.RETRYING,
            attempts=attempt,
            next_attempt_at=server_ms(ctx.redis) + round(delay * 1000),
        ),
        exc,
        message,
    )
    next_step = (Step("deploy", before.id, attempt + 1), delay)
    if not ctx.moves.move(before, after, done=done, arm=next_step):
        return False
    reason = exc or message
    log.info("trigger %s: attempt %d failed (%s); next in %.1fs", before.id, attempt, reason, delay)
    return True


def put_off(ctx: Context, before: Trigger, lease: Lease, delay: float, note: str) -> bool:
    """Run the same step again in `delay` seconds, changing nothing else (no attempt spent)."""
    after = dataclasses.replace(before, note=note)
    return ctx.moves.move(before, after, done=lease, arm=(lease.step, delay))


#: why a step whose trigger has no record any more settles it as failed
LOST = "the trigger's record lost its fields (Redis restarted empty, or evicted or trimmed it)"


def read_trigger(ctx: Context, lease: Lease) -> Trigger | str:
    """The trigger the step in `lease` works on, or, when its record is gone, the step's
    outcome after settling it as failed (once: another worker may have done it first)."""
    step = lease.step
    trigger = ctx.store.trigger(step.trigger_id)
    if trigger is not None:
        return trigger
    lost = ctx.moves.lost(step.trigger_id, step.target, LOST, done=lease)
    return "lost" if lost else "lost (taken over)"
