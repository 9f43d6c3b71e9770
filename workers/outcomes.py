"""How a trigger moves between states, and what each move writes.

Shared by the deploy and watch jobs, replay and the RQ failure callback, so each transition is
written one way: status and fields on the trigger's hash, the in-flight lock released when the
build is over, the failed set kept for `relay failed`.
"""

from __future__ import annotations

import logging
import random

from relay.core import keys
from relay.core.connections import lua
from relay.core.exceptions import CloudflareError
from relay.core.store import now_ms
from workers import notify
from workers.claimer import schedule
from workers.runtime import Context

log = logging.getLogger("relay.worker")


def backoff(ctx: Context, attempt: int) -> float:
    """Exponential backoff with equal jitter: half fixed, half random, capped at retry.max."""
    retry = ctx.settings.retry
    delay = min(retry.max, retry.initial * 2.0 ** (attempt - 1))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not a secret)


def release(ctx: Context, trigger_id: str, target: str) -> None:
    """Let the target's next burst build (only if this trigger holds it)."""
    ctx.redis.eval(lua(keys.SCRIPT_RELEASE), 1, keys.inflight(target), trigger_id)


def error_fields(exc: CloudflareError | None, message: str | None = None) -> dict[str, str | None]:
    if exc is None:
        return {"error": message, "error_code": None, "error_status": None}
    return {
        "error": exc.message,
        "error_code": str(exc.code) if exc.code is not None else None,
        "error_status": str(exc.status_code) if exc.status_code is not None else None,
    }


def finish(ctx: Context, trigger_id: str, target: str, status: str, **fields: str | None) -> None:
    """A final state that is not a failure of the relay's own call."""
    ctx.store.update(trigger_id, status=status, finished_at=now_ms(), **fields)
    ctx.redis.hincrby(keys.BUILD_COUNTS, f"{target}:{status}", 1)
    release(ctx, trigger_id, target)
    log.info("trigger %s: %s", trigger_id, status)
    notify.outcome(ctx, trigger_id, target, status)


def fail_for_good(
    ctx: Context,
    trigger_id: str,
    target: str,
    exc: CloudflareError | None,
    message: str | None = None,
) -> None:
    """Retries are exhausted or pointless: listed by `relay failed`, replayable."""
    ctx.store.update(
        trigger_id,
        status="failed",
        finished_at=now_ms(),
        next_attempt_at=None,
        **error_fields(exc, message),
    )
    ctx.redis.zadd(keys.FAILED, {trigger_id: now_ms()})
    ctx.redis.hincrby(keys.BUILD_COUNTS, f"{target}:failed", 1)
    release(ctx, trigger_id, target)
    log.warning("trigger %s failed for good: %s", trigger_id, exc or message)
    notify.outcome(ctx, trigger_id, target, "failed")


def retry_later(
    ctx: Context,
    trigger_id: str,
    target: str,
    attempt: int,
    exc: CloudflareError | None,
    message: str | None = None,
    retry_after: float | None = None,
) -> None:
    """Schedule attempt `attempt + 1`, or fail for good when attempts are used up.

    A Retry-After from Cloudflare always wins, even over `retry.max`.
    """
    if attempt >= ctx.settings.retry.attempts:
        fail_for_good(ctx, trigger_id, target, exc, message)
        return
    delay = retry_after if retry_after is not None else backoff(ctx, attempt)
    ctx.store.update(
        trigger_id,
        status="retrying",
        next_attempt_at=now_ms() + int(delay * 1000),
        **error_fields(exc, message),
    )
    schedule(ctx.redis, "deploy", trigger_id, attempt + 1, delay)
    log.info(
        "trigger %s: attempt %d failed (%s); next in %.1fs",
        trigger_id,
        attempt,
        exc or message,
        delay,
    )
