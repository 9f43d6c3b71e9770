"""The state of one fake Cloudflare Pages account: projects, deployments, deploy hooks and
the build queue. Plain Python, no HTTP; the JSON shapes live in `pages_objects.py`.

Time is computed lazily. A deployment stores when it was created and how its build should go
(a `BuildProfile` copied at creation); every read first calls `PagesState.advance(now)`, which
(1) works out which queued builds got a slot under the account's concurrency limit, and
(2) settles builds that have finished, moving branch aliases and the canonical deployment in
the order the builds finished. No background thread is involved.
"""

from __future__ import annotations

import copy
import heapq
import re
import threading
import uuid

from .envelope import CODE_UNKNOWN, JSON, ApiError
from .pages_objects import (
    CANONICAL_DELETE_ERROR,
    CODE_ALIASED,
    CODE_DEPLOYMENT_NOT_FOUND,
    CODE_PROJECT_NOT_FOUND,
    MSG_ALIASED,
    MSG_DEPLOYMENT_NOT_FOUND,
    MSG_PROJECT_NOT_FOUND,
    MSG_ROLLBACK,
    TRIGGER_TYPES,
    BuildProfile,
    Deployment,
    Hook,
    Project,
    alias_label,
    render_deployment,
    render_logs,
    render_project,
)
from .times import parse_time


