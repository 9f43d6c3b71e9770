"""Deliveries and builds per minute over the last hour, drawn as server-side SVG bar charts.

Derived from what is stored, with bounded reads: delivery stream ids are the Redis clock's
milliseconds (XREVRANGE from an hour ago, at most `CAP` entries), trigger records are indexed by
creation time (ZREVRANGEBYSCORE, at most `CAP`). When the cap is hit the chart says so. Charts
are recomputed at most every `TTL` seconds per process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from relay.core.records import TriggerStatus
from relay.core.store import Store

WINDOW_MS = 3600_000
BUCKET_MS = 60_000
CAP = 10_000
TTL = 5.0
#: series of each chart: (name, the outcomes or statuses it counts)
DELIVERY_SERIES = (
    ("accepted", {"accepted"}),
    ("duplicate or ignored", {"duplicate", "ignored"}),
    ("rejected", {"rejected"}),
)
BUILD_SERIES = (
    ("success", {"success"}),
    ("in progress", {"in progress"}),
    ("failed", {"failed"}),
)
WIDTH, HEIGHT = 600, 120


def build_series(status: TriggerStatus) -> str:
    """The series of the builds chart a trigger is counted in."""
    if status.in_progress:
        return "in progress"
    return "failed" if status.failing else "success"


@dataclass(frozen=True)
class Segment:
    series: int  # index into the chart's series (CSS class s0, s1, s2)
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    total: int
    start_ms: int
    segments: list[Segment]


@dataclass(frozen=True)
class Chart:
    title: str
    series: list[str]
    bars: list[Bar]
    total: int
    peak: int
    capped: bool  # the cap was reached: older minutes are missing counts
    width: int = WIDTH
    height: int = HEIGHT


def build_chart(
    title: str,
    points: list[tuple[int, str]],
    series: tuple[tuple[str, set[str]], ...],
    now_ms: int,
    capped: bool,
) -> Chart:
    count = WINDOW_MS // BUCKET_MS
    start = now_ms - count * BUCKET_MS
    grid = [[0] * len(series) for _ in range(count)]
    for at, label in points:
        slot = (at - start) // BUCKET_MS
        if not 0 <= slot < count:
            continue
        for index, (_, members) in enumerate(series):
            if label in members:
                grid[slot][index] += 1
                break
    peak = max((sum(row) for row in grid), default=0)
    scale = (HEIGHT - 4) / peak if peak else 0.0
    width = WIDTH / count
    bars = []
    for slot, row in enumerate(grid):
        y = float(HEIGHT)
        segments = []
        for index, value in enumerate(row):
            if value:
                height = value * scale
                y -= height
                segments.append(Segment(index, round(y, 1), round(height, 1)))
        bars.append(
            Bar(
                round(slot * width, 1),
                round(width - 1, 1),
                sum(row),
                start + slot * BUCKET_MS,
                segments,
            )
        )
    return Chart(title, [name for name, _ in series], bars, sum(map(sum, grid)), peak, capped)


class Charts:
    """The two charts, cached for `ttl` seconds (shared by every dashboard open on a process)."""

    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: list[Chart] = []
        self._at = float("-inf")

    def get(self, store: Store) -> list[Chart]:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._value = self._compute(store)
                self._at = time.monotonic()
            return self._value

    @staticmethod
    def _compute(store: Store) -> list[Chart]:
        now = store.server_ms()
        since = now - WINDOW_MS
        deliveries = store.delivery_outcomes_since(since, limit=CAP)
        triggers = [
            (t.created_at, build_series(t.status))
            for t in store.triggers_since(since, limit=CAP)
            if t.created_at is not None
        ]
        return [
            build_chart(
                "Deliveries per minute", deliveries, DELIVERY_SERIES, now, len(deliveries) >= CAP
            ),
            build_chart("Builds per minute", triggers, BUILD_SERIES, now, len(triggers) >= CAP),
        ]
