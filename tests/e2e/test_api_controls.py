"""The operator controls over HTTP: pause, resume, deploy (force, ignore_budget, at), the
scheduled deploys, rollback against the fake Pages API, CSRF on the dashboard's control forms,
bad input (400 naming the field) and the metrics they add. Real app, real Redis; the claims a
worker would make are made by the claim script itself (`claim_bursts`)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from relay.core import keys
from relay.core.budget import BuildBudget
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Pages
from relay.core.records import TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.api.openapi import SPEC
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.app_server import BEARER, AppServer, Records, make_settings
from workers.claimer import claim_bursts

TARGETS = {
    "blog": {"project": "blog", "branch": "main", "debounce": "30s", "budget": "20/day"},
    "docs": {"deploy_hook": "${DOCS_HOOK}", "debounce": "10s"},
}


def settings_for(redis_url: str, fake: FakeCloudflare, account: str | None = None) -> Settings:
    settings = make_settings(redis_url, fake=fake, targets=TARGETS)
    if account is None:
        return settings
    cloudflare = dataclasses.replace(settings.cloudflare, budget_builds=BuildBudget.parse(account))
    return dataclasses.replace(settings, cloudflare=cloudflare)


@pytest.fixture
def app(redis_url: str, fake_api: FakeCloudflare) -> Iterator[AppServer]:
    with AppServer(settings_for(redis_url, fake_api, account="500/month")) as server:
        yield server


@pytest.fixture
def api(app: AppServer) -> Iterator[httpx.Client]:
    with app.client(headers=BEARER) as client:
        yield client


def targets(api: httpx.Client) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in api.get("/api/targets").json()["targets"]}


def post(api: httpx.Client, path: str, body: object | None = None) -> httpx.Response:
    answer = api.post(path, json=body) if body is not None else api.post(path)
    assert answer.headers["cache-control"] == "no-store", path
    return answer


def test_pause_keeps_taking_deliveries_and_resume_makes_one_build(
    app: AppServer, api: httpx.Client, rclient: redis.Redis
) -> None:
    answer = post(api, "/api/targets/blog/pause", {"for": "2h", "reason": "content freeze"})
    assert answer.status_code == 200, answer.text
    paused = answer.json()["paused"]
    assert paused["target"] == "blog" and paused["reason"] == "content freeze"
    assert paused["until"] - paused["since"] == 2 * 3600 * 1000

    for i in range(3):
        assert app.send("cms", json.dumps({"entry": i}).encode()).status_code == 202
    blog = targets(api)["blog"]
    assert blog["state"] == "paused" and blog["paused"] == paused
    assert blog["pending"]["count"] == 3
    assert blog["held"] == {"why": "paused", "until": paused["until"]}
    assert targets(api)["docs"]["paused"] is None

    resumed = post(api, "/api/targets/blog/resume")
    assert resumed.status_code == 200 and resumed.json() == {"target": "blog", "resumed": True}
    doc = api.get("/api/targets").json()
    blog = {t["name"]: t for t in doc["targets"]}["blog"]
    assert blog["paused"] is None and blog["held"] is None and blog["state"] == "debouncing"
    assert blog["pending"]["due"] <= doc["now"]  # due at once, not after the debounce
    claimed = claim_bursts(rclient, app.settings)
    assert len(claimed) == 1  # what collected meanwhile: exactly one build
    trigger = Store(rclient).trigger(claimed[0])
    assert trigger is not None and trigger.deliveries == 3
    again = post(api, "/api/targets/blog/resume").json()
    assert again == {"target": "blog", "resumed": False}


def test_pause_until_resumed_and_the_claim_holds_it(
    app: AppServer, api: httpx.Client, rclient: redis.Redis
) -> None:
    paused = post(api, "/api/targets/blog/pause").json()["paused"]
    assert paused["until"] is None and paused["reason"] is None
    post(api, "/api/targets/blog/deploy", {"now": True, "force": True})  # a build still may go
    assert len(claim_bursts(rclient, app.settings)) == 1
    assert app.send("cms", b'{"after": "force"}').status_code == 202
    rclient.zadd(keys.DUE, {"blog": 0})  # as if its debounce had passed
    assert claim_bursts(rclient, app.settings) == []  # the pause holds it
    blog = targets(api)["blog"]
    assert blog["held"] == {"why": "paused", "until": None}


def test_deploy_of_a_paused_target_is_409_unless_forced(
    api: httpx.Client, rclient: redis.Redis, app: AppServer
) -> None:
    post(api, "/api/targets/blog/pause", {"reason": "migration"})
    refused = post(api, "/api/targets/blog/deploy", {"now": True})
    assert refused.status_code == 409
    assert "blog is paused" in refused.json()["error"] and "migration" in refused.json()["error"]
    assert targets(api)["blog"]["pending"] is None  # nothing was done
    forced = post(api, "/api/targets/blog/deploy", {"now": True, "force": True})
    assert forced.status_code == 202
    assert forced.json()["force"] is True and forced.json()["ignore_budget"] is False
    assert len(claim_bursts(rclient, app.settings)) == 1
    other = post(api, "/api/targets/docs/deploy", {})  # another target is not paused
    assert other.status_code == 202 and other.json()["now"] is False


def test_budget_usage_held_burst_and_ignore_budget(
    redis_url: str, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    tight = {**TARGETS, "blog": {**TARGETS["blog"], "budget": "1/day"}}
    settings = make_settings(redis_url, fake=fake_api, targets=tight)
    with AppServer(settings) as app, app.client(headers=BEARER) as api:
        Records(rclient, settings).succeed("blog")  # the one build the day allows
        doc = api.get("/api/targets").json()
        assert doc["budget_builds"] is None  # no account budget configured
        blog = {t["name"]: t for t in doc["targets"]}["blog"]
        assert blog["budget"]["used"] == 1 and blog["budget"]["limit"] == 1
        assert blog["budget"]["budget"] == "1/day"
        frees = blog["budget"]["frees_at"]
        assert frees > doc["now"]
        assert targets(api)["docs"]["budget"] is None

        post(api, "/api/targets/blog/deploy", {"now": True})
        assert claim_bursts(rclient, settings) == []
        blog = targets(api)["blog"]
        assert blog["state"] == "held" and blog["held"] == {"why": "budget", "until": frees}

        past = post(api, "/api/targets/blog/deploy", {"now": True, "ignore_budget": True})
        assert past.status_code == 202 and past.json()["ignore_budget"] is True
        assert len(claim_bursts(rclient, settings)) == 1


def test_account_budget_is_listed(api: httpx.Client, rclient: redis.Redis, app: AppServer) -> None:
    Records(rclient, app.settings).succeed("docs")
    account = api.get("/api/targets").json()["budget_builds"]
    assert account["scope"] == "*" and account["budget"] == "500/month"
    assert account["used"] == 1 and account["limit"] == 500 and account["frees_at"] is None


def test_scheduled_deploys_listed_and_cancelled(api: httpx.Client) -> None:
    answer = post(api, "/api/targets/blog/deploy", {"at": "+2h"})
    assert answer.status_code == 202, answer.text
    planned = answer.json()["scheduled"]
    now = api.get("/api/targets").json()["now"]
    assert planned["target"] == "blog" and planned["status"] == "scheduled"
    assert abs(planned["at"] - (now + 2 * 3600 * 1000)) < 60_000
    fixed = post(api, "/api/targets/docs/deploy", {"at": "2031-01-02T03:04:05Z"}).json()
    assert fixed["scheduled"]["at"] == 1925089445000

    listed = api.get("/api/scheduled")
    assert listed.headers["cache-control"] == "no-store"
    ids = [s["id"] for s in listed.json()["scheduled"]]
    assert ids == [planned["id"], fixed["scheduled"]["id"]]  # soonest first

    cancelled = api.delete(f"/api/scheduled/{planned['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"]["status"] == "cancelled"
    assert api.delete(f"/api/scheduled/{planned['id']}").status_code == 404
    rows = api.get("/api/scheduled").json()["scheduled"]
    assert [(r["id"], r["status"]) for r in rows] == [
        (fixed["scheduled"]["id"], "scheduled"),
        (planned["id"], "cancelled"),
    ]


def seed_two(fake: FakeCloudflare) -> tuple[str, str]:
    fake.add_project("blog", production_branch="main")
    now = time.time()
    older, newer = fake.seed_deployments(
        "blog",
        [
            {"branch": "main", "created_on": now - 7200, "outcome": "success"},
            {"branch": "main", "created_on": now - 600, "outcome": "success"},
        ],
    )
    return str(older["id"]), str(newer["id"])


def live(app: AppServer) -> str:
    pages = Pages(CloudflareClient(app.settings.cloudflare))
    try:
        return str(pages.get_project("blog")["canonical_deployment"]["id"])
    finally:
        pages.close()


def test_rollback_to_the_previous_production_deployment(
    app: AppServer, api: httpx.Client, fake_api: FakeCloudflare
) -> None:
    older, newer = seed_two(fake_api)
    assert live(app) == newer
    assert targets(api)["blog"]["can_rollback"] is True
    assert targets(api)["docs"]["can_rollback"] is False
    answer = post(api, "/api/targets/blog/rollback")
    assert answer.status_code == 200, answer.text
    trigger = answer.json()["rollback"]
    assert trigger["kind"] == "rollback" and trigger["status"] == "success"
    assert trigger["deployment_id"] == older and trigger["reason"] == f"rollback to {older}"
    assert live(app) == older
    rows = api.get("/api/deployments", params={"target": "blog"}).json()["deployments"]
    assert rows[0]["id"] == trigger["id"] and rows[0]["kind"] == "rollback"
    # nothing earlier than the oldest: 409, and nothing is recorded for it
    assert post(api, "/api/targets/blog/rollback").status_code == 409
    # back to a named one
    forward = post(api, "/api/targets/blog/rollback", {"to": newer})
    assert forward.status_code == 200 and live(app) == newer


def test_rollback_refusals(app: AppServer, api: httpx.Client, fake_api: FakeCloudflare) -> None:
    older, _ = seed_two(fake_api)
    hook = post(api, "/api/targets/docs/rollback")
    assert hook.status_code == 409 and "rollback needs the Pages project" in hook.json()["error"]
    bad = post(api, "/api/targets/blog/rollback", {"to": "../../tokens"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("to:")
    assert post(api, "/api/targets/nope/rollback").status_code == 404
    error = {"code": 8000000, "message": "Injected: rollback failed."}
    fake_api.fault(status=400, errors=[error], path_contains="/rollback", method="POST")
    refused = post(api, "/api/targets/blog/rollback", {"to": older})
    assert refused.status_code == 502 and "Injected: rollback failed" in refused.json()["error"]
    row = api.get("/api/deployments", params={"target": "blog"}).json()["deployments"][0]
    assert row["kind"] == "rollback" and row["status"] == "failed"
    assert row["error_code"] == 8000000


def test_rollback_without_credentials_is_409(redis_url: str) -> None:
    settings = make_settings(redis_url, targets=TARGETS)
    with AppServer(settings) as app, app.client(headers=BEARER) as api:
        assert {t["can_rollback"] for t in api.get("/api/targets").json()["targets"]} == {False}
        answer = api.post("/api/targets/blog/rollback")
        assert answer.status_code == 409 and "API credentials" in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("pause", {"for": "soon"}, "for"),
        ("pause", {"for": "0s"}, "for"),
        ("pause", {"for": -5}, "for"),
        ("pause", {"for": True}, "for"),
        ("pause", {"for": "400d"}, "for"),
        ("pause", {"reason": 5}, "reason"),
        ("pause", {"reason": "x" * 201}, "reason"),
        ("pause", {"until": "later"}, "until"),
        ("resume", {"all": True}, "all"),
        ("rollback", {"to": 7}, "to"),
        ("deploy", {"force": "yes"}, "force"),
        ("deploy", {"ignore_budget": 1}, "ignore_budget"),
        ("deploy", {"at": "tomorrow"}, "at"),
        ("deploy", {"at": "2030-01-01T00:00:00"}, "at"),  # no time zone
        ("deploy", {"at": "+2h", "now": True}, "at"),
        ("deploy", {"at": 5}, "at"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    api: httpx.Client, path: str, body: dict[str, object], field: str
) -> None:
    answer = post(api, f"/api/targets/blog/{path}", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"].startswith(f"{field}:")
    assert targets(api)["blog"]["paused"] is None


def test_unknown_target_and_bad_json(api: httpx.Client) -> None:
    for action in ("pause", "resume", "rollback", "deploy"):
        assert post(api, f"/api/targets/nope/{action}", {}).status_code == 404
    raw = api.post(
        "/api/targets/blog/pause", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and raw.json()["error"].startswith("body")


@contextlib.contextmanager
def signed_in(app: AppServer) -> Iterator[tuple[httpx.Client, str]]:
    """A browser's session: its cookie and the CSRF token the dashboard hands it."""
    with app.client() as client:
        yield client, csrf_of(client)


