"""The deploy step: attempt n of a trigger, the call that asks its target for a build.

    QUEUED | RETRYING ──▶ TRIGGERING ──▶ BUILDING (watch armed) | TRIGGERED | DRY_RUN
                              │  └─────▶ RETRYING (attempt n+1 armed) | FAILED
                              └── the API budget is full: back where it was, the same attempt
                                  armed for when a slot frees up (no attempt spent)

A step that finds its trigger still TRIGGERING for its own attempt ran before and its worker
died during or after the call: that attempt is counted as interrupted and the next one armed
(Cloudflare may have built it already: one extra build is the price of never losing one).
The call goes through the target seam (`relay.core.targets`), whatever the target's kind.
"""

from __future__ import annotations

import dataclasses
import logging

from relay.core.clock import server_ms
from relay.core.exceptions import BudgetExhausted, CloudflareRejected, CloudflareRetryable
from relay.core.records import Trigger, TriggerStatus
from relay.core.targets import Target
from relay.core.transitions import Lease, Step
from workers.faults import die_at
from workers.outcomes import fail_for_good, finish, read_trigger, retry_later
from workers.runtime import Context

log = logging.getLogger("relay.worker")


def dry_run(ctx: Context, target: Target) -> bool:
    if ctx.settings.dry_run:
        return True
    return target.needs_credentials and not ctx.settings.cloudflare.has_credentials


def deploy(ctx: Context, lease: Lease) -> str:
    n = lease.step.n
    before = read_trigger(ctx, lease)
    if isinstance(before, str):
        return before
    if before.status is TriggerStatus.TRIGGERING and before.attempts == n:
        message = f"attempt {n} was interrupted: the worker making it stopped"
        retry_later(ctx, before, n, None, message, done=lease)
        return "interrupted"
    if before.status not in {TriggerStatus.QUEUED, TriggerStatus.RETRYING} or before.attempts >= n:
        ctx.moves.drop(lease, before)
        return f"stale (already {before.status})"
    target = ctx.settings.targets.get(before.target)
    if target is None:
        message = f"target {before.target} is no longer in relay.toml"
        fail_for_good(ctx, before, None, message, done=lease)
        return "failed"
    triggering = dataclasses.replace(
        before,
        status=TriggerStatus.TRIGGERING,
        attempts=n,
        attempt_at=server_ms(ctx.redis),
        kind=target.kind.value,
        project=target.project,
        branch=target.branch,
        note=None,
    )
    if not ctx.moves.move(before, triggering):
        return "moved meanwhile"
    seam = ctx.target(target)
    if dry_run(ctx, seam):
        note = f"would deploy {target.describe()}"
        dry = dataclasses.replace(triggering, status=TriggerStatus.DRY_RUN, note=note)
        finish(ctx, triggering, dry, lease)
        return "dry-run"
    return _call(ctx, lease, before, triggering, seam)


def _call(ctx: Context, lease: Lease, before: Trigger, triggering: Trigger, target: Target) -> str:
    n = lease.step.n
    die_at("deploy:before-call")
    try:
        started = target.start()
    except BudgetExhausted as exc:
        back = dataclasses.replace(
            triggering,
            status=before.status,
            attempts=before.attempts,
            attempt_at=before.attempt_at,
            note="waiting for the Cloudflare API budget",
        )
        ctx.moves.move(triggering, back, done=lease, arm=(lease.step, exc.retry_after or 1.0))
        return "waiting for the API budget"
    except CloudflareRetryable as exc:
        retry_later(ctx, triggering, n, exc, done=lease, retry_after=exc.retry_after)
        return "retrying" if n < ctx.settings.retry.attempts else "failed"
    except CloudflareRejected as exc:
        fail_for_good(ctx, triggering, exc, done=lease)
        return "failed"
    die_at("deploy:after-call")
    now = server_ms(ctx.redis)
    accepted = dataclasses.replace(
        triggering,
        triggered_at=now,
        error=None,
        error_code=None,
        error_status=None,
        next_attempt_at=None,
        already_exists=started.already_exists or None,
    )
    if started.build is not None:
        accepted = started.build.onto(accepted)
    if started.build_id and target.watchable:
        building = dataclasses.replace(accepted, status=TriggerStatus.BUILDING, progress_at=now)
        poll = (Step("watch", triggering.id, 1), ctx.settings.cloudflare.poll_interval)
        ctx.moves.move(triggering, building, done=lease, arm=poll)
        return "building"
    finish(ctx, triggering, dataclasses.replace(accepted, status=TriggerStatus.TRIGGERED), lease)
    return "triggered"
