"""docs/benchmarks.md from one run's results: figures, ratios, targets, machine and versions."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from bench.footprint import Idle
from bench.ingest import CONNECTIONS, FIXED_RATE, IngestResult
from bench.memory import MemoryResult
from bench.memory import section as memory_section
from bench.precision import PrecisionResult
from bench.profile import Profile
from bench.scale import ScaleResult
from bench.sections import (
    fmt_ms,
    fmt_n,
    footprint_section,
    ingest_section,
    md_table,
    precision_section,
    profile_section,
    scale_section,
    storm_section,
    verdict,
)
from bench.storm import DELIVERIES, StormResult

T = TypeVar("T")

#: the hand-written analysis appended to every report
FINDINGS = Path(__file__).with_name("findings.md")

PACKAGES = (
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "redis",
    "hiredis",
    "rq",
    "orjson",
    "httpx",
    "prometheus-client",
    "py-spy",
)


@dataclass
class Results:
    started: float
    steps: list[str]
    relay_src: Path | None = None
    finished: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    idle: Idle | None = None
    ingest: IngestResult | None = None
    profile: Profile | None = None
    storm: StormResult | None = None
    precision: list[PrecisionResult] = field(default_factory=list)
    scale: ScaleResult | None = None
    memory: MemoryResult | None = None


# -- machine and summary ---------------------------------------------------------------------


def _command(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "?"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine(results: Results) -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    os_name = "?"
    for line in Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            os_name = line.split("=", 1)[1].strip('"')
    load = Path("/proc/loadavg").read_text().split()[:3]
    rows = [
        ["CPU", f"{cpu}, {os.cpu_count()} cores"],
        ["memory", f"{mem_kib / 1024 / 1024:.1f} GiB"],
        ["OS, kernel", f"{os_name}, Linux {platform.release()}"],
        ["Python", platform.python_version()],
        ["redis-server", _command(["redis-server", "--version"])],
        ["wrk", _command(["wrk", "-v"])],
        ["adnanh/webhook", _command(["webhook", "-version"])],
    ]
    rows += [[name, _version(name)] for name in PACKAGES]
    rows.append(["load average at the end", " ".join(load)])
    return md_table(["", ""], rows)


def summary(results: Results) -> str:
    rows: list[list[str]] = []
    ing = results.ingest
    if ing is not None and all(ing.has(k) for k in ("relay-1", "relay-2", "bare-1", "bare-2")):
        hook = ing.best("webhook") if ing.has("webhook") else None
        a_c, a_b, p99s = [], [], []
        for w in (1, 2):
            relay, bare = ing.best(f"relay-{w}"), ing.best(f"bare-{w}")
            a_b.append(
                (
                    relay.rate / bare.rate,
                    f"w{w}: {relay.rate / bare.rate:.2f} "
                    f"({fmt_n(relay.rate)} / {fmt_n(bare.rate)}; CPU/request "
                    f"{bare.cpu_us['server'] / relay.cpu_us['server']:.2f})",
                )
            )
            if hook is not None:
                a_c.append(
                    (
                        relay.rate / hook.rate,
                        f"w{w}: {relay.rate / hook.rate:.2f} "
                        f"({fmt_n(relay.rate)} / {fmt_n(hook.rate)})",
                    )
                )
            p99s.append(
                (
                    relay.latency_ms["99"],
                    f"w{w}: {fmt_ms(relay.latency_ms['99'])} ms at {fmt_n(relay.rate)}/s",
                )
            )
        # the goals are for one receiver process (w1); w2 is shown beside it
        if a_c:
            rows.append(
                [
                    "a/c: relay / adnanh/webhook, signed webhooks/s, one process",
                    "≥ 1.0",
                    "; ".join(t for _, t in a_c),
                    verdict(a_c[0][0] >= 1.0),
                ]
            )
        rows.append(
            [
                "a/b: relay / bare Starlette, same --workers, one process",
                "≥ 0.6",
                "; ".join(t for _, t in a_b),
                verdict(a_b[0][0] >= 0.6),
            ]
        )
        if ing.has("relay-1-fsync"):
            synced, written = ing.best("relay-1-fsync"), ing.best("relay-1")
            rows.append(
                [
                    "appendfsync always / everysec, relay serve --workers 1",
                    "≥ 0.9",
                    f"{synced.rate / written.rate:.2f} ({fmt_n(synced.rate)} / "
                    f"{fmt_n(written.rate)}; p99 {fmt_ms(synced.latency_ms['99'])} ms)",
                    verdict(synced.rate / written.rate >= 0.9),
                ]
            )
        rows.append(
            [
                f"p99 at the top rate ({CONNECTIONS} connections)",
                "≤ 20 ms",
                "; ".join(t for _, t in p99s),
                verdict(min(v for v, _ in p99s) <= 20),
            ]
        )
        fixed = [ing.best_fixed(k) for k in ("relay-1", "relay-2")]
        shown = [f for f in fixed if f is not None]
        if shown:
            rows.append(
                [
                    f"p99 at {FIXED_RATE} requests/s",
                    "≤ 5 ms",
                    "; ".join(f"w{f.key[-1]}: {fmt_ms(f.p99_ms)} ms" for f in shown),
                    verdict(min(f.p99_ms for f in shown) <= 5),
                ]
            )
    if results.storm is not None and results.storm.runs:
        a = results.storm.runs[0]
        acked = sum(n for code, n in a.statuses.items() if 200 <= code < 300)
        ok = acked == DELIVERIES and a.recorded == DELIVERIES and a.builds == 1
        rows.append(
            [
                "storm: 10,000 in ≤ 10 s, all 2xx, all recorded, one build",
                "yes",
                f"{fmt_n(a.seconds, 1)} s, {fmt_n(acked)} x 2xx, "
                f"{fmt_n(a.recorded)} recorded, {a.builds} build",
                verdict(ok and a.seconds <= 10),
            ]
        )
    for p in results.precision:
        rows.append(
            [
                f"precision ({p.workers} worker{'s' if p.workers > 1 else ''}): build ≤ quiet "
                "+ 250 ms after the last, ≤ max_wait + 250 ms after the first",
                "50 of 50",
                f"{p.within} of {len(p.bursts)} (builds: {p.builds})",
                verdict(p.within == len(p.bursts) == 50),
            ]
        )
    if results.scale is not None:
        for r in results.scale.rounds:
            rows.append(
                [
                    f"scale, {r.workers} worker{'s' if r.workers > 1 else ''}: builds = bursts",
                    fmt_n(results.scale.targets),
                    f"{fmt_n(r.builds)} builds, {fmt_n(r.triggers)} triggers",
                    verdict(r.builds == r.triggers == results.scale.targets),
                ]
            )
    return md_table(["target", "goal", "measured", ""], rows)


def render(results: Results) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(results.started))
    took = results.finished - results.started
    steps = ", ".join(f"{k} {v:.0f} s" for k, v in results.seconds.items())
    sections: list[tuple[bool, Callable[[], str]]] = [
        (results.ingest is not None, lambda: ingest_section(_need(results.ingest))),
        (results.storm is not None, lambda: storm_section(_need(results.storm))),
        (bool(results.precision), lambda: precision_section(results.precision)),
        (results.scale is not None, lambda: scale_section(_need(results.scale), results.storm)),
        (
            results.idle is not None or results.scale is not None,
            lambda: footprint_section(results.idle, results.ingest, results.scale),
        ),
        (results.profile is not None, lambda: profile_section(_need(results.profile))),
        (results.memory is not None, lambda: memory_section(_need(results.memory))),
    ]
    body = "\n".join(make() for present, make in sections if present)
    source = f" (relay from `{results.relay_src}`)" if results.relay_src else ""
    return f"""# Benchmarks

