"""What an operator can ask for, from the CLI, the dashboard or the JSON API: deploy now, replay.

Both go through the normal path: they touch the target's burst by the same rule as webhooks
(`lua/lib/debounce.lua`; with no quiet period and no wait when asked to skip the debounce), so
the claimer turns them into a trigger and the one-build-at-a-time rule still holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.transitions import Transitions


def touch(
    client: redis.Redis, settings: Settings, target: str, *, reason: str, now: bool = False
) -> int:
    """Start or join the target's burst; returns when it is due (Unix ms, Redis clock)."""
    config = settings.target(target)
    quiet = 0 if now else round(config.debounce * 1000)
    max_wait = 0 if now else round(config.max_wait * 1000)
    script = client.register_script(lua(keys.SCRIPT_TOUCH))
    due = script(keys=[keys.burst(target), keys.DUE], args=[target, quiet, max_wait, reason])
    return int(due)


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
        if not moves.replay(trigger, server_ms(client)):
            continue  # replayed meanwhile by someone else
        due = touch(client, settings, trigger.target, reason=f"replay of {trigger.id}", now=True)
        out.append(Replayed(trigger.id, trigger.target, due))
    return out
