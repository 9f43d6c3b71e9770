"""`relay worker`: an RQ worker (scheduler included) plus the claimer thread.

RQ settings follow what was measured (reference rq.md §2.6): a 60 s worker TTL and a 30 s
maintenance interval, so that a job whose worker was SIGKILLed is found abandoned and settled
within about two minutes instead of 13.
"""

from __future__ import annotations

import logging
import threading

from rq import Queue, Worker

from relay import keys
from relay.redis_client import sync_client
from relay.settings import Settings
from workers import context
from workers.debounce import Claimer

log = logging.getLogger("relay.worker")

WORKER_TTL = 60
MAINTENANCE_INTERVAL = 30
JOB_MONITORING_INTERVAL = 15


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    context.configure(settings)
    client = sync_client(settings)
    queue = Queue(keys.QUEUE, connection=client)
    claimer = Claimer(sync_client(settings), settings)
    worker = Worker(
        [queue],
        name=name,
        connection=client,
        worker_ttl=WORKER_TTL,
        maintenance_interval=MAINTENANCE_INTERVAL,
        job_monitoring_interval=JOB_MONITORING_INTERVAL,
    )
    if burst:
        # drain: claim what is due, run it, and repeat until nothing due is left
        while claimer.tick() or queue.count:
            worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        return
    stop = threading.Event()
    thread = threading.Thread(target=claimer.run, args=(stop,), name="claimer", daemon=True)
    thread.start()
    try:
        worker.work(with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
        thread.join(timeout=5)
