"""Telling the channels that the relay lost Redis, the one notice the outbox cannot carry.

An outage is told by each worker's claimer that has seen it for `[worker] redis_lost_after`
seconds, sent straight from that process (`sender.send_in_background`: a few tries, in a
thread of its own); each worker tells once per outage, and receivers drop repeats by the
notice's id (the same for one outage minute). A Redis that lost its data while the relay ran
(`relay.core.redis_health.check_epoch`, looked at by every claimer) is told through the
outbox, since Redis is back by then; the notice is named after the new epoch, so it is sent
once however many workers notice.
"""

from __future__ import annotations

import time

import redis

from relay.core import keys
from relay.core.settings import Settings
from workers.notifications.events import Event, Notice
from workers.notifications.outbox import channels, post
from workers.notifications.sender import send_in_background


def tell_redis_lost(settings: Settings, seconds: float) -> None:
    wanted = [c for c in channels(settings) if c.wants(_lost(settings, seconds))]
    if wanted:
        send_in_background(wanted, _lost(settings, seconds))


def _lost(settings: Settings, seconds: float) -> Notice:
    started = round((time.time() - seconds) * 1000)
    minute = started // 60_000 * 60_000  # one id per outage, whichever worker tells it
    return Notice.redis_lost(
        settings.server.public_url,
        at=minute,
        details=[f"Redis has not answered for {seconds:.0f}s."],
    )


def tell_data_lost(client: redis.Redis, settings: Settings) -> None:
    """Redis came back without the relay's data (restarted empty, or failed over to a replica
    that had none): bursts, triggers and dedupe ids written before are gone."""
    epoch = client.get(keys.EPOCH)  # the new one: every worker that notices names it alike
    notice = Notice.for_target(
        Event.REDIS_LOST,
        None,
        "Redis lost the relay's data",
        [
            "Redis came back without the relay's data (restarted empty, or a failover to a "
            "replica that had none).",
            "Pending bursts and unfinished triggers are gone: deploy the targets that changed.",
        ],
        settings.server.public_url,
        key=f"data-lost:{epoch!r}",
    )
    post(client, settings, notice)
