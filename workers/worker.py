"""`relay worker`: the claimer and the step threads, beside an RQ worker for the prune jobs.

The process runs three things:

* the claimer (`workers.claimer`), in a thread watched by a supervisor thread that starts it
  again if it ever ends: it claims bursts, starts due steps and reaps;
* the step threads (`workers.steps`): each deploy attempt and build poll runs here, at once,
  under a lease that a dead process stops renewing;
* an RQ worker in the main thread (scheduler included), for the long-running prune jobs; RQ's
  short heartbeat here (`HEARTBEAT_INTERVAL` + `HEARTBEAT_GRACE`) lets the reaper settle a prune
  job whose work horse died within about half a minute.

SIGTERM (and Ctrl-C) is a warm shutdown: RQ finishes the job in hand, the claimer stops taking
new steps, the running steps finish (their leases kept), then the process exits 0; also while
it waits for a lost Redis to come back.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq import Queue, Worker
from rq.job import Job

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.connections import sync_client
from relay.core.job_queue import SERIALIZER, job_queue
from relay.core.redis_health import startup_check
from relay.core.settings import Settings
from workers import runtime
from workers.claimer import Claimer
from workers.steps import StepRunner

log = logging.getLogger("relay.worker")

WORKER_TTL = 60
MAINTENANCE_INTERVAL = 30
#: seconds between a running job's heartbeats, and how long one may be late before the job
#: counts as abandoned
HEARTBEAT_INTERVAL = 5
HEARTBEAT_GRACE = 15
#: how long a warm shutdown waits for the running steps (each is bounded by its HTTP timeout)
DRAIN_TIMEOUT = 90.0
#: how often the supervisor looks at the claimer thread (seconds)
SUPERVISE_EVERY = 1.0


class RelayWorker(Worker):
    """RQ's Worker with a short heartbeat TTL (RQ hard-codes 60 s of grace)."""

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        interval = HEARTBEAT_INTERVAL
        if job.timeout and job.timeout > 0:
            interval = int(min(job.timeout - working_time, interval))
        return max(1, interval) + HEARTBEAT_GRACE


def _make_worker(settings: Settings, name: str) -> tuple[Queue, RelayWorker]:
    client = sync_client(settings)
    queue = job_queue(client)
    worker = RelayWorker(
        [queue],
        serializer=SERIALIZER,
        name=name,
        connection=client,
        worker_ttl=WORKER_TTL,
        maintenance_interval=MAINTENANCE_INTERVAL,
        job_monitoring_interval=HEARTBEAT_INTERVAL,
    )
    return queue, worker


def _claimer_client(settings: Settings) -> redis.Redis:
    """The claimer's client, made after a look at the Redis it names: what breaks the relay's
    promises is logged as a warning line, and a Redis nothing can work on (Cluster) stops the
    worker here with that line (`relay.core.redis_health.startup_check`)."""
    client = sync_client(settings)
    startup_check(client, settings)
    return client


def _wait_for_redis(settings: Settings) -> bool:
    """Wait for Redis to answer again: True when it does, False when SIGTERM or SIGINT came
    first (RQ's own handlers are gone with the worker that lost Redis, so these are ours)."""
    stop = threading.Event()

    def stopping(signum: int, frame: object) -> None:
        log.warning("worker: %s while waiting for Redis; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, stopping) for sig in (signal.SIGTERM, signal.SIGINT)}
    client = sync_client(settings, timeout=1.0)
    try:
        while not stop.is_set():
            try:
                client.ping()
                return True
            except (RedisConnectionError, RedisTimeoutError):
                stop.wait(1.0)
        return False
    finally:
        client.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class Supervisor:
    """Keeps the claimer running: a claimer thread that ended is started again."""

    def __init__(self, claimer: Claimer) -> None:
        self.claimer = claimer
        self.stop = threading.Event()
        self.thread = self._start()
        self.watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self.watcher.start()

    def _start(self) -> threading.Thread:
        thread = threading.Thread(
            target=self.claimer.run, args=(self.stop,), name="claimer", daemon=True
        )
        thread.start()
        return thread

    def _watch(self) -> None:
        while not self.stop.wait(SUPERVISE_EVERY):
            if not self.thread.is_alive():
                self.claimer.health.restarts += 1
                log.error("claimer thread ended; starting it again")
                self.thread = self._start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.watcher.join(timeout=5)


def _drain(runner: StepRunner) -> None:
    """Let the running steps finish, keeping their leases, then stop the threads."""
    runner.accepting = False
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while runner.busy and time.monotonic() < deadline:
        try:
            runner.renew(force=True)
        except (RedisConnectionError, RedisTimeoutError):
            pass
        time.sleep(0.2)
    runner.stop(wait=False)


def _due_now(settings: Settings) -> bool:
    """Anything due now: a burst to claim or a step to run (for `--burst`)."""
    client = sync_client(settings)
    now = server_ms(client)
    return bool(client.zcount(keys.DUE, "-inf", now) or client.zcount(keys.STEPS, "-inf", now))


def run_worker(settings: Settings, *, burst: bool = False, name: str | None = None) -> None:
    runtime.configure(settings)
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    ctx = runtime.get()
    runner = StepRunner(ctx, name)
    claimer = Claimer(_claimer_client(settings), settings, runner, name)
    if burst:
        _burst(settings, claimer, runner, name)
        return
    supervisor = Supervisor(claimer)
    restarts = 0
    try:
        while True:
            label = name if restarts == 0 else f"{name}-{restarts}"
            _, worker = _make_worker(settings, label)
            try:
                worker.work(with_scheduler=True, logging_level="INFO")
                return  # a warm shutdown (SIGTERM/SIGINT): the job in hand has finished
            except (RedisConnectionError, RedisTimeoutError) as exc:
                _silence(worker)
                if worker._shutdown_requested_date is not None:  # SIGTERM during an outage
                    log.warning("worker: stopping without Redis (%s)", type(exc).__name__)
                    return
                log.warning("worker: lost Redis (%s); waiting for it to return", type(exc).__name__)
                if not _wait_for_redis(settings):
                    return
                log.warning("worker: Redis is back; resuming")
                restarts += 1
    finally:
        supervisor.close()
        _drain(runner)


def _silence(worker: RelayWorker) -> None:
    """End what an RQ worker that lost Redis leaves running: its pubsub thread (it would go on
    retrying beside the next worker) and its scheduler process (which the interpreter would
    wait for at exit, so a SIGTERM during the outage would never end the process)."""
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        thread.stop()
    scheduler = getattr(worker, "scheduler", None)
    process = getattr(scheduler, "_process", None)
    if process is not None and process.is_alive():
        process.terminate()
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def _burst(settings: Settings, claimer: Claimer, runner: StepRunner, name: str) -> None:
    """Drain: claim and run what is due now, and the prune jobs, until nothing is left."""
    queue, worker = _make_worker(settings, name)
    while True:
        claimer.tick()
        while runner.busy:
            runner.renew()
            time.sleep(0.05)
        if queue.count:
            worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
            continue
        if not _due_now(settings) and not runner.busy:
            break
    runner.stop()
