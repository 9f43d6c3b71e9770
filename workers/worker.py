"""`relay worker`: an RQ worker (scheduler included) plus the claimer thread.

RQ's defaults find a job whose worker was SIGKILLed only after its heartbeat expires (monitoring
interval + 60 s) *and* another worker's maintenance pass comes round (up to 13 minutes idle,
reference rq.md §2.6). Here the heartbeat is short (`HEARTBEAT_INTERVAL` + `HEARTBEAT_GRACE`)
and every claimer reaps expired jobs itself every few seconds, so such a trigger is settled
(retried, or failed for good) about half a minute after the kill.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from rq.job import Job

from relay.core import keys
from relay.core.connections import sync_client
from relay.core.settings import Settings
from workers import runtime as context
from workers.claimer import Claimer

log = logging.getLogger("relay.worker")

WORKER_TTL = 60
MAINTENANCE_INTERVAL = 30
#: seconds between a running job's heartbeats, and how long one may be late before the job
#: counts as abandoned
HEARTBEAT_INTERVAL = 5
HEARTBEAT_GRACE = 15


class RelayWorker(Worker):
    """RQ's Worker with a short heartbeat TTL (RQ hard-codes 60 s of grace)."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        interval = HEARTBEAT_INTERVAL
        if job.timeout and job.timeout > 0:
            interval = int(min(job.timeout - working_time, interval))
        return max(1, interval) + HEARTBEAT_GRACE


def _make_worker(settings: Settings, name: str | None) -> tuple[Queue, RelayWorker]:
    client = sync_client(settings)
    queue = Queue(keys.QUEUE, connection=client)
    worker = RelayWorker(
        [queue],
        name=name,
        connection=client,
        worker_ttl=WORKER_TTL,
        maintenance_interval=MAINTENANCE_INTERVAL,
        job_monitoring_interval=HEARTBEAT_INTERVAL,
    )
    return queue, worker


def _wait_for_redis(settings: Settings) -> None:
    client = sync_client(settings, timeout=1.0)
    while True:
        try:
            client.ping()
            return
        except (RedisConnectionError, RedisTimeoutError):
            time.sleep(1.0)


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    context.configure(settings)
    claimer = Claimer(sync_client(settings), settings)
    if burst:
        queue, worker = _make_worker(settings, name)
        # drain: claim what is due, run it, and repeat until nothing due is left
        while claimer.tick() or queue.count:
            worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        return
    stop = threading.Event()
    thread = threading.Thread(target=claimer.run, args=(stop,), name="claimer", daemon=True)
    thread.start()
    restarts = 0
    try:
        while True:
            try:
                label = name if name is None or restarts == 0 else f"{name}-{restarts}"
                _, worker = _make_worker(settings, label)
                worker.work(with_scheduler=True, logging_level="INFO")
                return  # a warm shutdown (SIGTERM/SIGINT): the job in hand has finished
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("worker: lost Redis (%s); waiting for it to return", type(exc).__name__)
                _wait_for_redis(settings)
                log.warning("worker: Redis is back; resuming")
                restarts += 1
    finally:
        stop.set()
        thread.join(timeout=5)
