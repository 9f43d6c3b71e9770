"""The operator controls on the dashboard, in a real browser (Debian's Chromium, driven by
Playwright): pause with a reason and resume, roll a Pages target back through its confirm step
against the fake Pages API, a failed build's log tail, a superseded trigger, a burst held by
its build budget, and the budgets' usage.

The app runs under uvicorn in this process (`AppServer`) with no worker: where a test needs
what a worker's claimer would do, it runs the claim script itself (`claim_bursts`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis

from relay.core.budget import BuildBudget
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Pages
from relay.core.records import TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Store
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.app_server import ADMIN, BEARER, AppServer, Records, make_settings
from tests.helpers.polling import wait_for
from workers.claimer import claim_bursts

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Dialog, Page

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
TARGETS = {
    "blog": {"project": "blog", "branch": "main", "debounce": "30s", "budget": "20/day"},
    "shop": {"project": "shop", "branch": "main", "debounce": "30s", "budget": "1/day"},
}
BLOG = '[data-target="blog"]'


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/test does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(15_000)
    opened = context.new_page()
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", refuse)
    yield opened
    context.close()
    assert dialogs == [], "a page opened a dialog (script injection?)"


def settings_for(redis_url: str, fake: FakeCloudflare) -> Settings:
    settings = make_settings(redis_url, fake=fake, targets=TARGETS)
    account = BuildBudget.parse("500/month")
    cloudflare = dataclasses.replace(settings.cloudflare, budget_builds=account)
    return dataclasses.replace(settings, cloudflare=cloudflare)


@pytest.fixture
def app(redis_url: str, fake_api: FakeCloudflare) -> Iterator[AppServer]:
    with AppServer(settings_for(redis_url, fake_api)) as server:
        yield server


def sign_in(page: Page, app: AppServer) -> None:
    page.goto(app.url + "/")
    assert page.url.startswith(app.url + "/login")
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(app.url + "/")


def next_refresh(page: Page) -> None:
    """Wait for the dashboard's poller to fetch /live and swap the panels in."""
    with page.expect_response(lambda r: r.url.endswith("/live")):
        pass
    page.wait_for_load_state("networkidle")


def test_pause_with_a_reason_then_resume_from_the_dashboard(
    page: Page, app: AppServer, rclient: redis.Redis
) -> None:
    sign_in(page, app)
    page.evaluate("window.notReloaded = true")
    page.fill(f'{BLOG} [data-role="pause-reason-input"]', "content freeze <until launch>")
    page.fill(f'{BLOG} [data-role="pause-for-input"]', "2h")
    page.click(f'{BLOG} [data-role="pause"]')
    page.wait_for_selector(f'{BLOG}[data-state="paused"]')
    reason = page.inner_text(f'{BLOG} [data-role="pause-reason"]')
    assert reason == "content freeze <until launch>"  # shown as text, escaped
    assert "until" in page.inner_text(f'{BLOG} [data-role="paused"]')
    assert "blog is paused until" in page.inner_text("#notice")
    assert page.locator(f'{BLOG} [data-role="pause"]').count() == 0  # Resume instead
    assert page.inner_text(f'{BLOG} [data-role="deploy-now"]') == "Deploy anyway"

    for i in range(2):  # deliveries are still verified, stored and answered
        assert app.send("cms", json.dumps({"entry": i}).encode()).status_code == 202
    page.wait_for_selector(f'{BLOG} [data-role="pending-count"]:text("2")')
    assert page.inner_text(f'{BLOG} [data-role="held"]') == "paused"
    assert claim_bursts(rclient, app.settings) == []  # nothing is due yet, nor built

    page.click(f'{BLOG} [data-role="resume"]')
    page.wait_for_selector(f'{BLOG}[data-state="debouncing"]')
    page.wait_for_selector(f'{BLOG} [data-role="countdown"]:text("now")')  # due at once
    assert page.locator(f'{BLOG} [data-role="paused"]').count() == 0
    claimed = claim_bursts(rclient, app.settings)  # what a worker's claimer does next
    assert len(claimed) == 1
    trigger = Store(rclient).trigger(claimed[0])
    assert trigger is not None and trigger.deliveries == 2
    page.wait_for_selector(f'{BLOG}[data-state="building"]')
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"


