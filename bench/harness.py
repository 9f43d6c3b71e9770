"""What every benchmark shares: the stack under test and how its processes are started, signed
requests, waiting, RSS and percentiles.

The stack is the real thing: a redis-server with AOF on (`appendfsync everysec`, as
docker-compose.yml runs it), `relay serve` / `relay worker` started as users start them, and the
fake Cloudflare Pages API of the tests (a real HTTP server in this process; every build call is
logged with its time).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import httpx
import redis

from relay.cli.embedded_redis import RedisServer, free_port
from relay.core import keys
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.relay_env import ACCOUNT, TOKEN, to_toml

T = TypeVar("T")

HOST = "127.0.0.1"
SECRET = "bench-secret-3b9d1f0e7a"
SIGNATURE_HEADER = "X-Hub-Signature-256"
REPO = Path(__file__).resolve().parent.parent


# -- requests -----------------------------------------------------------------------------------


def sign(body: bytes, secret: str = SECRET) -> str:
    """GitHub's form (`sha256=<hex>`), computed here, independently of the relay's code."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def cms_body(n: int, target: str = "site") -> bytes:
    """A ~450-byte entry-publish webhook, different for every n (so no two are duplicates)."""
    doc = {
        "event": "entry.publish",
        "sys": {
            "id": f"entry-{n:08d}",
            "type": "Entry",
            "revision": n % 97 + 1,
            "space": {"sys": {"id": "bench-space", "type": "Link"}},
            "contentType": {"sys": {"id": "blogPost", "type": "Link"}},
            "environment": {"sys": {"id": "master", "type": "Link"}},
            "updatedAt": "2025-01-01T00:00:00.000Z",
        },
        "fields": {
            "title": {"en-US": f"Post number {n} for {target}"},
            "slug": {"en-US": f"post-{n}"},
            "summary": {"en-US": "A benchmark entry: long enough to look like a real payload."},
        },
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def signed_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(body, secret), "Content-Type": "application/json"}


# -- numbers ------------------------------------------------------------------------------------


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def wait_until(condition: Callable[[], T], timeout: float, interval: float = 0.05) -> T | None:
    """The first truthy value of `condition()`, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value or None
        time.sleep(interval)


# -- processes ----------------------------------------------------------------------------------


def own_rss_kib(pid: int) -> int:
    """Resident set of `pid` alone, in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def rss_kib(pid: int) -> int:
    """Resident set of `pid` and all its descendants, in KiB (0 once it is gone)."""
    total = own_rss_kib(pid)
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += rss_kib(int(child))
    except (OSError, ValueError):
        pass
    return total


