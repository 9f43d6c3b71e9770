"""Each transition of the trigger state machine, made by the real deploy and watch steps against
a real Redis, with Cloudflare's answers given by `httpx.MockTransport`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from relay.core import controls, keys
from relay.core.clock import server_ms
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.usage import ApiBudget
from relay.core.config import parse_settings
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import RelaySettings, Settings
from relay.core.store import Store, text
from relay.core.transitions import Lease, Step, Transitions
from relay.web.providers.registry import PROVIDERS
from workers import runtime
from workers.claimer import claim_bursts
from workers.deploy import deploy
from workers.runtime import Context
from workers.watch import watch

Handler = Callable[[httpx.Request], httpx.Response]
TOKEN = "lease-of-this-test"


def settings_for(redis_url: str, **cloudflare: Any) -> Settings:
    raw = {
        "redis": {"url": redis_url},
        "cloudflare": {
            "account_id": "a" * 32,
            "api_token": "t",
            "api_base": "https://api.test/client/v4",
            **cloudflare,
        },
        "retry": {"attempts": 2, "initial": "1s", "max": "2s"},
        "targets": {
            "blog": {"project": "blog", "branch": "main", "stuck_after": "1h"},
            "docs": {"deploy_hook": "https://api.test/client/v4/pages/webhooks/deploy_hooks/h1"},
        },
    }
    return parse_settings(raw, {}, schemes=PROVIDERS)


def deployment(stage: str = "queued", status: str = "active", **extra: Any) -> dict[str, Any]:
    return {
        "id": "dep-1",
        "url": "https://dep-1.blog.pages.dev",
        "environment": "production",
        "latest_stage": {"name": stage, "status": status},
        "created_on": "2026-12-01T10:00:00Z",
        **extra,
    }


def ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "errors": [], "result": result})


def refused(status: int, code: int, message: str, **headers: str) -> httpx.Response:
    doc = {"success": False, "errors": [{"code": code, "message": message}], "result": None}
    return httpx.Response(status, json=doc, headers=headers)


class Bench:
    """A context whose Cloudflare answers come from `answers` (one per call, in order)."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.answers: list[httpx.Response] = []
        self.calls: list[httpx.Request] = []
        self.budget = ApiBudget(client, settings.cloudflare, max_wait=0.0)
        http = CloudflareClient(
            settings.cloudflare,
            before_request=self.budget.take,
            transport=httpx.MockTransport(self._answer),
        )
        self.ctx = Context(
            settings, client, Store(client), Transitions(client), runtime.platform(settings, http)
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.answers.pop(0)

    def claimed(self, target: str = "blog") -> Trigger:
        controls.touch(self.client, self.ctx.settings, target, reason="test", now=True)
        [trigger_id] = claim_bursts(self.client)
        return self.read(trigger_id)

    def read(self, trigger_id: str) -> Trigger:
        trigger = self.ctx.store.trigger(trigger_id)
        assert trigger is not None
        return trigger

    def lease(self, kind: str, trigger_id: str, n: int) -> Lease:
        step = Step(kind, trigger_id, n)
        self.client.hset(keys.STEP_LEASES, step.member, TOKEN)
        return Lease(step, TOKEN)

    def armed(self) -> list[str]:
        return [text(m) for m in self.client.zrange(keys.STEPS, 0, -1)]


@pytest.fixture
def bench(rclient: redis.Redis, redis_url: str) -> Iterator[Bench]:
    yield Bench(rclient, settings_for(redis_url))


def test_queued_to_building_arms_the_first_poll(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(ok(deployment()))
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "building"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.BUILDING and after.attempts == 1
    assert after.deployment_id == "dep-1" and after.stage == "queued"
    assert bench.armed() == [f"watch:{trigger.id}:1"] and after.step == f"watch:{trigger.id}:1"


def test_a_deploy_hook_target_is_triggered(bench: Bench) -> None:
    trigger = bench.claimed("docs")
    bench.answers.append(ok({"id": "dep-9"}))
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "triggered"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.TRIGGERED and after.deployment_id == "dep-9"
    assert bench.armed() == [] and not bench.client.exists(keys.inflight("docs"))


def test_without_credentials_it_is_a_dry_run(rclient: redis.Redis, redis_url: str) -> None:
    settings = dataclasses.replace(settings_for(redis_url), relay=RelaySettings(dry_run=True))
    bench = Bench(rclient, settings)
    trigger = bench.claimed()
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "dry-run"
    assert bench.read(trigger.id).status is TriggerStatus.DRY_RUN and bench.calls == []


def test_a_retryable_answer_arms_the_next_attempt_and_retry_after_wins(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(refused(429, 971, "slow down", **{"Retry-After": "7"}))
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "retrying"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.RETRYING and after.attempts == 1
    assert after.error_status == 429 and after.error_code == 971
    step = f"deploy:{trigger.id}:2"
    assert bench.armed() == [step]
    due = bench.client.zscore(keys.STEPS, step) or 0
    assert 6_000 <= due - server_ms(bench.client) <= 7_000, "Retry-After beats retry.max (2s)"


def test_the_last_attempt_fails_for_good_and_frees_the_target(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers += [refused(503, 0, "down"), refused(503, 0, "down")]
    deploy(bench.ctx, bench.lease("deploy", trigger.id, 1))
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 2)) == "failed"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.FAILED and after.attempts == 2
    assert [t.id for t in bench.ctx.store.failed()] == [trigger.id]
    assert not bench.client.exists(keys.inflight("blog")) and bench.armed() == []


def test_a_4xx_fails_at_once_with_cloudflares_code(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(refused(404, 8000007, "Project not found."))
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "failed"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.FAILED and after.attempts == 1
    assert after.error_code == 8000007 and "Project not found." in (after.error or "")


def test_a_full_budget_puts_the_attempt_off_without_spending_it(
    rclient: redis.Redis, redis_url: str
) -> None:
    bench = Bench(rclient, settings_for(redis_url, budget=1, budget_window="1m"))
    bench.budget.take()  # the only slot of the window
    trigger = bench.claimed()
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "waiting for the API budget"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.QUEUED and after.attempts == 0, "no attempt spent"
    assert after.note == "waiting for the Cloudflare API budget" and bench.calls == []
    due = bench.client.zscore(keys.STEPS, f"deploy:{trigger.id}:1") or 0
    assert due - server_ms(bench.client) > 50_000, "armed for when a slot frees up"


def test_an_attempt_whose_worker_died_mid_call_is_counted_and_retried(bench: Bench) -> None:
    trigger = bench.claimed()
    died = dataclasses.replace(trigger, status=TriggerStatus.TRIGGERING, attempts=1)
    assert bench.ctx.moves.move(trigger, died)
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)) == "interrupted"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.RETRYING and "interrupted" in (after.error or "")
    assert bench.armed() == [f"deploy:{trigger.id}:2"] and bench.calls == []


def test_a_stale_step_is_dropped_without_touching_the_trigger(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(ok(deployment()))
    deploy(bench.ctx, bench.lease("deploy", trigger.id, 1))
    before = bench.read(trigger.id)
    bench.client.zadd(keys.STEPS, {f"deploy:{trigger.id}:1": 0})
    assert deploy(bench.ctx, bench.lease("deploy", trigger.id, 1)).startswith("stale")
    assert bench.read(trigger.id) == before and bench.armed() == [f"watch:{trigger.id}:1"]


def test_a_step_taken_over_by_another_worker_changes_nothing(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(ok(deployment()))
    lease = bench.lease("deploy", trigger.id, 1)
    bench.client.hset(keys.STEP_LEASES, lease.step.member, "another-worker")
    deploy(bench.ctx, lease)
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.TRIGGERING, "recorded as in progress, not finished"
    assert bench.armed() == [lease.step.member], "still the other worker's"


def _building(bench: Bench, **stage: str) -> Trigger:
    trigger = bench.claimed()
    bench.answers.append(ok(deployment(**stage)))
    deploy(bench.ctx, bench.lease("deploy", trigger.id, 1))
    return bench.read(trigger.id)


def test_a_poll_records_the_stage_and_polls_again(bench: Bench) -> None:
    trigger = _building(bench)
    bench.answers.append(ok(deployment("build", "active")))
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)) == "building"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.BUILDING and after.stage == "build"
    assert bench.armed() == [f"watch:{trigger.id}:2"]


@pytest.mark.parametrize(
    ("stage", "extra", "status"),
    [
        (("deploy", "success"), {}, TriggerStatus.SUCCESS),
        (("build", "failure"), {}, TriggerStatus.FAILURE),
        (("build", "canceled"), {}, TriggerStatus.CANCELED),
        (
            ("queued", "canceled"),
            {"is_skipped": True, "skip_reason": "branch"},
            TriggerStatus.SKIPPED,
        ),
    ],
)
def test_a_final_stage_settles_the_trigger_and_frees_the_target(
    bench: Bench, stage: tuple[str, str], extra: dict[str, Any], status: TriggerStatus
) -> None:
    trigger = _building(bench)
    bench.answers.append(ok(deployment(*stage, **extra)))
    if status.failing:  # the log of a failed build is read once, for its last lines
        lines = [{"ts": "2026-01-01T00:00:00Z", "line": f"line {i}"} for i in range(40)]
        bench.answers.append(ok({"total": 40, "data": lines}))
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)) == status.value
    after = bench.read(trigger.id)
    assert after.status is status and after.finished_at is not None
    if status.failing:
        assert after.log_tail is not None and after.log_tail[-1] == "line 39"
        assert len(after.log_tail) == 30, "bounded"
    else:
        assert after.log_tail is None
    assert bench.armed() == [] and after.step is None
    assert not bench.client.exists(keys.inflight("blog"))
    assert bench.ctx.store.counts(keys.BUILD_COUNTS) == {f"blog:{status.value}": 1}


