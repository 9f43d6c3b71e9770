"""The watch step: poll n of a building deployment, until its final stage.

    BUILDING ──▶ BUILDING (the stage recorded, poll n+1 armed)
             ──▶ SUCCESS | FAILURE | CANCELED | SKIPPED      (Cloudflare's outcome)
             ──▶ STUCK   (no progress for stuck_after, or the deployment cannot be read)

A poll that fails for now (429, 5xx, a full API budget) is simply made again later: polls are
idempotent, so a worker that dies mid-poll costs nothing but the lease's wait.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from relay.core.clock import server_ms
from relay.core.exceptions import BudgetExhausted, CloudflareRejected, CloudflareRetryable
from relay.core.records import TriggerStatus
from relay.core.transitions import Lease, Step
from workers.deploy import LOST, with_stage
from workers.faults import die_at
from workers.outcomes import finish, put_off
from workers.runtime import Context


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
    before = ctx.store.trigger(lease.step.trigger_id)
    if before is None:
        step = lease.step
        lost = ctx.moves.lost(step.trigger_id, step.target, LOST, done=lease)
        return "lost" if lost else "lost (taken over)"
    if before.status is not TriggerStatus.BUILDING:
        ctx.moves.drop(lease, before)
        return f"stale (already {before.status})"
    target = ctx.settings.targets.get(before.target)
    if target is None or target.project is None or before.deployment_id is None:
        note = "target no longer watchable"
        after = dataclasses.replace(before, status=TriggerStatus.TRIGGERED, note=note)
        finish(ctx, before, after, lease)
        return "triggered"
    poll = ctx.settings.cloudflare.poll_interval
    again = Step("watch", before.id, n + 1)
    try:
        deployment = ctx.pages.get_deployment(target.project, before.deployment_id)
    except BudgetExhausted as exc:
        put_off(
            ctx, before, lease, exc.retry_after or poll, "waiting for the Cloudflare API budget"
        )
        return "waiting for the API budget"
    except CloudflareRetryable as exc:
        ctx.moves.move(before, before, done=lease, arm=(again, exc.retry_after or poll))
        return "poll failed, will poll again"
    except CloudflareRejected as exc:
        error = f"cannot watch the deployment: {exc.message}"
        finish(
            ctx, before, dataclasses.replace(before, status=TriggerStatus.STUCK, error=error), lease
        )
        return "stuck"
    die_at("watch:before-record")
    now = server_ms(ctx.redis)
    after = with_stage(before, deployment)
    moved = (deployment.stage, deployment.stage_status) != (before.stage, before.stage_status)
    if moved:
        after = dataclasses.replace(after, progress_at=now)
    outcome = deployment.outcome
    if outcome is not None:
        final = dataclasses.replace(
            after,
            status=TriggerStatus(outcome),
            skip_reason=deployment.skip_reason,
            build_seconds=seconds_between(deployment.created_on, now),
        )
        finish(ctx, before, final, lease)
        return outcome
    progress_at = before.progress_at or now
    if not moved and now - progress_at > target.stuck_after * 1000:
        error = f"no progress for {target.stuck_after:.0f}s (stage {deployment.stage})"
        finish(
            ctx, before, dataclasses.replace(after, status=TriggerStatus.STUCK, error=error), lease
        )
        return "stuck"
    ctx.moves.move(before, after, done=lease, arm=(again, poll))
    return "building"