class RssPeak:
    """Samples a process tree's RSS every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0  # the whole tree
        self.own_peak = 0  # the process alone
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.own_peak = max(self.own_peak, own_rss_kib(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Proc:
    """A subprocess in its own session with a log file; `stop()` ends it and its children."""

    def __init__(
        self, name: str, args: list[str], log: Path, env: dict[str, str], cwd: Path
    ) -> None:
        self.name = name
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_http(self, url: str, timeout: float = 20.0) -> None:
        """Until `url` answers (any status); raises with the log if the process died."""

        def answers() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.output()[-3000:]}")
            try:
                httpx.get(url, timeout=1.0)
            except httpx.HTTPError:
                return False
            return True

        if not wait_until(answers, timeout, interval=0.1):
            raise RuntimeError(f"{self.name} did not answer {url} in {timeout}s")

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# -- the stack ----------------------------------------------------------------------------------


class Stack:
    """A durable redis-server, the fake Pages API and a work directory; starts relay processes.

    `relay_src`: run `relay` from this source tree instead of the checkout (to measure a patched
    private copy side by side with the original).
    """

    def __init__(self, workdir: Path, relay_src: Path | None = None) -> None:
        self.dir = workdir
        self.relay_src = relay_src or REPO
        self.redis_server = RedisServer(workdir / "redis", appendonly=True)
        self.fake = FakeCloudflare(account_id=ACCOUNT, token=TOKEN)
        self.procs: list[Proc] = []
        self._client: redis.Redis | None = None

    def __enter__(self) -> Stack:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.redis_server.start()
        self.fake.__enter__()
        self.reset_fake()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        if self._client is not None:
            self._client.close()
        self.fake.__exit__(exc_type, exc, tb)
        self.redis_server.stop()

    @property
    def redis(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis.from_url(self.redis_server.url)
        return self._client

    def reset_fake(self) -> None:
        """Forget every project and call; no rate limit (the relay's own budget is raised too)."""
        self.fake.reset()
        self.fake.set_rate_limit(10_000_000, 300.0)

    def flush(self) -> None:
        self.redis.flushall()

    def used_memory(self) -> int:
        info: dict[str, Any] = self.redis.info("memory")
        return int(info["used_memory"])

    def delivery_counts(self) -> dict[str, int]:
        """The relay's own counts of deliveries, "<hook>:<outcome>" -> n (relay:counts:...)."""
        raw = cast(dict[bytes, bytes], self.redis.hgetall("relay:counts:deliveries"))
        return {k.decode(): int(v) for k, v in raw.items()}

    def triggers(self) -> list[dict[str, str]]:
        """Every deployment trigger the relay recorded (relay:trigger:<id> hashes), oldest first."""
        ids = cast(list[bytes], self.redis.zrange(keys.TRIGGERS, 0, -1))
        pipe = self.redis.pipeline(transaction=False)
        for trigger_id in ids:
            pipe.hgetall(keys.trigger(trigger_id.decode()))
        rows = cast(list[dict[bytes, bytes]], pipe.execute())
        return [{k.decode(): v.decode() for k, v in row.items()} for row in rows]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RELAY_", "CLOUDFLARE_"))}
        env.update(
            REDIS_URL=self.redis_server.url,
            CLOUDFLARE_API_BASE=self.fake.base_url,
            CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
            CLOUDFLARE_API_TOKEN=TOKEN,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=str(self.relay_src),
        )
        return env

    def config(self, name: str, targets: dict[str, Any], hooks: dict[str, Any]) -> Path:
        """A relay.toml: fast watch polls, the API budget out of the way, the given targets."""
        doc = {
            "cloudflare": {"poll_interval": "0.3s", "budget": 10_000_000},
            "retry": {"initial": "0.2s", "max": "1s"},
            "targets": targets,
            "hooks": hooks,
        }
        path = self.dir / f"{name}.toml"
        path.write_text(to_toml(doc))
        return path

    def start(
        self,
        name: str,
        args: list[str],
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        proc = Proc(name, args, self.dir / f"{name}.log", env or self.env(), cwd or self.relay_src)
        self.procs.append(proc)
        return proc

    def serve(self, config: Path, *, workers: int = 1, access_log: bool = False) -> Served:
        port = free_port()
        args = [sys.executable, "-m", "relay", "--config", str(config), "serve"]
        args += ["--port", str(port), "--workers", str(workers)]
        if access_log:
            args.append("--access-log")
        proc = self.start(f"serve-{port}", args)
        served = Served(proc, port)
        proc.wait_http(served.url + "/healthz")
        return served

    def worker(self, config: Path, name: str) -> Proc:
        args = [sys.executable, "-m", "relay", "--config", str(config), "worker", "--name", name]
        return self.start(f"worker-{name}", args)


class Served:
    """An HTTP server process under test and where it listens."""

    def __init__(self, proc: Proc, port: int) -> None:
        self.proc = proc
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def stop(self) -> None:
        self.proc.stop()


def hmac_hook(targets: list[str], secret: str = SECRET) -> dict[str, Any]:
    """A hook verified like GitHub signs: X-Hub-Signature-256 = sha256=<hex HMAC of the body>."""
    return {
        "provider": "hmac-sha256",
        "header": "X-Hub-Signature-256",
        "prefix": "sha256=",
        "secret": secret,
        "targets": targets,
    }


def loaded_modules(pid: int, names: Sequence[str]) -> dict[str, bool]:
    """Which of `names` appear among the shared objects mapped by `pid` (e.g. uvloop)."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        maps = ""
    return {name: name in maps for name in names}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of `pid`, its reaped children and its live descendants."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK") + sum(cpu_seconds(c) for c in children(pid))


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    line = Path("/proc/stat").read_text().split("\n", 1)[0]
    values = [int(v) for v in line.split()[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
    except OSError:
        pass
    return out
