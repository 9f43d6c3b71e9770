"""RQ as the dashboard sees it: the relay queue, its registries, the workers and heartbeats.

Read-only: registry counts are taken without RQ's cleanup (which would run failure callbacks
from a web request); cleaning up is the workers' maintenance job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from rq.registry import (
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from relay.core.job_queue import job_queue, queue_workers
from relay.core.records import WorkerBeat
from relay.core.store import Store

#: a worker whose last heartbeat is older than this (seconds) is shown as stale; RQ drops its
#: key after the worker TTL (60 s, workers/worker.py)
STALE_AFTER = 60.0
REGISTRIES = {
    "started": StartedJobRegistry,
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "failed": FailedJobRegistry,
    "finished": FinishedJobRegistry,
}


@dataclass(frozen=True)
class WorkerView:
    name: str
    state: str
    hostname: str | None
    pid: int | None
    queues: list[str]
    current_job: str | None
    heartbeat_age: float | None  # seconds since the last heartbeat
    successful: int
    failed: int
    claimer_age: float | None = None  # seconds since its claimer last beat; None: never
    steps: int = 0  # deploy attempts and build polls it runs now
    claimer_errors: int = 0

    @property
    def stale(self) -> bool:
        return self.heartbeat_age is None or self.heartbeat_age > STALE_AFTER

    @property
    def claiming(self) -> bool:
        """Its claimer beats: it claims bursts and runs steps (else it only runs prune jobs)."""
        return self.claimer_age is not None and self.claimer_age <= WorkerBeat.STALE_AFTER

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "stale": self.stale, "claiming": self.claiming}


@dataclass(frozen=True)
class QueuesView:
    queues: list[dict[str, Any]]  # name, queued, and one count per registry
    workers: list[WorkerView]
    timers: int  # relay timers (deploy retries, build polls) waiting for their time

    def to_dict(self) -> dict[str, Any]:
        return {
            "queues": self.queues,
            "workers": [w.to_dict() for w in self.workers],
            "timers": self.timers,
        }


def _age(when: datetime | None) -> float | None:
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - when).total_seconds())


def _worker(worker: Any, beats: dict[str, WorkerBeat], now_ms: int) -> WorkerView:
    name = str(worker.name)
    beat = beats.get(name) or beats.get(name.rsplit("-", 1)[0])  # "w1-2": RQ restarted in w1
    return WorkerView(
        name=str(worker.name),
        state=str(worker.get_state()),
        hostname=worker.hostname,
        pid=worker.pid,
        queues=[q.name for q in worker.queues],
        current_job=worker.get_current_job_id(),
        heartbeat_age=_age(worker.last_heartbeat),
        successful=int(worker.successful_job_count),
        failed=int(worker.failed_job_count),
        claimer_age=beat.age(now_ms) if beat else None,
        steps=beat.steps if beat else 0,
        claimer_errors=beat.claimer_errors if beat else 0,
    )


def queues_view(client: redis.Redis) -> QueuesView:
    queue = job_queue(client)
    counts: dict[str, Any] = {"name": queue.name, "queued": queue.count}
    for name, registry in REGISTRIES.items():
        counts[name] = registry(queue=queue).get_job_count(cleanup=False)
    store = Store(client)
    beats = {beat.name: beat for beat in store.workers()}
    now = store.server_ms()
    found = (_worker(w, beats, now) for w in queue_workers(client))
    workers = sorted(found, key=lambda w: w.name)
    return QueuesView(queues=[counts], workers=workers, timers=store.timer_count())
