"""Hold the fake Cloudflare API (`tests/fakes/cloudflare/`) to the OpenAPI subsets.

Every route the fake serves under `/client/v4` must be in `pages-openapi.json` or
`workers-builds-openapi.json` with the same method, apart from the few real paths that the
subsets leave out, each listed in `NOT_IN_SUBSETS` with the reference section that documents
it. The fake's answers must carry every field the schema defines for their object, and a Build
every field Cloudflare's own MCP client requires (Workers Builds reference §5.2).

The schemas come from `../shared/cloudflare/` beside the checkout, else from the copies in
`tests/fixtures/cloudflare/`. The answers come from the fake on a loopback port in this
process (a uvicorn thread), started once for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from tests.fakes.cloudflare import API_PREFIX, CONTROL_PREFIX, FakeCloudflare
from tests.fakes.cloudflare.app import build_app
from tests.fakes.cloudflare.middleware import TrafficLayer
from tests.fakes.cloudflare.schemas import (
    BUILDS_SCHEMA,
    FIXTURE_DIR,
    PAGES_SCHEMA,
    SHARED_DIR,
    load_schema,
)
from tests.fakes.cloudflare.services import FakeServices

JSON = dict[str, Any]
ACCOUNT = "0123456789abcdef0123456789abcdef"
TOKEN = "schema-test-token"

# Real endpoints the fake serves that neither subset contains, and why each exists.
NOT_IN_SUBSETS: dict[tuple[str, str], str] = {
    ("get", "/accounts/{account_id}/workers/scripts"): (
        "Workers Builds reference §3.1: the Workers list, `id` is the name and `tag` the tag"
    ),
    ("get", "/accounts/{account_id}/workers/services/{service_name}"): (
        "Workers Builds reference §3.1: the tag in `result.default_environment.script_tag`"
    ),
    ("get", "/accounts/{account_id}/workers/scripts/{script_name}/deployments"): (
        "Workers Builds reference §4.1, 'Redeploy current deployment': the live version id"
    ),
    ("post", "/pages/webhooks/deploy_hooks/{hook_id}"): (
        "Pages reference §3.1: the Pages deploy-hook URL, which no schema describes"
    ),
}

# Workers Builds reference §5.2: what Cloudflare's MCP client requires (req or null) in a Build.
MCP_BUILD_FIELDS = {
    "build_uuid", "status", "build_outcome", "created_on", "initializing_on", "running_on",
    "stopped_on", "modified_on", "build_trigger_metadata", "trigger",
}  # fmt: skip
MCP_METADATA_FIELDS = {
    "build_trigger_source", "branch", "commit_hash", "commit_message", "author",
    "build_command", "deploy_command", "root_directory", "build_token_uuid",
    "environment_variables", "provider_type", "provider_account_name", "repo_name",
}  # fmt: skip

BUILDS = "/accounts/{account_id}/builds"


# -- schema access ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builds_spec() -> JSON:
    spec: JSON = load_schema(BUILDS_SCHEMA)
    return spec


def resolve(spec: JSON, node: JSON) -> JSON:
    """Follow `$ref`s; merge the properties of an `allOf` (later parts win)."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    if "allOf" in node:
        merged: JSON = {"type": "object", "properties": {}}
        for part in node["allOf"]:
            merged["properties"].update(resolve(spec, part).get("properties", {}))
        return merged
    return node


def properties(spec: JSON, node: JSON) -> JSON:
    props: JSON = resolve(spec, node).get("properties", {})
    return props


def answer_part(spec: JSON, path: str, method: str, part: str = "result") -> JSON:
    """The schema of `result` (or `result_info`) in the 200 answer of one operation."""
    answer = spec["paths"][path][method]["responses"]["200"]
    envelope = answer["content"]["application/json"]["schema"]
    return resolve(spec, properties(spec, envelope)[part])


def result_schema(spec: JSON, path: str, method: str) -> JSON:
    return answer_part(spec, path, method)


def missing_fields(spec: JSON, schema: JSON, value: Any, where: str = "result") -> list[str]:
    """Every schema-defined field absent from `value`, recursively through nested objects."""
    props = properties(spec, schema)
    if not isinstance(value, dict) or not props:
        return []
    missing = [f"{where}.{name}" for name in props if name not in value]
    for name, sub in props.items():
        child = value.get(name)
        items = resolve(spec, sub).get("items")
        if isinstance(child, dict):
            missing += missing_fields(spec, sub, child, f"{where}.{name}")
        elif isinstance(child, list) and isinstance(items, dict):
            for i, item in enumerate(child):
                missing += missing_fields(spec, items, item, f"{where}.{name}[{i}]")
    return missing


