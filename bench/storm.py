"""Benchmark 2, storm: 10,000 signed deliveries for one target within 10 s.

(A) as fast as the relay takes them, one burst (max_wait 60 s): every delivery acknowledged
    2xx, all 10,000 recorded (the relay's counts hash and the `relay:deliveries` stream), and
    exactly one build call at the fake Pages API;
(B) paced over 10 s at 1,000/s with max_wait 4 s: one build per max_wait window, the
    triggers' delivery counts adding up to 10,000;
(direct) the baseline: DIRECT deliveries posted straight to a Pages deploy hook of the fake
    (what pointing the CMS at the hook does) give one build each; scaled to 10,000 linearly.

Redis memory per 10,000 deliveries is the INFO used_memory delta over storm A.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bench import loadgen
from bench.harness import HOST, Stack, cms_body, hmac_hook, pct, signed_headers, wait_until

DELIVERIES = 10_000
CONNECTIONS = 32
PACED_RATE = 1_000  # storm B: deliveries per second
DIRECT = 500  # deliveries posted straight at the deploy hook for the baseline
FINAL = {"success", "failure", "canceled", "skipped", "stuck", "triggered", "failed"}


@dataclass
class StormRun:
    name: str
    sent: int
    seconds: float  # first send to last acknowledgement
    statuses: dict[int, int]
    p50_ms: float
    p99_ms: float
    recorded: int  # the relay's "<hook>:accepted" count
    stream: int  # entries in relay:deliveries
    builds: int  # build calls at the fake
    expected_builds: int
    triggers: int
    covered: int  # sum of the triggers' delivery counts
    longest_span_s: float  # longest first->last delivery of one trigger
    max_wait_s: float


@dataclass
class StormResult:
    runs: list[StormRun] = field(default_factory=list)
    direct_sent: int = 0
    direct_builds: int = 0
    memory_delta: int = 0  # used_memory over storm A
    stream_bytes: int = 0  # MEMORY USAGE of the two delivery streams after storm A
    serve_workers: int = 1


def _requests(hook: str, first: int, count: int, rate: float | None) -> list[loadgen.Request]:
    out = []
    for n in range(count):
        body = cms_body(first + n, hook)
        at = n / rate if rate else None
        out.append(loadgen.Request(f"/hooks/{hook}", signed_headers(body), body, at))
    return out


def _send(stack: Stack, port: int, hook: str, first: int, rate: float | None) -> loadgen.LoadResult:
    requests = _requests(hook, first, DELIVERIES, rate)
    return loadgen.run(HOST, port, requests, CONNECTIONS, timeout=120)


def _settle(
    stack: Stack,
    name: str,
    hook: str,
    project: str,
    sent: loadgen.LoadResult,
    max_wait: float,
    expected_builds: int,
) -> StormRun:
    """Wait for the storm's builds to finish, then count everything."""
    statuses: dict[int, int] = {}
    for o in sent.outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    latency = [o.latency * 1000 for o in sent.outcomes]

    def settled() -> list[dict[str, str]] | None:
        rows = [t for t in stack.triggers() if t.get("target") == hook]
        covered = sum(int(t.get("deliveries", 0)) for t in rows)
        done = all(t.get("status") in FINAL for t in rows)
        return rows if rows and done and covered >= DELIVERIES else None

    wait_until(settled, timeout=60, interval=0.2)
    # no further build may follow: wait out one more quiet period + claim + build
    wait_until(lambda: False, timeout=3.0, interval=0.5)
    rows = [t for t in stack.triggers() if t.get("target") == hook]
    spans = [(int(t["last_at"]) - int(t["first_at"])) / 1000 for t in rows]
    return StormRun(
        name=name,
        sent=len(sent.outcomes),
        seconds=sent.duration,
        statuses=statuses,
        p50_ms=pct(latency, 50),
        p99_ms=pct(latency, 99),
        recorded=stack.delivery_counts().get(f"{hook}:accepted", 0),
        stream=_stream_count(stack, hook),
        builds=len(stack.fake.create_calls(project)),
        expected_builds=expected_builds,
        triggers=len(rows),
        covered=sum(int(t.get("deliveries", 0)) for t in rows),
        longest_span_s=max(spans, default=0.0),
        max_wait_s=max_wait,
    )


def _stream_count(stack: Stack, hook: str) -> int:
    """Entries in the hook's delivery-id stream (each points into relay:deliveries)."""
    return int(stack.redis.xlen(f"relay:deliveries:{hook}"))


def _memory_usage(stack: Stack, key: str) -> int:
    value: Any = stack.redis.memory_usage(key, samples=0)
    return int(value or 0)


def run(stack: Stack, serve_workers: int = 1) -> StormResult:
    stack.flush()
    stack.reset_fake()
    for project in ("storm", "spread", "direct"):
        stack.fake.add_project(project)
    stack.fake.set_build(duration=1.0)
    config = stack.config(
        "storm",
        {
            "storm": {"project": "storm", "branch": "main", "debounce": "2s", "max_wait": "60s"},
            "spread": {"project": "spread", "branch": "main", "debounce": "1s", "max_wait": "4s"},
        },
        {"storm": hmac_hook(["storm"]), "spread": hmac_hook(["spread"])},
    )
    served = stack.serve(config, workers=serve_workers)
    worker = stack.worker(config, "storm")
    out = StormResult(serve_workers=serve_workers)
    try:
        before = stack.used_memory()
        sent = _send(stack, served.port, "storm", 0, None)
        # right after the last acknowledgement, before the claim (2 s of quiet later)
        out.memory_delta = stack.used_memory() - before
        out.stream_bytes = _memory_usage(stack, "relay:deliveries") + _memory_usage(
            stack, "relay:deliveries:storm"
        )
        out.runs.append(_settle(stack, "A: one burst", "storm", "storm", sent, 60.0, 1))
        sent = _send(stack, served.port, "spread", DELIVERIES, PACED_RATE)
        expected = -(-DELIVERIES // PACED_RATE // 4)  # one build per started 4 s window
        out.runs.append(
            _settle(stack, "B: 10 s stream, max_wait 4 s", "spread", "spread", sent, 4.0, expected)
        )
        hook_url = urlsplit(stack.fake.add_deploy_hook("direct", "main"))
        direct = [
            loadgen.Request(hook_url.path, {"Content-Type": "application/json"}, cms_body(n))
            for n in range(DIRECT)
        ]
        sent = loadgen.run(HOST, stack.fake.port, direct, CONNECTIONS, timeout=60)
        out.direct_sent = sent.ok
        out.direct_builds = len(stack.fake.create_calls("direct"))
    finally:
        worker.stop()
        served.stop()
    return out
