"""Waiting on real processes: poll a condition until a deadline (never a bare sleep)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T | None],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Return the first truthy value of `condition()`; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = condition()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
        last = condition()
    return last


def stays(
    condition: Callable[[], bool],
    *,
    duration: float,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Assert that `condition()` holds for the whole of `duration` seconds."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        assert condition(), f"{what} stopped holding"
        time.sleep(interval)