def enum(spec: JSON, name: str) -> list[Any]:
    values: list[Any] = spec["components"]["schemas"][name]["enum"]
    return values


# -- routes against the subsets --------------------------------------------------------------


def api_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the fake's app serves under `/client/v4`."""
    app = build_app(FakeServices.create(ACCOUNT, TOKEN))
    assert isinstance(app, TrafficLayer) and isinstance(app.app, Starlette)
    mounts = [r for r in app.app.routes if isinstance(r, Mount)]
    assert {m.path for m in mounts} == {API_PREFIX, CONTROL_PREFIX}
    [api] = [m for m in mounts if m.path == API_PREFIX]  # the control prefix is left out
    found = set()
    for route in api.routes:
        assert isinstance(route, Route)
        if route.path == "/{path:path}":
            continue  # the 404/7003 catch-all
        found |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return found


def test_every_route_is_in_a_schema_subset_with_its_method() -> None:
    pages, builds = load_schema(PAGES_SCHEMA), load_schema(BUILDS_SCHEMA)
    implemented = api_routes()
    assert len(implemented) == 29, sorted(implemented)
    for method, path in sorted(implemented - NOT_IN_SUBSETS.keys()):
        documented = pages["paths"].get(path, {}) | builds["paths"].get(path, {})
        assert method in documented, f"{method.upper()} {path} is in neither schema subset"
    for method, path in NOT_IN_SUBSETS:
        assert (method, path) in implemented, f"{method} {path} is listed but not served"
        for spec in (pages, builds):
            assert method not in spec["paths"].get(path, {}), f"{path} is in a subset now"
    for spec in (pages, builds):
        assert spec["servers"][0]["url"].endswith(API_PREFIX)


def test_the_fixture_copies_match_the_shared_schemas() -> None:
    """The fallback copies must stay the same as the originals they stand in for."""
    if not SHARED_DIR.is_dir():
        pytest.skip(f"{SHARED_DIR} is not beside this checkout")
    for name in (PAGES_SCHEMA, BUILDS_SCHEMA):
        assert (FIXTURE_DIR / name).read_bytes() == (SHARED_DIR / name).read_bytes(), name


# -- answers against the objects -------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[FakeCloudflare]:
    with FakeCloudflare(account_id=ACCOUNT, token=TOKEN) as fake:
        yield fake


@pytest.fixture
def cf(server: FakeCloudflare) -> FakeCloudflare:
    server.reset()
    return server


@pytest.fixture
def client(cf: FakeCloudflare) -> Iterator[httpx.Client]:
    """A client for `/client/v4/accounts/<account>`, with the token."""
    base = f"{cf.base_url}/accounts/{ACCOUNT}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=headers, timeout=5.0) as http:
        yield http


