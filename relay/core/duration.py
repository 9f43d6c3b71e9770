"""Durations as users write them: "500ms", "90s", "5m", "2h", "7d", or a number of seconds."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds for `value`; raises ValueError with a message that shows the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f'{value!r} is not a duration (use e.g. "90s", "5m", "2h", "7d")')
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if match:
            return float(match[1]) * _UNITS[match[2] or "s"]
    raise ValueError(f'{value!r} is not a duration (use e.g. "90s", "5m", "2h", "7d")')


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of `seconds` ("30s", "5m", "1h30m", "250ms")."""
    if seconds < 1 and seconds != 0:
        return f"{round(seconds * 1000)}ms"
    remaining = round(seconds)
    if remaining == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
