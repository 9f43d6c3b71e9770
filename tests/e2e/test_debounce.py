"""The one debounce rule, as a user meets it: `relay deploy --now` during a build."""

from __future__ import annotations

import json
import time

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli, cli_json, send
from tests.helpers.senders import github_hook


def test_deploy_now_during_a_build_builds_right_after_it(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    """Webhooks keep arriving (every 0.5 s, inside the 3 s quiet period) while a build runs and
    an operator asks for `relay deploy --now`: the next build starts as soon as the running one
    ends, not when the webhooks stop (nor at max_wait)."""
    fake_api.add_project("blog")
    fake_api.set_build(duration=3.0)
    relay_env.write(
        {
            "targets": {"blog": {"project": "blog", "debounce": "3s", "max_wait": "60s"}},
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()
    assert send(server.url, "cms", b'{"n":0}').status_code == 202
    wait_for(lambda: fake_api.create_calls("blog"), timeout=15, what="the first build")

    asked = cli(relay_env, "deploy", "blog", "--now")
    assert asked.returncode == 0, asked.stderr
    n = 1
    deadline = time.time() + 20
    while len(fake_api.create_calls("blog")) < 2 and time.time() < deadline:
        assert send(server.url, "cms", json.dumps({"n": n}).encode()).status_code == 202
        n += 1
        time.sleep(0.5)  # the webhooks' pace (load), not synchronisation
    calls = fake_api.create_calls("blog")
    assert len(calls) == 2, "the forced build did not start while webhooks kept coming"

    rows = cli_json(relay_env, "deployments")["deployments"]
    first = next(r for r in rows if r["status"] == "success")
    ended = first["finished_at"] / 1000
    assert calls[1]["time"] - ended < 1.5, "the forced build waited after the running one ended"
    assert calls[1]["time"] - calls[0]["time"] < 6.0
