"""GET /status/{target}: the shareable status page, read from the (fake) Pages API and cached
in Redis; the relay's own records for deploy-hook targets or without credentials; no secret."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from relay.web import status_page
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.app_server import (
    ADMIN,
    BEARER,
    HOOK_URL_SECRET,
    AppServer,
    Records,
    make_settings,
)
from tests.helpers.relay_env import ACCOUNT, TOKEN
from tests.helpers.senders import SECRET


@pytest.fixture
def project(fake_api: FakeCloudflare) -> FakeCloudflare:
    fake_api.add_project(
        "blog",
        production_branch="main",
        subdomain="blog-3x9.pages.dev",
        domains=["blog.example.org"],
    )
    now = time.time()
    fake_api.seed_deployments(
        "blog",
        [
            {"branch": "main", "created_on": now - 7200, "outcome": "success"},
            {"branch": "feature/new-look", "created_on": now - 600, "outcome": "success"},
            {"branch": "main", "created_on": now - 300, "outcome": "failure"},
        ],
    )
    return fake_api


@pytest.fixture
def app(redis_url: str, project: FakeCloudflare) -> Iterator[AppServer]:
    with AppServer(make_settings(redis_url, fake=project)) as server:
        yield server


def get(app: AppServer, path: str, **kwargs: object) -> httpx.Response:
    answer = httpx.get(app.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]
    for secret in (TOKEN, ACCOUNT, ADMIN, SECRET, HOOK_URL_SECRET, "s3cr3t-hook", "NODE_VERSION"):
        assert secret not in answer.text
    return answer


def api_reads(fake: FakeCloudflare) -> int:
    return sum(
        1 for c in fake.calls() if c["method"] == "GET" and "/pages/projects/blog" in c["path"]
    )


def test_project_live_deployment_and_recent_ones(app: AppServer, project: FakeCloudflare) -> None:
    page = get(app, "/status/blog")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "public, max-age=15"
    assert page.headers["referrer-policy"] == "no-referrer"
    listing = project.calls()
    deployments = httpx.get(
        f"{project.base_url}/accounts/{ACCOUNT}/pages/projects/blog/deployments",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()["result"]
    live = next(
        d
        for d in deployments
        if d["environment"] == "production" and d["latest_stage"]["status"] == "success"
    )
    text = page.text
    assert "blog-3x9.pages.dev" in text and "blog.example.org" in text
    assert f'href="{live["url"]}"' in text.split('data-role="live"')[1].split("</dd>")[0]
    for deployment in deployments:
        assert f'href="{deployment["url"]}"' in text
    assert "feature/new-look" in text and "https://feature-new-look.blog-3x9.pages.dev" in text
    assert "failure" in text and "preview" in text
    assert len(listing) == 2  # the project and the first page of deployments


def test_cloudflare_is_read_once_per_freshness_window(
    app: AppServer, project: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(5):
        assert get(app, "/status/blog").status_code == 200
    assert api_reads(project) == 2
    monkeypatch.setattr(status_page, "FRESH", 0.0)
    assert get(app, "/status/blog").status_code == 200
    assert api_reads(project) == 4


def test_stale_data_when_cloudflare_fails(
    app: AppServer, project: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "blog.example.org" in get(app, "/status/blog").text
    monkeypatch.setattr(status_page, "FRESH", 0.0)
    project.fault(status=500, times=5)
    page = get(app, "/status/blog")
    assert page.status_code == 200
    assert "blog.example.org" in page.text and "a little earlier" in page.text


def test_relay_records_when_cloudflare_never_answered(
    app: AppServer, project: FakeCloudflare, rclient: redis.Redis
) -> None:
    Records(rclient, app.settings).succeed("blog")
    project.fault(status=503, times=5)
    page = get(app, "/status/blog")
    assert page.status_code == 200
    assert "did not answer" in page.text and "success" in page.text
    assert "blog.example.org" not in page.text


def test_deploy_hook_target_shows_relay_records(app: AppServer, rclient: redis.Redis) -> None:
    Records(rclient, app.settings).succeed("docs")
    page = get(app, "/status/docs")
    assert page.status_code == 200
    assert "deploy hook" in page.text and "success" in page.text


def test_without_credentials(redis_url: str) -> None:
    with AppServer(make_settings(redis_url)) as app:
        page = get(app, "/status/blog")
        assert page.status_code == 200 and "no Cloudflare access" in page.text


def test_unknown_target(app: AppServer) -> None:
    assert get(app, "/status/nope").status_code == 404


def test_optional_status_token(redis_url: str, project: FakeCloudflare) -> None:
    environ = {"RELAY_STATUS_TOKEN": "share-me-4c2a"}  # or [server] status_token
    with AppServer(make_settings(redis_url, fake=project, environ=environ)) as app:
        assert get(app, "/status/blog").status_code == 404
        assert get(app, "/status/blog?token=wrong").status_code == 404
        shared = get(app, "/status/blog?token=share-me-4c2a")
        assert shared.status_code == 200 and "blog-3x9.pages.dev" in shared.text
        assert shared.headers["cache-control"] == "private, no-store"
        assert get(app, "/status/blog", headers=BEARER).status_code == 200


def test_per_target_status_token(redis_url: str, project: FakeCloudflare) -> None:
    targets = {
        "blog": {"project": "blog", "status_token": "blog-link-91e"},
        "docs": {"deploy_hook": "${DOCS_HOOK}"},
    }
    with AppServer(make_settings(redis_url, fake=project, targets=targets)) as app:
        assert get(app, "/status/blog").status_code == 404
        assert get(app, "/status/blog?token=blog-link-91e").status_code == 200
        assert get(app, "/status/docs").status_code == 200, "other targets stay public"