def live_deployment(app: AppServer) -> str:
    pages = Pages(CloudflareClient(app.settings.cloudflare))
    try:
        return str(pages.get_project("blog")["canonical_deployment"]["id"])
    finally:
        pages.close()


def test_rollback_through_its_confirm_step(
    page: Page, app: AppServer, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog", production_branch="main")
    now = time.time()
    older, newer = fake_api.seed_deployments(
        "blog",
        [
            {"branch": "main", "created_on": now - 7200, "outcome": "success"},
            {"branch": "main", "created_on": now - 600, "outcome": "success"},
        ],
    )
    assert live_deployment(app) == newer["id"]
    sign_in(page, app)
    page.click(f'{BLOG} [data-role="rollback"]')
    page.wait_for_url("**/actions/rollback?target=blog")
    assert page.inner_text('[data-role="rollback-to"]') == older["id"]
    assert live_deployment(app) == newer["id"]  # the confirm step changes nothing

    page.click('[data-role="confirm-rollback"]')
    page.wait_for_url(app.url + "/?done=rolled-back")
    assert "Rolled back" in page.inner_text("#notice")
    assert live_deployment(app) == older["id"]
    row = '[data-panel="deployments"] tr[data-kind="rollback"][data-status="success"]'
    page.wait_for_selector(row)
    assert f"deployment {older['id']} is live again" in page.inner_text(row)
    assert page.inner_text(f'{row} [data-role="rollback"]') == "rollback"


def test_log_tail_superseded_trigger_and_budgets(
    page: Page, app: AppServer, rclient: redis.Redis
) -> None:
    records = Records(rclient, app.settings)
    tail = ("npm ERR! missing script: build", "<img src=x onerror=alert('tail')>", "exit code 1")
    failed = records.succeed(
        "blog", status=TriggerStatus.FAILURE, log_tail=tail, error="Build failed", url=None
    )
    newer = records.succeed("shop")  # the one build shop's budget allows today
    replaced = records.succeed("blog", status=TriggerStatus.SUPERSEDED, superseded_by=newer)
    answer = app.client(headers=BEARER).post("/api/targets/shop/deploy", json={"now": True})
    assert answer.status_code == 202
    assert claim_bursts(rclient, app.settings) == []  # held: shop's budget is used up

    sign_in(page, app)
    row = f'[data-panel="deployments"] tr[data-trigger="{failed}"]'
    details = f'{row} details[data-role="log-tail"]'
    assert "last 3 lines" in page.inner_text(f"{details} summary")
    assert not page.is_visible(f"{details} pre")  # collapsed until asked for
    page.click(f"{details} summary")
    assert page.inner_text(f"{details} pre").splitlines() == list(tail)
    next_refresh(page)
    assert page.is_visible(f"{details} pre"), "a live refresh closed the log"

    gone = f'[data-panel="deployments"] tr[data-trigger="{replaced}"]'
    assert page.inner_text(f"{gone} .badge") == "superseded"
    assert "neutral" in (page.get_attribute(f"{gone} .badge", "class") or "")
    assert f"superseded by {newer}" in page.inner_text(f'{gone} [data-role="superseded"]')

    assert page.inner_text(f'{BLOG} [data-role="budget"]') == "2 of 20/day"
    shop = '[data-target="shop"]'
    assert page.inner_text(f'{shop} [data-role="budget"]').startswith("1 of 1/day · used up")
    wait_for(lambda: page.get_attribute(shop, "data-state") == "held", what="shop held")
    held = page.inner_text(f'{shop} [data-role="held"]')
    assert held.startswith("held by budget until ") and held.endswith(" UTC")
    account = page.inner_text('[data-role="account-budget"]')
    assert "3 of 500/month" in account
    page.click(f'{shop} [data-role="ignore-budget"]')
    page.wait_for_selector("#notice:has-text('past the build budget')")
    assert len(claim_bursts(rclient, app.settings)) == 1
