"""Benchmark 4, scale: 1,000 targets, interleaved bursts, 1-4 workers.

The targets are Pages deploy hooks of the fake (one RQ job per build; a project + branch target
adds a watch job per poll, which would double the round time without telling more about the
debounce).

Each round sends DELIVERIES_PER_TARGET deliveries to each of TARGETS targets (one hook each),
round-robin (t0, t1, ..., t999, t0, ...), so every target's burst is spread over the whole send
and all of them come due within a couple of seconds of each other. Checked per round: builds at
the fake == bursts (exactly TARGETS), each trigger covering its target's deliveries. Measured:
claim latency (the trigger's creation minus its due time, both on the Redis clock), build-call
latency (the fake's call time minus the due time: claim + RQ queue + job), and Redis memory
(INFO used_memory) per target: pending (after the deliveries, before the claim) and what a
build leaves behind (trigger record, RQ job records) once every build is final.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import (
    HOST,
    RssPeak,
    Stack,
    cms_body,
    hmac_hook,
    pct,
    rss_kib,
    signed_headers,
    wait_until,
)

TARGETS = 1_000
DELIVERIES_PER_TARGET = 3
WORKERS = (1, 2, 3, 4)
QUIET = 3.0
MAX_WAIT = 60.0
CONNECTIONS = 32
ROUND_TIMEOUT = 150.0
FINAL = {"success", "failure", "canceled", "skipped", "stuck", "triggered", "failed"}


@dataclass
class ScaleRound:
    workers: int
    sent: int
    non_2xx: int
    send_seconds: float
    builds: int
    triggers: int
    covered: int  # sum of the triggers' delivery counts
    settled: bool  # every trigger final within ROUND_TIMEOUT
    claim_ms: list[float]  # per trigger: created_at - due
    build_ms: list[float]  # per build call: call time - due
    drain_seconds: float  # from the first due time to the last build call
    memory_pending: int  # used_memory after the sends minus before
    memory_after: int  # used_memory once all builds are final minus before
    burst_bytes: float = 0.0  # MEMORY USAGE of a pending burst hash (mean of a sample)
    hook_stream_bytes: float = 0.0  # MEMORY USAGE of a hook's delivery-id stream
    worker_rss_kib: list[int] = field(default_factory=list)  # per worker, idle
    worker_peak_kib: int = 0  # the first worker's process tree, peak during the round
    worker_own_peak_kib: int = 0  # the first worker process alone, peak during the round


@dataclass
class ScaleResult:
    rounds: list[ScaleRound] = field(default_factory=list)
    targets: int = TARGETS
    deliveries_per_target: int = DELIVERIES_PER_TARGET


def _names() -> list[str]:
    return [f"s{k:04d}" for k in range(TARGETS)]


def _due_ms(trigger: dict[str, str]) -> float:
    return min(int(trigger["last_at"]) + QUIET * 1000, int(trigger["first_at"]) + MAX_WAIT * 1000)


def _round(
    stack: Stack, port: int, config: Path, workers: int, hooks: dict[str, str]
) -> ScaleRound:
    stack.flush()
    stack.fake.clear_calls()
    procs = [stack.worker(config, f"scale{workers}-{i}") for i in range(workers)]
    try:
        wait_until(lambda: stack.redis.scard("rq:workers") >= workers, timeout=30)
        time.sleep(0.5)
        idle = [rss_kib(p.pid) for p in procs]
        requests = []
        for n in range(DELIVERIES_PER_TARGET):
            for name in _names():
                body = cms_body(n, name)
                requests.append(loadgen.Request(f"/hooks/{name}", signed_headers(body), body))
        before = stack.used_memory()
        with RssPeak(procs[0].pid, interval=0.25) as peak:
            sent = loadgen.run(HOST, port, requests, CONNECTIONS, timeout=120)
            pending = stack.used_memory() - before
            burst, stream = _key_sizes(stack)

            def settled() -> bool:
                rows = stack.triggers()
                return len(rows) >= TARGETS and all(t.get("status") in FINAL for t in rows)

            done = bool(wait_until(settled, timeout=ROUND_TIMEOUT, interval=0.5))
            wait_until(lambda: False, timeout=2.0, interval=0.5)  # any extra build shows up
        after = stack.used_memory() - before
        rows = stack.triggers()
        calls = stack.fake.create_calls()
    finally:
        for proc in procs:
            proc.stop()
    due = {t["target"]: _due_ms(t) for t in rows}
    build_ms = [
        float(c["time"]) * 1000 - due[hooks[c["hook_id"]]]
        for c in calls
        if hooks.get(c["hook_id"]) in due
    ]
    first_due = min(due.values(), default=0.0)
    last_call = max((float(c["time"]) * 1000 for c in calls), default=first_due)
    return ScaleRound(
        workers=workers,
        sent=len(sent.outcomes),
        non_2xx=sent.not_ok,
        send_seconds=sent.duration,
        builds=len(calls),
        triggers=len(rows),
        covered=sum(int(t.get("deliveries", 0)) for t in rows),
        settled=done,
        claim_ms=[int(t["created_at"]) - _due_ms(t) for t in rows],
        build_ms=build_ms,
        drain_seconds=(last_call - first_due) / 1000,
        memory_pending=pending,
        memory_after=after,
        burst_bytes=burst,
        hook_stream_bytes=stream,
        worker_rss_kib=idle,
        worker_peak_kib=peak.peak,
        worker_own_peak_kib=peak.own_peak,
    )


def _key_sizes(stack: Stack, sample: int = 20) -> tuple[float, float]:
    """Mean MEMORY USAGE of the first `sample` targets' burst hashes and hook streams."""
    names = _names()[:sample]

    def usage(key: str) -> int:
        value: Any = stack.redis.memory_usage(key, samples=0)
        return int(value or 0)

    bursts = [usage(f"relay:burst:{name}") for name in names]
    streams = [usage(f"relay:deliveries:{name}") for name in names]
    return sum(bursts) / sample, sum(streams) / sample


def run(stack: Stack, workers: tuple[int, ...] = WORKERS) -> ScaleResult:
    stack.reset_fake()
    stack.fake.add_project("scale")
    stack.fake.set_build(duration=0.0)
    names = _names()
    urls = {name: stack.fake.add_deploy_hook("scale", name) for name in names}
    hooks = {url.rsplit("/", 1)[1]: name for name, url in urls.items()}
    config = stack.config(
        "scale",
        {
            name: {
                "deploy_hook": urls[name],
                "debounce": f"{QUIET:g}s",
                "max_wait": f"{MAX_WAIT:g}s",
            }
            for name in names
        },
        {name: hmac_hook([name]) for name in names},
    )
    served = stack.serve(config)
    result = ScaleResult()
    try:
        for count in workers:
            result.rounds.append(_round(stack, served.port, config, count, hooks))
    finally:
        served.stop()
    return result


def latency_summary(values: list[float]) -> tuple[float, float, float]:
    """(p50, p99, max)."""
    return pct(values, 50), pct(values, 99), max(values, default=float("nan"))
