"""The dashboard in a real browser (Debian's Chromium, driven by Playwright): sign in, watch a
burst count down and become a deployment without reloading, replay a failure by clicking.

`relay serve` and `relay worker` run as subprocesses against the fake Pages API. Screenshots
land in tests/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers import paths
from tests.helpers.app_server import ADMIN
from tests.helpers.processes import Server
from tests.helpers.relay_env import RelayEnv
from tests.helpers.senders import github_headers, github_hook

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = paths.ARTIFACTS


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
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def start(relay_env: RelayEnv, fake: FakeCloudflare, **target: Any) -> Server:
    fake.add_project("blog", production_branch="main", subdomain="blog-7q2.pages.dev")
    relay_env.env["RELAY_ADMIN_TOKEN"] = ADMIN
    relay_env.write(
        {
            "targets": {
                "blog": {"project": "blog", "branch": "main", "max_wait": "1m", **target},
            },
            "hooks": {"cms": github_hook(["blog"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()
    return server


def sign_in(page: Page, server: Server) -> None:
    page.goto(server.url + "/")
    assert page.url.startswith(server.url + "/login")
    page.fill("#token", ADMIN)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def test_sign_in_watch_the_countdown_and_the_deployment_appear(
    page: Page, relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.set_build(duration=1.5)
    server = start(relay_env, fake_api, debounce="5s")
    page.goto(server.url + "/")
    shot(page, "1-sign-in")
    sign_in(page, server)
    page.evaluate("window.notReloaded = true")
    card = '[data-target="blog"]'
    assert page.get_attribute(card, "data-state") == "idle"

    for i in range(3):
        body = json.dumps({"entry": i}).encode()
        assert (
            server.post("/hooks/cms", content=body, headers=github_headers(body)).status_code == 202
        )
    page.wait_for_selector(f'{card}[data-state="debouncing"]')
    assert page.inner_text(f'{card} [data-role="pending-count"]') == "3"
    countdown = f'{card} [data-role="countdown"]'
    first = float(page.inner_text(countdown).split()[0])
    assert 0 < first <= 5.0
    ticking = "([sel, first]) => parseFloat(document.querySelector(sel).textContent) < first - 1"
    page.wait_for_function(ticking, arg=[countdown, first])
    shot(page, "2-debouncing")

    row = '[data-panel="deployments"] tr[data-status="success"]'
    page.wait_for_selector(row)
    page.wait_for_selector(f'{card}[data-state="idle"]')
    assert "3 deliveries → 1 build (2 saved)" in page.inner_text(f'{card} [data-role="saved"]')
    assert page.inner_text(f"{row} td:nth-child(4)") == "3"
    assert page.get_attribute(f"{row} a", "href", timeout=1000).startswith("https://")  # type: ignore[union-attr]
    assert page.evaluate("window.notReloaded") is True, "the page reloaded"
    shot(page, "3-deployed")
    assert len(fake_api.create_calls("blog")) == 1

    page.goto(server.url + "/status/blog")
    assert "blog-7q2.pages.dev" in page.inner_text("main")
    page.wait_for_selector('[data-role="deployments"] a[href^="https://"]')
    shot(page, "6-status-page")


def test_deploy_now_fails_then_replay_by_clicking(
    page: Page, relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.set_build(duration=0.5)
    error = {"code": 8000007, "message": "Injected: project not found."}  # not retryable
    fake_api.fault(status=404, errors=[error], path_contains="/deployments", method="POST")
    server = start(relay_env, fake_api, debounce="30s")
    sign_in(page, server)
    page.click('[data-target="blog"] [data-role="deploy-now"]')
    page.wait_for_selector("#notice:not([hidden])")
    failed_row = '[data-panel="failed"] tr[data-trigger]'
    page.wait_for_selector(failed_row)
    assert "404 8000007 create deployment of blog: Injected" in page.inner_text(failed_row)
    page.wait_for_selector('[data-target="blog"][data-state="failed"]')
    shot(page, "4-failed")

    page.click(f'{failed_row} [data-role="replay"]')
    page.wait_for_selector('[data-panel="failed"] [data-role="failed-total"]:text("0")')
    page.wait_for_selector('[data-panel="deployments"] tr[data-status="success"]')
    page.wait_for_selector('[data-target="blog"][data-state="idle"]')
    shot(page, "5-replayed")
    assert len(fake_api.create_calls("blog")) == 2
