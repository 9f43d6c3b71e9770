"""The Workers Builds state of one fake account: Workers, triggers, builds, deploy hooks and the
build queue. Plain Python, no HTTP. Section numbers refer to
`shared/reference/workers-builds-api.md`.

Time is computed lazily, as in `pages_model.py`: every read first calls `advance(now)`, which
hands free concurrency slots to queued builds in creation order (a build holds a slot from
`initializing_on` until it stops). The status, stamps and outcome of a build then follow from
its slot time and its `WorkerBuildProfile` (see `WorkerBuild.status`). No background thread.
"""

from __future__ import annotations

import copy
import re
import threading
from collections import deque

from .envelope import JSON, ApiError
from .times import iso
from .workers_hooks import DeployHooks
from .workers_objects import (
    CODE_NO_CONFIG,
    CODE_NOT_FOUND,
    DEFAULT_CONCURRENCY,
    DEFAULT_LOG_PAGE_SIZE,
    MSG_NO_CONFIG,
    MSG_NOT_FOUND,
    SOURCE_API,
    SOURCE_HOOK,
    Trigger,
    Worker,
    WorkerBuild,
    WorkerBuildProfile,
    WorkerHook,
    branch_matches,
    new_tag,
)
from .workers_render import render_build, render_script_deployment, trigger_without_token

PENDING = ("queued", "initializing")  # a deploy hook returns such a build again (§4.3)


