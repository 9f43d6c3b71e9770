"""The dashboard, API and /metrics stay fast with 100,000 deliveries and 10,000 deployments
stored: every read is paged or capped (XREVRANGE with COUNT, ZREVRANGE ranges, counting hashes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
import redis

from relay.core import keys
from relay.core.scripts import lua
from tests.helpers.app_server import BEARER, AppServer, make_settings

DELIVERIES = 100_000
TRIGGERS = 10_000
#: generous for a loaded CI machine; locally each answer takes a few tens of milliseconds
BUDGET = 1.0


def seed(client: redis.Redis) -> None:
    """Deliveries through the receiver's own ingest script; triggers in the shape the claim
    script writes them (making 10,000 through claim + settle would take minutes)."""
    ingest = client.register_script(lua(keys.SCRIPT_INGEST))
    now_ms = int(time.time() * 1000)
    for start in range(0, DELIVERIES, 5000):
        pipe = client.pipeline(transaction=False)
        for i in range(start, start + 5000):
            outcome = "accepted" if i % 10 else "ignored"
            doc = {"hook": "cms", "outcome": outcome, "at": time.time(), "size": 20, "targets": []}
            ingest(
                keys=[keys.DELIVERIES, keys.hook_deliveries("cms"), keys.DELIVERY_COUNTS, keys.DUE],
                args=[0, DELIVERIES, outcome, orjson.dumps(doc), "cms"],
                client=pipe,
            )
        pipe.execute()
    pipe = client.pipeline(transaction=False)
    for i in range(TRIGGERS):
        target = ("blog", "docs")[i % 2]
        created = now_ms - (TRIGGERS - i) * 300
        trigger_id = f"{target}-{created}"
        status = "failed" if i % 50 == 0 else "success"
        pipe.hset(keys.trigger(trigger_id), mapping={
            "id": trigger_id, "target": target, "status": status, "created_at": created,
            "finished_at": created + 20_000, "deliveries": 10, "attempts": 1,
        })  # fmt: skip
        pipe.zadd(keys.TRIGGERS, {trigger_id: created})
        pipe.zadd(keys.target_triggers(target), {trigger_id: created})
        if status == "failed":
            pipe.zadd(keys.FAILED, {trigger_id: created + 20_000})
    pipe.execute()


@pytest.fixture
def app(redis_url: str, rclient: redis.Redis) -> Iterator[AppServer]:
    seed(rclient)
    assert rclient.xlen(keys.DELIVERIES) >= DELIVERIES
    with AppServer(make_settings(redis_url)) as server:
        yield server


def test_every_view_answers_quickly(app: AppServer) -> None:
    paths = [
        "/", "/live", "/deliveries", "/deployments?page=40", "/api/targets", "/api/deliveries",
        "/api/deployments?limit=1000", "/api/failed", "/api/queues", "/metrics", "/status/blog",
    ]  # fmt: skip
    with app.client(headers=BEARER) as client:
        client.get("/live")  # first use: templates compile, trigger tallies are read once
        timings = {}
        for path in paths:
            started = time.perf_counter()
            answer = client.get(path)
            timings[path] = time.perf_counter() - started
            assert answer.status_code == 200, (path, answer.text[:200])
        slow = {p: round(t, 3) for p, t in timings.items() if t > BUDGET}
        assert not slow, slow
        targets = client.get("/api/targets").json()["targets"]
    assert targets[0]["builds"] == TRIGGERS // 2 and targets[0]["deliveries"] == TRIGGERS // 2 * 10
    live = client_live_charts(app)
    assert "the newest 10000 only" in live


def client_live_charts(app: AppServer) -> str:
    with app.client(headers=BEARER) as client:
        return str(client.get("/live").json()["panels"]["charts"])
