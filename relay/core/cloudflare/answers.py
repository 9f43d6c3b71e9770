"""Reading Cloudflare's answers leniently, and the build-log lines Pages and Workers share.

Answers may hold an object where a list was expected, strings where numbers were, times as
ISO strings or epoch numbers (seconds or milliseconds): nothing here indexes into an answer
without checking its type, and what cannot be read becomes None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# -- lenient parsing ---------------------------------------------------------------------------


def as_object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_text(value: Any) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def as_strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in as_list(value) if isinstance(item, str))


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch from what Cloudflare writes as a time: a number in seconds or
    milliseconds (or microseconds), a numeric string, or an ISO 8601 string (`Z`, an offset, or
    no zone meaning UTC; more than six fractional digits are cut). None if it is none of these.

    A number of 1e11 or more is taken for milliseconds: 1e11 seconds is the year 5138, 1e11
    milliseconds is 1973 (§7: the log timestamp unit is UNCONFIRMED).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value)
        except ValueError:
            return _iso_seconds(value)
    if not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    if not math.isfinite(seconds):
        return None
    for _ in range(2):
        if abs(seconds) < 1e11:
            break
        seconds /= 1000.0
    return seconds


def _iso_seconds(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class LogLine:
    """One line of build output; `timestamp` in seconds since the epoch (None if unreadable).
    Shared with the Pages client (`Pages.logs`)."""

    timestamp: float | None
    text: str

    @classmethod
    def from_api(cls, item: Any) -> LogLine | None:
        """A Builds `[timestamp, text]` pair, a Pages `{ts, line}` object, or a bare string;
        None for anything else. A number where the text belongs is kept as its digits."""
        if isinstance(item, list | tuple) and len(item) >= 2:
            stamp, text = item[0], item[1]
        elif isinstance(item, dict):
            stamp = item.get("ts", item.get("timestamp"))
            text = item.get("line", item.get("message"))
        elif isinstance(item, str):
            stamp, text = None, item
        else:
            return None
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            text = "" if text is None else str(text)
        return cls(timestamp=epoch_seconds(stamp), text=str(text))


def first_time(*values: Any) -> float | None:
    """`epoch_seconds` of the first of `values` that reads as a time."""
    for value in values:
        seconds = epoch_seconds(value)
        if seconds is not None:
            return seconds
    return None


def parse_log_lines(items: Iterable[Any]) -> list[LogLine]:
    return [line for line in map(LogLine.from_api, items) if line is not None]