class WorkersState:
    """All mutable Workers Builds state of one fake account. Every public method takes the
    lock; `render` returns a Build as JSON as seen at `now`."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.workers: dict[str, Worker] = {}  # by tag
            self.names: dict[str, str] = {}  # name -> tag
            self.triggers: dict[str, Trigger] = {}
            self.builds: dict[str, WorkerBuild] = {}
            self.hooks = DeployHooks()
            self.profile = WorkerBuildProfile()
            self.next_profiles: deque[WorkerBuildProfile] = deque()
            self.concurrency: int | None = DEFAULT_CONCURRENCY
            self.log_page_size = DEFAULT_LOG_PAGE_SIZE
            # UNCONFIRMED (§6): cancelling a stopped build; None answers 200, unchanged
            self.cancel_stopped_error: tuple[int, int, str] | None = None
            self.account_limits: JSON = {
                "build_minutes_refresh_on": None,  # a paid account (UNCONFIRMED, §9)
                "has_reached_build_minutes_limit": None,
            }
            self._floor = 0.0  # builds not yet started cannot start before this
            self._last_start = 0.0  # builds get slots in creation order
            self._seq = 0

    # -- configuration -------------------------------------------------------------------------

    def add_worker(self, name: str, production_branch: str, connected: bool, now: float) -> Worker:
        """A Worker; a connected one gets the two triggers of §3.3."""
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", name):
            raise ValueError(f"Worker name must match ^[a-z0-9][a-z0-9_-]*$, got {name!r}")
        if not production_branch:
            raise ValueError("production_branch must not be empty")
        with self.lock:
            if name in self.names:
                raise ValueError(f"Worker {name!r} already exists")
            worker = Worker(name, new_tag(), production_branch, connected, now)
            if connected:
                worker.triggers = [
                    Trigger(
                        worker.tag, "Deploy production", True, [production_branch], [],
                        "npx wrangler deploy", now,
                    ),
                    Trigger(
                        worker.tag, "Deploy non-production branches", False, ["*"],
                        [production_branch], "npx wrangler versions upload", now,
                    ),
                ]  # fmt: skip
            for trigger in worker.triggers:
                self.triggers[trigger.uuid] = trigger
            self.workers[worker.tag] = worker
            self.names[name] = worker.tag
            return worker

    def set_profile(self, profile: WorkerBuildProfile, times: int | None) -> None:
        """`times=None`: every new build from now on; `times=n`: only the next n builds."""
        with self.lock:
            if times is None:
                self.profile = profile
                self.next_profiles.clear()
            elif times < 1:
                raise ValueError("times must be >= 1 or null")
            else:
                self.next_profiles.extend(copy.deepcopy(profile) for _ in range(times))

    def set_concurrency(self, limit: int | None, now: float) -> None:
        if limit is not None and limit < 1:
            raise ValueError("concurrency limit must be >= 1 or null")
        with self.lock:
            self.advance(now)
            self.concurrency = limit
            self._floor = now

    # -- look-ups ------------------------------------------------------------------------------

    def by_tag(self, tag: str) -> Worker:
        """A Worker with Builds by its tag; anything else, a name included, is 404/12040."""
        worker = self.workers.get(tag)
        if worker is None or not worker.connected:
            raise ApiError(404, CODE_NO_CONFIG, MSG_NO_CONFIG)
        return worker

    def by_script_name(self, name: str) -> Worker:
        """A Worker by name for the deploy-hook paths: unknown 404/12000, no Builds 404/12040
        (both UNCONFIRMED, §8)."""
        tag = self.names.get(name)
        if tag is None:
            raise ApiError(404, CODE_NOT_FOUND, MSG_NOT_FOUND)
        return self.by_tag(tag)

    def trigger(self, trigger_uuid: str) -> Trigger:
        trigger = self.triggers.get(trigger_uuid)
        if trigger is None:
            raise ApiError(404, CODE_NOT_FOUND, MSG_NOT_FOUND)
        return trigger

    def build(self, build_uuid: str) -> WorkerBuild:
        build = self.builds.get(build_uuid)
        if build is None:
            raise ApiError(404, CODE_NOT_FOUND, MSG_NOT_FOUND)
        return build

    def worker_of(self, build: WorkerBuild) -> Worker:
        return self.workers[build.worker_tag]

    # -- time ----------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Give every queued build whose slot time has come by `now` its slot, in order."""
        with self.lock:
            started = [b for b in self.builds.values() if b.start is not None]
            ends = [end for b in started if (end := b.end) is not None]
            waiting = sorted(
                (
                    b
                    for b in self.builds.values()
                    if b.start is None and b.cancelled_at is None and not b.profile.skipped
                ),
                key=lambda b: b.seq,
            )
            for build in waiting:
                earliest = max(
                    build.created + build.profile.queued_for, self._floor, self._last_start
                )
                at = self._free_slot(earliest, ends)
                if at > now:
                    break  # first come, first served: later builds wait behind it
                build.start = self._last_start = at
                ends.append(build.natural_end or at)

    def _free_slot(self, earliest: float, ends: list[float]) -> float:
        """When a slot is free at or after `earliest`. Every slot taken so far was taken no
        later than `earliest`, so only the ends after it matter."""
        if self.concurrency is None:
            return earliest
        later = sorted(end for end in ends if end > earliest)
        if len(later) < self.concurrency:
            return earliest
        return later[len(later) - self.concurrency]

    # -- builds --------------------------------------------------------------------------------

    def _take_profile(self) -> WorkerBuildProfile:
        return self.next_profiles.popleft() if self.next_profiles else copy.deepcopy(self.profile)

    def _create(
        self,
        trigger: Trigger,
        branch: str,
        commit_hash: str | None,
        source: str,
        now: float,
        hook: WorkerHook | None = None,
    ) -> WorkerBuild:
        worker = self.workers[trigger.worker_tag]
        self.advance(now)
        self._seq += 1
        build = WorkerBuild(
            worker_tag=worker.tag,
            trigger_uuid=trigger.uuid,
            trigger_json=trigger_without_token(trigger, worker),
            production=trigger.production,
            branch=branch,
            source=source,
            created=now,
            profile=self._take_profile(),
            seq=self._seq,
            build_command=trigger.build_command,
            deploy_command=trigger.deploy_command,
            root_directory=trigger.root_directory,
            hook_uuid=None if hook is None else hook.uuid,
        )
        if commit_hash:
            build.commit_hash = commit_hash
        self.builds[build.uuid] = build
        self.advance(now)
        return build

    def manual_build(
        self, trigger_uuid: str, branch: str | None, commit_hash: str | None, now: float
    ) -> WorkerBuild:
        """`POST …/triggers/{uuid}/builds` (§4.1). Any branch is accepted (the fake has no
        repository); a commit without a branch builds the production branch (UNCONFIRMED)."""
        with self.lock:
            trigger = self.trigger(trigger_uuid)
            worker = self.workers[trigger.worker_tag]
            return self._create(
                trigger, branch or worker.production_branch, commit_hash, SOURCE_API, now
            )

    def trigger_for(self, worker: Worker, branch: str) -> Trigger:
        """The trigger that builds `branch`: the first whose patterns match, else the last."""
        for trigger in worker.triggers:
            if branch_matches(branch, trigger.branch_includes, trigger.branch_excludes):
                return trigger
        return worker.triggers[-1]

    def fire_hook(self, hook_uuid: str, now: float) -> tuple[WorkerBuild, bool]:
        """`POST /workers/builds/deploy_hooks/{uuid}` (§4.3): the hook's newest build if it is
        still queued or initializing (`already_exists`), else a new build, within limits."""
        with self.lock:
            self.advance(now)
            hook = self.hooks.by_uuid.get(hook_uuid)
            if hook is None:
                raise ApiError(404, CODE_NOT_FOUND, MSG_NOT_FOUND)
            mine = [b for b in self.builds.values() if b.hook_uuid == hook.uuid]
            newest = max(mine, key=lambda b: b.seq, default=None)
            if newest is not None and newest.status(now) in PENDING:
                return newest, True
            worker = self.workers[hook.worker_tag]
            self.hooks.limits.check(worker.tag, now)
            trigger = self.trigger_for(worker, hook.branch)
            build = self._create(trigger, hook.branch, None, SOURCE_HOOK, now, hook)
            self.hooks.limits.record(worker.tag, now)
            hook.latest_build = now
            return build, False

    def cancel(self, build_uuid: str, now: float) -> JSON:
        """`PUT …/builds/{uuid}/cancel` (§6): a build not yet stopped stops now, `cancelled`."""
        with self.lock:
            self.advance(now)
            build = self.build(build_uuid)
            if build.status(now) != "stopped":
                build.cancelled_at = now
                self.advance(now)  # its slot is free from now on
            elif self.cancel_stopped_error is not None:
                raise ApiError(*self.cancel_stopped_error)
            end = build.end
            assert end is not None
            return {
                "build_outcome": build.outcome(now),
                "build_uuid": build.uuid,
                "stopped_on": iso(end),
            }

    def builds_of(self, tag: str | None, now: float) -> list[WorkerBuild]:
        """A Worker's builds (every build for None), newest first."""
        with self.lock:
            self.advance(now)
            builds = [b for b in self.builds.values() if tag in (None, b.worker_tag)]
            return sorted(builds, key=lambda b: b.seq, reverse=True)

    def version_of(self, build_uuid: str, now: float) -> str | None:
        """The Worker version a build made, once it has succeeded (§5.5); None before."""
        with self.lock:
            self.advance(now)
            build = self.build(build_uuid)
            return build.version_id if build.succeeded(now) else None

    def by_versions(self, version_ids: list[str], now: float) -> JSON:
        """`{version_id: Build}` for the ids a successful build made; others are left out."""
        with self.lock:
            self.advance(now)
            made = {b.version_id: b for b in self.builds.values() if b.succeeded(now)}
            return {v: self.render(made[v], now) for v in version_ids if v in made}

    def latest(self, tags: list[str], now: float) -> JSON:
        """`{tag: newest Build}`; Workers without builds are left out (UNCONFIRMED, §5.5)."""
        with self.lock:
            newest: JSON = {}
            for tag in tags:
                builds = self.builds_of(tag, now) if tag in self.workers else []
                if builds:
                    newest[tag] = self.render(builds[0], now)
            return newest

    def script_deployments(self, worker: Worker, now: float) -> list[JSON]:
        """The Worker's deployments, newest first: the upload it was created with, then one
        per successful production build, at the moment the build stopped (a fake choice)."""
        with self.lock:
            self.advance(now)
            made = [(worker.created, worker.initial_deployment_id, worker.initial_version_id)]
            for build in self.builds.values():
                if build.worker_tag == worker.tag and build.production and build.succeeded(now):
                    made.append((build.end or now, build.deployment_id, build.version_id))
            made.sort(key=lambda m: m[0], reverse=True)
            return [render_script_deployment(d, v, at) for at, d, v in made]

    def render(self, build: WorkerBuild, now: float) -> JSON:
        with self.lock:
            self.advance(now)
            return render_build(build, self.worker_of(build), now)
