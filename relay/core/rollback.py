"""`relay rollback TARGET [--to DEPLOYMENT]`: make an earlier production deployment live again.

Pages only (`POST …/deployments/{id}/rollback`): the previous successful production deployment
by default (`relay.core.cloudflare.pages.previous_production`), or the one named. It is
recorded like any trigger (reason "rollback to …", kind "rollback"), so it shows in
`relay deployments`, the dashboard and the metrics; a rollback that Cloudflare refused is
recorded as failed with Cloudflare's code and message (a rollback is not replayed: `relay
replay` leaves it alone; run the rollback again).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.exceptions import CloudflareError, NotSupported
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings
from relay.core.targets import Platform, target_for
from relay.core.transitions import Transitions

KIND = "rollback"


def rollback(
    client: redis.Redis, settings: Settings, platform: Platform, name: str, to: str | None
) -> Trigger:
    """Roll `name` back (to `to`, else the previous good production deployment); returns the
    recorded trigger. Raises `NotSupported` for a target that cannot roll back, and the
    `CloudflareError` of a refused rollback after recording it."""
    config = settings.target(name)
    target = target_for(config, platform)
    if settings.dry_run:
        raise NotSupported(f"{name}: [relay] dry_run is on: nothing rolled back")
    if config.on_workers:
        raise NotSupported(
            f"{name}: rollback is for Pages projects; roll a Worker back with `wrangler rollback`"
        )
    if not target.can_rollback:
        raise NotSupported(
            f"{name}: rollback needs the Pages project (project =) and API credentials "
            "(CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN)"
        )
    chosen = target.rollback_target(to)
    now = server_ms(client)
    trigger = Trigger(
        id=f"{name}-{now}",
        target=name,
        status=TriggerStatus.TRIGGERING,
        reason=f"rollback to {chosen.id}",
        created_at=now,
        attempt_at=now,
        attempts=1,
        kind=KIND,
        project=config.project,
        branch=config.branch,
        deployment_id=chosen.id,
        url=chosen.url,
        environment="production",
    )
    _create(client, trigger, now)
    moves = Transitions(client)
    try:
        build = target.rollback(chosen.id)
    except CloudflareError as exc:
        failed = dataclasses.replace(
            trigger,
            status=TriggerStatus.FAILED,
            error=exc.message,
            error_code=exc.code,
            error_status=exc.http_status,
            finished_at=server_ms(client),
        )
        moves.move(trigger, failed)
        raise
    done = dataclasses.replace(
        build.onto(trigger),
        status=TriggerStatus.SUCCESS,
        triggered_at=now,
        finished_at=server_ms(client),
        note=f"deployment {chosen.id} is live again",
    )
    moves.move(trigger, done)
    return done


def _create(client: redis.Redis, trigger: Trigger, now: int) -> None:
    pipe = client.pipeline(transaction=True)
    fields: dict[Any, Any] = trigger.to_hash()  # redis-py's Mapping key type is invariant
    pipe.hset(keys.trigger(trigger.id), mapping=fields)
    pipe.zadd(keys.TRIGGERS, {trigger.id: now})
    pipe.zadd(keys.target_triggers(trigger.target), {trigger.id: now})
    pipe.execute()
