"""What an operator trusts the relay with: an identical republish builds, a failure stays
replayable however much history follows it, and claiming never stops silently."""

from __future__ import annotations

import json

import httpx
import redis

from relay.core import keys
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli, cli_json, send, trigger
from tests.helpers.senders import github_hook


def _config(env: RelayEnv, **server: object) -> None:
    env.write(
        {
            "server": server,
            "targets": {"blog": {"project": "blog", "debounce": "0.3s"}},
            "hooks": {"cms": github_hook(["blog"])},
        }
    )


def test_an_identical_republish_after_a_build_builds_again(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    """Storyblok, Strapi and DatoCMS bodies often carry only ids: publishing the same entry
    twice sends the same body. The second publish is a change, not a retry."""
    fake_api.add_project("blog")
    _config(relay_env)
    url = relay_env.serve().url
    relay_env.worker()
    body = b'{"action":"published","story_id":42}'
    assert send(url, "cms", body).status_code == 202
    retry = send(url, "cms", body)
    assert retry.status_code == 200 and retry.json()["duplicate"] is True, "a retry counts once"
    trigger(relay_env, "success")
    again = send(url, "cms", body)
    assert again.status_code == 202, again.text
    wait_for(lambda: len(fake_api.create_calls("blog")) == 2, timeout=15, what="the second build")
    rows = cli_json(relay_env, "deployments")["deployments"]
    assert [r["deliveries"] for r in rows] == [1, 1]


def test_a_failure_stays_replayable_past_keep_deployments(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    _config(relay_env, keep_deployments=2)
    url = relay_env.serve().url
    relay_env.worker()
    assert send(url, "cms", b'{"n":0}').status_code == 202
    failed = trigger(relay_env, "failed")  # the project does not exist yet: 404, at once
    fake_api.add_project("blog")

    def built() -> int:
        return len([c for c in fake_api.create_calls("blog") if c["status"] == 200])

    for n in range(1, 5):
        assert send(url, "cms", json.dumps({"n": n}).encode()).status_code == 202
        wait_for(lambda: built() >= n, timeout=15, what=f"build {n}")  # noqa: B023
    wait_for(lambda: rclient.zcard(keys.TRIGGERS) <= 3, timeout=90, what="the history trimmed")
    listed = cli_json(relay_env, "failed")["failed"]
    assert [r["id"] for r in listed] == [failed["id"]], "trimming never drops a failure"
    replayed = cli(relay_env, "replay", failed["id"])
    assert replayed.returncode == 0 and "re-queued" in replayed.stdout


def test_a_claimer_that_hits_a_bug_goes_on_and_says_so(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    _config(relay_env)
    server = relay_env.serve()
    relay_env.worker(RELAY_TEST_FAIL_AT="claimer:tick")
    assert send(server.url, "cms", b'{"a":1}').status_code == 202
    trigger(relay_env, "success")

    def claimer_errors() -> float | None:
        text = httpx.get(server.url + "/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith('relay_worker_claimer_errors_total{worker="w1"}'):
                return float(line.split()[-1]) or None
        return None

    assert wait_for(claimer_errors, timeout=15, what="the error counted in /metrics") == 1.0
