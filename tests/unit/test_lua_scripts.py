"""Each Lua script against a real Redis: the one debounce rule, ingest's dedupe and record, the
claim, the trigger transition, the API budget, cron slots and step leases."""

from __future__ import annotations

import dataclasses
from typing import Any

import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.records import Delivery, DeliveryOutcome, Trigger, TriggerStatus
from relay.core.scripts import lua
from relay.core.store import Store
from relay.core.transitions import Lease, Step, Transitions
from workers.claimer import claim_bursts


def run(client: redis.Redis, name: str, script_keys: list[str], args: list[Any]) -> Any:
    return client.register_script(lua(name))(keys=script_keys, args=args)


def touch(client: redis.Redis, target: str, quiet: int, max_wait: int, reason: str = "t") -> int:
    due = run(
        client, keys.SCRIPT_TOUCH, [keys.burst(target), keys.DUE], [target, quiet, max_wait, reason]
    )
    return int(due)


def ingest(
    client: redis.Redis,
    target: str,
    quiet: int,
    max_wait: int,
    token: str = "t1",
    mode: str = "seen",
) -> list[bytes]:
    delivery = Delivery(hook="cms", outcome=DeliveryOutcome.ACCEPTED, at=0.0, targets=(target,))
    script_keys = [
        keys.dedupe("cms", token),
        keys.DELIVERIES,
        keys.hook_deliveries("cms"),
        keys.DELIVERY_COUNTS,
        keys.DUE,
        keys.burst(target),
    ]
    args = [1, 1000, "accepted", delivery.to_json(), "cms", 60_000, mode, target, quiet, max_wait]
    return list(run(client, keys.SCRIPT_INGEST, script_keys, args))


def claim(client: redis.Redis) -> list[str]:
    return claim_bursts(client)


# -- the one debounce rule -------------------------------------------------------------------------


def test_the_quiet_period_restarts_but_is_capped_by_the_deadline(rclient: redis.Redis) -> None:
    first = touch(rclient, "blog", quiet=30_000, max_wait=60_000)
    now = server_ms(rclient)
    assert 29_000 <= first - now <= 30_000
    again = touch(rclient, "blog", quiet=30_000, max_wait=60_000)
    assert again >= first, "a later touch restarts the quiet period"
    burst = rclient.hgetall(keys.burst("blog"))
    deadline = int(burst[b"deadline"])
    assert deadline - int(burst[b"first"]) == 60_000
    assert touch(rclient, "blog", quiet=120_000, max_wait=60_000) == deadline, "never past it"


def test_deploy_now_stays_due_at_once_while_webhooks_join(rclient: redis.Redis) -> None:
    ingest(rclient, "blog", quiet=30_000, max_wait=300_000, token="a")
    forced = touch(rclient, "blog", quiet=0, max_wait=0, reason="manual")
    for token in ("b", "c", "d"):
        ingest(rclient, "blog", quiet=30_000, max_wait=300_000, token=token)
    assert int(rclient.zscore(keys.DUE, "blog") or 0) == forced, "webhooks never push it later"
    burst = rclient.hgetall(keys.burst("blog"))
    assert burst[b"count"] == b"4" and burst[b"reason"] == b"webhooks"


# -- ingest ----------------------------------------------------------------------------------------


def test_ingest_records_once_and_answers_duplicate_with_the_first_id(rclient: redis.Redis) -> None:
    outcome, first_id = ingest(rclient, "blog", 1000, 5000, token="same")
    again, dup_of = ingest(rclient, "blog", 1000, 5000, token="same")
    assert (outcome, again) == (b"accepted", b"duplicate") and dup_of == first_id
    entries = Store(rclient).deliveries(limit=10)
    assert [d.outcome for d in entries] == [DeliveryOutcome.DUPLICATE, DeliveryOutcome.ACCEPTED]
    assert entries[0].duplicate_of == first_id.decode() and entries[0].targets == ()
    counts = Store(rclient).delivery_counts()
    assert counts == {"cms:accepted": 1, "cms:duplicate": 1}
    assert rclient.hget(keys.burst("blog"), "count") == b"1"


def test_a_body_digest_only_merges_into_a_burst_still_pending(rclient: redis.Redis) -> None:
    """The same body again while its burst collects is a retry; after the burst was claimed
    it is a new change (an editor publishing the same entry again) and must build."""
    outcome, first = ingest(rclient, "blog", 0, 0, token="body:x", mode="pending")
    again, dup_of = ingest(rclient, "blog", 0, 0, token="body:x", mode="pending")
    assert (outcome, again, dup_of) == (b"accepted", b"duplicate", first)
    assert len(claim(rclient)) == 1
    rclient.delete(keys.inflight("blog"))  # as if that build had ended
    later, _ = ingest(rclient, "blog", 0, 0, token="body:x", mode="pending")
    assert later == b"accepted", "the republish after the build is a new delivery"
    assert rclient.hget(keys.burst("blog"), "count") == b"1"


# -- claim and transitions -----------------------------------------------------------------------


def _claimed(rclient: redis.Redis) -> Trigger:
    touch(rclient, "blog", quiet=0, max_wait=0)
    [trigger_id] = claim(rclient)
    trigger = Store(rclient).trigger(trigger_id)
    assert trigger is not None
    return trigger


def test_a_due_burst_is_claimed_once_into_a_queued_trigger(rclient: redis.Redis) -> None:
    trigger = _claimed(rclient)
    assert trigger.status is TriggerStatus.QUEUED and trigger.target == "blog"
    assert claim(rclient) == [], "claimed once"
    assert rclient.get(keys.inflight("blog")) == trigger.id.encode()
    assert rclient.zscore(keys.STEPS, f"deploy:{trigger.id}:1") is not None
    assert not rclient.exists(keys.burst("blog"))


