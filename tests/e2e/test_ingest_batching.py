"""Concurrent webhooks share Redis round trips, yet each is its own atomic, answered step."""

from __future__ import annotations

import asyncio
import json

import httpx
import redis

from tests.helpers.relay_env import RelayEnv
from tests.helpers.senders import github_headers, github_hook


async def _storm(url: str, start: int, count: int) -> list[int]:
    limits = httpx.Limits(max_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=20) as client:

        async def one(i: int) -> int:
            body = json.dumps({"i": i}).encode()
            answer = await client.post(
                f"{url}/hooks/cms", content=body, headers=github_headers(body)
            )
            return answer.status_code

        return await asyncio.gather(*(one(i) for i in range(start, start + count)))


def test_concurrent_deliveries_are_each_stored_once(
    relay_env: RelayEnv, rclient: redis.Redis
) -> None:
    relay_env.write(
        {
            "targets": {"site": {"project": "site", "debounce": "1h", "max_wait": "1h"}},
            "hooks": {"cms": github_hook(["site"])},
        }
    )
    server = relay_env.serve()
    assert asyncio.run(_storm(server.url, 0, 300)) == [202] * 300
    assert rclient.xlen("relay:deliveries") == 300
    assert rclient.hget("relay:burst:site", "count") == b"300"

    rclient.script_flush()  # Redis forgot the script: batched calls must load it again
    assert asyncio.run(_storm(server.url, 300, 100)) == [202] * 100
    assert rclient.hget("relay:burst:site", "count") == b"400"

    again = asyncio.run(_storm(server.url, 0, 50))  # the same bodies: retries, counted once
    assert again == [200] * 50
    assert rclient.hget("relay:burst:site", "count") == b"400"
