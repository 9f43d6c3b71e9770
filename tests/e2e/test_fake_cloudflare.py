"""Tests of the fake Cloudflare API (`tests/fakes/cloudflare/`) over real HTTP: the Workers
Builds surface, the traffic layer on it, a smoke test of the Pages half (whose full suite is
`test_fake_pages.py`) and the sandbox.

The contract is `shared/reference/workers-builds-api.md` (section numbers below refer to it).
Builds advance on the clock; the tests poll with a deadline and use sub-second durations.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.paths import ROOT
from tests.helpers.polling import wait_for

JSON = dict[str, Any]
STATUSES = ["queued", "initializing", "running", "stopped"]
UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


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
    """A client for `/client/v4/accounts/<account>`, with the token."""
    base = f"{cf.base_url}/accounts/{cf.account_id}"
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


def triggers(api: httpx.Client, tag: str) -> tuple[JSON, JSON]:
    """The production and the preview trigger of a Worker."""
    production, preview = ok(api.get(f"/builds/workers/{tag}/triggers"))
    return production, preview


def start_build(api: httpx.Client, tag: str, body: JSON | None = None) -> str:
    production, _ = triggers(api, tag)
    path = f"/builds/triggers/{production['trigger_uuid']}/builds"
    started = ok(api.post(path, json=body or {"branch": "main"}))
    assert set(started) == {"build_uuid", "created_on"}  # no status (trap 3)
    return str(started["build_uuid"])


def build_when(api: httpx.Client, build_uuid: str, status: str, timeout: float = 10.0) -> JSON:
    """Poll the build until it has reached `status` (or a later one)."""

    def reached() -> JSON | None:
        build: JSON = ok(api.get(f"/builds/builds/{build_uuid}"))
        return build if STATUSES.index(build["status"]) >= STATUSES.index(status) else None

    result: JSON = wait_for(reached, timeout=timeout, what=f"build {build_uuid} {status}")
    return result


def all_log_lines(api: httpx.Client, build_uuid: str) -> tuple[list[list[Any]], list[bool]]:
    """Every log line, paging as Cloudflare's client does (§7), and each page's `truncated`."""
    lines: list[list[Any]] = []
    flags: list[bool] = []
    params: JSON = {}
    while True:
        page = ok(api.get(f"/builds/builds/{build_uuid}/logs", params=params))
        lines += page["lines"]
        flags.append(page["truncated"])
        if not (page.get("cursor") and page["truncated"]):
            return lines, flags
        params = {"cursor": page["cursor"]}


# -- finding a Worker (§3) -------------------------------------------------------------------


def test_name_resolves_to_tag_and_a_name_is_no_tag(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    other = cf.add_worker("static-site", connected=False)
    assert re.fullmatch(r"[0-9a-f]{32}", tag)
    scripts = ok(api.get("/workers/scripts"))
    assert [(s["id"], s["tag"]) for s in scripts] == [("my-app", tag), ("static-site", other)]
    service = ok(api.get("/workers/services/my-app"))
    assert service["default_environment"]["script_tag"] == tag
    fails(api.get("/workers/services/nope"), 404, 10090)
    config = ok(api.get(f"/builds/workers/{tag}"))
    assert config["script_tag"] == tag and config["git_repository"]["branch"] == "main"
    for path in ("/builds/workers/my-app", "/builds/workers/my-app/triggers"):
        fails(api.get(path), 404, 12040)  # a name where the tag belongs (trap 1)
    fails(api.get("/builds/workers/my-app/builds"), 404, 12040)
    fails(api.get(f"/builds/workers/{other}"), 404, 12040)  # no Builds configuration
    assert ok(api.get(f"/builds/workers/{other}/triggers")) == []


def test_each_connected_worker_has_two_triggers(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app", production_branch="prod")
    production, preview = triggers(api, tag)
    assert (production["branch_includes"], production["branch_excludes"]) == (["prod"], [])
    assert (preview["branch_includes"], preview["branch_excludes"]) == (["*"], ["prod"])
    assert production["deploy_command"] == "npx wrangler deploy"
    assert preview["deploy_command"] == "npx wrangler versions upload"
    for trigger in (production, preview):
        assert UUID.fullmatch(trigger["trigger_uuid"]) and trigger["external_script_id"] == tag
        assert trigger["repo_connection"]["repo_name"] == "my-app"
    assert production["trigger_uuid"] != preview["trigger_uuid"]


# -- builds (§4.1, §5) -----------------------------------------------------------------------


def test_manual_build_lifecycle(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    cf.set_worker_build(duration=1.0)  # 0.2 s queued, 0.2 s initializing, 0.6 s running
    build_uuid = start_build(api, tag)
    seen: list[str] = []

    def stopped() -> JSON | None:
        build: JSON = ok(api.get(f"/builds/builds/{build_uuid}"))
        seen.append(build["status"])
        if build["status"] != "stopped":
            assert build["build_outcome"] is None and build["stopped_on"] is None  # trap 7
        return build if build["status"] == "stopped" else None

    build = wait_for(stopped, timeout=10, interval=0.02)
    assert [STATUSES.index(s) for s in seen] == sorted(STATUSES.index(s) for s in seen)
    assert {"queued", "running", "stopped"} <= set(seen), seen
    assert build["build_outcome"] == "success"
    stamps = [build[k] for k in ("created_on", "initializing_on", "running_on", "stopped_on")]
    assert all(stamps) and stamps == sorted(stamps)
    assert build["modified_on"] == build["stopped_on"]
    meta = build["build_trigger_metadata"]
    assert meta["branch"] == "main" and meta["build_trigger_source"] == "api"
    assert re.fullmatch(r"[0-9a-f]{40}", meta["commit_hash"])
    assert "build_token_uuid" not in build["trigger"]
    version = cf.worker_version_of(build_uuid)
    assert version is not None and UUID.fullmatch(version)
    deployments = ok(api.get("/workers/scripts/my-app/deployments"))["deployments"]
    assert len(deployments) == 2  # the build's, then the Worker's first upload
    assert deployments[0]["versions"] == [{"version_id": version, "percentage": 100}]
    assert deployments[0]["strategy"] == "percentage"
    by_version = ok(api.get("/builds/builds", params={"version_ids": version}))["builds"]
    assert by_version[version]["build_uuid"] == build_uuid
    lines, _ = all_log_lines(api, build_uuid)
    assert f"Current Version ID: {version}" in [text for _, text in lines]
    [entry] = cf.build_calls("my-app")
    assert entry["kind"] == "worker_build" and entry["build_uuid"] == build_uuid
    assert entry["status"] == 200 and entry["body"] == '{"branch":"main"}'
    assert [b["build_uuid"] for b in cf.worker_builds("my-app")] == [build_uuid]


def test_failed_build_logs_a_failure(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    cf.set_worker_build(duration=0.2, outcome="fail")
    build_uuid = start_build(api, tag)
    build = build_when(api, build_uuid, "stopped")
    assert build["build_outcome"] == "fail"
    texts = [text for _, text in all_log_lines(api, build_uuid)[0]]
    assert "✘ [ERROR] Build failed with 1 error:" in texts
    assert texts[-1].startswith("Failed:") and texts[0] == "Initializing build environment..."
    assert cf.worker_version_of(build_uuid) is None
    assert len(ok(api.get("/workers/scripts/my-app/deployments"))["deployments"]) == 1


@pytest.mark.parametrize("outcome", ["terminated", "skipped", "cancelled"])
def test_other_outcomes(cf: FakeCloudflare, api: httpx.Client, outcome: str) -> None:
    tag = cf.add_worker("my-app")
    cf.set_worker_build(outcome=outcome, times=1)  # only the next build
    first = build_when(api, start_build(api, tag), "stopped")
    assert first["build_outcome"] == outcome
    if outcome == "skipped":
        assert first["initializing_on"] is None and first["running_on"] is None
    second = build_when(api, start_build(api, tag), "stopped")
    assert second["build_outcome"] == "success"


def test_cancel_a_running_build(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    cf.set_worker_build(duration=2.5)
    build_uuid = start_build(api, tag)
    build_when(api, build_uuid, "running")
    answer = ok(api.put(f"/builds/builds/{build_uuid}/cancel"))
    assert answer["build_outcome"] == "cancelled" and answer["build_uuid"] == build_uuid
    build = ok(api.get(f"/builds/builds/{build_uuid}"))
    assert (build["status"], build["build_outcome"]) == ("stopped", "cancelled")
    assert build["stopped_on"] == answer["stopped_on"] and build["running_on"] is not None
    assert all_log_lines(api, build_uuid)[0][-1][1] == "Build was cancelled"
    assert ok(api.put(f"/builds/builds/{build_uuid}/cancel")) == answer  # default: unchanged
    cf.set_worker_cancel_stopped_error(status=409, code=12000, message="Build already stopped")
    fails(api.put(f"/builds/builds/{build_uuid}/cancel"), 409, 12000, "Build already stopped")
    assert [c["status"] for c in cf.cancel_calls("my-app")] == [200, 200, 409]
    fails(api.post(f"/builds/builds/{build_uuid}/cancel"), 404, 7003)  # PUT only (trap 8)
    fails(api.put("/builds/builds/00000000-0000-4000-8000-000000000000/cancel"), 404, 12000)


def test_concurrency_holds_builds_queued(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    cf.set_worker_concurrency(1)
    cf.set_worker_build(duration=1.2)
    first, second = start_build(api, tag), start_build(api, tag)
    build_when(api, first, "running")
    assert ok(api.get(f"/builds/builds/{second}"))["status"] == "queued"
    cancelled = start_build(api, tag)
    ok(api.put(f"/builds/builds/{cancelled}/cancel"))  # cancelled while queued
    one, two = build_when(api, first, "stopped"), build_when(api, second, "stopped")
    assert two["initializing_on"] >= one["stopped_on"]
    skipped = ok(api.get(f"/builds/builds/{cancelled}"))
    assert skipped["build_outcome"] == "cancelled" and skipped["initializing_on"] is None


def test_logs_page_with_a_cursor(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    wanted = [f"step {i}" for i in range(250)]
    cf.set_worker_build(log_lines=wanted)
    build_uuid = start_build(api, tag)
    build_when(api, build_uuid, "stopped")
    lines, flags = all_log_lines(api, build_uuid)
    assert [text for _, text in lines] == wanted and flags == [True, True, False]
    stamps = [ts for ts, _ in lines]
    assert all(isinstance(ts, float) for ts in stamps) and stamps == sorted(stamps)
    cf.set_worker_log_page_size(100_000)
    assert all_log_lines(api, build_uuid)[1] == [False]
    fails(api.get(f"/builds/builds/{build_uuid}/logs", params={"cursor": "%%%"}), 400, 12002)
    fails(api.get("/builds/builds/00000000-0000-4000-8000-000000000000/logs"), 404, 12000)


def test_manual_build_needs_a_branch_or_a_commit(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    production, _ = triggers(api, tag)
    path = f"/builds/triggers/{production['trigger_uuid']}/builds"
    bad: list[JSON] = [
        {"json": {}}, {"content": b""}, {"content": b"branch=main"}, {"json": {"branch": ""}},
        {"json": ["main"]}, {"json": {"branch": 7}},
    ]  # fmt: skip
    for kwargs in bad:
        fails(api.post(path, **kwargs), 400, 12002, "Invalid request body")
    commit = "c0ffee" * 6 + "c0fe"
    started = ok(api.post(path, json={"commit_hash": commit}))
    build = ok(api.get(f"/builds/builds/{started['build_uuid']}"))
    assert build["build_trigger_metadata"]["commit_hash"] == commit
    assert build["build_trigger_metadata"]["branch"] == "main"
    missing = "/builds/triggers/00000000-0000-4000-8000-000000000000/builds"
    fails(api.post(missing, json={"branch": "main"}), 404, 12000)
    fails(api.get("/builds/builds/00000000-0000-4000-8000-000000000000"), 404, 12000, "Not found")


def test_build_list_and_batch_lookups(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag, other = cf.add_worker("my-app"), cf.add_worker("docs")
    made = [start_build(api, tag) for _ in range(3)]
    first = api.get(f"/builds/workers/{tag}/builds", params={"page": 1, "per_page": 2})
    assert [b["build_uuid"] for b in ok(first)] == made[::-1][:2]  # newest first
    info = first.json()["result_info"]
    assert info == {"count": 2, "page": 1, "per_page": 2, "total_count": 3, "total_pages": 2,
                    "next_page": True}  # fmt: skip
    last = api.get(f"/builds/workers/{tag}/builds", params={"page": 2, "per_page": 2})
    assert [b["build_uuid"] for b in ok(last)] == made[:1]
    assert last.json()["result_info"]["next_page"] is False
    fails(api.get(f"/builds/workers/{tag}/builds", params={"per_page": 0}), 400, 12002)
    latest = ok(api.get("/builds/builds/latest", params={"external_script_ids": f"{tag},{other}"}))
    assert set(latest["builds"]) == {tag} and latest["builds"][tag]["build_uuid"] == made[-1]
    too_many = ",".join([tag] * 21)
    fails(api.get("/builds/builds/latest", params={"external_script_ids": too_many}), 400, 12002)
    fails(api.get("/builds/builds", params={"version_ids": too_many}), 400, 12002)
    fails(api.get("/builds/builds"), 400, 12002)
    limits = ok(api.get("/builds/account/limits"))
    assert limits == {"build_minutes_refresh_on": None, "has_reached_build_minutes_limit": None}
    cf.set_worker_account_limits(has_reached_build_minutes_limit=True)
    assert ok(api.get("/builds/account/limits"))["has_reached_build_minutes_limit"] is True


# -- deploy hooks (§4.3, §8) -----------------------------------------------------------------


def test_deploy_hook_returns_the_pending_build(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_worker("my-app")
    cf.set_worker_build(duration=2.5)  # 0.5 s queued, 0.5 s initializing, then running
    url = cf.add_worker_deploy_hook("my-app", "main", name="cms")
    assert re.fullmatch(re.escape(cf.base_url) + r"/workers/builds/deploy_hooks/[0-9a-f-]{36}", url)
    first = ok(httpx.post(url))  # no credentials at all
    assert set(first) == {"already_exists", "build_uuid", "created_on", "status"}
    assert (first["already_exists"], first["status"]) == (False, "queued")
    again = ok(httpx.post(url, content=b"ignored"))
    assert again["already_exists"] is True and again["build_uuid"] == first["build_uuid"]
    build_when(api, first["build_uuid"], "running")
    later = ok(httpx.post(url))
    assert later["already_exists"] is False and later["build_uuid"] != first["build_uuid"]
    build = ok(api.get(f"/builds/builds/{later['build_uuid']}"))
    assert build["build_trigger_metadata"]["build_trigger_source"] == "deploy_hook"
    calls = cf.build_calls("my-app")
    assert [(c["kind"], c["already_exists"]) for c in calls] == [
        ("worker_hook", False), ("worker_hook", True), ("worker_hook", False),
    ]  # fmt: skip
    [hook] = ok(api.get("/builds/workers/my-app/deploy_hooks"))
    assert hook["latest_build"] == {"created_on": later["created_on"]}
    fails(httpx.post(url.rsplit("/", 1)[0] + "/00000000-0000-4000-8000-000000000000"), 404, 12000)


def test_deploy_hook_rate_limits(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_worker("my-app")
    cf.add_worker("docs")
    url = cf.add_worker_deploy_hook("my-app", "main")
    other = cf.add_worker_deploy_hook("docs", "main")
    for _ in range(10):  # each build stops at once, so none is deduplicated
        assert ok(httpx.post(url))["already_exists"] is False
    response = httpx.post(url)
    fails(response, 429, 971)
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert ok(httpx.post(other))["already_exists"] is False  # per Worker
    assert [c["status"] for c in cf.build_calls("my-app")][-2:] == [200, 429]
    cf.set_worker_hook_limits(per_worker=10, per_account=11)
    fails(httpx.post(other), 429, 971)  # 11 hook builds in the account's minute


def test_deploy_hook_management_by_name(cf: FakeCloudflare, api: httpx.Client) -> None:
    tag = cf.add_worker("my-app")
    hooks = "/builds/workers/my-app/deploy_hooks"  # by name, not tag
    hook = ok(api.post(hooks, json={"deploy_hook_name": "cms", "branch": "main"}))
    assert hook["external_script_id"] == tag and "latest_build" not in hook
    path = f"{hooks}/{hook['deploy_hook_uuid']}"
    assert ok(api.get(path)) == hook
    [listed] = ok(api.get(hooks))
    assert listed["latest_build"] is None
    updated = ok(api.put(path, json={"deploy_hook_name": "cms-2", "branch": "staging"}))
    assert (updated["deploy_hook_name"], updated["branch"]) == ("cms-2", "staging")
    fails(api.put(path, json={"branch": "main"}), 400, 12002)
    fails(api.post(hooks, json={"deploy_hook_name": "x" * 59, "branch": "main"}), 400, 12002)
    # a tag where the name belongs (trap 1)
    fails(api.get(f"/builds/workers/{tag}/deploy_hooks"), 404, 12000)
    assert ok(api.delete(path)) == updated  # the deleted hook, not null
    fails(api.get(path), 404, 12000)
    trigger_url = f"{cf.base_url}/workers/builds/deploy_hooks/{hook['deploy_hook_uuid']}"
    fails(httpx.post(trigger_url), 404, 12000)


# -- credentials and the traffic layer -------------------------------------------------------


def test_account_scoped_token_is_refused_on_builds_only(
    cf: FakeCloudflare, api: httpx.Client
) -> None:
    tag = cf.add_worker("my-app")
    cf.add_project("blog")
    cf.set_invalid_token("account-owned")
    scoped = {"Authorization": "Bearer account-owned"}
    wrong = {"Authorization": "Bearer wrong"}
    base = f"{cf.base_url}/accounts/{cf.account_id}"
    triggers_url = f"{base}/builds/workers/{tag}/triggers"
    fails(httpx.get(triggers_url, headers=scoped), 403, 12006, "Invalid token")
    assert ok(httpx.get(f"{base}/workers/scripts", headers=scoped))[0]["tag"] == tag
    assert ok(httpx.get(f"{base}/pages/projects/blog", headers=scoped))["name"] == "blog"
    fails(httpx.get(f"{base}/builds/account/limits", headers=wrong), 403, 12006)
    fails(httpx.get(f"{base}/builds/account/limits"), 403, 12006)
    fails(httpx.get(f"{base}/pages/projects/blog", headers=wrong), 403, 10000)
    ok(api.get("/builds/account/limits"))
    cf.set_invalid_token(cf.token)  # the relay's own token lacks the Builds permission
    fails(api.get("/builds/account/limits"), 403, 12006)
    assert ok(api.get("/pages/projects/blog"))["name"] == "blog"
    ok(httpx.post(cf.add_worker_deploy_hook("my-app", "main")))  # hooks need no token
    cf.set_invalid_token(None)
    ok(api.get("/builds/account/limits"))


def test_faults_rate_limit_and_call_log_on_builds_paths(
    cf: FakeCloudflare, api: httpx.Client
) -> None:
    tag = cf.add_worker("my-app")
    production, _ = triggers(api, tag)
    path = f"/builds/triggers/{production['trigger_uuid']}/builds"
    cf.fault(status=500, method="POST", path_contains="/builds/triggers/")
    fails(api.post(path, json={"branch": "main"}), 500, 8000000)
    ok(api.post(path, json={"branch": "main"}))
    assert [c["status"] for c in cf.build_calls("my-app")] == [500, 200]
    url = cf.add_worker_deploy_hook("my-app", "main")
    cf.fault(drop=True, path_contains="/workers/builds/deploy_hooks/")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        httpx.post(url)
    assert cf.build_calls("my-app")[-1]["status"] == "dropped"
    cf.fault(delay=0.5, path_contains="/account/limits")
    with pytest.raises(httpx.ReadTimeout):
        api.get("/builds/account/limits", timeout=0.1)
    cf.set_rate_limit(2, window=60)
    response = api.get("/builds/account/limits")
    assert response.headers["ratelimit-policy"] == '"default";q=2;w=60'
    ok(response)
    ok(api.get(f"/builds/workers/{tag}"))
    fails(api.get(f"/builds/workers/{tag}"), 429, 971)


def test_reset_forgets_workers(cf: FakeCloudflare, api: httpx.Client) -> None:
    cf.add_worker("my-app")
    cf.set_worker_concurrency(1)
    cf.reset()
    assert ok(api.get("/workers/scripts")) == []
    info = cf.info()
    assert info["workers"] == [] and info["worker_hooks"] == []
    assert info["worker_concurrency"] == 6 and info["invalid_token"] is None


# -- Pages, still --------------------------------------------------------------------------


def test_pages_still_work(cf: FakeCloudflare, api: httpx.Client) -> None:
    assert FakeCloudflare is FakeCloudflare
    cf.add_project("blog")
    cf.set_build(duration=0.5)
    dep = ok(api.post("/pages/projects/blog/deployments", files={"branch": (None, "main")}))
    stages = ["queued", "initialize", "clone_repo", "build", "deploy"]

    def deployed() -> JSON | None:
        current: JSON = ok(api.get(f"/pages/projects/blog/deployments/{dep['id']}"))
        return current if current["latest_stage"]["status"] == "success" else None

    final = wait_for(deployed, timeout=10)
    assert [s["status"] for s in final["stages"]] == ["success"] * len(stages)
    hook = ok(httpx.post(cf.add_deploy_hook("blog", "main")))
    assert set(hook) == {"id"}
    assert [c["kind"] for c in cf.create_calls("blog")] == ["create", "hook"]


def test_sandbox_serves_both_products() -> None:
    command = [sys.executable, "-m", "tests.fakes.cloudflare", "--port", "0", "--project", "blog",
               "--hook", "blog:main", "--worker", "my-app", "--build-duration", "0",
               "--worker-build-duration", "0"]  # fmt: skip
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("control API"):
                line = proc.stdout.readline()
                assert line, f"the sandbox exited early: {lines}"
                lines.append(line.strip())
            values = dict(line.split("=", 1) for line in lines if "=" in line)
            base, account = values["CLOUDFLARE_API_BASE"], values["CLOUDFLARE_ACCOUNT_ID"]
            headers = {"Authorization": f"Bearer {values['CLOUDFLARE_API_TOKEN']}"}
            pages_hook = next(x for x in lines if x.startswith("deploy hook blog:main: "))
            ok(httpx.post(pages_hook.split(": ", 1)[1]))
            tag = next(x for x in lines if x.startswith("worker my-app: tag ")).rsplit(" ", 1)[1]
            worker_hook = next(x for x in lines if x.startswith("worker deploy hook my-app:main: "))
            build_uuid = ok(httpx.post(worker_hook.split(": ", 1)[1]))["build_uuid"]
            listed = ok(
                httpx.get(f"{base}/accounts/{account}/builds/workers/{tag}/builds", headers=headers)
            )
            assert [b["build_uuid"] for b in listed] == [build_uuid]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
