"""The JSON API under /api: each endpoint, bad input (400 naming the field), 401, 404, and a
fast 503 when Redis is down. Real app over HTTP, real Redis, records made by the relay's code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from starlette.routing import Route

from relay.cli.embedded_redis import RedisServer
from relay.web.api.openapi import SPEC
from relay.web.app import create_app
from tests.helpers.app_server import BEARER, HOOK_URL_SECRET, AppServer, Records, make_settings
from tests.helpers.senders import SECRET


@pytest.fixture
def app(redis_url: str) -> Iterator[AppServer]:
    with AppServer(make_settings(redis_url)) as server:
        yield server


@pytest.fixture
def api(app: AppServer) -> Iterator[httpx.Client]:
    with app.client(headers=BEARER) as client:
        yield client


@pytest.fixture
def records(app: AppServer, rclient: redis.Redis) -> Records:
    return Records(rclient, app.settings)


def test_targets_show_state_pending_and_last_deployment(
    app: AppServer, api: httpx.Client, records: Records
) -> None:
    records.succeed("blog", deliveries="7")
    for i in range(3):
        assert app.send("cms", json.dumps({"i": i}).encode()).status_code == 202
    doc = api.get("/api/targets").json()
    blog, docs = doc["targets"]
    assert blog["name"] == "blog" and blog["kind"] == "pages" and blog["state"] == "debouncing"
    assert blog["pending"]["count"] == 3
    assert 25_000 < blog["pending"]["due"] - doc["now"] <= 30_000
    assert blog["last_deployment"]["status"] == "success"
    assert blog["last_deployment"]["duration"] == 42.0
    assert blog["builds"] == 1 and blog["deliveries"] == 7 and blog["builds_saved"] == 6
    assert docs["kind"] == "pages-hook" and docs["state"] == "idle"
    assert docs["last_deployment"] is None
    assert HOOK_URL_SECRET not in json.dumps(doc) and SECRET not in json.dumps(doc)


def test_target_states_building_and_failed(api: httpx.Client, records: Records) -> None:
    records.fail("docs")
    building = records.building("blog", stage="clone_repo")
    by_name = {t["name"]: t for t in api.get("/api/targets").json()["targets"]}
    assert by_name["blog"]["state"] == "building"
    assert by_name["blog"]["current"]["id"] == building
    assert by_name["blog"]["current"]["stage"] == "clone_repo"
    assert by_name["docs"]["state"] == "failed"


def test_deliveries_newest_first_filtered_and_paged(app: AppServer, api: httpx.Client) -> None:
    for i in range(5):
        assert app.send("cms", json.dumps({"n": i}).encode()).status_code == 202
    assert app.send("cms", b'{"n": 9}', secret="wrong").status_code == 401
    rows = api.get("/api/deliveries").json()["deliveries"]
    assert [r["outcome"] for r in rows] == ["rejected"] + ["accepted"] * 5
    assert "does not match" in rows[0]["reason"]
    first = api.get("/api/deliveries", params={"limit": 2}).json()
    assert len(first["deliveries"]) == 2 and first["next_before"] == first["deliveries"][1]["id"]
    rest = api.get("/api/deliveries", params={"before": first["next_before"], "hook": "cms"})
    assert [r["id"] for r in rest.json()["deliveries"]] == [r["id"] for r in rows[2:]]
    assert rest.json()["next_before"] is None


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"limit": "0"}, 400, "limit"),
        ({"limit": "lots"}, 400, "limit"),
        ({"limit": "1001"}, 400, "limit"),
        ({"before": "yesterday"}, 400, "before"),
        ({"hook": "nope"}, 404, "unknown hook"),
    ],
)
def test_deliveries_bad_input(
    api: httpx.Client, query: dict[str, str], status: int, field: str
) -> None:
    answer = api.get("/api/deliveries", params=query)
    assert answer.status_code == status
    assert answer.json()["error"].startswith(field)


def test_deployments_and_failed(api: httpx.Client, records: Records) -> None:
    ok = records.succeed("blog")
    failed = records.fail("blog", "Authentication error")
    hook = records.succeed("docs")
    rows = api.get("/api/deployments").json()
    assert [r["id"] for r in rows["deployments"]] == [hook, failed, ok] and rows["total"] == 3
    blog = api.get("/api/deployments", params={"target": "blog", "limit": 1}).json()
    assert [r["id"] for r in blog["deployments"]] == [failed] and blog["total"] == 2
    older = api.get("/api/deployments", params={"target": "blog", "offset": 1}).json()
    assert [r["id"] for r in older["deployments"]] == [ok]
    assert api.get("/api/deployments", params={"target": "nope"}).status_code == 404
    assert api.get("/api/deployments", params={"offset": "-1"}).json()["error"].startswith("offset")
    doc = api.get("/api/failed").json()
    assert [r["id"] for r in doc["failed"]] == [failed] and doc["total"] == 1
    assert doc["failed"][0]["error"] == "Authentication error"
    assert api.get("/api/failed", params={"target": "docs"}).json()["failed"] == []


def test_queues(api: httpx.Client) -> None:
    doc = api.get("/api/queues").json()
    assert doc["queues"][0]["name"] == "relay"
    assert set(doc["queues"][0]) >= {"queued", "started", "scheduled", "failed", "deferred"}
    assert doc["workers"] == [] and doc["timers"] == 0
    assert doc["cloudflare_budget"] == {"used": 0, "limit": 1200, "window_seconds": 300.0}


def test_replay_by_id_and_all(api: httpx.Client, records: Records, rclient: redis.Redis) -> None:
    first = records.fail("blog")
    second = records.fail("docs")
    answer = api.post("/api/replay", json={"ids": [first, "no-such-trigger"]})
    assert answer.status_code == 200
    doc = answer.json()
    assert [r["trigger_id"] for r in doc["replayed"]] == [first]
    assert doc["replayed"][0]["target"] == "blog" and doc["skipped"] == ["no-such-trigger"]
    assert api.get("/api/targets").json()["targets"][0]["state"] == "debouncing"
    none = api.post("/api/replay", json={"all": True, "target": "blog"}).json()
    assert none == {"replayed": [], "skipped": []}
    rest = api.post("/api/replay", json={"all": True, "since": "1h"}).json()
    assert [r["trigger_id"] for r in rest["replayed"]] == [second]
    assert api.get("/api/failed").json()["failed"] == []


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b"{}", 400, "ids"),
        (b'{"ids": ["a"], "all": true}', 400, "ids"),
        (b'{"ids": "a"}', 400, "ids"),
        (b'{"ids": []}', 400, "ids"),
        (b'{"ids": [1]}', 400, "ids"),
        (b'{"ids": ["a"], "target": "blog"}', 400, "target"),
        (b'{"all": true, "since": "a while"}', 400, "since"),
        (b'{"all": true, "target": "nope"}', 404, "unknown target"),
        (b'{"all": true, "extra": 1}', 400, "extra"),
    ],
)
def test_replay_bad_input(api: httpx.Client, body: bytes, status: int, field: str) -> None:
    answer = api.post("/api/replay", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.json()["error"].startswith(field)


def test_deploy_target(api: httpx.Client) -> None:
    later = api.post("/api/targets/blog/deploy", json={"now": False})
    assert later.status_code == 202 and later.json()["target"] == "blog"
    now = api.get("/api/targets").json()["now"]
    assert 25_000 < later.json()["due"] - now <= 30_000
    soon = api.post("/api/targets/docs/deploy").json()  # no body: through the debounce
    assert soon["now"] is False
    asap = api.post("/api/targets/blog/deploy", json={"now": True}).json()
    assert asap["due"] <= api.get("/api/targets").json()["now"]
    assert api.post("/api/targets/nope/deploy", json={}).status_code == 404
    bad = api.post("/api/targets/blog/deploy", json={"now": "yes"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("now")


def test_unknown_api_path_and_method(api: httpx.Client) -> None:
    missing = api.get("/api/nothing-here", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.json() == {"error": "not found"}
    wrong = api.get("/api/replay")
    assert wrong.status_code == 405 and wrong.json() == {"error": "method not allowed"}


def test_every_route_is_documented_and_every_documented_path_routed(redis_url: str) -> None:
    app = create_app(make_settings(redis_url))
    routed = {
        (route.path, method.lower())
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/api/")
        for method in (route.methods or set()) - {"HEAD"}
    }
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert routed == documented
    assert SPEC["openapi"].startswith("3.")


def test_openapi_is_served(api: httpx.Client) -> None:
    doc = httpx.get(str(api.base_url) + "/api/openapi.json").json()
    assert doc == json.loads(json.dumps(SPEC))


def test_redis_down_is_a_fast_503(tmp_path: Path) -> None:
    own = RedisServer(tmp_path / "redis", appendonly=False)
    own.start()
    try:
        with AppServer(make_settings(own.url)) as app, app.client(headers=BEARER) as api:
            assert api.get("/api/targets").status_code == 200
            own.stop()
            for path in ("/api/targets", "/api/deliveries", "/api/queues", "/live"):
                answer = api.get(path, timeout=5)  # an answer, not a hang
                assert answer.status_code == 503, path
                assert answer.headers["retry-after"] == "1"
                assert answer.json() == {"error": "Redis is unavailable; retry shortly"}
            page = api.get("/", headers={"Accept": "text/html"})
            assert page.status_code == 503 and "Redis is unavailable" in page.text
            metrics = api.get("/metrics")
            assert metrics.status_code == 200 and "relay_redis_up 0.0" in metrics.text
    finally:
        own.stop()