def csrf_of(client: httpx.Client) -> str:
    assert client.post("/login?next=/", data={"token": BEARER["Authorization"][7:]}).is_redirect
    page = client.get("/")
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def test_control_forms_need_the_csrf_token(app: AppServer, api: httpx.Client) -> None:
    with signed_in(app) as (session, csrf):
        for action in ("pause", "resume", "rollback"):
            refused = session.post(f"/actions/{action}", data={"target": "blog"})
            assert refused.status_code == 403, action
            assert "CSRF" in refused.text
        assert targets(api)["blog"]["paused"] is None
        wrong = session.post("/actions/pause", data={"target": "blog", "csrf": "0" * 64})
        assert wrong.status_code == 403
        api_refused = session.post("/api/targets/blog/pause", json={})
        assert api_refused.status_code == 403 and targets(api)["blog"]["paused"] is None

        form = {"target": "blog", "csrf": csrf, "reason": "launch <b>day</b>", "for": "90m"}
        done = session.post("/actions/pause", data=form)
        assert done.status_code == 303 and done.headers["location"] == "/?done=paused"
        paused = targets(api)["blog"]["paused"]
        assert paused["reason"] == "launch <b>day</b>"
        page = session.get("/").text
        assert "launch &lt;b&gt;day&lt;/b&gt;" in page and "<b>day</b>" not in page
        bad = session.post("/actions/pause", data={**form, "for": "ever"})
        assert bad.status_code == 400 and "for:" in bad.text

        resumed = session.post(
            "/api/targets/blog/resume", headers={"X-CSRF-Token": csrf, "Origin": app.url}
        )
        assert resumed.status_code == 200 and resumed.json()["resumed"] is True
        json_answer = session.post(
            "/actions/pause",
            data={"target": "blog", "csrf": csrf},
            headers={"Accept": "application/json"},
        )
        assert json_answer.status_code == 200
        assert json_answer.headers["cache-control"] == "no-store"
        assert json_answer.json()["message"] == "blog is paused until resumed"
        unpause = session.post(
            "/actions/resume",
            data={"target": "blog", "csrf": csrf},
            headers={"Accept": "application/json"},
        )
        assert unpause.json()["resumed"] is True


