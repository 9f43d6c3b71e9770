"""`relay logs DEPLOYMENT_OR_TRIGGER`: a build's log, as the platform keeps it.

The argument is a trigger id (`blog-1796227359429`: its target and build are known) or a
platform id (a Pages deployment id, a Workers build uuid): that is looked up among the recorded
triggers, else asked of the one target that can have it (`--target` names it when several can).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from relay.core.build_settings import TargetKind
from relay.core.cloudflare.answers import LogLine
from relay.core.exceptions import BadRequest, NotFound
from relay.core.records import Trigger
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.targets import Platform, target_for

#: recorded triggers searched for a platform id
SEARCH = 2000


@dataclass(frozen=True)
class BuildLog:
    target: str
    build_id: str
    lines: list[LogLine]
    trigger: Trigger | None

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.target,
            "build_id": self.build_id,
            "trigger": self.trigger.id if self.trigger else None,
            "lines": [{"timestamp": line.timestamp, "text": line.text} for line in self.lines],
        }


def find(client: redis.Redis, settings: Settings, ident: str, target: str | None) -> Trigger | None:
    """The recorded trigger `ident` names: by its id, else by its build's platform id."""
    store = Store(client)
    found = store.trigger(ident)
    if found is not None:
        return found
    for trigger in store.trigger_page(target=target, limit=SEARCH):
        if trigger.deployment_id == ident:
            return trigger
    return None


def build_log(
    client: redis.Redis,
    settings: Settings,
    platform: Platform,
    ident: str,
    *,
    target: str | None = None,
) -> BuildLog:
    trigger = find(client, settings, ident, target)
    if trigger is not None:
        if trigger.deployment_id is None:
            raise NotFound(f"trigger {trigger.id} has no build on Cloudflare ({trigger.status})")
        name, build_id = trigger.target, trigger.deployment_id
    else:
        readable = [
            n
            for n, t in settings.targets.items()
            if t.kind in {TargetKind.PAGES, TargetKind.WORKERS} or t.project is not None
        ]
        if target is not None:
            name = settings.target(target).name
        elif len(readable) == 1:
            name = readable[0]
        else:
            raise BadRequest(
                f"{ident!r} is no recorded trigger or build; name its target with --target "
                f"(one of {', '.join(readable) or 'none that can read logs'})"
            )
        build_id = ident
    lines = target_for(settings.target(name), platform).logs(build_id)
    return BuildLog(name, build_id, lines, trigger)
