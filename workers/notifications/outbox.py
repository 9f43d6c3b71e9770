"""The outbox: notices on their way to the channels, each sending a step under a lease.

`post` stores a notice (`keys.notice`, a day) and arms one step per channel that wants it,
`notify:<notice id>.<channel number>:1`, in the steps every worker takes (`workers.steps`).
The step (`send_step`) makes one attempt; a retryable failure arms the next attempt after
`sender.BACKOFF` (or the channel's Retry-After, capped), up to `sender.ATTEMPTS`. So a
notification never waits inline on a deploy's path, a slow channel never delays another, a
worker that dies mid-send hands the attempt to another worker when its lease runs out, and a
notice posted twice (the same id) is sent once.
"""

from __future__ import annotations

import logging
from functools import cache

import httpx
import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.settings import NotifySettings, Settings
from relay.core.transitions import Lease, Step
from workers.notifications.channels import Channel
from workers.notifications.events import Notice
from workers.notifications.sender import (
    ATTEMPTS,
    BACKOFF,
    MAX_RETRY_AFTER,
    Outcome,
    Result,
    deliver,
)
from workers.runtime import Context

log = logging.getLogger("relay.notify")

#: how long a notice waits in the outbox for its channels (seconds)
KEEP = 86_400


def channels(settings: Settings) -> tuple[Channel, ...]:
    """The configured channels, numbered from 1 in the order of relay.toml."""
    return _channels(settings.notify)


@cache
def _channels(configured: tuple[NotifySettings, ...]) -> tuple[Channel, ...]:
    out = []
    for number, config in enumerate(configured, 1):
        assert config.url is not None  # a config problem otherwise
        out.append(
            Channel.create(
                config.url,
                events=config.events,
                targets=config.targets,
                secret=config.secret,
                format=config.format,
                number=number,
                key=f"notify[{number - 1}]",
            )
        )
    return tuple(out)


def post(client: redis.Redis, settings: Settings, notice: Notice) -> int:
    """Queue `notice` for every channel that wants it; returns how many. Never raises for
    Redis trouble: a notification is never worth failing what reported it."""
    wanted = [c for c in channels(settings) if c.wants(notice)]
    if not wanted:
        return 0
    try:
        if not client.set(keys.notice(notice.id), notice.to_json(), nx=True, ex=KEEP):
            return 0  # posted before: the same notice is sent once
        now = server_ms(client)
        steps = {Step("notify", f"{notice.id}.{c.number}", 1).member: now for c in wanted}
        client.zadd(keys.STEPS, steps, nx=True)
    except redis.RedisError as exc:
        log.warning("notification %s not queued: Redis unavailable (%s)", notice.event, exc)
        return 0
    return len(wanted)


_http: httpx.Client | None = None


def _client() -> httpx.Client:
    global _http
    if _http is None:
        _http = httpx.Client(headers={"user-agent": "deploy-hook-relay (notifications)"})
    return _http


def send_step(ctx: Context, lease: Lease) -> str:
    """One attempt at sending one notice to one channel (the step `notify:<id>.<n>:<k>`)."""
    step = lease.step
    notice_id, _, number = step.trigger_id.rpartition(".")
    raw = ctx.redis.get(keys.notice(notice_id))
    notice = Notice.from_json(raw) if raw is not None else None
    channel = next((c for c in channels(ctx.settings) if str(c.number) == number), None)
    if notice is None or channel is None:
        ctx.moves.step_done(lease)
        return "nothing to send (expired, or the channel is gone)"
    try:
        outcome = deliver(channel, notice, client=_client())
    except Exception as exc:  # a bug must not loop: counted as a refusal
        log.exception("notification %s to %s failed", notice.event.value, channel.label)
        outcome = Outcome(Result.PERMANENT, reason=type(exc).__name__)
    if outcome.sent:
        log.info("notification %s sent to %s", notice.event.value, channel.label)
        ctx.moves.step_done(lease)
        return "sent"
    if not outcome.retryable or step.n >= ATTEMPTS:
        log.warning(
            "notification %s not delivered to %s (%s) after %d attempt(s); giving up%s",
            notice.event.value,
            channel.label,
            outcome.reason,
            step.n,
            "" if outcome.retryable else ": check its url",
        )
        ctx.moves.step_done(lease)
        return "given up"
    wait = BACKOFF[min(step.n - 1, len(BACKOFF) - 1)]
    if outcome.retry_after is not None:
        wait = min(outcome.retry_after, MAX_RETRY_AFTER)
    log.warning(
        "notification %s not delivered to %s (%s), attempt %d of %d; again in %.0fs",
        notice.event.value,
        channel.label,
        outcome.reason,
        step.n,
        ATTEMPTS,
        wait,
    )
    ctx.moves.step_done(lease, arm=(Step("notify", step.trigger_id, step.n + 1), wait))
    return "retrying"
