"""The prune engine: delete a target's Pages deployments older than its `keep`.

Never deleted (the reason each is reported under, checked in this order):

    recent    younger than `keep` (reported as kept)
    live      the project's live production deployment (`canonical_deployment`, fetched first)
    building  a build still in progress
    newest    the newest deployment of its branch, and its newest successful one (which the
              branch alias serves)
    aliased   anything else that carries aliases: `?force=true` is never sent
    no-date   a deployment whose `created_on` cannot be read

Cloudflare's refusals are skipped as well: `aliased` (8000035), `gone` (8000009: deleted
elsewhere, or by an earlier attempt whose answer was lost), `rejected-<code>`. A run lists every
page first (25 a page, newest first) and only then deletes, oldest first, because deleting while
paging shifts the later pages. The plan lives in Redis (`relay.core.prune_record`), so an
interrupted prune resumes where it stopped: the next run fetches the live deployment again.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import redis

from relay.core.clock import server_ms
from relay.core.cloudflare.pages import Deployment, Pages
from relay.core.exceptions import (
    BudgetExhausted,
    CloudflareRejected,
    CloudflareRetryable,
    ConfigError,
    PruneInterrupted,
)
from relay.core.prune_record import PruneState
from relay.core.settings import Settings

ALIASED, NOT_FOUND = 8000035, 8000009


class Progress(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...  # "listing" | "deleting"
    def advance(self, n: int) -> None: ...


class NoProgress:
    def phase(self, name: str, total: int | None) -> None:
        pass

    def advance(self, n: int) -> None:
        pass


def _timestamp(iso: str | None) -> float | None:
    try:
        return datetime.fromisoformat((iso or "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def decide(
    deployments: Iterable[Deployment], *, live_id: str | None, cutoff: float
) -> tuple[list[str], Counter[str]]:
    """Deployments, newest first -> the ids to delete (newest first) and "kept:/skipped:<why>"."""
    todo: list[str] = []
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    seen_ok: set[str] = set()
    for dep in deployments:
        branch = dep.branch or ""
        newest = branch not in seen or (dep.outcome == "success" and branch not in seen_ok)
        seen.add(branch)
        if dep.outcome == "success":
            seen_ok.add(branch)
        created = _timestamp(dep.created_on)
        if created is not None and created > cutoff:
            counts["kept:recent"] += 1
        elif dep.id == live_id:
            counts["skipped:live"] += 1
        elif dep.outcome is None:
            counts["skipped:building"] += 1
        elif newest:
            counts["skipped:newest"] += 1
        elif dep.aliases:
            counts["skipped:aliased"] += 1
        elif created is None:
            counts["skipped:no-date"] += 1
        else:
            todo.append(dep.id)
    return todo, counts


@dataclass
class PruneReport:
    target: str
    project: str
    dry_run: bool
    status: str = "running"  # then: done | paused (a scheduled chunk ended) | interrupted
    resumed: bool = False
    counts: Counter[str] = field(default_factory=Counter)  # the whole prune, resumes included
    planned: list[str] = field(default_factory=list)  # what this run set out to delete
    deleted: list[str] = field(default_factory=list)  # what this run deleted
    error: str | None = None

    def by(self, kind: str) -> dict[str, int]:
        found = sorted(self.counts.items())
        return {k.split(":", 1)[1]: n for k, n in found if k.startswith(f"{kind}:") and n}

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in vars(self).items() if k not in {"counts", "deleted"}},
            "deleted": self.counts["deleted"],
            "kept": self.by("kept"),
            "skipped": self.by("skipped"),
            "deleted_ids": self.deleted,
        }


class Pruner:
    """One prune of one target: `run()` returns its report, or raises PruneInterrupted."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        target: str,
        pages: Pages,
        *,
        dry_run: bool = False,
        origin: str = "cli",
        progress: Progress | None = None,
        now: float | None = None,
        time_limit: float | None = None,
    ) -> None:
        config = settings.target(target)
        if config.project is None or config.keep is None:
            raise ConfigError([f"targets.{target}: prune needs a Pages project and keep"])
        self.project, self.keep, self.origin = config.project, config.keep, origin
        self.pages, self.now = pages, now
        self.progress = progress or NoProgress()
        self.deadline = None if time_limit is None else time.monotonic() + time_limit
        self.report = PruneReport(target, config.project, dry_run)
        run_id = uuid.uuid4().hex
        self.state = PruneState(client, target, config.project, run_id, writable=not dry_run)
        self.decided = 0  # planned deployments this run dealt with
        self.started = False  # this run has written its record (planning or resuming)

    def run(self) -> PruneReport:
        self.state.lock()
        try:
            self._run()
        except (CloudflareRetryable, BudgetExhausted, KeyboardInterrupt) as exc:
            self._stop("interrupted", exc)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise PruneInterrupted(self.report.error or "interrupted") from None
        except CloudflareRejected as exc:
            self._stop("failed", exc)
            raise
        finally:
            self.state.unlock()
        return self.report

    def _stop(self, status: str, exc: BaseException) -> None:
        report, target = self.report, self.report.target
        why = "stopped by the user" if isinstance(exc, KeyboardInterrupt) else str(exc)
        report.status, report.error = status, f"prune of {target} {status}: {why}"
        if status == "interrupted" and not report.dry_run:
            left = len(report.planned) - self.decided
            done = f"{report.counts['deleted']} deleted, {left} left" if report.planned else ""
            report.error += (
                f" ({done or 'before deleting anything'}; "
                f"run `relay prune --target {target}` again to resume)"
            )
        if self.started:  # else the previous prune's record stays as it was
            self.state.mark(status, error=report.error, stopped_at=server_ms(self.state.client))

    def _run(self) -> None:
        project = self.pages.get_project(self.project)
        live = (project.get("canonical_deployment") or {}).get("id")
        resumable = self.state.resumable()
        self.started = True
        if resumable is not None:
            todo, counts = resumable
            self.report.resumed = True
        else:
            todo, counts = self._plan(live)
        self.report.counts.update(counts)
        self.report.planned = todo[::-1]  # oldest first
        self.progress.phase("deleting", len(todo))
        for dep_id in self.report.planned:
            if self.decided and self.deadline is not None and time.monotonic() > self.deadline:
                self.report.status = "paused"  # a scheduled chunk hands its worker back
                self.state.mark("paused")
                return
            if not self.report.dry_run:
                self._decide_one(dep_id, live)
            self.progress.advance(1)
        self.report.status = "done"
        self.state.mark("done", finished_at=server_ms(self.state.client), error=None)

    def _plan(self, live: str | None) -> tuple[list[str], Counter[str]]:
        header: dict[str, str | int] = {
            "origin": self.origin,
            "project": self.project,
            "keep": int(self.keep),
            "started_at": server_ms(self.state.client),
        }
        self.state.begin(header)
        listed = self._list()
        cutoff = (self.now if self.now is not None else time.time()) - self.keep
        todo, counts = decide(listed, live_id=live, cutoff=cutoff)
        self.state.planned(todo, counts, len(listed))
        return todo, counts

    def _list(self) -> list[Deployment]:
        out: list[Deployment] = []
        seen: set[str] = set()
        page = 1
        while True:
            items, info = self.pages.list_deployments(self.project, page=page)
            if page == 1:
                self.progress.phase("listing", info.get("total_count"))
            out.extend(d for d in items if d.id not in seen)  # pages shift as builds arrive
            seen.update(d.id for d in items)
            self.progress.advance(len(items))
            self.state.refresh()
            total_pages = info.get("total_pages")
            if not items or (isinstance(total_pages, int) and page >= total_pages):
                return out
            page += 1

    def _decide_one(self, dep_id: str, live: str | None) -> None:
        outcome = "skipped:live" if dep_id == live else self._delete(dep_id)
        self.state.record(dep_id, outcome)
        self.report.counts[outcome] += 1
        self.decided += 1
        if outcome == "deleted":
            self.report.deleted.append(dep_id)
        self.state.refresh()

    def _delete(self, dep_id: str) -> str:
        try:
            self.pages.delete_deployment(self.project, dep_id)  # never force=True
        except CloudflareRejected as exc:
            if exc.code == ALIASED:
                return "skipped:aliased"
            if exc.code == NOT_FOUND:
                return "skipped:gone"
            return f"skipped:rejected-{exc.code or exc.http_status}"
        return "deleted"