Generated by `.venv/bin/python -m bench` on {when}{source}; the run took {took / 60:.1f} minutes
({steps}). Everything runs on one machine over loopback: the relay's own processes
(`relay serve`, `relay worker`), a real `redis-server` with AOF on, the fake Cloudflare Pages API
of the tests, and the load generators (wrk; `bench/loadgen.py` in its own process). Each
figure is compared with a baseline measured in the same run. Nothing here is part of the test
suite.

## Results against the targets

{summary(results)}

## How to reproduce

```sh
apt-get update && apt-get install -y wrk webhook   # Debian's wrk 4 and adnanh/webhook
.venv/bin/pip install -e '.[test]' py-spy
.venv/bin/python -m bench                          # all of it, writes docs/benchmarks.md
.venv/bin/python -m bench --only ingest,profile    # a part (see --help)
.venv/bin/python -m bench --relay-src /path/to/copy    # the same against another source tree
.venv/bin/python -m bench.compare ORIGINAL PATCHED --rounds 2 --scale   # interleaved A/B
```

The machine is shared: other processes (e.g. a test suite) running at the same time take CPU
from the contenders, which lowers requests/s far more than CPU per request. Compare the
ratios, which are measured minutes apart in the same run, rather than absolute figures across
runs.

## Machine

{machine(results)}

{body}
{FINDINGS.read_text()}"""


def _need(value: T | None) -> T:
    assert value is not None
    return value
