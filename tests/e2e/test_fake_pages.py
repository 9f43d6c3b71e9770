"""Tests of the Pages half of the fake Cloudflare API (`tests/fakes/cloudflare/`), over real
HTTP only: the old `tests.fakes.pages_api` suite, ported to the package that replaces it.

The contract is `shared/reference/cloudflare-pages-api.md` (section numbers below refer to it)
and the official OpenAPI subset pages-openapi.json (`../shared/cloudflare/` beside the checkout,
else the copy in `tests/fixtures/cloudflare/`).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.cloudflare import API_PREFIX, FakeCloudflare
from tests.fakes.cloudflare.pages_routes import PagesApi
from tests.fakes.cloudflare.schemas import PAGES_REFERENCE, PAGES_SCHEMA, load_schema
from tests.fakes.cloudflare.services import FakeServices
from tests.helpers.paths import ROOT
from tests.helpers.polling import wait_for

JSON = dict[str, Any]

# Reference §4.1 and §5, copied; checked against the reference text when it is available.
DEPLOYMENT_FIELDS = {
    "id", "short_id", "project_id", "project_name", "environment", "url", "created_on",
    "modified_on", "aliases", "latest_stage", "stages", "deployment_trigger", "build_config",
    "env_vars", "source", "is_skipped", "skip_reason", "uses_functions",
}  # fmt: skip
PROJECT_FIELDS = {
    "id", "name", "subdomain", "domains", "production_branch", "canonical_deployment",
    "latest_deployment", "created_on", "build_config", "source", "deployment_configs",
    "framework", "framework_version", "preview_script_name", "production_script_name",
    "uses_functions",
}  # fmt: skip
STAGES = ["queued", "initialize", "clone_repo", "build", "deploy"]
ISO_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

MSG_PROJECT = (
    "Project not found. The specified project name does not match any of your existing projects."
)
MSG_DEPLOYMENT = (
    "The deployment ID you have specified does not exist. Update the deployment ID and try again. "
)
MSG_LIST = "Invalid list options provided. Review the `page` or `per_page` parameter."
MSG_ALIASED = (
    "You cannot delete an aliased deployment without a `?force=true` parameter in the API "
    "request URL."
)


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCloudflare]:
    with FakeCloudflare() as fake:
        yield fake


@pytest.fixture
def cf(server: FakeCloudflare) -> FakeCloudflare:
    server.reset()
    return server


@pytest.fixture
def api(cf: FakeCloudflare) -> Iterator[httpx.Client]:
    """A client for `/accounts/<account>/pages/projects`, authenticated with the token."""
    base = f"{cf.base_url}/accounts/{cf.account_id}/pages/projects"
    headers = {"Authorization": f"Bearer {cf.token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=5.0) as client:
        yield client


def ok(response: httpx.Response) -> Any:
    """Assert a v4 success envelope and return its `result`."""
    body = response.json()
    assert response.status_code == 200, body
    assert body["success"] is True and body["errors"] == [] and body["messages"] == []
    return body["result"]


def fails(response: httpx.Response, status: int, code: int, message: str | None = None) -> None:
    """Assert a v4 failure envelope with one error."""
    body = response.json()
    assert response.status_code == status, body
    assert body["success"] is False and body["result"] is None and body["messages"] == []
    assert [e["code"] for e in body["errors"]] == [code]
    if message is not None:
        assert body["errors"][0]["message"] == message


def projects_url(cf: FakeCloudflare) -> str:
    return f"{cf.base_url}/accounts/{cf.account_id}/pages/projects"


# -- the contract ----------------------------------------------------------------------------


def test_every_implemented_operation_is_in_the_openapi_subset() -> None:
    spec = load_schema(PAGES_SCHEMA)
    implemented = set()
    for route in PagesApi(FakeServices.create("a" * 32, "t")).routes():
        path, methods = getattr(route, "path", ""), getattr(route, "methods", None) or set()
        if path in ("/{path:path}", "/pages/webhooks/deploy_hooks/{hook_id}"):
            continue  # catch-all (7003), and the deploy hook, which no schema has (§3.1)
        implemented |= {(m.lower(), path) for m in methods if m != "HEAD"}
    assert len(implemented) == 9
    for method, path in implemented:
        assert method in spec["paths"].get(path, {}), f"{method} {path} is not in the schema"
    deployments = spec["paths"]["/accounts/{account_id}/pages/projects/{project_name}/deployments"]
    assert "multipart/form-data" in deployments["post"]["requestBody"]["content"]
    assert "env" in [p["name"] for p in deployments["get"]["parameters"]]
    assert spec["servers"][0]["url"].endswith(API_PREFIX)


def test_field_lists_match_the_reference() -> None:
    if not PAGES_REFERENCE.exists():
        pytest.skip(f"{PAGES_REFERENCE} is not beside this checkout")
    text = PAGES_REFERENCE.read_text(encoding="utf-8")

    def fields(start: str, end: str) -> set[str]:
        section = text[text.index(start) : text.index(end)]
        return set(re.findall(r"^\| `([a-z_]+)`", section, re.MULTILINE))

    assert fields("### 4.1 Fields", "### 4.2") == DEPLOYMENT_FIELDS
    documented = fields("## 5. The Project object", "[S24]'s `pages_projects`")
    documented |= {"framework_version", "production_script_name"}  # rows listing two fields
    assert documented == PROJECT_FIELDS


# -- envelope and auth -----------------------------------------------------------------------


def test_auth_bearer_or_email_and_key(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    url = f"{api.base_url}blog"
    assert ok(api.get("/blog"))["name"] == "blog"
    assert ok(httpx.get(url, headers={"X-Auth-Email": "a@b.c", "X-Auth-Key": cf.token}))
    for headers in [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {cf.token}"},
        {"X-Auth-Key": cf.token},
        {"X-Auth-Email": "a@b.c", "X-Auth-Key": "wrong"},
    ]:
        fails(httpx.get(url, headers=headers), 403, 10000, "Authentication error")
    other = f"{cf.base_url}/accounts/{'f' * 32}/pages/projects/blog"
    fails(httpx.get(other, headers=api.headers), 403, 10000, "Authentication error")


def test_ratelimit_headers_on_every_answer(cf: FakeCloudflare, api: httpx.Client) -> None:
    for response in (api.get("/nope"), httpx.get(projects_url(cf), headers=api.headers)):
        assert re.fullmatch(r'"default";r=\d+;t=\d+', response.headers["ratelimit"])
        assert response.headers["ratelimit-policy"] == '"default";q=1200;w=300'
        assert "retry-after" not in response.headers


def test_unknown_path_is_7003(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    fails(api.get("/blog/nothing-here"), 404, 7003, "No route for the URI")
    fails(api.put("/blog/deployments"), 404, 7003)
    fails(httpx.get(f"{cf.root_url}/elsewhere"), 404, 7003)
    fails(httpx.get(cf.base_url), 404, 7003)


# -- create ----------------------------------------------------------------------------------


def test_create_with_branch_returns_a_full_deployment(
    cf: FakeCloudflare, api: httpx.Client
) -> None:
    cf.add_project("blog")
    dep = ok(api.post("/blog/deployments", files={"branch": (None, "feature/New-UI")}))
    assert set(dep) == DEPLOYMENT_FIELDS
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", dep["id"])
    assert dep["short_id"] == dep["id"][:8]
    assert dep["project_name"] == "blog"
    assert dep["environment"] == "preview"
    assert dep["url"] == f"https://{dep['short_id']}.blog.pages.dev"
    assert ISO_MICROS.match(dep["created_on"]) and ISO_MICROS.match(dep["modified_on"])
    assert dep["latest_stage"]["name"] == "queued" and dep["latest_stage"]["status"] == "active"
    assert [s["name"] for s in dep["stages"]] == STAGES
    assert [s["status"] for s in dep["stages"]] == ["active"] + ["idle"] * 4
    trigger = dep["deployment_trigger"]
    assert trigger["type"] == "ad_hoc"
    assert set(trigger["metadata"]) == {"branch", "commit_hash", "commit_message", "commit_dirty"}
    assert trigger["metadata"]["branch"] == "feature/New-UI"
    assert re.fullmatch(r"[0-9a-f]{40}", trigger["metadata"]["commit_hash"])
    assert trigger["metadata"]["commit_dirty"] is False
    assert dep["is_skipped"] is False and dep["source"]["type"] == "github"
    [call] = cf.create_calls("blog")
    assert call["form"] == {"branch": "feature/New-UI"}
    assert call["headers"]["authorization"] == f"Bearer {cf.token}"
    assert call["status"] == 200 and call["deployment_id"] == dep["id"]


def test_create_without_branch_builds_production(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("site", production_branch="live")
    variants: list[dict[str, Any]] = [
        {},
        {"headers": {"Content-Type": "application/json;charset=UTF-8"}},  # docs example, §2.1
        {"files": {"other": (None, "x")}},
        {"files": {"branch": (None, "")}},
    ]
    for kwargs in variants:
        dep = ok(api.post("/site/deployments", **kwargs))
        assert dep["environment"] == "production"
        assert dep["deployment_trigger"]["metadata"]["branch"] == "live"


def test_create_rejects_other_content_types(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    response = api.post("/blog/deployments", json={"branch": "x"})
    fails(response, 400, 8000000)
    assert "application/json" in response.json()["errors"][0]["message"]
    fails(api.post("/blog/deployments", data={"branch": "x"}), 400, 8000000)
    assert cf.create_calls("blog")[-1]["form"] == {"branch": "x"}
    assert ok(api.get("/blog/deployments")) == []


def test_unknown_project_and_deployment(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    fails(api.post("/nope/deployments", files={"branch": (None, "x")}), 404, 8000007, MSG_PROJECT)
    fails(api.get("/nope"), 404, 8000007, MSG_PROJECT)
    fails(api.get("/nope/deployments"), 404, 8000007, MSG_PROJECT)
    missing = "/blog/deployments/206e215c-33b3-4ce4-adf4-7fc6c9b65483"
    fails(api.get(missing), 404, 8000009, MSG_DEPLOYMENT)
    fails(api.delete(missing), 404, 8000009, MSG_DEPLOYMENT)
    fails(api.post(missing + "/retry"), 404, 8000009, MSG_DEPLOYMENT)


# -- builds over time ------------------------------------------------------------------------


def test_stages_progress_in_order_then_alias_moves(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.set_build(duration=0.5)
    dep = ok(api.post("/blog/deployments", files={"branch": (None, "Fix/API")}))
    seen: list[int] = []

    def finished() -> JSON | None:
        current = ok(api.get(f"/blog/deployments/{dep['id']}"))
        stage = current["latest_stage"]
        seen.append(STAGES.index(stage["name"]))
        return current if stage["status"] != "active" else None

    final = wait_for(finished)
    assert final["latest_stage"]["name"] == "deploy"
    assert final["latest_stage"]["status"] == "success"
    assert seen == sorted(seen) and len(set(seen)) >= 3, seen
    stamps = [t for s in final["stages"] for t in (s["started_on"], s["ended_on"])]
    assert all(ISO_MICROS.match(t) for t in stamps) and stamps == sorted(stamps)
    assert final["modified_on"] == final["stages"][-1]["ended_on"]
    assert final["aliases"] == ["https://fix-api.blog.pages.dev"]
    lines = ok(api.get(f"/blog/deployments/{dep['id']}/history/logs"))
    assert set(lines) == {"total", "includes_container_logs", "data"}
    assert lines["total"] == len(lines["data"]) > 0
    assert all(set(item) == {"ts", "line"} for item in lines["data"])


@pytest.mark.parametrize("outcome", ["failure", "canceled"])
def test_failed_and_canceled_builds(cf: FakeCloudflare, api: httpx.Client, outcome: str) -> None:
    cf.add_project("blog")
    cf.set_build(outcome=outcome, fail_stage="build")
    dep = ok(api.post("/blog/deployments"))
    got = ok(api.get(f"/blog/deployments/{dep['id']}"))
    assert got["latest_stage"]["name"] == "build"
    assert got["latest_stage"]["status"] == outcome
    assert [s["status"] for s in got["stages"]] == ["success"] * 3 + [outcome, "idle"]
    assert got["aliases"] is None
    assert ok(api.get("/blog"))["canonical_deployment"] is None


def test_skipped_build(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.set_build(outcome="skipped")
    dep = ok(api.post("/blog/deployments"))
    got = ok(api.get(f"/blog/deployments/{dep['id']}"))
    assert got["is_skipped"] is True and got["skip_reason"] == "branch_config"
    assert got["latest_stage"]["status"] != "active"


def test_concurrency_limit_keeps_builds_queued(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.set_concurrency(1)
    cf.set_build(duration=0.4)
    first = ok(api.post("/blog/deployments"))
    second = ok(api.post("/blog/deployments"))

    def running() -> JSON | None:
        dep = ok(api.get(f"/blog/deployments/{first['id']}"))
        return dep if STAGES.index(dep["latest_stage"]["name"]) >= 2 else None

    wait_for(running)
    waiting = ok(api.get(f"/blog/deployments/{second['id']}"))
    assert waiting["latest_stage"] == {**waiting["stages"][0], "status": "active"}
    assert [s["status"] for s in waiting["stages"][1:]] == ["idle"] * 4

    def done(dep_id: str) -> Callable[[], JSON | None]:
        def check() -> JSON | None:
            dep = ok(api.get(f"/blog/deployments/{dep_id}"))
            return dep if dep["latest_stage"]["status"] == "success" else None

        return check

    one, two = wait_for(done(first["id"])), wait_for(done(second["id"]))
    assert two["stages"][1]["started_on"] >= one["stages"][-1]["ended_on"]
    assert two["aliases"] == ["https://main.blog.pages.dev"]
    assert ok(api.get(f"/blog/deployments/{first['id']}"))["aliases"] is None  # alias moved


def test_canonical_and_latest_deployment(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog", subdomain="blog-x1y.pages.dev", domains=["blog.example.com"])
    prod = ok(api.post("/blog/deployments"))
    preview = ok(api.post("/blog/deployments", files={"branch": (None, "staging")}))
    project = ok(api.get("/blog"))
    assert set(project) == PROJECT_FIELDS
    assert project["subdomain"] == "blog-x1y.pages.dev"
    assert project["domains"] == ["blog.example.com"]
    assert project["production_branch"] == "main"
    assert project["canonical_deployment"]["id"] == prod["id"]
    assert project["latest_deployment"]["id"] == preview["id"]
    assert project["canonical_deployment"]["aliases"] == ["https://main.blog-x1y.pages.dev"]
    assert set(project["canonical_deployment"]) == DEPLOYMENT_FIELDS
    cf.add_project("docs")
    projects = httpx.get(projects_url(cf), headers=api.headers, params={"per_page": 1, "page": 2})
    assert [p["name"] for p in ok(projects)] == ["docs"]
    assert projects.json()["result_info"]["total_count"] == 2


# -- list, delete, retry, rollback -----------------------------------------------------------


def test_pagination_newest_first(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("big")
    start = time.time() - 86400
    items = [
        {"branch": "main" if i % 3 else "dev", "created_on": start + i * 60, "outcome": "success"}
        for i in range(60)
    ]
    seeded = cf.seed_deployments("big", items)
    newest_first = [d["id"] for d in reversed(seeded)]
    page1 = api.get("/big/deployments")
    assert [d["id"] for d in ok(page1)] == newest_first[:25]
    info = page1.json()["result_info"]
    assert info == {"page": 1, "per_page": 25, "count": 25, "total_count": 60, "total_pages": 3}
    page3 = api.get("/big/deployments", params={"page": 3})
    assert [d["id"] for d in ok(page3)] == newest_first[50:]
    assert page3.json()["result_info"]["count"] == 10
    past_end = api.get("/big/deployments", params={"page": 4})
    assert ok(past_end) == [] and past_end.json()["result_info"]["count"] == 0
    small = ok(api.get("/big/deployments", params={"page": 2, "per_page": 10}))
    assert [d["id"] for d in small] == newest_first[10:20]
    assert len(ok(api.get("/big/deployments", params={"per_page": 25}))) == 25
    fails(api.get("/big/deployments", params={"per_page": 26}), 400, 8000024, MSG_LIST)
    fails(api.get("/big/deployments", params={"page": 0}), 400, 8000024, MSG_LIST)
    previews = api.get("/big/deployments", params={"env": "preview"})
    assert {d["environment"] for d in ok(previews)} == {"preview"}
    assert previews.json()["result_info"]["total_count"] == 20


def test_delete_rules(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    base = time.time() - 3600
    old_prod, live, old_stage, new_stage = cf.seed_deployments(
        "blog",
        [
            {"branch": "main", "created_on": base, "outcome": "success"},
            {"branch": "main", "created_on": base + 10, "outcome": "success"},
            {"branch": "staging", "created_on": base + 20, "outcome": "success"},
            {"branch": "staging", "created_on": base + 30, "outcome": "success"},
        ],
    )
    assert old_prod["aliases"] is None and old_stage["aliases"] is None
    assert new_stage["aliases"] == ["https://staging.blog.pages.dev"]
    assert ok(api.get("/blog"))["canonical_deployment"]["id"] == live["id"]
    for force in ("", "?force=true"):
        fails(api.delete(f"/blog/deployments/{live['id']}{force}"), 400, 8000000)
    cf.set_canonical_delete_error(status=409, code=8000099, message="live")
    fails(api.delete(f"/blog/deployments/{live['id']}?force=true"), 409, 8000099, "live")
    aliased = f"/blog/deployments/{new_stage['id']}"
    fails(api.delete(aliased), 400, 8000035, MSG_ALIASED)
    fails(api.delete(aliased + "?force=false"), 400, 8000035, MSG_ALIASED)
    assert ok(api.delete(aliased + "?force=true")) is None
    fails(api.get(aliased), 404, 8000009, MSG_DEPLOYMENT)
    assert ok(api.delete(f"/blog/deployments/{old_stage['id']}")) is None
    assert ok(api.delete(f"/blog/deployments/{old_prod['id']}")) is None
    assert [d["id"] for d in ok(api.get("/blog/deployments"))] == [live["id"]]


def test_retry_and_rollback(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    first = ok(api.post("/blog/deployments"))
    second = ok(api.post("/blog/deployments"))
    retried = ok(api.post(f"/blog/deployments/{first['id']}/retry"))
    assert retried["id"] not in (first["id"], second["id"])
    assert retried["deployment_trigger"] == first["deployment_trigger"]
    assert ok(api.get("/blog"))["canonical_deployment"]["id"] == retried["id"]
    rolled = ok(api.post(f"/blog/deployments/{first['id']}/rollback"))
    assert rolled["id"] == first["id"] and rolled["aliases"] == ["https://main.blog.pages.dev"]
    assert ok(api.get("/blog"))["canonical_deployment"]["id"] == first["id"]
    preview = ok(api.post("/blog/deployments", files={"branch": (None, "dev")}))
    fails(api.post(f"/blog/deployments/{preview['id']}/rollback"), 400, 8000000)


# -- deploy hooks ----------------------------------------------------------------------------


def test_deploy_hook(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    url = cf.add_deploy_hook("blog", "staging")
    assert re.fullmatch(re.escape(cf.base_url) + r"/pages/webhooks/deploy_hooks/[0-9a-f-]{36}", url)
    response = httpx.post(url, content=b"<xml>cms</xml>", headers={"Content-Type": "text/xml"})
    result = ok(response)
    assert set(result) == {"id"}
    dep = ok(api.get(f"/blog/deployments/{result['id']}"))
    assert dep["deployment_trigger"]["type"] == "deploy_hook"
    assert dep["deployment_trigger"]["metadata"]["branch"] == "staging"
    assert dep["environment"] == "preview"
    ok(httpx.post(url))
    calls = cf.create_calls("blog")
    assert [(c["kind"], c["status"]) for c in calls] == [("hook", 200), ("hook", 200)]
    assert calls[0]["body"] == "<xml>cms</xml>" and calls[0]["deployment_id"] == result["id"]
    unknown = url.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"
    response = httpx.post(unknown)
    assert response.status_code == 404 and response.json()["success"] is False
    fails(httpx.get(url), 404, 7003)


# -- faults and limits -----------------------------------------------------------------------


def test_fault_500_once_then_ok(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.fault(status=500, method="POST", path_contains="/deployments")
    fails(api.post("/blog/deployments"), 500, 8000000)
    ok(api.post("/blog/deployments"))
    assert [c["status"] for c in cf.create_calls("blog")] == [500, 200]
    assert len(ok(api.get("/blog/deployments"))) == 1


def test_fault_429_with_retry_after_and_custom_errors(
    cf: FakeCloudflare, api: httpx.Client
) -> None:
    cf.add_project("blog")
    cf.fault(status=429, retry_after=7, times=2)
    for _ in range(2):
        response = api.get("/blog")
        fails(response, 429, 971, "Please wait and consider throttling your request speed")
        assert response.headers["retry-after"] == "7"
    ok(api.get("/blog"))
    cf.fault(status=400, errors=[{"code": 8000013, "message": "nope"}], path_contains="/blog")
    fails(api.get("/blog"), 400, 8000013, "nope")


def test_fault_delay(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.fault(delay=0.3, path_contains="/blog")
    started = time.monotonic()
    ok(api.get("/blog"))
    assert time.monotonic() - started >= 0.3
    cf.fault(delay=0.5, method="POST")
    with pytest.raises(httpx.ReadTimeout):
        api.post("/blog/deployments", timeout=0.1)
    # the server still did the work: the client cannot know whether its create happened
    assert wait_for(lambda: ok(api.get("/blog/deployments")) or None)


def test_fault_drop_closes_the_connection(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.fault(drop=True, method="POST")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post("/blog/deployments")
    ok(api.post("/blog/deployments"))
    assert [c["status"] for c in cf.create_calls()] == ["dropped", 200]


def test_rate_limit(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_project("blog")
    cf.set_rate_limit(3, window=60)
    remaining = [api.get("/blog").headers["ratelimit"].split(";")[1] for _ in range(3)]
    assert remaining == ["r=2", "r=1", "r=0"]
    response = api.get("/blog")
    fails(response, 429, 971)
    assert 0 < int(response.headers["retry-after"]) <= 60
    assert response.headers["ratelimit-policy"] == '"default";q=3;w=60'
    fails(httpx.post(cf.add_deploy_hook("blog", "main")), 429, 971)  # hooks share the budget
    assert cf.calls()[-1]["status"] == 429
    cf.reset()
    cf.add_project("blog")
    ok(api.get("/blog"))


# -- sandbox CLI -----------------------------------------------------------------------------


def test_cli_serves_a_sandbox() -> None:
    command = [sys.executable, "-m", "tests.fakes.cloudflare", "--port", "0", "--project", "blog",
               "--hook", "blog:main", "--build-duration", "0"]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("control API"):
                line = proc.stdout.readline()
                assert line, f"the sandbox exited early: {lines}"
                lines.append(line.strip())
            values = dict(line.split("=", 1) for line in lines if "=" in line)
            base = values["CLOUDFLARE_API_BASE"]
            assert values["CLOUDFLARE_ACCOUNT_ID"] == "0123456789abcdef0123456789abcdef"
            hook_url = next(line for line in lines if line.startswith("deploy hook"))
            dep_id = ok(httpx.post(hook_url.split(": ", 1)[1]))["id"]
            headers = {"Authorization": f"Bearer {values['CLOUDFLARE_API_TOKEN']}"}
            url = f"{base}/accounts/{values['CLOUDFLARE_ACCOUNT_ID']}/pages/projects/blog"
            assert ok(httpx.get(url, headers=headers))["latest_deployment"]["id"] == dep_id
        finally:
            proc.terminate()
            proc.wait(timeout=10)