class PagesState:
    """All mutable Pages state of one fake account. Every public method takes the lock.

    The account id and the token live in `auth.Credentials`, shared with Workers Builds."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.projects: dict[str, Project] = {}
            self.deployments: dict[str, Deployment] = {}
            self.hooks: dict[str, Hook] = {}
            self.profile = BuildProfile()
            self.concurrency: int | None = None  # None: unlimited
            self.canonical_delete_error = CANONICAL_DELETE_ERROR
            self._floor = 0.0  # builds not yet started cannot start before this
            self._seq = 0

    # -- configuration -------------------------------------------------------------------------

    def add_project(
        self,
        name: str,
        production_branch: str,
        subdomain: str | None,
        domains: list[str],
        now: float,
    ) -> Project:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"project name must match ^[a-z0-9][a-z0-9-]*$, got {name!r}")
        with self.lock:
            if name in self.projects:
                raise ValueError(f"project {name!r} already exists")
            project = Project(
                name, production_branch, subdomain or f"{name}.pages.dev", list(domains), now
            )
            self.projects[name] = project
            return project

    def add_hook(self, project: str, branch: str, name: str = "") -> Hook:
        with self.lock:
            if project not in self.projects:
                raise ValueError(f"no project {project!r}")
            hook = Hook(str(uuid.uuid4()), project, branch, name or f"hook-{len(self.hooks) + 1}")
            self.hooks[hook.id] = hook
            return hook

    def set_concurrency(self, limit: int | None, now: float) -> None:
        if limit is not None and limit < 1:
            raise ValueError("concurrency limit must be >= 1 or null")
        with self.lock:
            self.advance(now)
            self.concurrency = limit
            self._floor = now

    # -- time ----------------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Start queued builds that got a slot by `now`, then settle finished ones in order."""
        with self.lock:
            self._schedule(now)
            finished = [
                d
                for d in self.deployments.values()
                if d.final_at is None
                and d.start is not None
                and d.start + d.profile.run_length <= now
            ]
            for dep in sorted(finished, key=lambda d: (d.start or 0) + d.profile.run_length):
                self._settle(dep, (dep.start or 0) + dep.profile.run_length)

    def _schedule(self, now: float) -> None:
        builds = sorted((d for d in self.deployments.values() if d.needs_slot), key=lambda d: d.seq)
        if self.concurrency is None:
            for dep in builds:
                if dep.start is None:
                    dep.start = max(dep.created, self._floor)
            return
        free_at = [0.0] * self.concurrency  # a heap: when each slot frees up
        for dep in builds:
            slot = heapq.heappop(free_at)
            start = dep.start
            if start is None:
                start = max(dep.created, slot, self._floor)
                if start <= now:
                    dep.start = start
            heapq.heappush(free_at, start + dep.profile.run_length)

    def _settle(self, dep: Deployment, at: float) -> None:
        dep.final_at = at
        if dep.profile.outcome != "success":
            return
        project = self.projects[dep.project_name]
        self._give_alias(project, dep, at)
        if dep.environment == "production" and (
            project.canonical is None or project.canonical[1] <= at
        ):
            project.canonical = (dep.id, at)

    def _give_alias(self, project: Project, dep: Deployment, at: float) -> None:
        label = alias_label(dep.branch)
        holder = project.alias_holders.get(label)
        if holder is not None and holder[1] > at:
            return  # a newer build of this branch already holds the alias
        if holder is not None and holder[0] in self.deployments:
            self.deployments[holder[0]].aliases = None
        dep.aliases = [project.alias_url(dep.branch)]
        project.alias_holders[label] = (dep.id, at)

    # -- deployments ---------------------------------------------------------------------------

    def project(self, name: str) -> Project:
        project = self.projects.get(name)
        if project is None:
            raise ApiError(404, CODE_PROJECT_NOT_FOUND, MSG_PROJECT_NOT_FOUND)
        return project

    def deployment(self, project: str, deployment_id: str) -> Deployment:
        self.project(project)
        dep = self.deployments.get(deployment_id)
        if dep is None or dep.project_name != project:
            raise ApiError(404, CODE_DEPLOYMENT_NOT_FOUND, MSG_DEPLOYMENT_NOT_FOUND)
        return dep

    def create(
        self,
        project_name: str,
        branch: str | None,
        trigger: str,
        now: float,
        *,
        like: Deployment | None = None,
    ) -> Deployment:
        """A new build on `branch` (None: the production branch), shaped by `self.profile`.
        `like` copies the commit of an earlier deployment (retry)."""
        with self.lock:
            self.advance(now)
            project = self.project(project_name)
            branch = branch or project.production_branch
            self._seq += 1
            dep = Deployment(
                project_name=project.name,
                branch=branch,
                environment="production" if branch == project.production_branch else "preview",
                trigger_type=trigger,
                created=now,
                profile=copy.copy(self.profile),
                seq=self._seq,
            )
            if like is not None:
                dep.commit_hash, dep.commit_message = like.commit_hash, like.commit_message
            if dep.skipped:
                dep.final_at = now
            self.deployments[dep.id] = dep
            self.advance(now)
            return dep

    def seed(self, project_name: str, items: list[JSON], now: float) -> list[Deployment]:
        """Past deployments, already final at their `created_on` (no build time, no slot)."""
        with self.lock:
            self.advance(now)
            project = self.project(project_name)
            made = []
            for item in items:
                outcome = str(item.get("outcome", "success"))
                trigger = str(item.get("trigger", "ad_hoc"))
                if trigger not in TRIGGER_TYPES:
                    raise ValueError(f"trigger must be one of {TRIGGER_TYPES}, got {trigger!r}")
                created = parse_time(item.get("created_on", now))
                profile = BuildProfile(0.0, outcome, str(item.get("fail_stage", "build")))
                self._seq += 1
                branch = str(item.get("branch") or project.production_branch)
                dep = Deployment(
                    project_name=project.name,
                    branch=branch,
                    environment="production" if branch == project.production_branch else "preview",
                    trigger_type=trigger,
                    created=created,
                    profile=profile,
                    seq=self._seq,
                    seeded=True,
                    start=created,
                )
                self.deployments[dep.id] = dep
                made.append(dep)
            for dep in sorted(made, key=lambda d: (d.created, d.seq)):
                if dep.skipped:
                    dep.final_at = dep.created
                else:
                    self._settle(dep, dep.created)
            return made

    def listing(self, project_name: str, env: str | None) -> list[Deployment]:
        """A project's deployments, newest first."""
        with self.lock:
            self.project(project_name)
            deps = [
                d
                for d in self.deployments.values()
                if d.project_name == project_name and env in (None, d.environment)
            ]
            return sorted(deps, key=lambda d: (d.created, d.seq), reverse=True)

    def delete(self, project_name: str, deployment_id: str, force: bool, now: float) -> None:
        with self.lock:
            self.advance(now)
            project = self.project(project_name)
            dep = self.deployment(project_name, deployment_id)
            if project.canonical is not None and project.canonical[0] == dep.id:
                raise ApiError(*self.canonical_delete_error)
            if dep.aliases is not None and not force:
                raise ApiError(400, CODE_ALIASED, MSG_ALIASED)
            for label, (holder, _) in list(project.alias_holders.items()):
                if holder == dep.id:
                    del project.alias_holders[label]
            del self.deployments[dep.id]
            if dep.final_at is None:  # deleting a build in flight frees its slot from now on
                self._floor = now

    def rollback(self, project_name: str, deployment_id: str, now: float) -> Deployment:
        with self.lock:
            self.advance(now)
            project = self.project(project_name)
            dep = self.deployment(project_name, deployment_id)
            if dep.environment != "production" or not dep.succeeded:
                raise ApiError(400, CODE_UNKNOWN, MSG_ROLLBACK)
            project.canonical = (dep.id, now)
            self._give_alias(project, dep, now)
            return dep

    # -- rendering -----------------------------------------------------------------------------

    def render(self, dep: Deployment, now: float, *, fresh: bool = False) -> JSON:
        with self.lock:
            return render_deployment(dep, self.projects[dep.project_name], now, fresh=fresh)

    def render_project(self, project: Project, now: float) -> JSON:
        with self.lock:
            self.advance(now)
            canonical = None
            if project.canonical is not None and project.canonical[0] in self.deployments:
                canonical = self.render(self.deployments[project.canonical[0]], now)
            newest = self.listing(project.name, None)
            latest = self.render(newest[0], now) if newest else None
            return render_project(project, canonical, latest)

    def logs(self, dep: Deployment, now: float) -> JSON:
        with self.lock:
            self.advance(now)
            return render_logs(dep, now)
