"""What an operator can ask for, from the CLI, the dashboard or the JSON API: deploy now,
replay, pause and resume.

Deploys and replays go through the normal path: they touch the target's burst by the same rule
as webhooks (`lua/lib/debounce.lua`; with no quiet period and no wait when asked to skip the
debounce), so the claimer turns them into a trigger and the one-build-at-a-time rule still
holds. A pause is a mark the claim reads (`keys.PAUSES`): while it stands the burst keeps
collecting (deliveries are still verified, stored and answered), and when it ends the burst is
claimed at once, as exactly one build. Pauses and resumes are also left as events for the
workers to tell the notification channels (`keys.CONTROL_EVENTS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import redis

from relay.core import keys
from relay.core.clock import iso_time, server_ms
from relay.core.exceptions import BadRequest, RequestRefused
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.transitions import Transitions

#: control events kept for the workers to tell (the oldest dropped past this)
EVENTS_KEPT = 1000


class TargetPaused(RequestRefused):
    """`relay deploy` on a paused target: nothing is done unless forced."""

    status_code = 409


def touch(
    client: redis.Redis,
    settings: Settings,
    target: str,
    *,
    reason: str,
    now: bool = False,
    force: bool = False,
    ignore_budget: bool = False,
) -> int:
    """Start or join the target's burst; returns when it is due (Unix ms, Redis clock).
    `force`: it builds even while the target is paused; `ignore_budget`: even past its build
    budget (both hold for the burst until it is claimed)."""
    config = settings.target(target)
    quiet = 0 if now else round(config.debounce * 1000)
    max_wait = 0 if now else round(config.max_wait * 1000)
    flags = ",".join(f for f, on in (("force", force), ("ignore_budget", ignore_budget)) if on)
    script = client.register_script(lua(keys.SCRIPT_TOUCH))
    due = script(keys=[keys.burst(target), keys.DUE], args=[target, quiet, max_wait, reason, flags])
    return int(due)


# -- pause and resume ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    target: str
    since: int  # ms
    until: int | None  # ms; None: until resumed
    reason: str | None

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "since": self.since,
            "until": self.until,
            "reason": self.reason,
        }

    def describe(self) -> str:
        ends = f" until {iso_time(self.until)}" if self.until else " until resumed"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.target} is paused{ends}{why}"


def pauses(client: redis.Redis) -> dict[str, Pause]:
    """The pauses in force now (one whose time ran out is not; the claim lifts it)."""
    now = server_ms(client)
    out = {}
    for raw_target, raw in client.hgetall(keys.PAUSES).items():
        target = raw_target.decode() if isinstance(raw_target, bytes) else str(raw_target)
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        until = int(doc.get("until") or 0) or None
        if until is not None and until <= now:
            continue
        out[target] = Pause(target, int(doc.get("at") or 0), until, doc.get("reason"))
    return out


def pause(
    client: redis.Redis,
    settings: Settings,
    targets: Iterable[str],
    *,
    seconds: float | None = None,
    reason: str | None = None,
) -> list[Pause]:
    """Pause these targets (for `seconds`, else until resumed); pausing again replaces it."""
    if seconds is not None and seconds <= 0:
        raise BadRequest("a pause's duration must be longer than 0 (leave it out: until resumed)")
    now = server_ms(client)
    until = now + round(seconds * 1000) if seconds is not None else None
    out = []
    for target in targets:
        settings.target(target)  # an unknown target is a ConfigError naming it
        doc = {"until": until or 0, "reason": reason, "at": now}
        client.hset(keys.PAUSES, target, orjson.dumps(doc))
        _event(client, "paused", target, reason=reason, until=until, at=now)
        out.append(Pause(target, now, until, reason))
    return out


def resume(client: redis.Redis, settings: Settings, targets: Iterable[str]) -> list[str]:
    """End these targets' pauses: what collected meanwhile is due at once, as one build.
    Returns the targets that were paused."""
    now = server_ms(client)
    out = []
    for target in targets:
        settings.target(target)
        if not client.hdel(keys.PAUSES, target):
            continue
        if client.exists(keys.burst(target)):
            client.zadd(keys.DUE, {target: now})
        _event(client, "resumed", target, at=now)
        out.append(target)
    return out


def _event(client: redis.Redis, event: str, target: str, **fields: object) -> None:
    doc = {"event": event, "target": target, **{k: v for k, v in fields.items() if v}}
    pipe = client.pipeline(transaction=False)
    pipe.rpush(keys.CONTROL_EVENTS, orjson.dumps(doc))
    pipe.ltrim(keys.CONTROL_EVENTS, -EVENTS_KEPT, -1)
    pipe.execute()


def deploy(
    client: redis.Redis,
    settings: Settings,
    target: str,
    *,
    reason: str,
    now: bool = False,
    force: bool = False,
    ignore_budget: bool = False,
) -> int:
    """`relay deploy`: touch the burst; on a paused target nothing is done unless `force`."""
    settings.target(target)
    paused = pauses(client).get(target)
    if paused is not None and not force:
        raise TargetPaused(f"{paused.describe()}: nothing done (--force builds anyway)")
    return touch(
        client, settings, target, reason=reason, now=now, force=force, ignore_budget=ignore_budget
    )


# -- replay ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replayed:
    trigger_id: str
    target: str
    due: int

    def to_dict(self) -> dict[str, object]:
        return {"trigger_id": self.trigger_id, "target": self.target, "due": self.due}


def replay(client: redis.Redis, settings: Settings, trigger_ids: list[str]) -> list[Replayed]:
    """Queue the targets of these failed triggers again, skipping the debounce; each replayed
    trigger becomes REPLAYED (the build it leads to is a trigger of its own)."""
    store = Store(client)
    moves = Transitions(client)
    out = []
    for trigger in store.triggers(trigger_ids):
        if not trigger.status.replayable or trigger.target not in settings.targets:
            continue
        if trigger.kind == "rollback":
            continue  # not a build: run the rollback again instead
        if not moves.replay(trigger, server_ms(client)):
            continue  # replayed meanwhile by someone else
        due = touch(client, settings, trigger.target, reason=f"replay of {trigger.id}", now=True)
        out.append(Replayed(trigger.id, trigger.target, due))
    return out
