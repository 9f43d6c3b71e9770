"""Workers Builds deploy hooks (reference §4.3 and §8): the hook records and their limits.

Hooks are managed under the Worker's *name* but belong to its tag, which the answers report as
`external_script_id` (trap 1). Triggering one (`WorkersState.fire_hook`) needs no credentials;
the URL is the secret. The per-Worker and per-account sliding-minute limits live here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .envelope import ApiError
from .workers_objects import (
    CODE_HOOK_RATE_LIMITED,
    CODE_NOT_FOUND,
    MSG_HOOK_RATE_LIMITED,
    MSG_NOT_FOUND,
    Worker,
    WorkerHook,
)

DEFAULT_PER_WORKER, DEFAULT_PER_ACCOUNT, DEFAULT_WINDOW = 10, 100, 60.0  # §1.5


def hook_path(hook_uuid: str) -> str:
    """The trigger path under `/client/v4`; the API returns no URL field (§8)."""
    return f"/workers/builds/deploy_hooks/{hook_uuid}"


@dataclass
class HookLimits:
    """Deploy-hook builds per sliding window: 10 per Worker and 100 per account per minute
    (§1.5). Only calls that create a build count (UNCONFIRMED, §13 item 5)."""

    per_worker: int = DEFAULT_PER_WORKER
    per_account: int = DEFAULT_PER_ACCOUNT
    window: float = DEFAULT_WINDOW
    starts: list[tuple[float, str]] = field(default_factory=list)  # (created, worker tag)

    def __post_init__(self) -> None:
        self.configure(self.per_worker, self.per_account, self.window)

    def configure(self, per_worker: int, per_account: int, window: float) -> None:
        """New limits; the builds already counted stay counted."""
        if per_worker < 1 or per_account < 1 or not window > 0:
            raise ValueError("limits must be >= 1 and the window > 0")
        self.per_worker, self.per_account, self.window = per_worker, per_account, window

    def check(self, tag: str, now: float) -> None:
        """Raise the 429 (with `Retry-After`) if one more build for `tag` is too many."""
        self.starts = [(t, w) for t, w in self.starts if t > now - self.window]
        mine = [t for t, w in self.starts if w == tag]
        everyone = [t for t, _ in self.starts]
        # with n builds in the window and a limit of L, room opens when the (n-L)th expires
        waits = [
            times[len(times) - limit] + self.window - now
            for times, limit in ((mine, self.per_worker), (everyone, self.per_account))
            if len(times) >= limit
        ]
        if waits:
            retry = str(max(1, math.ceil(max(waits))))
            message = MSG_HOOK_RATE_LIMITED.format(
                per_worker=self.per_worker, per_account=self.per_account, window=self.window
            )
            raise ApiError(429, CODE_HOOK_RATE_LIMITED, message, {"Retry-After": retry})

    def record(self, tag: str, now: float) -> None:
        self.starts.append((now, tag))


class DeployHooks:
    """The hook records, by UUID. Callers hold `WorkersState.lock`."""

    def __init__(self) -> None:
        self.by_uuid: dict[str, WorkerHook] = {}
        self.limits = HookLimits()

    def create(self, worker: Worker, name: str, branch: str, now: float) -> WorkerHook:
        """A new hook. Duplicate names are allowed (the meaning of 409 is UNCONFIRMED, §8)."""
        hook = WorkerHook(worker.tag, name, branch, now, now)
        self.by_uuid[hook.uuid] = hook
        return hook

    def get(self, worker: Worker, hook_uuid: str) -> WorkerHook:
        """A hook of `worker`; unknown, or another Worker's, is 404/12000."""
        hook = self.by_uuid.get(hook_uuid)
        if hook is None or hook.worker_tag != worker.tag:
            raise ApiError(404, CODE_NOT_FOUND, MSG_NOT_FOUND)
        return hook

    def update(
        self, worker: Worker, hook_uuid: str, name: str, branch: str, now: float
    ) -> WorkerHook:
        """PUT: the same full body as create (§8)."""
        hook = self.get(worker, hook_uuid)
        hook.name, hook.branch, hook.modified = name, branch, now
        return hook

    def delete(self, worker: Worker, hook_uuid: str) -> WorkerHook:
        """The deleted hook; its URL stops working at once (§4.3)."""
        hook = self.get(worker, hook_uuid)
        del self.by_uuid[hook.uuid]
        return hook

    def of(self, worker: Worker) -> list[WorkerHook]:
        """A Worker's hooks, oldest first (the order is not documented)."""
        hooks = [h for h in self.by_uuid.values() if h.worker_tag == worker.tag]
        return sorted(hooks, key=lambda h: h.created)
