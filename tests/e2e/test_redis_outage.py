"""Redis stopped: the receiver answers 503 fast (never a 2xx), and recovers by itself."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from relay.cli.embedded_redis import RedisServer
from relay.core import keys
from tests.helpers.catcher import Capture
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv
from tests.helpers.senders import github_headers, github_hook


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
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    try:
        server = env.serve()
        body = b'{"x":1}'
        assert (
            server.post("/hooks/cms", content=body, headers=github_headers(body)).status_code == 202
        )

        own_redis.stop()
        # an answer, not a hang (the receiver gives up on Redis within 0.4 s; bench/ measures it)
        answer = httpx.post(
            server.url + "/hooks/cms",
            content=body + b" ",
            headers=github_headers(body + b" "),
            timeout=5,
        )
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
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


def test_a_long_outage_is_told_to_the_channels_once(tmp_path: Path, own_redis: RedisServer) -> None:
    """The outbox lives in Redis, so a lost Redis is told straight from the worker."""
    with Capture() as channel:
        env = RelayEnv(tmp_path, own_redis.url, None)
        env.write(
            {
                "worker": {"redis_lost_after": "1s"},
                "notify": {"url": channel.url, "events": ["redis_lost"]},
                "targets": {"blog": {"project": "blog"}},
            }
        )
        try:
            env.worker()
            wait_for(lambda: own_redis.client().hlen(keys.WORKERS) == 1, timeout=20, what="up")
            own_redis.stop()
            texts = wait_for(channel.texts, timeout=20, what="the redis_lost notice")
            assert "relay.redis_lost" in texts[0] and "Redis" in texts[0]
            own_redis.start()
            assert len(channel.requests) == 1, "told once per outage"
        finally:
            env.stop()


def test_a_worker_waiting_for_redis_stops_on_sigterm(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    """`docker stop`, systemd or Ctrl-C during an outage: the worker exits, it does not hang."""
    env = RelayEnv(tmp_path, own_redis.url, None)
    env.write({"targets": {"blog": {"project": "blog"}}})
    try:
        worker = env.worker()
        wait_for(lambda: own_redis.client().hlen(keys.WORKERS) == 1, timeout=20, what="up")
        own_redis.stop()
        wait_for(
            lambda: "could not connect to Redis" in worker.output(), timeout=30, what="the outage"
        )
        worker.signal(signal.SIGTERM)
        assert worker.process is not None
        try:
            code = worker.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker ignored SIGTERM while Redis was down")
        assert code == 0, worker.output()
    finally:
        env.stop()


def test_a_full_redis_is_a_503_and_takes_deliveries_again_once_it_has_room(
    tmp_path: Path, own_redis: RedisServer
) -> None:
    """`maxmemory` with `noeviction`: nothing half-written, nothing evicted, never a 2xx."""
    env = RelayEnv(tmp_path, own_redis.url, None)
    env.write(
        {
            "targets": {"blog": {"project": "blog", "debounce": "1h", "max_wait": "1h"}},
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    client = own_redis.client()
    try:
        server = env.serve()
        first = b'{"entry": 1}'
        assert (
            server.post("/hooks/cms", content=first, headers=github_headers(first)).status_code
            == 202
        )
        used = int(client.info("memory")["used_memory"])
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", used)  # full: every write is refused from now on
        body = b'{"entry": 2}'
        full = server.post("/hooks/cms", content=body, headers=github_headers(body))
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        wait_for(lambda: "OutOfMemoryError" in env.logs(), timeout=5, what="the 503's log line")
        assert client.xlen(keys.DELIVERIES) == 1
        client.config_set("maxmemory", 0)
        again = server.post("/hooks/cms", content=body, headers=github_headers(body))
        assert again.status_code == 202  # the sender's retry goes through
        assert client.xlen(keys.DELIVERIES) == 2
    finally:
        env.stop()