def test_the_rollback_confirm_page(
    app: AppServer, api: httpx.Client, fake_api: FakeCloudflare
) -> None:
    older, newer = seed_two(fake_api)
    with signed_in(app) as (session, csrf):
        page = session.get("/actions/rollback", params={"target": "blog"})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert older in page.text and 'name="csrf"' in page.text
        assert live(app) == newer  # asking is not doing
        assert session.get("/actions/rollback", params={"target": "docs"}).status_code == 409
        assert session.get("/actions/rollback", params={"target": "nope"}).status_code == 404
        done = session.post("/actions/rollback", data={"target": "blog", "to": older, "csrf": csrf})
        assert done.status_code == 303 and done.headers["location"] == "/?done=rolled-back"
        assert live(app) == older
    assert app.client().get("/actions/rollback", params={"target": "blog"}).status_code == 401


def scrape(app: AppServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(app.url + "/metrics").text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_of_pauses_budgets_and_held_bursts(
    app: AppServer, api: httpx.Client, rclient: redis.Redis
) -> None:
    Records(rclient, app.settings).succeed("blog")
    post(api, "/api/targets/blog/pause", {"reason": "freeze"})
    assert app.send("cms", b'{"while": "paused"}').status_code == 202
    samples = scrape(app)
    blog, docs, account = (("target", "blog"),), (("target", "docs"),), (("target", "*"),)
    assert samples[("relay_target_paused", blog)] == 1
    assert samples[("relay_target_paused", docs)] == 0
    assert samples[("relay_build_budget_used", blog)] == 1
    assert samples[("relay_build_budget_limit", blog)] == 20
    assert samples[("relay_build_budget_used", account)] == 1
    assert samples[("relay_build_budget_limit", account)] == 500
    assert ("relay_build_budget_limit", docs) not in samples  # no budget of its own
    assert samples[("relay_builds_held", (("target", "blog"), ("why", "paused")))] == 1
    post(api, "/api/targets/blog/resume")
    after = scrape(app)
    assert after[("relay_target_paused", blog)] == 0
    assert not [k for k in after if k[0] == "relay_builds_held"]


def test_openapi_describes_the_controls() -> None:
    paths = SPEC["paths"]
    for path in ("pause", "resume", "rollback", "deploy"):
        assert "post" in paths[f"/api/targets/{{name}}/{path}"]
    deploy = paths["/api/targets/{name}/deploy"]["post"]
    fields = deploy["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert set(fields) == {"now", "force", "ignore_budget", "at"}
    assert "409" in deploy["responses"]
    assert "409" in paths["/api/targets/{name}/rollback"]["post"]["responses"]
    assert set(paths["/api/scheduled"]) == {"get"} and set(paths["/api/scheduled/{id}"]) == {
        "delete"
    }
    target = paths["/api/targets"]["get"]["responses"]["200"]["content"]["application/json"]
    props = target["schema"]["properties"]
    assert "budget_builds" in props
    assert {"paused", "held", "budget", "kind"} <= set(props["targets"]["items"]["properties"])


TAIL = ("npm ERR! missing script: build", "<img src=x onerror=alert(1)>")


def fail_with_log(records: Records, target: str) -> None:
    records.succeed(target, status=TriggerStatus.FAILURE, log_tail=TAIL, error="Build failed")
    records.succeed(target)  # a later success: the page still shows the last failure's log


def test_status_page_shows_the_log_tail_only_behind_its_token(
    redis_url: str, rclient: redis.Redis
) -> None:
    targets = {
        "blog": {"project": "blog", "status_token": "blog-link-91e"},
        "docs": {"deploy_hook": "${DOCS_HOOK}"},
    }
    with AppServer(make_settings(redis_url, targets=targets)) as app:
        records = Records(rclient, app.settings)
        fail_with_log(records, "blog")
        fail_with_log(records, "docs")
        public = httpx.get(app.url + "/status/docs")
        assert public.status_code == 200 and "public" in public.headers["cache-control"]
        assert "npm ERR!" not in public.text and 'data-role="log-tail"' not in public.text
        assert httpx.get(app.url + "/status/blog").status_code == 404
        shared = httpx.get(app.url + "/status/blog", params={"token": "blog-link-91e"})
        assert shared.status_code == 200 and shared.headers["cache-control"] == "private, no-store"
        assert "npm ERR! missing script: build" in shared.text
        assert (
            "&lt;img src=x onerror=alert(1)&gt;" in shared.text and "<img src=x" not in shared.text
        )
        admin = httpx.get(app.url + "/status/blog", headers=BEARER)
        assert admin.status_code == 200 and "npm ERR!" in admin.text
        # an admin on a public page sees what everyone sees
        assert "npm ERR!" not in httpx.get(app.url + "/status/docs", headers=BEARER).text


def test_status_page_log_tail_with_the_server_wide_token(
    redis_url: str, rclient: redis.Redis
) -> None:
    environ = {"RELAY_STATUS_TOKEN": "share-me-4c2a"}
    with AppServer(make_settings(redis_url, targets=TARGETS, environ=environ)) as app:
        fail_with_log(Records(rclient, app.settings), "docs")
        shared = httpx.get(app.url + "/status/docs", params={"token": "share-me-4c2a"})
        assert shared.status_code == 200 and "npm ERR!" in shared.text
