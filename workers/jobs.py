"""RQ entry points (referred to by dotted path, so their names are part of the queue's data).

`deploy(trigger_id, attempt)` makes the Cloudflare call for a trigger; `watch(trigger_id, n)`
polls the deployment it created until its final stage; `on_job_failure` settles a trigger whose
job died (an exception, or a worker killed mid-job and reaped by RQ as abandoned).
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from types import TracebackType
from typing import Any

from relay.core.clock import server_ms
from relay.core.cloudflare.pages import Deployment
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import TargetSettings
from relay.core.transitions import Step
from workers import runtime as context
from workers.outcomes import fail_for_good, finish, retry_later
from workers.runtime import Context

log = logging.getLogger("relay.worker")

#: a deploy attempt runs for a trigger in these states (a repeated run of a settled one is a no-op)
DEPLOYABLE = {TriggerStatus.QUEUED, TriggerStatus.RETRYING, TriggerStatus.TRIGGERING}


def _dry_run(ctx: Context, target: TargetSettings) -> bool:
    if ctx.settings.dry_run:
        return True
    return target.deploy_hook is None and not ctx.settings.cloudflare.has_credentials


def _can_watch(ctx: Context, target: TargetSettings) -> bool:
    return target.project is not None and ctx.settings.cloudflare.has_credentials


def deploy(trigger_id: str, attempt: int) -> str:
    ctx = context.get()
    before = ctx.store.trigger(trigger_id)
    if before is None:
        return "gone (trimmed)"
    if before.status not in DEPLOYABLE or before.attempts >= attempt:
        return f"already {before.status}"  # a repeated run of a settled attempt
    target = ctx.settings.targets.get(before.target)
    if target is None:
        fail_for_good(ctx, before, None, f"target {before.target} is no longer in relay.toml")
        return "failed"
    triggering = dataclasses.replace(
        before,
        status=TriggerStatus.TRIGGERING,
        attempts=attempt,
        attempt_at=server_ms(ctx.redis),
        kind=target.kind,
        project=target.project,
        branch=target.branch,
    )
    if not ctx.moves.move(before, triggering):
        return "moved meanwhile"
    if _dry_run(ctx, target):
        dry = dataclasses.replace(
            triggering, status=TriggerStatus.DRY_RUN, note=f"would deploy {target.describe()}"
        )
        finish(ctx, triggering, dry)
        return "dry-run"
    try:
        if target.deploy_hook is not None:
            deployment_id = ctx.pages.trigger_hook(target.deploy_hook.reveal())
            deployment = None
        else:
            assert target.project is not None
            deployment = ctx.pages.create_deployment(target.project, target.branch)
            deployment_id = deployment.id
    except CloudflareRetryable as exc:
        retry_later(ctx, triggering, attempt, exc, retry_after=exc.retry_after)
        return "retrying"
    except CloudflareRejected as exc:
        fail_for_good(ctx, triggering, exc)
        return "failed"
    now = server_ms(ctx.redis)
    accepted = dataclasses.replace(
        triggering,
        deployment_id=deployment_id,
        triggered_at=now,
        error=None,
        error_code=None,
        error_status=None,
        next_attempt_at=None,
    )
    if deployment is not None:
        accepted = _with_stage(accepted, deployment)
    if deployment_id and _can_watch(ctx, target):
        building = dataclasses.replace(accepted, status=TriggerStatus.BUILDING, progress_at=now)
        poll = ctx.settings.cloudflare.poll_interval
        ctx.moves.move(triggering, building, arm=(Step("watch", trigger_id, 1), poll))
        return "building"
    finish(ctx, triggering, dataclasses.replace(accepted, status=TriggerStatus.TRIGGERED))
    return "triggered"


def _with_stage(trigger: Trigger, deployment: Deployment) -> Trigger:
    return dataclasses.replace(
        trigger,
        deployment_id=deployment.id,
        url=deployment.url,
        environment=deployment.environment,
        stage=deployment.stage,
        stage_status=deployment.stage_status,
        cf_created_on=deployment.created_on,
    )


def _seconds_between(iso: str | None, now_ms: int) -> float | None:
    if not iso:
        return None
    try:
        started = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
    return round(now_ms / 1000 - started, 1)


def watch(trigger_id: str, n: int) -> str:
    ctx = context.get()
    before = ctx.store.trigger(trigger_id)
    if before is None or before.status is not TriggerStatus.BUILDING:
        return "not building"
    target = ctx.settings.targets.get(before.target)
    if target is None or target.project is None or before.deployment_id is None:
        finish(
            ctx,
            before,
            dataclasses.replace(
                before, status=TriggerStatus.TRIGGERED, note="target no longer watchable"
            ),
        )
        return "triggered"
    poll = ctx.settings.cloudflare.poll_interval
    try:
        deployment = ctx.pages.get_deployment(target.project, before.deployment_id)
    except CloudflareRetryable as exc:
        ctx.moves.move(
            before, before, arm=(Step("watch", trigger_id, n + 1), exc.retry_after or poll)
        )
        return "poll failed, will retry"
    except CloudflareRejected as exc:
        stuck = dataclasses.replace(
            before, status=TriggerStatus.STUCK, error=f"cannot watch the deployment: {exc.message}"
        )
        finish(ctx, before, stuck)
        return "stuck"
    now = server_ms(ctx.redis)
    after = _with_stage(before, deployment)
    moved = (deployment.stage, deployment.stage_status) != (before.stage, before.stage_status)
    if moved:
        after = dataclasses.replace(after, progress_at=now)
    outcome = deployment.outcome
    if outcome is not None:
        final = dataclasses.replace(
            after,
            status=TriggerStatus(outcome),
            skip_reason=deployment.skip_reason,
            build_seconds=_seconds_between(deployment.created_on, now),
        )
        finish(ctx, before, final)
        return outcome
    progress_at = before.progress_at or now
    if not moved and now - progress_at > target.stuck_after * 1000:
        stuck = dataclasses.replace(
            after,
            status=TriggerStatus.STUCK,
            error=f"no progress for {target.stuck_after:.0f}s (stage {deployment.stage})",
        )
        finish(ctx, before, stuck)
        return "stuck"
    ctx.moves.move(before, after, arm=(Step("watch", trigger_id, n + 1), poll))
    return "building"


def on_job_failure(
    job: Any,
    connection: Any,
    exc_type: type[BaseException] | None,
    value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """A job raised or was abandoned (its worker killed): settle its trigger visibly.

    A deploy whose outcome is unknown is retried as the next attempt (Cloudflare may have built
    it already: one extra build is the price of never losing one), or fails for good.
    """
    kind = job.func_name.rsplit(".", 1)[-1]
    trigger_id, n = job.args[0], int(job.args[1])
    ctx = context.get()
    before = ctx.store.trigger(trigger_id)
    if before is None:
        return
    reason = f"{kind} job died: {exc_type.__name__ if exc_type else 'unknown error'}"
    log.error("trigger %s: %s", trigger_id, reason)
    if kind == "deploy" and before.status in DEPLOYABLE:
        retry_later(ctx, before, n, None, reason)
    elif kind == "watch" and before.status is TriggerStatus.BUILDING:
        poll = ctx.settings.cloudflare.poll_interval
        ctx.moves.move(before, before, arm=(Step("watch", trigger_id, n + 1), poll))
