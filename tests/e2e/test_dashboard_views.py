"""The dashboard's pages over HTTP: every panel's content, the live JSON the poller swaps in,
the paged histories, the buttons without JavaScript, and no secret anywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.helpers.app_server import (
    ADMIN,
    BEARER,
    HOOK_URL_SECRET,
    AppServer,
    Records,
    make_settings,
)
from tests.helpers.relay_env import TOKEN
from tests.helpers.senders import SECRET

SECRETS = (SECRET, ADMIN, TOKEN, HOOK_URL_SECRET, "s3cr3t-hook")


@pytest.fixture
def app(redis_url: str) -> Iterator[AppServer]:
    with AppServer(make_settings(redis_url)) as server:
        yield server


@pytest.fixture
def browser(app: AppServer) -> Iterator[httpx.Client]:
    """A signed-in browser (session cookie), asking for HTML."""
    with app.client(headers={"Accept": "text/html"}) as client:
        assert client.post("/login", data={"token": ADMIN}).status_code == 303
        yield client


def page(client: httpx.Client, path: str = "/") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    for secret in SECRETS:
        assert secret not in answer.text
    return answer.text


def section(html: str, name: str) -> str:
    match = re.search(rf'data-panel="{name}">(.*?)</section>', html, re.S)
    assert match, name
    return match[1]


def test_every_panel(app: AppServer, browser: httpx.Client, rclient: redis.Redis) -> None:
    records = Records(rclient, app.settings)
    ok = records.succeed("docs", deliveries="12")
    failed = records.fail("docs", "Authentication error")
    for i in range(3):
        assert app.send("cms", json.dumps({"i": i}).encode()).status_code == 202
    assert app.send("cms", b"{}", secret="forged").status_code == 401
    html = page(browser)

    targets = section(html, "targets")
    blog = targets.split('data-target="docs"')[0]
    assert 'data-state="debouncing"' in blog
    assert '<strong data-role="pending-count">3</strong> deliveries waiting' in blog
    assert re.search(r'class="countdown" data-role="countdown" data-due="\d{13}"', blog)
    docs = targets.split('data-target="docs"')[1]
    assert 'data-state="failed"' in docs and "12 deliveries → 2 builds (11 saved)" in docs
    assert docs.count('data-role="deploy-now"') == 1

    deliveries = section(html, "deliveries")
    assert deliveries.count('data-outcome="accepted"') == 3
    assert 'data-outcome="rejected"' in deliveries and "does not match" in deliveries

    deployments = section(html, "deployments")
    assert f'data-trigger="{ok}" data-status="success"' in deployments
    assert "42.0 s" in deployments and f'href="https://{ok[-6:]}.docs.pages.dev"' in deployments

    failures = section(html, "failed")
    assert f'data-trigger="{failed}"' in failures and "Authentication error" in failures
    assert f'name="id" value="{failed}"' in failures and 'data-role="replay"' in failures

    queues = section(html, "queues")
    assert "No worker is running" in queues and "<td>relay</td>" in queues
    charts = section(html, "charts")
    assert "Deliveries per minute: <strong>4</strong>" in charts and "<svg" in charts
    assert "Builds per minute: <strong>2</strong>" in charts


def test_live_json_has_every_panel_and_the_server_clock(app: AppServer) -> None:
    with app.client(headers=BEARER) as client:
        doc = client.get("/live").json()
    assert set(doc["panels"]) == {
        "targets",
        "charts",
        "deliveries",
        "deployments",
        "failed",
        "queues",
    }
    assert doc["now"] > 1_700_000_000_000
    assert not any(secret in json.dumps(doc) for secret in SECRETS)


def test_buttons_work_without_javascript(
    app: AppServer, browser: httpx.Client, rclient: redis.Redis
) -> None:
    failed = Records(rclient, app.settings).fail("blog")
    csrf = re.search(r'name="csrf-token" content="([0-9a-f]+)"', page(browser))
    assert csrf
    replay = browser.post("/actions/replay", data={"csrf": csrf[1], "id": failed})
    assert replay.status_code == 303 and replay.headers["location"] == "/?done=replayed"
    html = page(browser, "/?done=replayed")
    assert "Re-queued the failed trigger(s)." in html
    assert "Nothing failed for good." in section(html, "failed")
    deploy = browser.post("/actions/deploy", data={"csrf": csrf[1], "target": "nope"})
    assert deploy.status_code == 404
    with_js = browser.post(
        "/actions/deploy",
        data={"csrf": csrf[1], "target": "docs", "now": "1"},
        headers={"Accept": "application/json"},
    )
    assert with_js.json()["message"] == "docs: deployment queued"


def test_history_pages(app: AppServer, browser: httpx.Client, rclient: redis.Redis) -> None:
    records = Records(rclient, app.settings)
    made = [records.succeed("blog") for _ in range(3)]
    for i in range(3):
        assert app.send("cms", json.dumps({"i": i}).encode()).status_code == 202
    deployments = page(browser, "/deployments?target=blog")
    assert all(f'data-trigger="{t}"' in deployments for t in made)
    assert "3 stored · page 1 of 1" in deployments
    assert page(browser, "/deployments?page=abc&target=nope").count("data-trigger=") == 3
    deliveries = page(browser, "/deliveries?hook=cms")
    assert deliveries.count('data-outcome="accepted"') == 3
    assert page(browser, "/deliveries?before=1").count('data-outcome="accepted"') == 0
    assert page(browser, "/deliveries?before=garbage").count('data-outcome="accepted"') == 3


def test_static_files_are_served(app: AppServer) -> None:
    script = httpx.get(app.url + "/static/dashboard.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert httpx.get(app.url + "/static/style.css").status_code == 200


def test_schedule_and_prune_are_shown(redis_url: str, rclient: redis.Redis) -> None:
    from collections import Counter

    from relay.core.prune_record import PruneState

    targets = {
        "blog": {
            "project": "blog",
            "schedule": "0 * * * *",
            "keep": "7d",
            "prune_schedule": "30 3 * * *",
        },
        "docs": {"deploy_hook": "${DOCS_HOOK}"},
    }
    state = PruneState(rclient, "blog", "blog", "run-1", writable=True)
    state.begin({"origin": "cli", "started_at": 1})
    state.planned(["dep-old"], Counter({"kept:newest of branch": 2}), listed=3)
    state.record("dep-old", "deleted")
    state.mark("done", finished_at=2)
    with AppServer(make_settings(redis_url, targets=targets)) as app:
        with app.client(headers=BEARER) as client:
            html = client.get("/", headers={"Accept": "text/html"}).text
            api = client.get("/api/targets").json()["targets"]
        schedule = re.search(r'data-role="schedule">(.*?)</dd>', html, re.S)
        prune = re.search(r'data-role="prune">(.*?)</dd>', html, re.S)
        assert schedule and "0 * * * *" in schedule[1] and "next" in schedule[1]
        assert prune and "30 3 * * *" in prune[1] and "done" in prune[1]
        assert "1 deleted, 2 kept" in prune[1]
        blog = next(t for t in api if t["name"] == "blog")
        assert blog["schedule"]["cron"] == "0 * * * *" and blog["schedule"]["next_slot"] > 0
        assert blog["prune"]["status"] == "done" and blog["prune"]["deleted"] == 1
        docs = next(t for t in api if t["name"] == "docs")
        assert docs["schedule"] is None and docs["prune"] is None
