"""Notifications to `[notify] url` (Slack-compatible JSON: `{"text": …}`).

Sent when a build fails, when a trigger fails for good, and when a target that was failing
builds successfully again. Best effort: a notification that cannot be delivered is logged and
never changes what happens to the deployment. The text never carries a secret (no deploy hook
URL, no token); the notify URL itself is one and is never logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import httpx

from relay.core import keys
from relay.core.records import Trigger, TriggerStatus
from workers.runtime import Context

log = logging.getLogger("relay.notify")

TIMEOUT = 5.0


def _send(ctx: Context, text: str, fields: Mapping[str, object]) -> None:
    url = ctx.settings.notify.url
    if url is None:
        return
    payload = {"text": text, "relay": fields}
    try:
        response = httpx.post(url.reveal(), json=payload, timeout=TIMEOUT)
        if response.status_code >= 300:
            log.warning("notification refused: HTTP %d", response.status_code)
    except httpx.HTTPError as exc:
        log.warning("notification not delivered: %s", type(exc).__name__)


def outcome(ctx: Context, trigger: Trigger) -> None:
    """Notify about a trigger that reached a final status, if that is news."""
    fields = {
        "id": trigger.id,
        "target": trigger.target,
        "status": trigger.status.value,
        "deployment_id": trigger.deployment_id,
        "url": trigger.url,
        "error_code": trigger.error_code,
        "error": trigger.error,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    target, status = trigger.target, trigger.status
    previous = ctx.redis.hget(keys.TARGET_HEALTH, target)
    ctx.redis.hset(keys.TARGET_HEALTH, target, "failing" if status.failing else "ok")
    where = f" {trigger.url}" if trigger.url else ""
    if status is TriggerStatus.FAILED:
        code = f" (code {trigger.error_code})" if trigger.error_code is not None else ""
        _send(
            ctx,
            f":x: {target}: deployment trigger {trigger.id} failed for good{code}: "
            f"{trigger.error or 'unknown error'}. Replay it with `relay replay {trigger.id}`.",
            fields,
        )
    elif status.failing:
        _send(ctx, f":x: {target}: build {status} ({trigger.id}){where}", fields)
    elif status is TriggerStatus.SUCCESS and previous == b"failing":
        _send(
            ctx,
            f":white_check_mark: {target} recovered: build succeeded ({trigger.id}){where}",
            fields,
        )
