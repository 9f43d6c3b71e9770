"""Benchmark 1, ingest: signed webhooks per second and acknowledgement latency.

Contenders, each on the same machine, the same bodies and the same signatures:
(a) `relay serve` (--workers 1 and 2): full HMAC verification and the one EVALSHA per request
    into a redis-server with AOF on (`appendfsync everysec`, and once `always`: an fsync
    before each batch's replies, as `relay up` runs it); every 202 is checked against the
    counts kept in Redis;
(b) a bare Starlette app answering 202 under the same uvicorn options (the stack's ceiling);
(c) adnanh/webhook verifying the same `X-Hub-Signature-256` (payload-hmac-sha256) and running
    /bin/true for each delivery.

Top rate: `wrk` (one thread, CONNECTIONS keep-alive connections) sending a rotating set of
BODIES pre-signed, all-different bodies (the relay's digest dedupe would answer a repeated body
200), best of ROUNDS runs. Fixed rate: bench.loadgen paces FIXED_RATE requests/s open-loop
(Debian has no wrk2) and measures each latency from the planned send time.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import loadgen
from bench.harness import (
    HOST,
    REPO,
    SECRET,
    SIGNATURE_HEADER,
    RssPeak,
    Served,
    Stack,
    children,
    cms_body,
    cpu_seconds,
    hmac_hook,
    loaded_modules,
    machine_jiffies,
    pct,
    rss_kib,
    sign,
    signed_headers,
)
from relay.cli.embedded_redis import free_port

CONNECTIONS = 16
WARMUP_SECONDS = 2
WRK_SECONDS = 5
ROUNDS = 2
BODIES = 60_000
FIXED_RATE = 200
FIXED_SECONDS = 5.0
HOOK = "cms"
PATH = f"/hooks/{HOOK}"
WRK_SCRIPT = Path(__file__).with_name("wrk_hooks.lua")


@dataclass(frozen=True)
class Contender:
    key: str
    label: str
    kind: str  # relay | bare | webhook
    workers: int = 1
    access_log: bool = False
    fixed_rate: bool = True  # also measured at FIXED_RATE
    every_round: bool = True  # else in the first round only
    appendfsync: str | None = None  # the Redis's fsync policy for this contender (else as is)


CONTENDERS = (
    Contender("relay-1", "(a) relay serve --workers 1", "relay", 1),
    Contender(
        "relay-1-fsync",
        "(a) relay serve --workers 1, Redis appendfsync always (as `relay up` runs it)",
        "relay",
        1,
        appendfsync="always",
    ),
    Contender("relay-2", "(a) relay serve --workers 2", "relay", 2),
    Contender(
        "relay-1-log", "(a) relay serve --workers 1 --access-log", "relay", 1, True, False, False
    ),
    Contender("bare-1", "(b) bare Starlette, 1 worker", "bare", 1),
    Contender("bare-2", "(b) bare Starlette, 2 workers", "bare", 2, fixed_rate=False),
    Contender("webhook", "(c) adnanh/webhook (Go)", "webhook"),
)


@dataclass
class WrkRun:
    key: str
    rate: float
    statuses: dict[int, int]
    errors: int
    latency_ms: dict[str, float]  # "50", "90", "99", "99.9", "100"
    cpu_us: dict[str, float]  # per request: server, redis, wrk
    busy: float  # machine CPU busy fraction (both cores) during the run
    peak_rss_kib: int
    stored: int | None = None  # relay: accepted deliveries counted in Redis
    duplicates: int | None = None

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not 200 <= s < 300) + self.errors


@dataclass
class FixedRun:
    key: str
    rate: float
    sent: int
    statuses: dict[int, int]
    p50_ms: float
    p99_ms: float
    p99_planned_ms: float
    max_ms: float


@dataclass
class IngestResult:
    runs: list[WrkRun] = field(default_factory=list)
    fixed: list[FixedRun] = field(default_factory=list)
    forged: dict[str, int] = field(default_factory=dict)  # status answered to a bad signature
    modules: dict[str, dict[str, bool]] = field(default_factory=dict)
    idle_rss_kib: dict[str, int] = field(default_factory=dict)

    def has(self, key: str) -> bool:
        return any(r.key == key for r in self.runs)

    def best(self, key: str) -> WrkRun:
        """The round with the highest rate (other load on the machine only ever lowers it)."""
        return max((r for r in self.runs if r.key == key), key=lambda r: r.rate)

    def best_fixed(self, key: str) -> FixedRun | None:
        """The fixed-rate round with the lowest p99."""
        runs = [f for f in self.fixed if f.key == key]
        return min(runs, key=lambda f: f.p99_ms) if runs else None


# -- contenders ---------------------------------------------------------------------------------


def _webhook_hooks(path: Path) -> Path:
    """adnanh/webhook's hooks.json: the same secret and header, /bin/true per delivery."""
    hooks = [
        {
            "id": HOOK,
            "execute-command": "/bin/true",
            "response-message": "accepted",
            "success-http-response-code": 202,
            "trigger-rule-mismatch-http-response-code": 401,
            "trigger-rule": {
                "match": {
                    "type": "payload-hmac-sha256",
                    "secret": SECRET,
                    "parameter": {"source": "header", "name": SIGNATURE_HEADER},
                }
            },
        }
    ]
    path.write_text(json.dumps(hooks, indent=2))
    return path


