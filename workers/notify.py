"""Notifications to `[notify] url` (Slack-compatible JSON: `{"text": …}`).

Sent when a build fails, when a trigger fails for good, and when a target that was failing
builds successfully again. Best effort: a notification that cannot be delivered is logged and
never changes what happens to the deployment. The text never carries a secret (no deploy hook
URL, no token); the notify URL itself is one and is never logged.
"""

from __future__ import annotations

import logging

import httpx

from relay.core import keys
from workers.runtime import Context

log = logging.getLogger("relay.notify")

FAILING = {"failure", "canceled", "failed", "stuck"}
TIMEOUT = 5.0


def _send(ctx: Context, text: str, fields: dict[str, str]) -> None:
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


def outcome(ctx: Context, trigger_id: str, target: str, status: str) -> None:
    """Notify about a trigger that reached `status`, if that is news."""
    record = ctx.store.trigger(trigger_id) or {}
    fields = {
        k: record[k]
        for k in ("id", "target", "status", "deployment_id", "url", "error_code", "error")
        if record.get(k)
    }
    fields["status"] = status
    previous = ctx.redis.hget(keys.TARGET_HEALTH, target)
    failing = status in FAILING
    ctx.redis.hset(keys.TARGET_HEALTH, target, "failing" if failing else "ok")
    if status == "failed":
        error = record.get("error", "unknown error")
        code = f" (code {record['error_code']})" if record.get("error_code") else ""
        _send(
            ctx,
            f":x: {target}: deployment trigger {trigger_id} failed for good{code}: "
            f"{error}. Replay it with `relay replay {trigger_id}`.",
            fields,
        )
    elif failing:
        where = f" {record['url']}" if record.get("url") else ""
        _send(ctx, f":x: {target}: build {status} ({trigger_id}){where}", fields)
    elif status == "success" and previous == b"failing":
        where = f" {record['url']}" if record.get("url") else ""
        _send(
            ctx,
            f":white_check_mark: {target} recovered: build succeeded ({trigger_id}){where}",
            fields,
        )
