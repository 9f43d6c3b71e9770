"""Redis stopped: the receiver answers 503 fast (never a 2xx), and recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay.cli.embedded_redis import RedisServer
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv
from tests.helpers.senders import SECRET, github_headers


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    yield server
    server.stop()


def test_redis_down_gives_fast_503_and_recovery(tmp_path: Path, own_redis: RedisServer) -> None:
    env = RelayEnv(tmp_path, own_redis.url, None)
    env.write(
        {
            "targets": {"blog": {"project": "blog", "debounce": "1m"}},
            "hooks": {"cms": {"provider": "hmac-sha256", "secret": SECRET, "targets": ["blog"]}},
        }
    )
    try:
        server = env.serve()
        body = b'{"x":1}'
        assert (
            server.post("/hooks/cms", content=body, headers=github_headers(body)).status_code == 202
        )

        own_redis.stop()
        started = time.monotonic()
        answer = server.post("/hooks/cms", content=body + b" ", headers=github_headers(body + b" "))
        elapsed = time.monotonic() - started
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert elapsed < 1.0, f"503 took {elapsed:.2f}s"
        assert httpx.get(server.url + "/readyz", timeout=5).status_code == 503
        assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200

        own_redis.start()
        wait_for(
            lambda: httpx.get(server.url + "/readyz", timeout=5).status_code == 200,
            timeout=10,
            what="/readyz to recover",
        )
        again = server.post("/hooks/cms", content=b'{"x":2}', headers=github_headers(b'{"x":2}'))
        assert again.status_code == 202
    finally:
        env.stop()
