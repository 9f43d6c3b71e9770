"""How the fake writes and reads times: ISO 8601 in UTC, as Cloudflare writes `created_on`."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float) -> str:
    """ISO 8601 with microseconds and `Z` (e.g. `2026-01-21T18:50:00.123456Z`)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_or_none(ts: float | None) -> str | None:
    """`iso(ts)`, or None for a moment that has not happened (an unfinished build's stamps)."""
    return None if ts is None else iso(ts)


def parse_time(value: object) -> float:
    """An epoch number or an ISO 8601 string (a trailing `Z` or no zone means UTC)."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(f"not a time: {value!r}")
