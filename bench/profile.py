"""Where `relay serve` spends its time under the ingest load: py-spy against the live process.

`py-spy record --nonblocking` samples `relay serve --workers 1` while wrk drives it as in the
ingest benchmark; the collapsed stacks are kept (artifacts dir, loadable in speedscope or
flamegraph.pl) and summarised here three ways: by layer (the innermost frame that is not
standard library decides), the top frames by own time, and the inclusive share of the
functions on the hot path.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.harness import HOST, Stack, hmac_hook
from bench.ingest import CONNECTIONS, PATH, WRK_SCRIPT, write_bodies

SECONDS = 8
RATE = 250  # samples per second

#: (layer, pattern on "function (file)") in order; the first frame from the leaf up that
#: matches a pattern decides the sample's layer
LAYERS = (
    ("Redis client (redis-py asyncio: pool, pack, send, parse)", r"\(redis/"),
    ("metrics (prometheus_client)", r"\(prometheus_client/"),
    ("signature check (provider)", r"\(relay/web/providers/"),
    ("delivery record + Lua arguments (relay/web/ingest.py)", r"\(relay/web/ingest\.py"),
    ("batching the ingest scripts (relay/web/script_batch.py)", r"\(relay/web/script_batch\.py"),
    ("receiver: headers, body, URL, answer (relay/web/receiver.py)", r"\(relay/web/receiver\.py"),
    ("the app's middleware (relay/web/headers.py)", r"\(relay/web/headers"),
    ("other relay code", r"\(relay/"),
    ("response objects (Starlette Response, send)", r"\(starlette/responses\.py"),
    ("Starlette request, routing, middleware", r"\(starlette/"),
    ("uvicorn + httptools: parse, socket write", r"\(uvicorn/"),
)
HOT = (
    "Receiver.handle (relay/web/receiver.py)",
    "Ingest.store (relay/web/ingest.py)",
    "ScriptBatcher.__call__ (relay/web/script_batch.py)",
    "ScriptBatcher._flush (relay/web/script_batch.py)",
    "AsyncScript.__call__ (redis/commands/core.py)",
    "HmacSha256.verify (relay/web/providers/hmac_sha256.py)",
    "read_body (relay/web/receiver.py)",
    "Response.__call__ (starlette/responses.py)",
    "Response.__init__ (starlette/responses.py)",
    "MetricWrapperBase.labels (prometheus_client/metrics.py)",
    "Delivery.to_json (relay/web/ingest.py)",
)


@dataclass
class Profile:
    samples: int = 0
    rate: float = 0.0  # requests/s wrk saw while sampling
    layers: list[tuple[str, float]] = field(default_factory=list)  # share of samples
    top_self: list[tuple[str, float]] = field(default_factory=list)
    hot: list[tuple[str, float]] = field(default_factory=list)
    raw: Path | None = None
    error: str | None = None


def _py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def summarise(raw: Path, profile: Profile) -> None:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";") if f.strip()]
        frames = frames or ["(no Python frame: the thread was in C code)"]
        frames = [re.sub(r"\(.*?/site-packages/", "(", f) for f in frames]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
        layer = "event loop (uvloop, in C: epoll, socket reads), asyncio"
        for frame in reversed(frames):
            found = next((name for name, pat in LAYERS if re.search(pat, frame)), None)
            if found:
                layer = found
                break
        layers[layer] += n
    profile.samples = total
    if not total:
        return
    profile.layers = [(k, v / total) for k, v in layers.most_common()]
    profile.top_self = [(k, v / total) for k, v in own.most_common(15)]
    profile.hot = [(k, inclusive[k] / total) for k in HOT]


def run(stack: Stack, artifacts: Path) -> Profile:
    profile = Profile()
    spy = _py_spy()
    if spy is None:
        profile.error = "py-spy is not installed (.venv/bin/pip install py-spy)"
        return profile
    stack.flush()
    config = stack.config(
        "profile",
        {"site": {"project": "site", "branch": "main", "debounce": "30s", "max_wait": "5m"}},
        {"cms": hmac_hook(["site"])},
    )
    bodies = stack.dir / "bodies.txt"
    if not bodies.exists():
        write_bodies(bodies)
    served = stack.serve(config)
    raw = artifacts / "serve-profile.txt"
    try:
        args = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS + 3}s", "-s", str(WRK_SCRIPT)]
        args += [f"http://{HOST}:{served.port}{PATH}", "--", str(bodies), PATH]
        load = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
        time.sleep(1.5)
        spy_args = [spy, "record", "-p", str(served.proc.pid), "-d", str(SECONDS)]
        spy_args += ["-r", str(RATE), "--nonblocking", "-f", "raw", "-o", str(raw)]
        done = subprocess.run(spy_args, capture_output=True, text=True, timeout=SECONDS + 30)
        out, _ = load.communicate(timeout=SECONDS + 30)
    finally:
        served.stop()
    if done.returncode != 0 or not raw.exists():
        profile.error = f"py-spy failed: {done.stderr.strip()[-300:]}"
        return profile
    profile.raw = raw
    numbers = {
        line.split()[1]: int(line.split()[-1])
        for line in out.splitlines()
        if line.startswith(("BENCH requests", "BENCH duration_us"))
    }
    if numbers.get("duration_us"):
        profile.rate = numbers.get("requests", 0) / (numbers["duration_us"] / 1e6)
    summarise(raw, profile)
    return profile
