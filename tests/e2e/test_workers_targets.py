"""Workers Builds targets end to end: real `relay serve` and `relay worker` processes, a real
Redis, the faithful fake Cloudflare API (Workers Builds paths), notifications caught on
loopback.
"""

from __future__ import annotations

from typing import Any

import standardwebhooks

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.catcher import Capture
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli_json, send, trigger
from tests.helpers.senders import WHSEC, github_hook

HOOK = github_hook(["app"])


def _start(env: RelayEnv, target: dict[str, Any], **doc: Any) -> str:
    env.write(
        {
            "cloudflare": {"poll_interval": "0.2s"},
            "retry": {"attempts": 3, "initial": "0.2s", "max": "1s"},
            "targets": {"app": {"debounce": "0.4s", "max_wait": "5s", **target}},
            "hooks": {"cms": HOOK},
            **doc,
        }
    )
    url = env.serve().url
    env.worker()
    return url


def _rows(env: RelayEnv) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli_json(env, "deployments", "--target", "app")["deployments"]
    return rows


def test_a_burst_becomes_one_watched_workers_build(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    fake_api.set_worker_build(duration=0.6)
    url = _start(relay_env, {"worker": "my-app", "branch": "main"})
    for n in range(5):
        assert send(url, "cms", f'{{"n":{n}}}'.encode()).status_code == 202
    row = trigger(relay_env, "success")
    assert row["deliveries"] == 5 and row["kind"] == "workers"
    assert len(fake_api.build_calls("my-app")) == 1, "five deliveries, one build"
    [build] = fake_api.worker_builds("my-app")
    assert row["deployment_id"] == build["build_uuid"]
    assert row["stage"] == "stopped" and row["stage_status"] == "success"
    assert row["environment"] == "production" and row["duration"] is not None
    assert row["version"] == fake_api.worker_version_of(build["build_uuid"])
    assert row["version"] is not None, "the version the build deployed is recorded"


def test_a_newer_burst_cancels_the_running_build_when_superseding(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    fake_api.set_worker_build(duration=30, times=1)  # the first build runs long
    url = _start(relay_env, {"worker": "my-app", "branch": "main", "supersede": "cancel"})
    assert send(url, "cms", b'{"change":1}').status_code == 202
    first = trigger(relay_env, "building")
    wait_for(
        lambda: any(b["status"] == "running" for b in fake_api.worker_builds("my-app")),
        timeout=20,
        what="the first build running",
    )
    assert send(url, "cms", b'{"change":2}').status_code == 202

    def settled() -> dict[str, Any] | None:
        rows = {r["id"]: r for r in _rows(relay_env)}
        old = rows.get(first["id"])
        newer = [r for r in rows.values() if r["id"] != first["id"]]
        if old and old["status"] == "superseded" and newer and newer[0]["status"] == "success":
            return {"old": old, "new": newer[0]}
        return None

    found = wait_for(settled, timeout=40, what="the old build superseded, the new one built")
    assert found["old"]["superseded_by"] == found["new"]["id"]
    assert len(fake_api.cancel_calls("my-app")) == 1
    builds = fake_api.worker_builds("my-app")
    assert [b["build_outcome"] for b in builds] == ["cancelled", "success"]


def test_a_running_build_is_waited_for_without_supersede(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    fake_api.set_worker_build(duration=2, times=1)
    url = _start(relay_env, {"worker": "my-app", "branch": "main"})
    assert send(url, "cms", b'{"change":1}').status_code == 202
    first = trigger(relay_env, "building")
    assert send(url, "cms", b'{"change":2}').status_code == 202
    wait_for(
        lambda: len([r for r in _rows(relay_env) if r["status"] == "success"]) == 2,
        timeout=40,
        what="both builds, one after the other",
    )
    assert fake_api.cancel_calls("my-app") == []
    assert {r["id"] for r in _rows(relay_env)} >= {first["id"]}


def test_a_failed_build_brings_its_log_to_the_records_and_three_channels(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    log = [f"step {i}" for i in range(50)] + ['✘ [ERROR] Could not resolve "./missing"']
    fake_api.set_worker_build(duration=0.4, outcome="fail", log_lines=log)
    with Capture() as slack, Capture() as discord, Capture() as generic:
        channels = [
            {"url": slack.url, "format": "slack"},
            {"url": discord.url, "format": "discord", "events": ["failed"]},
            {"url": generic.url, "secret": WHSEC},
        ]
        url = _start(
            relay_env,
            {"worker": "my-app", "branch": "main"},
            notify=channels,
            server={"public_url": "https://relay.example.org"},
        )
        assert send(url, "cms", b'{"a":1}').status_code == 202
        row = trigger(relay_env, "failure")
        assert row["log_tail"][-1] == log[-1] and len(row["log_tail"]) == 30

        wait_for(
            lambda: all(c.requests for c in (slack, discord, generic)),
            timeout=15,
            what="each channel told",
        )
        assert "Could not resolve" in slack.texts()[0] and "blocks" in slack.received[0]
        assert "Could not resolve" in discord.texts()[0] and "embeds" in discord.received[0]
        request = generic.requests[0]
        document = standardwebhooks.Webhook(WHSEC).verify(request.body, request.headers)
        assert document["type"] == "relay.failed" and document["data"]["target"] == "app"
        assert document["data"]["log"][-1] == log[-1]
        assert document["data"]["link"] == "https://relay.example.org/deployments?target=app"


def test_a_workers_deploy_hook_is_followed_through_the_api(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    fake_api.set_worker_build(duration=0.4)
    hook_url = fake_api.add_worker_deploy_hook("my-app", "main")
    relay_env.env["APP_HOOK"] = hook_url
    url = _start(relay_env, {"deploy_hook": "${APP_HOOK}"})
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "success")
    assert row["kind"] == "workers-hook"
    [call] = fake_api.build_calls("my-app")
    assert row["deployment_id"] == call["build_uuid"] and not row["already_exists"]
    assert "deploy_hooks" not in str(row), "the hook URL is a secret"


def test_a_worker_not_built_by_workers_builds_fails_naming_it(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app", connected=False)  # no repository connected: no triggers
    url = _start(relay_env, {"worker": "my-app", "branch": "main"})
    assert send(url, "cms", b'{"a":1}').status_code == 202
    row = trigger(relay_env, "failed")
    assert "my-app" in row["error"], row["error"]
    assert row["attempts"] == 1, "a Worker without builds is not retried"
    assert fake_api.build_calls("my-app") == []
