"""Which notices a trigger's outcome is news for, posted to the outbox.

A build that failed (or was cancelled on Cloudflare) is `failed`, with the last lines of its
log; a trigger whose retries ran out is `failed_for_good` (replay it); a build with no progress
is `stuck`; a target that was failing and builds successfully again has `recovered`. A build the
relay itself superseded is no news. The target's health (`keys.TARGET_HEALTH`) remembers whether
its last outcome was failing, for `recovered`.
"""

from __future__ import annotations

import redis

from relay.core import keys
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings
from workers.notifications.events import Event, Notice
from workers.notifications.outbox import post


def event_for(trigger: Trigger, was_failing: bool) -> Event | None:
    status = trigger.status
    if status is TriggerStatus.FAILED:
        return Event.FAILED_FOR_GOOD
    if status is TriggerStatus.STUCK:
        return Event.STUCK
    if status.failing:
        return Event.FAILED
    if status is TriggerStatus.SUCCESS and was_failing:
        return Event.RECOVERED
    return None


def tell_outcome(client: redis.Redis, settings: Settings, trigger: Trigger) -> int:
    """Post the notice a final `trigger` is news for, if any; returns the channels told."""
    if trigger.status is TriggerStatus.SUPERSEDED:
        return 0
    previous = client.hget(keys.TARGET_HEALTH, trigger.target)
    client.hset(keys.TARGET_HEALTH, trigger.target, "failing" if trigger.status.failing else "ok")
    event = event_for(trigger, previous == b"failing")
    if event is None or not settings.notify:
        return 0
    notice = Notice.for_trigger(
        event,
        trigger,
        public_url=settings.server.public_url,
        log_tail=trigger.log_tail or (),
    )
    return post(client, settings, notice)
