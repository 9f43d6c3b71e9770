"""Fixtures: a real redis-server per test session, the fake Pages API, relay processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from relay.cli.embedded_redis import RedisServer
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.relay_env import ACCOUNT, RELAY_ENV, TOKEN, RelayEnv


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's relay settings."""
    for name in RELAY_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendonly=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.close()


@pytest.fixture
def rclient(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def fake_api_server() -> Iterator[FakeCloudflare]:
    with FakeCloudflare(account_id=ACCOUNT, token=TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_api(fake_api_server: FakeCloudflare) -> FakeCloudflare:
    fake_api_server.reset()
    return fake_api_server


@pytest.fixture
def relay_env(
    tmp_path: Path, redis_url: str, fake_api: FakeCloudflare, request: pytest.FixtureRequest
) -> Iterator[RelayEnv]:
    env = RelayEnv(tmp_path, redis_url, fake_api)
    yield env
    env.stop()
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        print(env.logs())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


SignFn = Callable[..., dict[str, str]]
