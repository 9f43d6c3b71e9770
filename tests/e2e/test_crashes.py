"""Crashes and outages: killed workers and receivers, Redis restarts; nothing acked is lost."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import redis

from relay.cli.embedded_redis import RedisServer
from tests.fakes.pages_api import FakePagesAPI
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli_json, send, setup, trigger
from tests.helpers.senders import SECRET


def _worker_running(rclient: redis.Redis, job_id: str) -> str | None:
    """Name of the RQ worker running `job_id`, once it has started it."""
    name = rclient.hget(f"rq:job:{job_id}", "worker_name")
    status = rclient.hget(f"rq:job:{job_id}", "status")
    return name.decode() if isinstance(name, bytes) and status == b"started" else None


def test_worker_killed_mid_deploy_is_settled(
    relay_env: RelayEnv, fake_api: FakePagesAPI, rclient: redis.Redis
) -> None:
    fake_api.add_project("blog")
    fake_api.fault(delay=20, times=1, method="POST", path_contains="/deployments")
    url = setup(relay_env)  # starts worker w1
    relay_env.worker()  # two workers: whichever does not run the job reaps and retries it
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "triggering")
    job_id = f"deploy-{row['id']}-1"
    name = wait_for(lambda: _worker_running(rclient, job_id), timeout=10, what="the job to start")
    workers = relay_env.processes[1:]
    victim = next(p for p in workers if p.args[-1] == name)
    survivor = next(p for p in workers if p is not victim)
    killed_at = time.monotonic()
    victim.kill_group()  # SIGKILL the worker and its work horse mid-request

    settled = trigger(relay_env, {"success", "failed", "building"}, timeout=110)
    elapsed = time.monotonic() - killed_at
    assert elapsed < 120, f"settled {elapsed:.0f}s after the kill"
    assert int(settled["attempts"]) >= 2, "the abandoned attempt was retried"
    assert survivor.process is not None and survivor.process.poll() is None


def test_sigterm_lets_the_job_in_hand_finish(relay_env: RelayEnv, fake_api: FakePagesAPI) -> None:
    fake_api.add_project("blog")
    fake_api.fault(delay=2, times=1, method="POST", path_contains="/deployments")
    url = setup(relay_env)
    worker = relay_env.processes[-1]
    assert send(url, "cms", b'{"a":1}').status_code == 202
    trigger(relay_env, "triggering")
    worker.signal(signal.SIGTERM)
    assert worker.process is not None
    assert worker.process.wait(timeout=30) == 0
    rows = cli_json(relay_env, "deployments")["deployments"]
    assert rows[0]["deployment_id"], "the call in hand completed and was recorded"
    assert rows[0]["status"] in {"building", "success"}
    assert len(fake_api.create_calls("blog")) == 1


def test_killed_receiver_loses_nothing_it_acknowledged(
    relay_env: RelayEnv, fake_api: FakePagesAPI
) -> None:
    fake_api.add_project("blog")
    relay_env.write(
        {
            "targets": {"blog": {"project": "blog", "debounce": "0.5s"}},
            "hooks": {"cms": {"provider": "hmac-sha256", "secret": SECRET, "targets": ["blog"]}},
        }
    )
    server = relay_env.serve()
    acked = [send(server.url, "cms", json.dumps({"i": i}).encode()) for i in range(10)]
    assert all(a.status_code == 202 for a in acked)
    server.kill_group()
    relay_env.worker()
    row = trigger(relay_env, "success")
    assert row["deliveries"] == 10


def test_worker_recovers_after_redis_restart(tmp_path: Path, fake_api: FakePagesAPI) -> None:
    fake_api.add_project("blog")
    own = RedisServer(tmp_path / "redis", appendonly=True)
    own.start()
    env = RelayEnv(tmp_path, own.url, fake_api)
    try:
        url = setup(env)
        client = redis.Redis.from_url(own.url)
        wait_for(lambda: client.scard("rq:workers"), timeout=15, what="the worker to start")
        client.close()
        own.stop()
        time.sleep(1.0)  # the outage itself: the worker must notice and wait it out
        own.start()
        wait_for(
            lambda: send(url, "cms", b'{"after":1}').status_code == 202,
            timeout=15,
            what="the receiver to accept again",
        )
        row = trigger(env, "success", timeout=40)
        assert row["target"] == "blog"
    finally:
        env.stop()
        own.stop()
