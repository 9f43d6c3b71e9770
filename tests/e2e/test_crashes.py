"""Crashes and outages: killed workers and receivers, Redis restarts; nothing acked is lost."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import redis

from relay.cli.embedded_redis import RedisServer
from relay.core import keys
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli_json, send, setup, trigger
from tests.helpers.senders import github_hook

#: short leases: a dead worker's step is taken over this long after its last renewal
LEASE = "4s"


def _config(env: RelayEnv, *, stuck_after: str = "30m") -> None:
    env.write(
        {
            "cloudflare": {"poll_interval": "0.3s"},
            "retry": {"attempts": 5, "initial": "0.2s", "max": "1s"},
            "worker": {"step_lease": LEASE},
            "targets": {
                "blog": {"project": "blog", "debounce": "0.3s", "stuck_after": stuck_after}
            },
            "hooks": {"cms": github_hook(["blog"])},
        }
    )


def _holder(rclient: redis.Redis, member: str) -> str | None:
    """The worker (w<n>) holding the lease of step `member`, once one took it."""
    token = rclient.hget(keys.STEP_LEASES, member)
    return token.decode().split(":", 1)[0] if isinstance(token, bytes) else None


def _builds_again(env: RelayEnv, url: str, fake_api: FakeCloudflare, before: int) -> None:
    """The target takes new builds: a new burst becomes a new build."""
    assert send(url, "cms", b'{"after":"the death"}').status_code == 202
    wait_for(
        lambda: len(fake_api.create_calls("blog")) > before,
        timeout=30,
        what="a build of the next burst",
    )


def test_a_worker_killed_mid_deploy_is_settled_and_the_target_builds_again(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    fake_api.add_project("blog")
    fake_api.fault(delay=20, times=1, method="POST", path_contains="/deployments")
    _config(relay_env)
    url = relay_env.serve().url
    workers = [relay_env.worker(), relay_env.worker()]
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "triggering")
    member = f"deploy:{row['id']}:1"
    name = wait_for(lambda: _holder(rclient, member), timeout=10, what="the step to be taken")
    victim = next(p for p in workers if p.args[-1] == name)
    survivor = next(p for p in workers if p is not victim)
    killed_at = time.monotonic()
    victim.kill_group()  # SIGKILL mid-request, as an out-of-memory kill would

    settled = trigger(relay_env, {"success", "failed"}, timeout=110)
    elapsed = time.monotonic() - killed_at
    assert elapsed < 120, f"settled {elapsed:.0f}s after the kill"
    assert settled["attempts"] >= 2, "the interrupted attempt was counted and retried"
    assert survivor.process is not None and survivor.process.poll() is None
    _builds_again(relay_env, url, fake_api, len(fake_api.create_calls("blog")))


def test_death_right_after_cloudflare_accepted_is_retried_not_lost(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    """The worst moment: Cloudflare started the build, the relay had not recorded it. The next
    worker retries (one extra build is the price of never losing one) and the trigger settles."""
    fake_api.add_project("blog")
    _config(relay_env)
    url = relay_env.serve().url
    dying = relay_env.worker(RELAY_TEST_DIE_AT="deploy:after-call")
    assert send(url, "cms", b'{"a":1}').status_code == 202
    assert dying.process is not None
    dying.process.wait(timeout=20)
    assert dying.process.returncode == -signal.SIGKILL
    relay_env.worker()
    settled = trigger(relay_env, "success", timeout=60)
    assert settled["attempts"] == 2, "the interrupted attempt was counted, then retried"
    assert len(fake_api.create_calls("blog")) == 2
    _builds_again(relay_env, url, fake_api, 2)


def test_death_during_a_watch_resumes_the_watch(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=1.0)
    _config(relay_env)
    url = relay_env.serve().url
    dying = relay_env.worker(RELAY_TEST_DIE_AT="watch:before-record")
    assert send(url, "cms", b'{"a":1}').status_code == 202
    assert dying.process is not None
    dying.process.wait(timeout=20)
    relay_env.worker()
    settled = trigger(relay_env, "success", timeout=60)
    assert settled["attempts"] == 1, "the build was watched, not triggered again"
    assert len(fake_api.create_calls("blog")) == 1


def test_death_right_after_a_claim_still_builds(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    _config(relay_env)
    url = relay_env.serve().url
    dying = relay_env.worker(RELAY_TEST_DIE_AT="claim:after-claim")
    assert send(url, "cms", b'{"a":1}').status_code == 202
    assert dying.process is not None
    dying.process.wait(timeout=20)
    relay_env.worker()
    settled = trigger(relay_env, "success", timeout=60)
    assert settled["deliveries"] == 1 and len(fake_api.create_calls("blog")) == 1


def test_the_only_worker_killed_and_restarted_settles_its_trigger(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    """docker compose's `restart: unless-stopped`: the same worker comes back."""
    fake_api.add_project("blog")
    fake_api.fault(delay=20, times=1, method="POST", path_contains="/deployments")
    _config(relay_env)
    url = relay_env.serve().url
    first = relay_env.worker()
    assert send(url, "cms", b'{"a":1}').status_code == 202
    trigger(relay_env, "triggering")
    first.kill_group()
    relay_env.worker()
    settled = trigger(relay_env, {"success", "failed"}, timeout=60)
    assert settled["status"] == "success" and settled["attempts"] == 2


def test_a_trigger_record_lost_under_a_running_build_fails_once_and_frees_the_target(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=60)
    _config(relay_env)
    url = relay_env.serve().url
    relay_env.worker()
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "building")
    rclient.delete(keys.trigger(row["id"]))  # evicted, or lost with a Redis restart
    failed = wait_for(
        lambda: cli_json(relay_env, "failed")["failed"], timeout=20, what="the loss recorded"
    )
    assert failed[0]["id"] == row["id"] and "lost its" in failed[0]["error"]
    fake_api.set_build(duration=0.2)
    _builds_again(relay_env, url, fake_api, 1)
    lost = [r for r in cli_json(relay_env, "deployments")["deployments"] if r["id"] == row["id"]]
    assert lost[0]["status"] == "failed", "settled once, not retried in a loop"


def test_sigterm_lets_the_job_in_hand_finish(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
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
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    relay_env.write(
        {
            "targets": {"blog": {"project": "blog", "debounce": "0.5s"}},
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    server = relay_env.serve()
    acked = [send(server.url, "cms", json.dumps({"i": i}).encode()) for i in range(10)]
    assert all(a.status_code == 202 for a in acked)
    server.kill_group()
    relay_env.worker()
    row = trigger(relay_env, "success")
    assert row["deliveries"] == 10


def test_worker_recovers_after_redis_restart(tmp_path: Path, fake_api: FakeCloudflare) -> None:
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
