"""Benchmark 3, debounce precision over 50 bursts, measured at the fake Pages API.

25 targets (quiet 1 s, max_wait 3 s), two bursts each, interleaved in time:
* quiet-bound: 5 deliveries 200 ms apart: the build is due `quiet` after the last one;
* cap-bound: 12 deliveries 250 ms apart (2.75 s): the build is due `max_wait` after the first.
For every burst: build call time (the fake's log) minus the last delivery's send time, minus the
first's, and minus the due time min(last + quiet, first + max_wait). Targets: within
quiet + 250 ms of the last delivery and within max_wait + 250 ms of the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench import loadgen
from bench.harness import HOST, Stack, cms_body, hmac_hook, pct, signed_headers, wait_until

TARGETS = 25
QUIET = 1.0
MAX_WAIT = 3.0
SLACK = 0.25
STAGGER = 0.12  # seconds between the targets' first bursts
SECOND_BURST = 5.0  # seconds after a target's first burst starts
QUIET_BOUND = [i * 0.2 for i in range(5)]
CAP_BOUND = [i * 0.25 for i in range(12)]


@dataclass
class Burst:
    target: str
    kind: str  # quiet | cap
    first: float  # send times (Unix s)
    last: float
    build: float | None = None  # the fake's time of the build call

    @property
    def due(self) -> float:
        return min(self.last + QUIET, self.first + MAX_WAIT)


@dataclass
class PrecisionResult:
    workers: int
    bursts: list[Burst] = field(default_factory=list)
    builds: int = 0
    non_2xx: int = 0
    claim_ms: list[float] = field(default_factory=list)  # trigger created - due (Redis clock)
    dispatch_ms: list[float] = field(default_factory=list)  # Cloudflare call - trigger created

    def measured(self) -> list[Burst]:
        return [b for b in self.bursts if b.build is not None]

    def after_last(self, kind: str | None = None) -> list[float]:
        return [b.build - b.last for b in self.measured() if kind in (None, b.kind) and b.build]

    def after_first(self, kind: str | None = None) -> list[float]:
        return [b.build - b.first for b in self.measured() if kind in (None, b.kind) and b.build]

    def lateness(self) -> list[float]:
        return [b.build - b.due for b in self.measured() if b.build is not None]

    @property
    def within(self) -> int:
        """Bursts whose build met both bounds."""
        return sum(
            1
            for b in self.measured()
            if b.build is not None
            and b.build - b.last <= QUIET + SLACK
            and b.build - b.first <= MAX_WAIT + SLACK
        )


def summary(values: list[float]) -> tuple[float, float]:
    """(median, max) in milliseconds."""
    return pct(values, 50) * 1000, max(values, default=float("nan")) * 1000


def run(stack: Stack, workers: int = 1) -> PrecisionResult:
    stack.flush()
    stack.reset_fake()
    stack.fake.add_project("precise")
    stack.fake.set_build(duration=0.0)
    names = [f"p{k:02d}" for k in range(TARGETS)]
    config = stack.config(
        "precision",
        {
            name: {
                "project": "precise",
                "branch": name,
                "debounce": f"{QUIET}s",
                "max_wait": f"{MAX_WAIT}s",
            }
            for name in names
        },
        {name: hmac_hook([name]) for name in names},
    )
    served = stack.serve(config)
    procs = [stack.worker(config, f"precision{workers}-{i}") for i in range(workers)]
    plan: list[tuple[str, str, int]] = []  # (target, kind, burst number) per request
    requests: list[loadgen.Request] = []
    for k, name in enumerate(names):
        kinds = ("quiet", "cap") if k % 2 == 0 else ("cap", "quiet")
        for number, kind in enumerate(kinds):
            start = k * STAGGER + number * SECOND_BURST
            for offset in QUIET_BOUND if kind == "quiet" else CAP_BOUND:
                body = cms_body(len(requests), name)
                requests.append(
                    loadgen.Request(f"/hooks/{name}", signed_headers(body), body, start + offset)
                )
                plan.append((name, kind, number))
    result = PrecisionResult(workers)
    try:
        # the workers (RQ workers with their claimers) need a moment to register and start
        wait_until(lambda: stack.redis.scard("rq:workers") >= workers, timeout=20)
        sent = loadgen.run(HOST, served.port, requests, 8, timeout=120)
        wait_until(lambda: len(stack.fake.create_calls("precise")) >= 2 * TARGETS, timeout=20)
        wait_until(lambda: False, timeout=2.0, interval=0.5)  # any extra build shows up
        calls = stack.fake.create_calls("precise")
        for trigger in stack.triggers():
            created = int(trigger["created_at"])
            due = min(
                int(trigger["last_at"]) + QUIET * 1000, int(trigger["first_at"]) + MAX_WAIT * 1000
            )
            result.claim_ms.append(created - due)
            if trigger.get("triggered_at"):
                result.dispatch_ms.append(int(trigger["triggered_at"]) - created)
    finally:
        for proc in procs:
            proc.stop()
        served.stop()
    result.builds = len(calls)
    result.non_2xx = sum(1 for o in sent.outcomes if not 200 <= o.status < 300)
    bursts: dict[tuple[str, int], Burst] = {}
    for (name, kind, number), outcome in zip(plan, sent.outcomes, strict=True):
        burst = bursts.setdefault((name, number), Burst(name, kind, outcome.sent, outcome.sent))
        burst.first = min(burst.first, outcome.sent)
        burst.last = max(burst.last, outcome.sent)
    for name in names:
        times = sorted(float(c["time"]) for c in calls if c["form"].get("branch") == name)
        for number, when in enumerate(times[:2]):
            bursts[(name, number)].build = when
    result.bursts = list(bursts.values())
    return result
