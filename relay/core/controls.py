"""What an operator can ask for, from the CLI or the JSON API: deploy now, replay failures.

Both go through the normal path: they touch the target's debounce state (with no quiet period
when asked to skip it), so the claimer turns them into a trigger and the one-build-at-a-time
rule still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from relay.core import keys
from relay.core.connections import lua
from relay.core.settings import Settings
from relay.core.store import Store, now_ms


def touch(
    client: redis.Redis, settings: Settings, target: str, *, reason: str, now: bool = False
) -> int:
    """Start or extend the target's burst; returns when it is due (Unix ms)."""
    config = settings.target(target)
    quiet = 0 if now else int(config.debounce * 1000)
    max_wait = 0 if now else int(config.max_wait * 1000)
    due = client.eval(
        lua(keys.SCRIPT_TOUCH), 2, keys.burst(target), keys.DUE, target, quiet, max_wait, reason
    )
    return int(due)


@dataclass(frozen=True)
class Replayed:
    trigger_id: str
    target: str
    due: int


def replay(client: redis.Redis, settings: Settings, trigger_ids: list[str]) -> list[Replayed]:
    """Queue the targets of these failed triggers again, skipping the debounce."""
    store = Store(client)
    out = []
    for trigger_id in trigger_ids:
        record = store.trigger(trigger_id)
        if record is None or record.get("status") != "failed":
            continue
        target = record["target"]
        if target not in settings.targets:
            continue
        due = touch(client, settings, target, reason=f"replay of {trigger_id}", now=True)
        store.update(trigger_id, replayed_at=now_ms())
        client.zrem(keys.FAILED, trigger_id)
        out.append(Replayed(trigger_id, target, due))
    return out
