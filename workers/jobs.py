"""RQ entry points (referred to by dotted path, so their names are part of the queue's data).

`deploy(trigger_id, attempt)` makes the Cloudflare call for a trigger; `watch(trigger_id, n)`
polls the deployment it created until its final stage; `on_job_failure` settles a trigger whose
job died (an exception, or a worker killed mid-job and reaped by RQ as abandoned).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from types import TracebackType
from typing import Any

from relay.core.cloudflare.pages import Deployment
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.settings import TargetSettings
from relay.core.store import FINAL, now_ms
from workers import runtime as context
from workers.claimer import schedule
from workers.outcomes import fail_for_good, finish, retry_later
from workers.runtime import Context

log = logging.getLogger("relay.worker")


def _dry_run(ctx: Context, target: TargetSettings) -> bool:
    if ctx.settings.dry_run:
        return True
    return target.deploy_hook is None and not ctx.settings.cloudflare.has_credentials


def _can_watch(ctx: Context, target: TargetSettings) -> bool:
    return target.project is not None and ctx.settings.cloudflare.has_credentials


def deploy(trigger_id: str, attempt: int) -> str:
    ctx = context.get()
    record = ctx.store.trigger(trigger_id)
    if record is None:
        return "gone (trimmed)"
    if record.get("status") in FINAL | {"building"} or int(record.get("attempts", 0)) >= attempt:
        return f"already {record.get('status')}"  # a repeated run of a settled attempt
    name = record["target"]
    target = ctx.settings.targets.get(name)
    if target is None:
        fail_for_good(ctx, trigger_id, name, None, f"target {name} is no longer in relay.toml")
        return "failed"
    ctx.store.update(
        trigger_id,
        status="triggering",
        attempts=attempt,
        attempt_at=now_ms(),
        kind=target.kind,
        project=target.project,
        branch=target.branch,
    )
    if _dry_run(ctx, target):
        finish(ctx, trigger_id, name, "dry-run", note=f"would deploy {target.describe()}")
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
        retry_later(ctx, trigger_id, name, attempt, exc, retry_after=exc.retry_after)
        return "retrying"
    except CloudflareRejected as exc:
        fail_for_good(ctx, trigger_id, name, exc)
        return "failed"
    ctx.store.update(
        trigger_id,
        deployment_id=deployment_id,
        triggered_at=now_ms(),
        error=None,
        error_code=None,
        error_status=None,
        next_attempt_at=None,
    )
    if deployment is not None:
        _record_stage(ctx, trigger_id, deployment)
    if deployment_id and _can_watch(ctx, target):
        ctx.store.update(trigger_id, status="building", progress_at=now_ms())
        schedule(ctx.redis, "watch", trigger_id, 1, ctx.settings.cloudflare.poll_interval)
        return "building"
    finish(ctx, trigger_id, name, "triggered")
    return "triggered"


def _record_stage(ctx: Context, trigger_id: str, deployment: Deployment) -> None:
    ctx.store.update(
        trigger_id,
        deployment_id=deployment.id,
        url=deployment.url,
        environment=deployment.environment,
        stage=deployment.stage,
        stage_status=deployment.stage_status,
        cf_created_on=deployment.created_on,
    )


def _seconds_since(iso: str | None) -> float | None:
    if not iso:
        return None
    try:
        return time.time() - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def watch(trigger_id: str, n: int) -> str:
    ctx = context.get()
    record = ctx.store.trigger(trigger_id)
    if record is None or record.get("status") != "building":
        return "not building"
    name = record["target"]
    target = ctx.settings.targets.get(name)
    if target is None or target.project is None:
        finish(ctx, trigger_id, name, "triggered", note="target no longer watchable")
        return "triggered"
    poll = ctx.settings.cloudflare.poll_interval
    try:
        deployment = ctx.pages.get_deployment(target.project, record["deployment_id"])
    except CloudflareRetryable as exc:
        schedule(ctx.redis, "watch", trigger_id, n + 1, exc.retry_after or poll)
        return "poll failed, will retry"
    except CloudflareRejected as exc:
        finish(ctx, trigger_id, name, "stuck", error=f"cannot watch the deployment: {exc.message}")
        return "stuck"
    previous = (record.get("stage"), record.get("stage_status"))
    _record_stage(ctx, trigger_id, deployment)
    if (deployment.stage, deployment.stage_status) != previous:
        ctx.store.update(trigger_id, progress_at=now_ms())
    outcome = deployment.outcome
    if outcome is not None:
        duration = _seconds_since(deployment.created_on)
        finish(
            ctx,
            trigger_id,
            name,
            outcome,
            skip_reason=deployment.skip_reason,
            build_seconds=f"{duration:.1f}" if duration is not None else None,
        )
        return outcome
    progress_at = int(record.get("progress_at") or now_ms())
    if now_ms() - progress_at > target.stuck_after * 1000 and (
        (deployment.stage, deployment.stage_status) == previous
    ):
        finish(
            ctx,
            trigger_id,
            name,
            "stuck",
            error=f"no progress for {target.stuck_after:.0f}s (stage {deployment.stage})",
        )
        return "stuck"
    schedule(ctx.redis, "watch", trigger_id, n + 1, poll)
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
    record = ctx.store.trigger(trigger_id)
    if record is None:
        return
    name = record.get("target", "")
    reason = f"{kind} job died: {exc_type.__name__ if exc_type else 'unknown error'}"
    log.error("trigger %s: %s", trigger_id, reason)
    if kind == "deploy" and record.get("status") in {"queued", "triggering", "retrying"}:
        ctx.store.update(trigger_id, attempts=n)
        retry_later(ctx, trigger_id, name, n, None, reason)
    elif kind == "watch" and record.get("status") == "building":
        schedule(ctx.redis, "watch", trigger_id, n + 1, ctx.settings.cloudflare.poll_interval)
