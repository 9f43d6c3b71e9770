"""The watch step: poll n of a build in progress, until its outcome.

    BUILDING ──▶ BUILDING (the stage recorded, poll n+1 armed)
             ──▶ SUCCESS | FAILURE | CANCELED | SKIPPED      (the platform's outcome)
             ──▶ STUCK   (no progress for stuck_after, or the build cannot be read)

A poll that fails for now (429, 5xx, a full API budget) is simply made again later: polls are
idempotent, so a worker that dies mid-poll costs nothing but the lease's wait. A build that
failed has the last lines of its log kept with the trigger (`records.log_tail`), read once,
best effort: the outcome is recorded whether or not the log can be read.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from relay.core.clock import server_ms
from relay.core.exceptions import (
    BudgetExhausted,
    CloudflareError,
    CloudflareRejected,
    CloudflareRetryable,
    NotSupported,
)
from relay.core.records import Trigger, TriggerStatus, log_tail
from relay.core.targets import Build, Target
from relay.core.transitions import Lease, Step
from workers.faults import die_at
from workers.outcomes import finish, put_off, read_trigger
from workers.runtime import Context

log = logging.getLogger("relay.worker")


def seconds_between(iso: str | None, now_ms: int) -> float | None:
    if not iso:
        return None
    try:
        started = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return round(now_ms / 1000 - started, 1)


def watch(ctx: Context, lease: Lease) -> str:
    n = lease.step.n
    before = read_trigger(ctx, lease)
    if isinstance(before, str):
        return before
    if before.status is not TriggerStatus.BUILDING:
        ctx.moves.drop(lease, before)
        return f"stale (already {before.status})"
    config = ctx.settings.targets.get(before.target)
    target = ctx.target(config) if config is not None else None
    if target is None or not target.watchable or before.deployment_id is None:
        note = "target no longer watchable"
        after = dataclasses.replace(before, status=TriggerStatus.TRIGGERED, note=note)
        finish(ctx, before, after, lease)
        return "triggered"
    poll = ctx.settings.cloudflare.poll_interval
    again = Step("watch", before.id, n + 1)
    try:
        build = target.build(before.deployment_id)
    except BudgetExhausted as exc:
        put_off(
            ctx, before, lease, exc.retry_after or poll, "waiting for the Cloudflare API budget"
        )
        return "waiting for the API budget"
    except CloudflareRetryable as exc:
        ctx.moves.move(before, before, done=lease, arm=(again, exc.retry_after or poll))
        return "poll failed, will poll again"
    except CloudflareRejected as exc:
        error = f"cannot watch the build: {exc.message}"
        stuck = dataclasses.replace(before, status=TriggerStatus.STUCK, error=error)
        finish(ctx, before, stuck, lease)
        return "stuck"
    die_at("watch:before-record")
    now = server_ms(ctx.redis)
    after = build.onto(before)
    moved = build.progress != (before.stage, before.stage_status)
    if moved:
        after = dataclasses.replace(after, progress_at=now)
    if build.outcome is not None:
        final = settled(ctx, target, after, build, now)
        finish(ctx, before, final, lease)
        return build.outcome.value
    assert config is not None
    progress_at = before.progress_at or now
    if not moved and now - progress_at > config.stuck_after * 1000:
        error = f"no progress for {config.stuck_after:.0f}s (stage {build.stage})"
        stuck = dataclasses.replace(after, status=TriggerStatus.STUCK, error=error)
        finish(ctx, before, with_log(target, stuck), lease)
        return "stuck"
    ctx.moves.move(before, after, done=lease, arm=(again, poll))
    return "building"


def settled(ctx: Context, target: Target, after: Trigger, build: Build, now: int) -> Trigger:
    """The trigger at its build's outcome: its duration, and its log's tail if it failed."""
    assert build.outcome is not None
    seconds = build.seconds
    if seconds is None:
        seconds = seconds_between(build.created_on, now)
    final = dataclasses.replace(after, status=build.outcome, build_seconds=seconds)
    return with_log(target, final) if final.status.failing else final


def with_log(target: Target, trigger: Trigger) -> Trigger:
    """`trigger` with the last lines of its build's log, if they can be read now (one call)."""
    if trigger.deployment_id is None:
        return trigger
    try:
        lines = [line.text for line in target.logs(trigger.deployment_id)]
    except (CloudflareError, NotSupported) as exc:
        log.info("trigger %s: the build log could not be read (%s)", trigger.id, exc)
        return trigger
    return dataclasses.replace(trigger, log_tail=log_tail(lines) or None)