def result(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """Call `/client/v4/accounts/<account>` + path; assert the Builds success envelope and
    return `result` (or the whole body for a list with `result_info`)."""
    body = client.request(method, path, **kwargs).json()
    assert body["success"] is True and body["errors"] == [], body
    assert isinstance(body["messages"], list)
    assert {"success", "errors", "messages", "result"} <= set(body)
    return body if "result_info" in body else body["result"]


def test_trigger_build_and_metadata_fields(
    cf: FakeCloudflare, client: httpx.Client, builds_spec: JSON
) -> None:
    spec = builds_spec
    tag = cf.add_worker("my-app")
    triggers = result(client, "GET", f"/builds/workers/{tag}/triggers")
    trigger_items = result_schema(spec, BUILDS + "/workers/{external_script_id}/triggers", "get")
    assert len(triggers) == 2
    for trigger in triggers:
        assert missing_fields(spec, trigger_items["items"], trigger) == []
    cf.set_worker_build(duration=600)  # stays queued for this test
    path = f"/builds/triggers/{triggers[0]['trigger_uuid']}/builds"
    started = result(client, "POST", path, json={"branch": "main"})
    insert = result_schema(spec, BUILDS + "/triggers/{trigger_uuid}/builds", "post")
    assert set(started) == set(properties(spec, insert))  # {build_uuid, created_on} only
    build = result(client, "GET", f"/builds/builds/{started['build_uuid']}")
    build_schema = result_schema(spec, BUILDS + "/builds/{build_uuid}", "get")
    assert missing_fields(spec, build_schema, build) == []
    assert set(build) >= MCP_BUILD_FIELDS
    assert set(build["build_trigger_metadata"]) >= MCP_METADATA_FIELDS
    assert build["status"] == "queued" and build["status"] in enum(spec, "builds_BuildStatus")
    unfinished = ("build_outcome", "initializing_on", "running_on", "stopped_on")
    assert [build[k] for k in unfinished] == [None] * 4  # null, not absent
    sources = [*enum(spec, "builds_BuildTriggerSource"), "deploy_hook"]  # trap 6
    assert build["build_trigger_metadata"]["build_trigger_source"] in sources
    copied = set(properties(spec, properties(spec, build_schema)["trigger"]))
    assert set(build["trigger"]) == copied  # without build_token_uuid / build_token_name
    assert not {"build_token_uuid", "build_token_name"} & set(build["trigger"])


def test_hook_logs_cancel_and_list_fields(
    cf: FakeCloudflare, client: httpx.Client, builds_spec: JSON
) -> None:
    spec = builds_spec
    tag = cf.add_worker("my-app")
    hook = result(
        client, "POST", "/builds/workers/my-app/deploy_hooks",
        json={"deploy_hook_name": "cms", "branch": "main"},
    )  # fmt: skip
    hooks_path = BUILDS + "/workers/{script_name}/deploy_hooks"
    assert missing_fields(spec, result_schema(spec, hooks_path, "post"), hook) == []
    assert hook["external_script_id"] == tag
    cf.set_worker_build(duration=600)
    fired = httpx.post(f"{cf.base_url}/workers/builds/deploy_hooks/{hook['deploy_hook_uuid']}")
    fired_result = fired.json()["result"]
    hook_answer = result_schema(spec, "/workers/builds/deploy_hooks/{deploy_hook_uuid}", "post")
    assert missing_fields(spec, hook_answer, fired_result) == []
    assert fired_result["status"] in enum(spec, "builds_BuildStatus")
    [listed] = result(client, "GET", "/builds/workers/my-app/deploy_hooks")
    detailed = result_schema(spec, hooks_path, "get")["items"]
    assert missing_fields(spec, detailed, listed) == []
    assert listed["latest_build"] == {"created_on": fired_result["created_on"]}

    build_uuid = fired_result["build_uuid"]
    cancelled = result(client, "PUT", f"/builds/builds/{build_uuid}/cancel")
    cancel = result_schema(spec, BUILDS + "/builds/{build_uuid}/cancel", "put")
    assert missing_fields(spec, cancel, cancelled) == []
    assert cancelled["build_outcome"] == "cancelled"
    assert cancelled["build_outcome"] in enum(spec, "builds_BuildOutcome")
    logs = result(client, "GET", f"/builds/builds/{build_uuid}/logs")
    logs_schema = result_schema(spec, BUILDS + "/builds/{build_uuid}/logs", "get")
    assert missing_fields(spec, logs_schema, logs) == []
    assert all(isinstance(ts, int | float) and isinstance(text, str) for ts, text in logs["lines"])

    page = result(client, "GET", f"/builds/workers/{tag}/builds", params={"per_page": 1})
    list_path = BUILDS + "/workers/{external_script_id}/builds"
    paging = properties(spec, answer_part(spec, list_path, "get", "result_info"))
    assert set(paging) | {"next_page"} == set(page["result_info"])  # next_page: §1.4
    build_items = result_schema(spec, list_path, "get")
    assert missing_fields(spec, build_items["items"], page["result"][0]) == []
    latest = result(client, "GET", "/builds/builds/latest", params={"external_script_ids": tag})
    latest_schema = result_schema(spec, BUILDS + "/builds/latest", "get")
    assert set(latest) == set(properties(spec, latest_schema)) and tag in latest["builds"]


def test_config_limits_and_error_envelope(
    cf: FakeCloudflare, client: httpx.Client, builds_spec: JSON
) -> None:
    spec = builds_spec
    tag = cf.add_worker("my-app")
    config = result(client, "GET", f"/builds/workers/{tag}")
    config_schema = result_schema(spec, BUILDS + "/workers/{script_tag}", "get")
    assert missing_fields(spec, config_schema, config) == []
    limits = result(client, "GET", "/builds/account/limits")
    limits_schema = result_schema(spec, BUILDS + "/account/limits", "get")
    assert missing_fields(spec, limits_schema, limits) == []
    failure = client.get("/builds/workers/my-app").json()
    required = spec["components"]["schemas"]["builds_ErrorResponse"]["required"]
    assert set(required) <= set(failure) and failure["success"] is False
    assert failure["result"] is None and failure["messages"] == []
    assert [e["code"] for e in failure["errors"]] == [12040]  # a name where a tag belongs
    assert all(isinstance(e["message"], str) for e in failure["errors"])
