"""Cron ticks: exactly once across threads and processes, restart-safe, grace, coalescing.

The tick logic takes an injected "now", so slots are exercised directly against a real Redis
(no waiting for a minute to turn); one test drives a tick through real `relay serve` and
`relay worker` processes to a Pages build.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

import httpx
import redis

from relay.core import controls as actions
from relay.core import keys
from relay.core.config import load_settings, parse_settings
from relay.core.cron import next_slot, schedule_status
from relay.core.job_queue import job_queue
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.providers.registry import PROVIDERS
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import stays, wait_for
from tests.helpers.relay_env import RelayEnv
from tests.helpers.senders import github_headers, github_hook
from workers.claimer import claim_bursts
from workers.cron import GRACE, ScheduleTicker, tick_schedules

HOURLY = "0 * * * *"
SLOT = 1_800_000_000  # 2027-01-15 08:00:00 UTC, a whole hour


def _settings(redis_url: str, **target: Any) -> Settings:
    config = {"deploy_hook": "https://hooks.invalid/build", "debounce": "30s", **target}
    return parse_settings(
        {"redis": {"url": redis_url}, "targets": {"site": config}}, {}, schemes=PROVIDERS
    )


def _burst(client: redis.Redis) -> dict[Any, Any]:
    return dict(client.hgetall(keys.burst("site")))


def test_first_sight_arms_the_schedule_and_never_fires(
    rclient: redis.Redis, redis_url: str
) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    assert tick_schedules(rclient, settings, now=SLOT + 5) == []  # a process starting
    assert not _burst(rclient), "starting the relay must not build"
    [status] = schedule_status(rclient, settings)
    assert status.armed_since == (SLOT + 5) * 1000 and status.last_fired is None

    fired = tick_schedules(rclient, settings, now=SLOT + 3600 + 1)
    assert [(t.slot, t.outcome) for t in fired] == [(SLOT + 3600, "fired")]
    assert _burst(rclient)[b"reason"] == b"schedule"


def test_one_tick_per_slot_across_threads(rclient: redis.Redis, redis_url: str) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    tick_schedules(rclient, settings, now=SLOT - 60)
    barrier = threading.Barrier(16)
    fired: list[int] = []

    def worker() -> None:
        client = redis.Redis.from_url(redis_url)
        ticker = ScheduleTicker(client, settings)  # each thread: a process's own state
        barrier.wait()
        fired.extend(t.slot for t in ticker.tick(now=SLOT + 1) if t.outcome == "fired")
        client.close()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fired == [SLOT]
    assert rclient.zscore(keys.DUE, "site") is not None


def _tick_in_process(redis_url: str, start_at: float, slots: list[int]) -> list[int]:
    settings = _settings(redis_url, schedule=HOURLY)
    client = redis.Redis.from_url(redis_url)
    while time.time() < start_at:  # line the processes up on the same instant
        time.sleep(0.001)
    out = []
    for slot in slots:
        out += [t.slot for t in ScheduleTicker(client, settings).tick(now=slot + 1)]
    return out


def test_one_tick_per_slot_across_three_processes(rclient: redis.Redis, redis_url: str) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    tick_schedules(rclient, settings, now=SLOT - 60)
    slots = [SLOT + i * 3600 for i in range(5)]
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(3) as pool:
        start_at = time.time() + 2.0
        results = pool.starmap(_tick_in_process, [(redis_url, start_at, slots)] * 3)
    fired = sorted(s for result in results for s in result)
    assert fired == slots, f"each slot must fire exactly once, got {results}"


def test_a_fired_slot_never_fires_again_after_a_restart(
    rclient: redis.Redis, redis_url: str
) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    tick_schedules(rclient, settings, now=SLOT - 60)
    assert len(tick_schedules(rclient, settings, now=SLOT + 1)) == 1
    rclient.delete(keys.burst("site"), keys.DUE)

    assert tick_schedules(rclient, settings, now=SLOT + 30) == []  # a restarted worker
    rclient.delete(keys.cron_slot("build", "site", SLOT))  # even once the slot mark expired
    assert tick_schedules(rclient, settings, now=SLOT + 40) == []
    assert not _burst(rclient)


def test_a_slot_missed_while_down_fires_once_within_the_grace(
    rclient: redis.Redis, redis_url: str
) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    tick_schedules(rclient, settings, now=SLOT - 600)  # ran before, then every worker went down
    late = tick_schedules(rclient, settings, now=SLOT + GRACE - 1)
    assert [(t.slot, t.outcome) for t in late] == [(SLOT, "fired")]
    assert tick_schedules(rclient, settings, now=SLOT + GRACE) == []


def test_a_slot_older_than_the_grace_is_recorded_as_missed(
    rclient: redis.Redis, redis_url: str
) -> None:
    settings = _settings(redis_url, schedule=HOURLY)
    tick_schedules(rclient, settings, now=SLOT - 600)
    missed = tick_schedules(rclient, settings, now=SLOT + GRACE + 1)
    assert [(t.slot, t.outcome) for t in missed] == [(SLOT, "missed")]
    assert not _burst(rclient)
    [status] = schedule_status(rclient, settings)
    assert (status.missed, status.last_missed, status.last_fired) == (1, SLOT, None)

    assert [t.outcome for t in tick_schedules(rclient, settings, now=SLOT + 3601)] == ["fired"]


def test_after_downtime_only_the_latest_slot_fires(rclient: redis.Redis, redis_url: str) -> None:
    settings = _settings(redis_url, schedule="* * * * *")
    tick_schedules(rclient, settings, now=SLOT - 1)
    fired = tick_schedules(rclient, settings, now=SLOT + 5 * 60 + 10)
    assert [(t.slot, t.outcome) for t in fired] == [(SLOT + 300, "fired")]
    [status] = schedule_status(rclient, settings)
    assert status.missed == 5 and status.last_fired == SLOT + 300  # SLOT, +60, ..., +240


def test_a_changed_cron_is_armed_again(rclient: redis.Redis, redis_url: str) -> None:
    tick_schedules(rclient, _settings(redis_url, schedule=HOURLY), now=SLOT - 60)
    changed = _settings(redis_url, schedule="30 * * * *")
    assert tick_schedules(rclient, changed, now=SLOT + 1800 + 5) == []
    assert [t.slot for t in tick_schedules(rclient, changed, now=SLOT + 5400 + 5)] == [SLOT + 5400]


def test_maybe_tick_looks_at_most_once_a_second(rclient: redis.Redis, redis_url: str) -> None:
    ticker = ScheduleTicker(rclient, _settings(redis_url, schedule=HOURLY))
    assert ticker.maybe_tick() == []
    assert ticker.maybe_tick() is None
    assert ScheduleTicker(rclient, _settings(redis_url)).maybe_tick() is None  # no cron at all


def test_a_tick_coalesces_with_a_burst_in_progress(rclient: redis.Redis, redis_url: str) -> None:
    settings = _settings(redis_url, schedule=HOURLY, debounce="0.2s", max_wait="1s")
    tick_schedules(rclient, settings, now=SLOT - 60)
    actions.touch(rclient, settings, "site", reason="webhooks")
    assert len(tick_schedules(rclient, settings, now=SLOT + 1)) == 1
    time.sleep(0.3)  # past the (server-clock) quiet period
    assert len(claim_bursts(rclient)) == 1


def test_prune_schedule_enqueues_one_job_per_slot(rclient: redis.Redis, redis_url: str) -> None:
    config = {"project": "blog", "keep": "7d", "prune_schedule": "15 3 * * *"}
    raw = {"redis": {"url": redis_url}, "targets": {"blog": config}}
    settings = parse_settings(raw, {}, schemes=PROVIDERS)
    slot = 1_800_000_000 // 86400 * 86400 + 3 * 3600 + 15 * 60
    tick_schedules(rclient, settings, now=slot - 60)
    for _ in range(3):
        tick_schedules(rclient, settings, now=slot + 2)
    queue = job_queue(rclient)
    assert queue.job_ids == [f"prune-blog-{slot}-1"]
    job = queue.fetch_job(f"prune-blog-{slot}-1")
    assert job is not None and job.func_name == "workers.prune_job.prune_job"
    assert schedule_status(rclient, settings)[0].kind == "prune"


def test_a_tick_becomes_one_build_through_real_processes(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    yearly = "0 0 1 1 *"  # never fires by itself during the test: the tick's "now" is injected
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3)
    target = {"project": "blog", "branch": "main", "debounce": "1s", "max_wait": "10s"}
    relay_env.write(
        {
            "targets": {"blog": {**target, "schedule": yearly}},
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()
    # the worker's claimer looks at the crons: it arms this one (and fires nothing)
    wait_for(lambda: rclient.hget(keys.schedule_state("build", "blog"), "since"), what="armed")
    settings = load_settings(relay_env.config, environ=relay_env.env, schemes=PROVIDERS)

    fired = tick_schedules(rclient, settings, now=next_slot(yearly, time.time()) + 2)
    ticked_at = time.time()
    assert [t.outcome for t in fired] == ["fired"]
    body = b'{"entry": "saved during the tick"}'
    answer = httpx.post(f"{server.url}/hooks/cms", content=body, headers=github_headers(body))
    assert answer.status_code == 202

    calls = wait_for(lambda: fake_api.create_calls("blog"), timeout=10, what="the build call")
    assert calls[0]["time"] - ticked_at < 1.0 + 1.5, "the build waits for the debounce only"
    stays(lambda: len(fake_api.create_calls("blog")) == 1, duration=1.5, what="one build")

    def recorded() -> Trigger | None:
        rows = Store(rclient).trigger_page(target="blog")
        return rows[0] if rows and rows[0].status is TriggerStatus.SUCCESS else None

    trigger = wait_for(recorded, timeout=10, what="the build recorded")
    assert trigger is not None and trigger.reason == "schedule" and trigger.deliveries == 1
