"""The cancel step: a build superseded by a newer burst's (`supersede = "cancel"`).

The claim that gave the newer burst its trigger moved the target's in-flight mark to it and
armed `cancel:<old trigger>:1`. This step asks the platform to cancel the old build and reads
it back: a build that stopped as cancelled (or is stopping) becomes SUPERSEDED, naming the
trigger that replaced it; a build that finished first keeps its own outcome. A cancel that
fails for now is tried again (the old build's own watch goes on meanwhile, so it settles either
way); one the platform refuses leaves the old build to run to its end, watched.
"""

from __future__ import annotations

import dataclasses
import logging

from relay.core.clock import server_ms
from relay.core.exceptions import BudgetExhausted, CloudflareRejected, CloudflareRetryable
from relay.core.records import TriggerStatus
from relay.core.transitions import Lease, Step
from workers.outcomes import finish, put_off
from workers.runtime import Context
from workers.watch import settled

log = logging.getLogger("relay.worker")

#: tries at cancelling before the old build is left to finish
ATTEMPTS = 5


def cancel(ctx: Context, lease: Lease) -> str:
    step = lease.step
    before = ctx.store.trigger(step.trigger_id)
    if before is None or before.status is not TriggerStatus.BUILDING:
        ctx.moves.step_done(lease)
        return "nothing to cancel (settled already)"
    config = ctx.settings.targets.get(before.target)
    target = ctx.target(config) if config is not None else None
    if target is None or not target.can_cancel or before.deployment_id is None:
        ctx.moves.step_done(lease)
        return "cannot cancel: left to finish"
    try:
        build = target.cancel(before.deployment_id)
    except BudgetExhausted as exc:
        put_off(ctx, before, lease, exc.retry_after or 1.0, "waiting for the Cloudflare API budget")
        return "waiting for the API budget"
    except CloudflareRetryable as exc:
        if step.n >= ATTEMPTS:
            ctx.moves.step_done(lease)
            return "cancel kept failing: left to finish"
        again = (Step("cancel", before.id, step.n + 1), exc.retry_after or 2.0 * step.n)
        ctx.moves.step_done(lease, arm=again)
        return "cancel failed for now, will try again"
    except CloudflareRejected as exc:
        log.info("trigger %s: the build was not cancelled (%s)", before.id, exc)
        ctx.moves.step_done(lease)
        return "cancel refused: left to finish"
    after = build.onto(before)
    if build.outcome is not None and build.outcome is not TriggerStatus.CANCELED:
        finish(ctx, before, settled(ctx, target, after, build, server_ms(ctx.redis)), lease)
        return f"finished before it could be cancelled ({build.outcome})"
    newer = before.superseded_by or "a newer build"
    superseded = dataclasses.replace(
        after, status=TriggerStatus.SUPERSEDED, note=f"cancelled: superseded by {newer}"
    )
    finish(ctx, before, superseded, lease)
    return "superseded"
