"""The one clock: the Redis server's.

Every stored time (due times, trigger times, failure scores, cron marks) is Redis `TIME` in
milliseconds, taken inside the Lua scripts or through `server_ms`, so processes on hosts whose
clocks disagree still agree on what is due and what is stuck.
"""

from __future__ import annotations

from datetime import UTC, datetime

import redis


def server_ms(client: redis.Redis) -> int:
    """Now on the Redis server's clock, in Unix milliseconds."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def server_seconds(client: redis.Redis) -> float:
    """Now on the Redis server's clock, in Unix seconds."""
    seconds, micros = client.time()
    return int(seconds) + int(micros) / 1e6


def iso_time(ms: int) -> str:
    """A time for people: "2026-12-02 15:30 UTC" (with seconds when they are not 0)."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if moment.second else "%Y-%m-%d %H:%M UTC")
