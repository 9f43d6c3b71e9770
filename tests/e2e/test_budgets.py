"""Build budgets with real processes: a budget of 2 a day gives 2 builds out of 3 bursts, the
third is held (and said so), and `relay deploy --now --ignore-budget` builds it anyway."""

from __future__ import annotations

import redis

from relay.core.store import Store
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.catcher import Capture
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import RelayEnv, cli, cli_json, send, setup


def _successes(env: RelayEnv) -> int:
    rows = cli_json(env, "deployments")["deployments"]
    return sum(1 for r in rows if r["status"] == "success")


def test_two_a_day_builds_two_of_three_bursts_and_the_third_on_ignore_budget(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    fake_api.add_project("blog")
    with Capture() as channel:
        url = setup(relay_env, budget="2/day", notify=channel.url)
        for burst in (1, 2):
            assert send(url, "cms", f'{{"burst":{burst}}}'.encode()).status_code == 202
            wait_for(lambda: _successes(relay_env) == burst, timeout=20, what="a build")  # noqa: B023
        assert send(url, "cms", b'{"burst":3}').status_code == 202, "still stored and answered"

        def held() -> str | None:
            pending = Store(rclient).pending().get("blog")
            return pending.held if pending else None

        assert wait_for(held, timeout=10, what="the third burst held") == "budget"
        assert len(fake_api.create_calls("blog")) == 2
        texts = wait_for(
            lambda: [t for t in channel.texts() if "held" in t], timeout=10, what="told"
        )
        assert "ignore-budget" in texts[0]
        assert any("used up" in t for t in channel.texts()), "100 % of the budget is news"

        result = cli(relay_env, "deploy", "blog", "--now", "--ignore-budget")
        assert result.returncode == 0, result.stderr
        wait_for(lambda: _successes(relay_env) == 3, timeout=20, what="the third build")
        assert len(fake_api.create_calls("blog")) == 3
        assert Store(rclient).pending().get("blog") is None