def test_no_progress_for_stuck_after_is_stuck(rclient: redis.Redis, redis_url: str) -> None:
    bench = Bench(rclient, settings_for(redis_url))
    trigger = _building(bench)
    old = dataclasses.replace(trigger, progress_at=server_ms(rclient) - 3_600_001)
    assert bench.ctx.moves.move(trigger, old)
    bench.answers.append(ok(deployment()))
    bench.answers.append(refused(500, 0, "logs unavailable"))  # best effort: still settles
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)) == "stuck"
    assert "no progress" in (bench.read(trigger.id).error or "")
    assert bench.read(trigger.id).log_tail is None


def test_a_deployment_that_cannot_be_read_is_stuck(bench: Bench) -> None:
    trigger = _building(bench)
    bench.answers.append(
        refused(404, 8000009, "The deployment ID you have specified does not exist")
    )
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)) == "stuck"


def test_a_failed_poll_is_made_again(bench: Bench) -> None:
    trigger = _building(bench)
    bench.answers.append(refused(502, 0, "bad gateway"))
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)).startswith("poll failed")
    assert bench.read(trigger.id).status is TriggerStatus.BUILDING
    assert bench.armed() == [f"watch:{trigger.id}:2"]


def test_a_record_that_lost_its_fields_fails_once_with_a_reason(bench: Bench) -> None:
    trigger = _building(bench)
    bench.client.delete(keys.trigger(trigger.id))  # Redis evicted or lost it
    assert watch(bench.ctx, bench.lease("watch", trigger.id, 1)) == "lost"
    after = bench.read(trigger.id)
    assert after.status is TriggerStatus.FAILED and "lost its fields" in (after.error or "")
    assert after.target == "blog" and bench.armed() == [], "no step loops"
    assert not bench.client.exists(keys.inflight("blog"))
    assert [t.id for t in bench.ctx.store.failed()] == [trigger.id]


def test_replay_moves_a_failure_to_replayed_and_queues_its_target(bench: Bench) -> None:
    trigger = bench.claimed()
    bench.answers.append(refused(404, 8000007, "Project not found."))
    deploy(bench.ctx, bench.lease("deploy", trigger.id, 1))
    [replayed] = controls.replay(bench.client, bench.ctx.settings, [trigger.id])
    assert bench.read(trigger.id).status is TriggerStatus.REPLAYED
    assert replayed.target == "blog" and bench.ctx.store.failed() == []
    assert len(claim_bursts(bench.client)) == 1, "the replay is a new burst"
