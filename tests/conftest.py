"""Fixtures: a real redis-server per test session, the fake Pages API, relay processes."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from relay.cli.embedded_redis import RedisServer
from tests.fakes.pages_api import FakePagesAPI
from tests.processes import RelayProcess, Server

ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "cf-test-token-7d1f"
RELAY_ENV = (
    "REDIS_URL",
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_ACCOUNT_ID",
    "CLOUDFLARE_API_BASE",
    "RELAY_ADMIN_TOKEN",
    "RELAY_CONFIG",
)


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
def fake_api_server() -> Iterator[FakePagesAPI]:
    with FakePagesAPI(account_id=ACCOUNT, token=TOKEN) as fake:
        yield fake


@pytest.fixture
def fake_api(fake_api_server: FakePagesAPI) -> FakePagesAPI:
    fake_api_server.reset()
    return fake_api_server


def to_toml(doc: dict[str, Any]) -> str:
    """A tiny TOML writer for test configs (tables of scalars, lists and sub-tables)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(i)}" for k, i in v.items()) + "}"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines: list[str] = []

    def table(prefix: str, d: dict[str, Any]) -> None:
        scalars = {k: v for k, v in d.items() if not isinstance(v, dict) or k in {"filter"}}
        subtables = {k: v for k, v in d.items() if k not in scalars}
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {value(v)}")
        for k, v in subtables.items():
            table(f"{prefix}.{k}" if prefix else k, v)

    table("", doc)
    text = "\n".join(lines) + "\n"
    tomllib.loads(text)  # the writer must produce what the relay reads
    return text


class RelayEnv:
    """A relay set-up in a temp dir: its relay.toml, environment and processes."""

    def __init__(self, tmp_path: Path, redis_url: str, fake: FakePagesAPI | None) -> None:
        self.dir = tmp_path
        self.redis_url = redis_url
        self.fake = fake
        self.config = tmp_path / "relay.toml"
        self.processes: list[RelayProcess] = []
        self.env = {k: v for k, v in os.environ.items() if k not in RELAY_ENV}
        self.env["REDIS_URL"] = redis_url
        self.env["PYTHONUNBUFFERED"] = "1"
        if fake is not None:
            self.env.update(
                CLOUDFLARE_API_BASE=fake.base_url,
                CLOUDFLARE_ACCOUNT_ID=ACCOUNT,
                CLOUDFLARE_API_TOKEN=TOKEN,
            )

    def write(self, doc: dict[str, Any]) -> Path:
        doc = {
            "cloudflare": {"poll_interval": "0.3s"},
            "retry": {"initial": "0.2s", "max": "1s"},
            **doc,
        }
        self.config.write_text(to_toml(doc))
        return self.config

    def serve(self) -> Server:
        server = Server(self.config, self.env, self.dir / f"serve-{len(self.processes)}.log")
        self.processes.append(server)
        return server.start()

    def worker(self) -> RelayProcess:
        index = len(self.processes)
        process = RelayProcess(
            ["--config", str(self.config), "worker", "--name", f"w{index}"],
            self.env,
            self.dir / f"worker-{index}.log",
        )
        self.processes.append(process)
        return process.start()

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.output()}" for p in self.processes)


@pytest.fixture
def relay_env(
    tmp_path: Path, redis_url: str, fake_api: FakePagesAPI, request: pytest.FixtureRequest
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