def test_a_busy_target_keeps_its_burst_until_the_build_ends(rclient: redis.Redis) -> None:
    trigger = _claimed(rclient)
    forced = touch(rclient, "blog", quiet=0, max_wait=0)
    assert claim(rclient) == [], "one build in flight per target"
    assert int(rclient.zscore(keys.DUE, "blog") or 0) > forced, "put off while busy"
    moves = Transitions(rclient)
    done = dataclasses.replace(trigger, status=TriggerStatus.SUCCESS)
    assert moves.move(trigger, done)
    assert int(rclient.zscore(keys.DUE, "blog") or 0) == forced, "re-armed at its own time"
    assert len(claim(rclient)) == 1
    assert Store(rclient).counts(keys.BUILD_COUNTS) == {"blog:success": 1}


def test_a_move_is_guarded_by_the_state_it_was_read_in(rclient: redis.Redis) -> None:
    trigger = _claimed(rclient)
    moves = Transitions(rclient)
    triggering = dataclasses.replace(trigger, status=TriggerStatus.TRIGGERING, attempts=1)
    assert moves.move(trigger, triggering)
    assert not moves.move(trigger, dataclasses.replace(trigger, status=TriggerStatus.FAILED))
    stored = Store(rclient).trigger(trigger.id)
    assert stored is not None and stored.status is TriggerStatus.TRIGGERING


def test_failed_for_good_is_listed_until_replayed(rclient: redis.Redis) -> None:
    trigger = _claimed(rclient)
    moves = Transitions(rclient)
    failed = dataclasses.replace(trigger, status=TriggerStatus.FAILED, error="nope")
    assert moves.move(trigger, failed)
    assert [t.id for t in Store(rclient).failed()] == [trigger.id]
    assert not rclient.exists(keys.inflight("blog")), "the target is free"
    assert moves.replay(failed, server_ms(rclient))
    assert Store(rclient).failed() == []
    replayed = Store(rclient).trigger(trigger.id)
    assert replayed is not None and replayed.status is TriggerStatus.REPLAYED
    assert Store(rclient).counts(keys.BUILD_COUNTS) == {"blog:failed": 1}, "counted once"


def test_a_step_is_completed_only_by_its_lease_holder(rclient: redis.Redis) -> None:
    trigger = _claimed(rclient)
    step = Step("deploy", trigger.id, 1)
    rclient.hset(keys.STEP_LEASES, step.member, "mine")
    moves = Transitions(rclient)
    after = dataclasses.replace(trigger, status=TriggerStatus.TRIGGERING)
    assert not moves.move(trigger, after, done=Lease(step, "theirs"))
    assert moves.move(
        trigger, after, done=Lease(step, "mine"), arm=(Step("watch", trigger.id, 1), 5)
    )
    assert rclient.zscore(keys.STEPS, step.member) is None
    watch = rclient.zscore(keys.STEPS, f"watch:{trigger.id}:1")
    assert watch is not None and 4_000 <= watch - server_ms(rclient) <= 5_000


# -- the API budget, cron slots, step leases ------------------------------------------------------


def test_the_budget_hands_out_its_slots_then_says_how_long_to_wait(rclient: redis.Redis) -> None:
    taken = [
        run(rclient, keys.SCRIPT_BUDGET, [keys.API_BUDGET], [2, 60_000, f"m{i}"]) for i in range(3)
    ]
    assert taken[:2] == [0, 0] and 59_000 <= taken[2] <= 60_000


def test_a_cron_slot_is_decided_once(rclient: redis.Redis) -> None:
    state = keys.schedule_state("build", "blog")
    rclient.hset(state, mapping={"expr": "* * * * *", "since": 0})
    decide = [keys.cron_slot("build", "blog", 600), state]
    args = [600, 1200, "fired", 600_000, 660, 0]
    assert [run(rclient, keys.SCRIPT_CRON_SLOT, decide, args) for _ in range(3)] == [1, 0, 0]
    assert rclient.hget(state, "last_fired") == b"600"


def test_due_steps_are_taken_under_a_lease_that_only_its_holder_renews(
    rclient: redis.Redis,
) -> None:
    rclient.zadd(keys.STEPS, {"deploy:x-1:1": 0, "watch:y-1:2": server_ms(rclient) + 60_000})
    where = [keys.STEPS, keys.STEP_LEASES]
    taken = run(rclient, keys.SCRIPT_TAKE_STEPS, where, [10, 30_000, "worker-a"])
    assert (
        taken == [b"deploy:x-1:1"] and rclient.hget(keys.STEP_LEASES, "deploy:x-1:1") == b"worker-a"
    )
    assert run(rclient, keys.SCRIPT_TAKE_STEPS, where, [10, 30_000, "worker-b"]) == [], "leased"
    assert (rclient.zscore(keys.STEPS, "deploy:x-1:1") or 0) - server_ms(rclient) > 29_000
    assert run(rclient, keys.SCRIPT_RENEW_STEPS, where, [60_000, "worker-b", "deploy:x-1:1"]) == 0
    assert run(rclient, keys.SCRIPT_RENEW_STEPS, where, [60_000, "worker-a", "deploy:x-1:1"]) == 1
    assert (rclient.zscore(keys.STEPS, "deploy:x-1:1") or 0) - server_ms(rclient) > 59_000
