"""Notices about the operator controls: pauses, held bursts, build budgets.

The controls themselves run wherever an operator is (the CLI, the dashboard, the API), which
do not send notifications; they leave an event in `keys.CONTROL_EVENTS`, and the claimer of a
worker turns it into a notice (`tell_control_events`). What the claim itself finds (a burst
newly held by a budget, a pause whose time ran out, a budget at 80 % or 100 %) is told right
after it (`after_claim`). Budget warnings are sent once per budget window.
"""

from __future__ import annotations

import logging
import time

import orjson
import redis

from relay.core import keys
from relay.core.budget import WARN_AT, BuildBudget, usage
from relay.core.clock import iso_time, server_ms
from relay.core.settings import Settings
from workers.notifications.events import Event, Notice
from workers.notifications.outbox import post

log = logging.getLogger("relay.notify")

#: events read from keys.CONTROL_EVENTS per tick
BATCH = 50


def _post(client: redis.Redis, settings: Settings, notice: Notice) -> None:
    if settings.notify:
        post(client, settings, notice)


def after_claim(client: redis.Redis, settings: Settings, claimed: object) -> None:
    """Tell about what one claim found (`workers.claimer.Claimed`)."""
    public = settings.server.public_url
    for held in getattr(claimed, "held", ()):
        if held.newly and held.why != "paused":
            scope = "the account's build budget" if held.why == "account budget" else "its budget"
            _post(
                client,
                settings,
                Notice.for_target(
                    Event.HELD_BY_BUDGET,
                    held.target,
                    f"{held.target}: a build is held by {scope} until {iso_time(held.until)}",
                    [
                        "Deliveries are still stored and join the held build.",
                        f"To build now: relay deploy {held.target} --now --ignore-budget",
                    ],
                    public,
                    key=f"{held.why}:{held.until}",
                ),
            )
    for target in getattr(claimed, "resumed", ()):
        _post(
            client,
            settings,
            Notice.for_target(
                Event.RESUMED,
                target,
                f"{target}: the pause ended; what collected meanwhile builds now",
                [],
                public,
            ),
        )
    now = server_ms(client)
    for target in {i.rsplit("-", 1)[0] for i in getattr(claimed, "ids", ())}:
        config = settings.targets.get(target)
        if config is not None and config.budget is not None:
            warn(client, settings, target, config.budget, now)
    if getattr(claimed, "ids", ()) and settings.cloudflare.budget_builds is not None:
        warn(client, settings, "*", settings.cloudflare.budget_builds, now)


def warn(
    client: redis.Redis, settings: Settings, scope: str, budget: BuildBudget, now: int
) -> None:
    """A budget warning at 80 % and at 100 % of `budget`, once per window."""
    used = usage(client, scope, budget, now)
    for percent in reversed(WARN_AT):
        if used.percent < percent:
            continue
        marker = keys.budget_notice(scope, used.window_id, percent)
        if not client.set(marker, "1", nx=True, ex=32 * 86400):
            return  # told already in this window
        whose = "the account" if scope == "*" else scope
        title = (
            f"{whose}: the build budget is used up ({used.used} of {budget})"
            if percent >= 100
            else f"{whose}: {used.percent} % of the build budget is used ({used.used} of {budget})"
        )
        details = (
            [f"Held bursts build when it frees up ({iso_time(used.frees_at)})."]
            if (used.frees_at)
            else []
        )
        _post(
            client,
            settings,
            Notice.for_target(
                Event.BUDGET_WARNING,
                None if scope == "*" else scope,
                title,
                details,
                settings.server.public_url,
                key=f"{used.window_id}:{percent}",
            ),
        )
        return  # the highest threshold crossed is the news


def tell_control_events(client: redis.Redis, settings: Settings) -> int:
    """Turn the controls' events (paused, resumed) into notices; returns how many."""
    found = client.lpop(keys.CONTROL_EVENTS, BATCH)
    raws: list[bytes | str] = found if isinstance(found, list) else []
    if not raws:
        return 0
    public = settings.server.public_url
    for raw in raws:
        try:
            doc = orjson.loads(raw)
            event = Event(doc["event"])
            target = str(doc["target"])
        except (orjson.JSONDecodeError, KeyError, ValueError):
            log.warning("dropping a malformed control event")
            continue
        details = [f"Reason: {doc['reason']}"] if doc.get("reason") else []
        if event is Event.PAUSED:
            ends = doc.get("until") or 0
            title = f"{target} is paused" + (f" until {iso_time(int(ends))}" if ends else "")
            details.append("Deliveries are still stored; what collects builds once on resume.")
        else:
            title = f"{target} resumed: what collected meanwhile builds now"
        at = int(doc.get("at") or time.time() * 1000)
        _post(client, settings, Notice.for_target(event, target, title, details, public, at=at))
    return len(raws)
