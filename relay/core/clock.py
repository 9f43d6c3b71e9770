"""The one clock: the Redis server's.

Every stored time (due times, trigger times, failure scores, cron marks) is Redis `TIME` in
milliseconds, taken inside the Lua scripts or through `server_ms`, so processes on hosts whose
clocks disagree still agree on what is due and what is stuck.
"""

from __future__ import annotations

import redis


def server_ms(client: redis.Redis) -> int:
    """Now on the Redis server's clock, in Unix milliseconds."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def server_seconds(client: redis.Redis) -> float:
    """Now on the Redis server's clock, in Unix seconds."""
    seconds, micros = client.time()
    return int(seconds) + int(micros) / 1e6