def launch(stack: Stack, who: Contender, config: Path) -> Served:
    if who.kind == "relay":
        return stack.serve(config, workers=who.workers, access_log=who.access_log)
    port = free_port()
    if who.kind == "bare":
        args = [sys.executable, "-m", "bench.bare", "--port", str(port)]
        args += ["--workers", str(who.workers)]
        proc = stack.start(
            f"bare-{port}", args, env={**stack.env(), "PYTHONPATH": str(REPO)}, cwd=REPO
        )
        ready = f"http://{HOST}:{port}/healthz"
    else:
        hooks = _webhook_hooks(stack.dir / "hooks.json")
        args = ["webhook", "-hooks", str(hooks), "-ip", HOST, "-port", str(port)]
        proc = stack.start(f"webhook-{port}", args)
        ready = f"http://{HOST}:{port}/"
    proc.wait_http(ready)
    return Served(proc, port)


def _server_pids(served: Served) -> list[int]:
    return [served.proc.pid, *children(served.proc.pid)]


# -- wrk ----------------------------------------------------------------------------------------


def write_bodies(path: Path, count: int = BODIES) -> Path:
    with path.open("w") as out:
        for n in range(count):
            body = cms_body(n)
            out.write(f"{sign(body)}\t{body.decode()}\n")
    return path


