"""Benchmark 5, footprint: resident memory (RSS, /proc) of `relay serve` and `relay worker`.

Idle figures are measured here, on processes started for the purpose and left alone for
SETTLE seconds; the under-load figures are the peaks sampled during the ingest runs (serve,
under wrk) and the scale rounds (worker, while it drains 1,000 builds). A process's figure
includes its children: uvicorn's worker processes for `serve --workers 2`; RQ's scheduler
process (one worker holds the scheduler lock) and the work horse forked per job for `worker`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.harness import Stack, children, hmac_hook, rss_kib, wait_until

SETTLE = 1.5


@dataclass
class Idle:
    serve_kib: dict[int, int] = field(default_factory=dict)  # by --workers
    worker_kib: int = 0  # the worker process alone
    worker_tree_kib: int = 0  # with its children (the RQ scheduler process)


def run(stack: Stack) -> Idle:
    stack.flush()
    config = stack.config(
        "footprint",
        {"site": {"project": "site", "branch": "main", "debounce": "30s", "max_wait": "5m"}},
        {"cms": hmac_hook(["site"])},
    )
    idle = Idle()
    for workers in (1, 2):
        served = stack.serve(config, workers=workers)
        time.sleep(SETTLE)
        idle.serve_kib[workers] = rss_kib(served.proc.pid)
        served.stop()
    worker = stack.worker(config, "footprint")
    try:
        wait_until(lambda: stack.redis.scard("rq:workers") >= 1, timeout=20)
        wait_until(lambda: children(worker.pid), timeout=10)  # the scheduler process
        time.sleep(SETTLE)
        idle.worker_tree_kib = rss_kib(worker.pid)
        idle.worker_kib = idle.worker_tree_kib - sum(rss_kib(c) for c in children(worker.pid))
    finally:
        worker.stop()
    return idle
