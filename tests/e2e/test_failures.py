"""Never lose a trigger: Cloudflare failures are retried or end visibly in `relay failed`."""

from __future__ import annotations

import json

import httpx

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.catcher import Capture
from tests.helpers.polling import stays, wait_for
from tests.helpers.relay_env import RelayEnv, cli, cli_json, send, setup, trigger
from tests.helpers.senders import SECRET, github_hook


def test_5xx_is_retried_until_it_builds(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    fake_api.fault(status=500, times=2, method="POST", path_contains="/deployments")
    url = setup(relay_env)
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "success")
    assert row["attempts"] == 3
    statuses = [c["status"] for c in fake_api.create_calls("blog")]
    assert statuses == [500, 500, 200]
    metrics = httpx.get(url + "/metrics", timeout=10).text
    assert 'relay_cloudflare_responses_total{status="500"} 2.0' in metrics
    assert 'relay_builds_total{status="success",target="blog"} 1.0' in metrics


def test_retry_after_wins_over_backoff_and_max(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.fault(status=429, retry_after=2, times=1, method="POST", path_contains="/deployments")
    url = setup(relay_env, retry={"initial": "0.1s", "max": "0.2s"})
    assert send(url, "cms", b'{"a":1}').status_code == 202
    trigger(relay_env, "success")
    first, second = fake_api.create_calls("blog")
    assert first["status"] == 429
    assert second["time"] - first["time"] >= 2.0 - 0.05, "Retry-After: 2 was not honoured"


def test_timeouts_and_dropped_connections_are_retried(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.fault(delay=2.5, times=1, method="POST", path_contains="/deployments")
    fake_api.fault(drop=True, times=1, method="POST", path_contains="/deployments")
    url = setup(relay_env, cloudflare={"timeout": "1s"})
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "success")
    assert row["attempts"] == 3


def test_other_4xx_fails_at_once_then_replay_builds(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    url = setup(relay_env, project="missing")
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "failed")
    assert row["attempts"] == 1 and row["error_code"] == 8000007
    assert "Project not found" in row["error"]
    stays(lambda: len(fake_api.create_calls()) == 1, duration=1.0, what="no retry of a 404")
    listed = cli_json(relay_env, "failed")["failed"]
    assert [r["id"] for r in listed] == [row["id"]]

    fake_api.add_project("missing")
    replayed = cli(relay_env, "replay", "--all")
    assert replayed.returncode == 0 and f"re-queued {row['id']}" in replayed.stdout
    new = trigger(relay_env, "success")
    assert new["id"] != row["id"] and new["reason"] == f"replay of {row['id']}"
    assert cli_json(relay_env, "failed")["failed"] == []


def test_exhausted_retries_fail_for_good_and_notify(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.fault(status=503, times=10, method="POST", path_contains="/deployments")
    with Capture() as hook:
        url = setup(relay_env, retry={"attempts": 3}, notify=hook.url)
        assert send(url, "cms", b'{"a":1}').status_code == 202
        row = trigger(relay_env, "failed")
        assert row["attempts"] == 3 and row["error_status"] == 503
        assert len(fake_api.create_calls("blog")) == 3
        text = wait_for(hook.texts, timeout=5, what="the notification")[0]
        assert "blog" in text and "failed for good" in text and row["id"] in text
        assert SECRET not in json.dumps(hook.received)


def test_build_failure_and_recovery_are_notified(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.2, outcome="failure")
    with Capture() as hook:
        url = setup(relay_env, notify=hook.url)
        assert send(url, "cms", b'{"a":1}').status_code == 202
        failed = trigger(relay_env, "failure")
        assert failed["stage"] == "build" and failed["stage_status"] == "failure"
        wait_for(
            lambda: any("build failure" in t for t in hook.texts()),
            timeout=5,
            what="the failure notification",
        )
        fake_api.set_build(duration=0.2, outcome="success")
        assert send(url, "cms", b'{"a":2}').status_code == 202
        wait_for(
            lambda: any("recovered" in t for t in hook.texts()),
            timeout=20,
            what="the recovery notification",
        )


def test_one_build_in_flight_per_target(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=3.0)
    url = setup(relay_env)
    assert send(url, "cms", b'{"burst":1}').status_code == 202
    first = wait_for(lambda: fake_api.create_calls("blog"), timeout=10, what="the first build")
    for i in range(20):  # a second burst while the first build runs
        assert send(url, "cms", json.dumps({"burst": 2, "i": i}).encode()).status_code == 202

    def first_build_done() -> bool:
        rows = cli_json(relay_env, "deployments", "--limit", "5")["deployments"]
        return any(r["status"] == "success" for r in rows)

    stays(
        lambda: len(fake_api.create_calls("blog")) == 1 or first_build_done(),
        duration=1.5,
        what="no second build while the first is in flight",
    )
    calls = wait_for(lambda: fake_api.create_calls("blog")[1:], timeout=20, what="one more build")
    assert calls[0]["time"] >= first[0]["time"] + 3.0 - 0.1
    stays(lambda: len(fake_api.create_calls("blog")) == 2, duration=1.5, what="exactly two builds")
    rows = cli_json(relay_env, "deployments")["deployments"]
    assert sorted(r["deliveries"] for r in rows) == [1, 20]


def test_shared_api_budget_is_never_exceeded(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    for name in ("a", "b", "c", "d"):
        fake_api.add_project(name)
    relay_env.write(
        {
            "cloudflare": {"poll_interval": "0.3s", "budget": 2, "budget_window": "2s"},
            "targets": {n: {"project": n, "debounce": "0.2s"} for n in ("a", "b", "c", "d")},
            "hooks": {"cms": github_hook(["a", "b", "c", "d"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()
    relay_env.worker()
    assert send(server.url, "cms", b'{"all":1}').status_code == 202
    wait_for(lambda: len(fake_api.create_calls()) == 4, timeout=30, what="four builds")
    times = sorted(c["time"] for c in fake_api.calls() if "/accounts/" in c["path"])
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + 2.0 - 0.05]
        assert len(in_window) <= 2, f"{len(in_window)} API calls within 2 s: {times}"


def test_stuck_build_is_reported(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=120)
    url = setup(relay_env, stuck_after="1s")
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "stuck")
    assert "no progress" in row["error"]