def _wrk(
    port: int, seconds: int, bodies: Path, first: int = 0
) -> tuple[dict[str, list[str]], float]:
    """Run wrk from body `first` on; returns its BENCH lines by name and its own CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s"]
    args += ["-s", str(WRK_SCRIPT), f"http://{HOST}:{port}{PATH}", "--", str(bodies), PATH]
    args.append(str(first))
    out = subprocess.run(
        args,
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines: dict[str, list[str]] = {}
    for line in out.splitlines():
        if line.startswith("BENCH "):
            name, *values = line.split()[1:]
            lines.setdefault(name, []).extend(values)
    return lines, cpu


def measure(stack: Stack, who: Contender, served: Served, bodies: Path) -> WrkRun:
    stack.flush()
    # the warm-up sends bodies from the end of the set, the measured run from the start; the
    # flush in between (after the warm-up's last in-flight requests) forgets the digests
    _wrk(served.port, WARMUP_SECONDS, bodies, first=BODIES * 3 // 4)
    time.sleep(0.3)
    stack.flush()
    redis_pid = stack.redis_server.process.pid if stack.redis_server.process else 0
    server_cpu, redis_cpu = cpu_seconds(served.proc.pid), cpu_seconds(redis_pid)
    busy0, total0 = machine_jiffies()
    with RssPeak(served.proc.pid) as peak:
        lines, wrk_cpu = _wrk(served.port, WRK_SECONDS, bodies)
    busy1, total1 = machine_jiffies()
    server_cpu = cpu_seconds(served.proc.pid) - server_cpu
    redis_cpu = cpu_seconds(redis_pid) - redis_cpu
    values = lines["status"]
    statuses = {int(values[i]): int(values[i + 1]) for i in range(0, len(values), 2)}
    requests = int(lines["requests"][0])
    seconds = int(lines["duration_us"][0]) / 1e6
    lat = lines["latency_us"]
    run = WrkRun(
        key=who.key,
        rate=requests / seconds,
        statuses=statuses,
        errors=int(lines["errors"][0]),
        latency_ms={lat[i]: int(lat[i + 1]) / 1000 for i in range(0, len(lat), 2)},
        cpu_us={
            "server": server_cpu / requests * 1e6,
            "redis": redis_cpu / requests * 1e6 if who.kind == "relay" else 0.0,
            "wrk": wrk_cpu / requests * 1e6,
        },
        busy=(busy1 - busy0) / max(1, total1 - total0),
        peak_rss_kib=peak.peak,
    )
    if who.kind == "relay":
        counts = stack.delivery_counts()
        run.stored = counts.get(f"{HOOK}:accepted", 0)
        run.duplicates = counts.get(f"{HOOK}:duplicate", 0)
    return run


def fixed_rate(stack: Stack, who: Contender, served: Served) -> FixedRun:
    stack.flush()
    count = int(FIXED_RATE * FIXED_SECONDS)
    requests = []
    for n in range(count):
        body = cms_body(1_000_000 + n)
        requests.append(loadgen.Request(PATH, signed_headers(body), body, at=n / FIXED_RATE))
    result = loadgen.run(HOST, served.port, requests, CONNECTIONS, timeout=FIXED_SECONDS + 60)
    statuses: dict[int, int] = {}
    for o in result.outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    latency = [o.latency * 1000 for o in result.outcomes]
    return FixedRun(
        key=who.key,
        rate=count / (max(o.sent for o in result.outcomes) - result.started),
        sent=count,
        statuses=statuses,
        p50_ms=pct(latency, 50),
        p99_ms=pct(latency, 99),
        p99_planned_ms=pct([o.latency_planned * 1000 for o in result.outcomes], 99),
        max_ms=max(latency),
    )


def _forged(served: Served) -> int:
    body = cms_body(-1)
    headers = signed_headers(body, secret="not-the-secret")
    return httpx.post(served.url + PATH, content=body, headers=headers, timeout=5).status_code


def run(
    stack: Stack, contenders: tuple[Contender, ...] = CONTENDERS, rounds: int = ROUNDS
) -> IngestResult:
    for tool in ("wrk", "webhook"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not installed (apt-get install -y wrk webhook)")
    config = stack.config(
        "ingest",
        {"site": {"project": "site", "branch": "main", "debounce": "30s", "max_wait": "5m"}},
        {HOOK: hmac_hook(["site"])},
    )
    bodies = write_bodies(stack.dir / "bodies.txt")
    result = IngestResult()
    for round_ in range(rounds):
        for who in contenders:
            if round_ > 0 and not who.every_round:
                continue
            before = _fsync(stack, who.appendfsync) if who.appendfsync else None
            served = launch(stack, who, config)
            try:
                if round_ == 0:
                    time.sleep(0.5)
                    result.idle_rss_kib[who.key] = rss_kib(served.proc.pid)
                    result.forged[who.key] = _forged(served)
                    pids = _server_pids(served)
                    result.modules[who.key] = loaded_modules(
                        pids[-1], ("uvloop", "httptools", "hiredis")
                    )
                result.runs.append(measure(stack, who, served, bodies))
                if who.fixed_rate:
                    result.fixed.append(fixed_rate(stack, who, served))
            finally:
                served.stop()
                if before is not None:
                    _fsync(stack, before)
    return result


def _fsync(stack: Stack, policy: str) -> str:
    """Set the stack Redis's appendfsync; returns the policy it had."""
    before = str(stack.redis.config_get("appendfsync")["appendfsync"])
    stack.redis.config_set("appendfsync", policy)
    return before
