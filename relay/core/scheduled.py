"""Deploys at a set time: `relay deploy TARGET --at TIME`, `relay scheduled [--cancel ID]`.

A scheduled deploy is a member of `keys.SCHEDULED` (scored by when it fires) and a hash of its
own (`keys.scheduled`). A worker's claimer fires the due ones (`lua/fire_scheduled.lua`): each
leaves the schedule and joins its target's burst at once, in one step, so it fires exactly
once however many workers run, and joins whatever burst is pending at that moment (a build in
flight, a pause or a budget then hold it as they hold any burst). Fired and cancelled ones are
kept a week, for the listing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.duration import parse_duration
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import text

#: fired or cancelled deploys are listed this long (ms)
KEEP_MS = 7 * 86_400_000
#: fired per call
BATCH = 100
_RELATIVE = re.compile(r"^\+\s*(.+)$")


def parse_when(value: str, now_ms: int) -> int:
    """RFC 3339 (`2026-12-24T18:00:00Z`, an offset required) or `+2h` / `+90m`: Unix ms."""
    text_value = value.strip()
    relative = _RELATIVE.match(text_value)
    if relative:
        try:
            seconds = parse_duration(relative[1])
        except ValueError:
            raise ValueError(f"{value!r}: not a duration after + (e.g. +2h, +30m)") from None
        return now_ms + round(seconds * 1000)
    try:
        moment = datetime.fromisoformat(text_value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r}: not a time (RFC 3339 such as 2026-12-24T18:00:00Z, or +2h)"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r}: say which time zone (Z, or an offset such as +01:00)")
    return round(moment.timestamp() * 1000)


@dataclass(frozen=True)
class ScheduledDeploy:
    id: str
    target: str
    at: int  # ms
    created_at: int
    status: str  # scheduled | fired | cancelled
    reason: str
    fired_at: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "target": self.target,
            "at": self.at,
            "created_at": self.created_at,
            "status": self.status,
            "reason": self.reason,
            "fired_at": self.fired_at,
        }

    @classmethod
    def from_hash(cls, deploy_id: str, raw: dict[bytes, bytes]) -> ScheduledDeploy | None:
        doc = {text(k): text(v) for k, v in raw.items()}
        if "target" not in doc:
            return None
        fired = doc.get("fired_at")
        return cls(
            id=deploy_id,
            target=doc["target"],
            at=int(doc.get("at", 0)),
            created_at=int(doc.get("created_at", 0)),
            status=doc.get("status", "scheduled"),
            reason=doc.get("reason", ""),
            fired_at=int(fired) if fired else None,
        )


def schedule(
    client: redis.Redis, settings: Settings, target: str, at_ms: int, *, by: str = "cli"
) -> ScheduledDeploy:
    """Schedule one deploy of `target` at `at_ms` (a time already past fires at once)."""
    settings.target(target)
    now = server_ms(client)
    deploy_id = "sd-" + secrets.token_hex(4)
    reason = f"scheduled deploy {deploy_id}"
    pipe = client.pipeline(transaction=True)
    pipe.hset(
        keys.scheduled(deploy_id),
        mapping={
            "target": target,
            "at": at_ms,
            "created_at": now,
            "status": "scheduled",
            "reason": reason,
            "by": by,
        },
    )
    pipe.zadd(keys.SCHEDULED, {deploy_id: at_ms})
    pipe.zadd(keys.SCHEDULED_LOG, {deploy_id: at_ms})
    pipe.execute()
    return ScheduledDeploy(deploy_id, target, at_ms, now, "scheduled", reason)


def listing(client: redis.Redis, ids: list[str] | None = None) -> list[ScheduledDeploy]:
    """The scheduled deploys still to fire, soonest first, then those fired or cancelled in
    the last week (what `relay scheduled` shows)."""
    now = server_ms(client)
    client.zremrangebyscore(keys.SCHEDULED_LOG, "-inf", now - KEEP_MS)
    wanted = [text(i) for i in client.zrange(keys.SCHEDULED_LOG, 0, -1)]
    if ids is not None:
        wanted = [i for i in wanted if i in ids]
    pipe = client.pipeline(transaction=False)
    for deploy_id in wanted:
        pipe.hgetall(keys.scheduled(deploy_id))
    found = [
        ScheduledDeploy.from_hash(i, raw) for i, raw in zip(wanted, pipe.execute(), strict=True)
    ]
    rows = [row for row in found if row is not None]
    return sorted(rows, key=lambda r: (r.status != "scheduled", r.at))


def cancel(client: redis.Redis, deploy_id: str) -> ScheduledDeploy | None:
    """Drop a scheduled deploy before it fires; None when there is no such pending deploy."""
    if not client.zrem(keys.SCHEDULED, deploy_id):
        return None
    now = server_ms(client)
    pipe = client.pipeline(transaction=True)
    pipe.hset(keys.scheduled(deploy_id), mapping={"status": "cancelled", "cancelled_at": now})
    pipe.pexpire(keys.scheduled(deploy_id), KEEP_MS)
    pipe.execute()
    found = listing(client, [deploy_id])
    return found[0] if found else None


def fire_due(client: redis.Redis) -> list[str]:
    """Fire the scheduled deploys that are due (exactly once across workers)."""
    fired = client.register_script(lua(keys.SCRIPT_FIRE_SCHEDULED))(
        keys=[keys.SCHEDULED, keys.DUE],
        args=[keys.scheduled(""), keys.BURST_PREFIX, BATCH, KEEP_MS],
    )
    return [text(i) for i in fired]
