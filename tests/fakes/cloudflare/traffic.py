"""The records the traffic layer (`middleware.py`) keeps: the call log, the queue of injected
faults and the global rate limit (Pages reference §1.4, Workers Builds reference §1.5).

They are shared by every path under `/client/v4`, Pages and Workers Builds alike, so a fault or
the 1,200-per-5-minutes budget works the same way on both products.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .envelope import JSON

DEFAULT_RATE_LIMIT = 1200  # requests per window per user (Pages reference §1.4)
DEFAULT_RATE_WINDOW = 300.0  # seconds


@dataclass
class Fault:
    """One queued fault, consumed by the next `times` requests that match it."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    times: int = 1
    path_contains: str = ""
    method: str | None = None
    errors: list[JSON] | None = None

    def __post_init__(self) -> None:
        if self.times < 1:
            raise ValueError("times must be >= 1")
        if self.delay < 0:
            raise ValueError("delay must be >= 0")
        if self.status is not None and not 100 <= self.status <= 599:
            raise ValueError(f"bad status {self.status}")

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains in path


class FaultQueue:
    """Faults queued by tests, each used up by the requests it matches."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first queued fault matching the request, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def pending(self) -> list[JSON]:
        with self._lock:
            return [dict(vars(f)) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


@dataclass
class RateDecision:
    """The verdict on one request, and the headers that report it."""

    allowed: bool
    limit: int
    window: float
    remaining: int
    reset: int  # seconds until the window has room again
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        """`Ratelimit` and `Ratelimit-Policy` always; `Retry-After` only on a 429 (Pages §1.4)."""
        out = {
            "Ratelimit": f'"default";r={self.remaining};t={self.reset}',
            "Ratelimit-Policy": f'"default";q={self.limit};w={math.ceil(self.window)}',
        }
        if self.retry_after is not None:
            out["Retry-After"] = str(self.retry_after)
        return out


@dataclass
class RateLimiter:
    """A sliding window per key. Going over the limit blocks the key for one whole window:
    "all API calls for the next five minutes will be blocked" (Pages reference §1.4)."""

    limit: int = DEFAULT_RATE_LIMIT
    window: float = DEFAULT_RATE_WINDOW
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _blocked_until: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        with self._lock:
            self.limit, self.window = limit, window
            self._hits.clear()
            self._blocked_until.clear()

    def check(self, key: str, now: float) -> RateDecision:
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            blocked = self._blocked_until.get(key, 0.0)
            if blocked <= now and len(hits) >= self.limit:
                blocked = self._blocked_until[key] = now + self.window
            if blocked > now:
                wait = max(1, math.ceil(blocked - now))
                return RateDecision(False, self.limit, self.window, 0, wait, wait)
            hits.append(now)
            reset = max(1, math.ceil(hits[0] + self.window - now))
            return RateDecision(True, self.limit, self.window, self.limit - len(hits), reset)


class CallLog:
    """Every request to the API surface (not to `/__fake__`), in arrival order.

    The traffic layer adds an entry before the request is handled; the handlers annotate it
    (`deployment_id`, `build_uuid`, ...) and the layer records the final `status`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[JSON] = []
        self._next = 0  # never reset, so `seq` stays unique across `clear()`

    def add(self, entry: JSON) -> JSON:
        with self._lock:
            self._next += 1
            entry["seq"] = self._next
            self._calls.append(entry)
            return entry

    def annotate(self, seq: object, **values: Any) -> None:
        with self._lock:
            for entry in self._calls:
                if entry["seq"] == seq:
                    entry.update(values)

    def all(self) -> list[JSON]:
        with self._lock:
            return [dict(e) for e in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
