"""The Jinja2 environment for relay/web/templates/ (autoescape on) and its formatting filters.

One per process (templates compile once), shared by every app the process builds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from urllib.parse import urlsplit

import jinja2
from starlette.templating import Jinja2Templates

#: shown for a missing time or duration
NONE = "\N{EN DASH}"


def _ms(value: object) -> float | None:
    """Unix ms from an int, a float, a numeric string, or Unix seconds; None if not a time."""
    if value is None or value == "":
        return None
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if number > 1e11 else number * 1000


def when(value: object) -> str:
    """`2026-05-01 12:34:56` (UTC) from Unix ms or seconds."""
    ms = _ms(value)
    if ms is None:
        return NONE
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def iso(value: object) -> str:
    ms = _ms(value)
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat() if ms is not None else ""


def seconds(value: object) -> str:
    """A duration for people: `850 ms`, `12.4 s`, `3 min 05 s`, `2 h 10 min`."""
    if value is None or value == "":
        return NONE
    total = float(str(value))
    if total < 1:
        return f"{total * 1000:.0f} ms"
    if total < 60:
        return f"{total:.1f} s"
    minutes, secs = divmod(int(total), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ago(value: object, now_ms: int) -> str:
    ms = _ms(value)
    if ms is None:
        return NONE
    return seconds(max(0.0, (now_ms - ms) / 1000)) + " ago"


def until(value: object, now_ms: int) -> str:
    """`in 4 min 10 s` for a future Unix ms/seconds time (`now` once it has passed)."""
    ms = _ms(value)
    if ms is None:
        return NONE
    left = (ms - now_ms) / 1000
    return "now" if left <= 0 else "in " + seconds(left)


def clock(value: object, now_ms: int) -> str:
    """`14:05 UTC` today, `tomorrow 14:05 UTC`, else `2026-12-24 18:00 UTC` (days in UTC)."""
    ms = _ms(value)
    if ms is None:
        return NONE
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    days = (moment.date() - datetime.fromtimestamp(now_ms / 1000, UTC).date()).days
    if days == 0:
        return moment.strftime("%H:%M UTC")
    if days == 1:
        return moment.strftime("tomorrow %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def link(url: object) -> str | None:
    """`url` when it is an http(s) address, else None: links that come from Cloudflare's
    answers are rendered only with those schemes (a `javascript:` URL survives HTML escaping)."""
    if not isinstance(url, str):
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() in {"http", "https"} and parts.netloc:
        return url.strip()
    return None


def tone(status: object) -> str:
    """The CSS tone of a badge: what the status says of itself (`TriggerStatus.tone`,
    `DeliveryOutcome.tone`, `TargetState.tone`, …), else neutral."""
    value = getattr(status, "tone", "neutral")
    return value if isinstance(value, str) else "neutral"


@cache
def templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("relay.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        iso=iso,
        seconds=seconds,
        ago=ago,
        until=until,
        clock=clock,
        tone=tone,
        link=link,
    )
    return Jinja2Templates(env=env)
