"""The Workers Builds client (and the Pages additions: rollback, logs, choosing a rollback
target) over `httpx.MockTransport`: what each call sends, how leniently answers are parsed,
and which failures are retryable. The contract is `shared/reference/workers-builds-api.md`
(trap n = its §14 item n) and `cloudflare-pages-api.md` §2.6/§2.7."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from relay.core.cloudflare.answers import LogLine, epoch_seconds
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Deployment, Pages, previous_production
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.cloudflare.workers_objects import Build, Trigger, pick_trigger
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.records import TriggerStatus
from relay.core.secret import Secret
from relay.core.settings import CloudflareSettings
from relay.core.ttl_cache import TtlCache

TOKEN = "cf-unit-token-9wb"
ACCOUNT = "a" * 32
BASE = "https://api.test/client/v4"
PREFIX = f"/client/v4/accounts/{ACCOUNT}"
SETTINGS = CloudflareSettings(account_id=ACCOUNT, api_token=Secret(TOKEN), api_base=BASE)
TAG = "dd7160bb9cef458093557736f4b9e75b"
PROD_UUID = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
PREVIEW_UUID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
BUILD_UUID = "182bd5e5-6e1a-4fe4-a799-aa6d9a6ab26e"
HOOK_URL = f"{BASE}/workers/builds/deploy_hooks/s3cr3t-hook-uuid"

JSON = dict[str, Any]
Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


def ok(result: Any = None, **extra: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "errors": [], "messages": [], "result": result, **extra}
    )


def error(status: int, code: int | None, message: str, **headers: str) -> httpx.Response:
    errors = [{"message": message} if code is None else {"code": code, "message": message}]
    body = {"success": False, "errors": errors, "messages": [], "result": None}
    return httpx.Response(status, json=body, headers=headers)


class Api:
    """Routes `(method, path)` to queued answers (the last one repeats) and records requests;
    paths without `/client/v4` are under the account. Anything else is 404/7003."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *replies: Reply) -> None:
        full = path if path.startswith("/client/") else PREFIX + path
        self.routes[(method, full)] = list(replies)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        replies = self.routes.get((request.method, request.url.path))
        if not replies:
            return error(404, 7003, "No route for the URI")
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return reply(request) if callable(reply) else reply

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path.removeprefix(PREFIX)}" for r in self.requests]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def builds(api: Api, clock: Clock | None = None) -> WorkersBuilds:
    client = CloudflareClient(SETTINGS, transport=httpx.MockTransport(api))
    return WorkersBuilds(client, clock=clock or Clock())


def pages(api: Api) -> Pages:
    return Pages(CloudflareClient(SETTINGS, transport=httpx.MockTransport(api)))


def trigger_doc(uuid: str, includes: Any, excludes: Any, **extra: Any) -> JSON:
    return {
        "trigger_uuid": uuid,
        "trigger_name": f"trigger {uuid[:4]}",
        "external_script_id": TAG,
        "branch_includes": includes,
        "branch_excludes": excludes,
        "deploy_command": "npx wrangler deploy",
        "deleted_on": None,
        **extra,
    }


TRIGGERS = [
    trigger_doc(PROD_UUID, ["main"], []),
    trigger_doc(PREVIEW_UUID, ["*"], ["main"], deploy_command="npx wrangler versions upload"),
]


def build_doc(status: str = "stopped", outcome: str | None = "success", **extra: Any) -> JSON:
    stopped = status == "stopped"
    return {
        "build_uuid": BUILD_UUID,
        "status": status,
        "build_outcome": outcome,
        "created_on": "2026-01-21T18:50:00.000000Z",
        "initializing_on": "2026-01-21T18:50:02.000000Z",
        "running_on": "2026-01-21T18:50:05.000000Z",
        "stopped_on": "2026-01-21T18:51:05.500000Z" if stopped else None,
        "modified_on": "2026-01-21T18:51:05.500000Z",
        "build_trigger_metadata": {
            "build_trigger_source": "deploy_hook",
            "branch": "main",
            "commit_hash": "abc123def456",
            "commit_message": "Add new feature",
            "author": "dev@example.com",
            "deploy_command": "npx wrangler deploy",
            "environment_variables": {"A": {"is_secret": True, "value": None}},
        },
        "trigger": {"trigger_uuid": PROD_UUID, "external_script_id": TAG},
        "pull_request": None,
        **extra,
    }


# -- worker_tag -------------------------------------------------------------------------------


def test_a_worker_name_resolves_through_its_service_once() -> None:
    api = Api()
    api.on("GET", "/workers/services/my-app", ok({"default_environment": {"script_tag": TAG}}))
    wb = builds(api)
    assert wb.worker_tag("my-app") == TAG
    assert wb.worker_tag("my-app") == TAG
    assert api.paths() == ["GET /workers/services/my-app"]
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_a_service_404_falls_back_to_the_scripts_list() -> None:
    api = Api()
    api.on("GET", "/workers/services/my-app", error(404, 10090, "service_not_found"))
    scripts = [{"id": "other", "tag": "f" * 32}, {"id": "my-app", "tag": TAG}, "junk"]
    api.on("GET", "/workers/scripts", ok(scripts))
    assert builds(api).worker_tag("my-app") == TAG
    assert api.paths() == ["GET /workers/services/my-app", "GET /workers/scripts"]


def test_a_missing_worker_is_rejected_by_name() -> None:
    api = Api()
    api.on("GET", "/workers/services/ghost", error(404, 10090, "service_not_found"))
    api.on("GET", "/workers/scripts", ok([{"id": "my-app", "tag": TAG}]))
    with pytest.raises(CloudflareRejected) as caught:
        builds(api).worker_tag("ghost")
    assert caught.value.http_status == 404 and caught.value.code == 10090
    assert "no Worker named 'ghost'" in str(caught.value)


def test_a_token_without_scripts_read_is_told_so() -> None:
    api = Api()
    api.on("GET", "/workers/services/my-app", error(403, 10000, "Authentication error"))
    with pytest.raises(CloudflareRejected) as caught:
        builds(api).worker_tag("my-app")
    assert caught.value.code == 10000 and "Workers Scripts Read" in str(caught.value)
    assert api.paths() == ["GET /workers/services/my-app"]  # no fallback on a refusal


# -- triggers ---------------------------------------------------------------------------------


def test_triggers_are_parsed_leniently() -> None:
    api = Api()
    docs = [
        *TRIGGERS,
        {"trigger_name": "no uuid"},
        trigger_doc("dead-0000", ["*"], [], deleted_on="2026-01-01T00:00:00Z"),
        trigger_doc("odd-1111", ["dev", 7, None], "not a list"),
        "junk",
    ]
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok(docs))
    found = builds(api).triggers(TAG)
    assert [t.uuid for t in found] == [PROD_UUID, PREVIEW_UUID, "odd-1111"]
    assert found[2].branch_includes == ("dev",) and found[2].branch_excludes == ()
    assert found[0].script_tag == TAG and not found[0].preview and found[1].preview
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok(None))
    assert builds(api).triggers(TAG) == []


def make(uuid: str, includes: tuple[str, ...], excludes: tuple[str, ...] = ()) -> Trigger:
    return Trigger(uuid=uuid, name=None, branch_includes=includes, branch_excludes=excludes)


@pytest.mark.parametrize(
    ("branch", "expected"),
    [("main", "prod"), ("feature/x", "preview"), ("dependabot/npm", None), ("release-1", "rel")],
)
def test_the_trigger_is_chosen_by_its_branch_patterns(branch: str, expected: str | None) -> None:
    triggers = [
        make("preview", ("*",), ("main", "dependabot/*", "release-*")),
        make("prod", ("main",)),
        make("rel", ("release-*",)),
    ]
    found = pick_trigger(triggers, branch)
    assert (found.uuid if found else None) == expected


def test_an_exact_include_beats_a_star_and_no_include_matches_nothing() -> None:
    triggers = [make("everything", ("*",)), make("prod", ("main",)), make("empty", ())]
    assert pick_trigger(triggers, "main") == triggers[1]
    assert pick_trigger(triggers, "dev") == triggers[0]
    assert pick_trigger([make("empty", ())], "main") is None
    assert not make("case", ("Main",)).matches("main")  # Git branches are case-sensitive


def test_trigger_for_is_cached_until_the_ttl_runs_out() -> None:
    api, clock = Api(), Clock()
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok(TRIGGERS))
    wb = builds(api, clock)
    assert wb.trigger_for(TAG, "main").uuid == PROD_UUID  # type: ignore[union-attr]
    assert wb.trigger_for(TAG, "main").uuid == PROD_UUID  # type: ignore[union-attr]
    assert wb.trigger_for(TAG, "dev").uuid == PREVIEW_UUID  # type: ignore[union-attr]
    assert len(api.requests) == 2
    clock.now += 601
    wb.trigger_for(TAG, "main")
    assert len(api.requests) == 3


def test_the_cache_is_bounded_and_expires() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(ttl=10.0, size=2, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, 2, 3, 2)
    clock.now += 10
    assert cache.get("b") is None and cache.get("c") is None


# -- starting builds --------------------------------------------------------------------------


def test_start_build_posts_the_branch_as_json_and_reads_no_status() -> None:
    api = Api()
    answer = {"build_uuid": BUILD_UUID, "created_on": "2019-12-27T18:11:19.117Z"}
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", ok(answer))
    started = builds(api).start_build(PROD_UUID, "main")
    assert (started.build_uuid, started.created_on) == (BUILD_UUID, "2019-12-27T18:11:19.117Z")
    request = api.requests[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == {"branch": "main"}


def test_a_start_answer_without_a_build_uuid_is_not_a_result() -> None:
    api = Api()
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", ok("ok"))
    with pytest.raises(CloudflareRetryable, match="no build_uuid"):
        builds(api).start_build(PROD_UUID, "main")


def resolvable(api: Api) -> None:
    api.on("GET", "/workers/services/my-app", ok({"default_environment": {"script_tag": TAG}}))
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok(TRIGGERS))


def test_a_warm_deploy_costs_one_call() -> None:
    api = Api()
    resolvable(api)
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", ok({"build_uuid": BUILD_UUID}))
    wb = builds(api)
    wb.deploy("my-app", "main")
    api.requests.clear()
    assert wb.deploy("my-app", "main").build_uuid == BUILD_UUID
    assert api.paths() == [f"POST /builds/triggers/{PROD_UUID}/builds"]


def test_a_start_answered_404_invalidates_the_cache_and_resolves_again() -> None:
    api = Api()
    resolvable(api)
    replaced = "99999999-9999-4999-8999-999999999999"
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", ok({"build_uuid": "b-1"}))
    wb = builds(api)
    wb.deploy("my-app", "main")
    # the trigger was deleted and made again: the cached uuid now answers 404
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", error(404, 12000, "Not found"))
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok([trigger_doc(replaced, ["main"], [])]))
    api.on("POST", f"/builds/triggers/{replaced}/builds", ok({"build_uuid": "b-2"}))
    api.requests.clear()
    assert wb.deploy("my-app", "main").build_uuid == "b-2"
    assert api.paths() == [
        f"POST /builds/triggers/{PROD_UUID}/builds",
        "GET /workers/services/my-app",
        f"GET /builds/workers/{TAG}/triggers",
        f"POST /builds/triggers/{replaced}/builds",
    ]


def test_a_second_404_is_raised_and_a_start_404_alone_drops_the_trigger() -> None:
    api = Api()
    resolvable(api)
    api.on("POST", f"/builds/triggers/{PROD_UUID}/builds", error(404, 12000, "Not found"))
    wb = builds(api)
    with pytest.raises(CloudflareRejected) as caught:
        wb.deploy("my-app", "main")
    assert caught.value.code == 12000
    assert len([p for p in api.paths() if p.startswith("POST")]) == 2
    api.requests.clear()
    with pytest.raises(CloudflareRejected):
        wb.start_build(PROD_UUID, "main")
    wb.trigger_for(TAG, "main")
    assert api.paths()[-1] == f"GET /builds/workers/{TAG}/triggers"


def test_a_branch_no_trigger_builds_is_rejected_naming_worker_and_branch() -> None:
    api = Api()
    resolvable(api)
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok([TRIGGERS[0]]))
    with pytest.raises(CloudflareRejected, match="'my-app' builds branch 'dev'"):
        builds(api).deploy("my-app", "dev")


# -- watching ---------------------------------------------------------------------------------


def test_a_build_is_parsed_with_its_metadata_and_duration() -> None:
    api = Api()
    api.on("GET", f"/builds/builds/{BUILD_UUID}", ok(build_doc()))
    build = builds(api).build(BUILD_UUID)
    assert build.final and build.succeeded and build.outcome == "success"
    assert build.outcome_status is TriggerStatus.SUCCESS
    assert (build.branch, build.commit_hash, build.commit_message) == (
        "main",
        "abc123def456",
        "Add new feature",
    )
    assert build.trigger_source == "deploy_hook"  # not in the schema's enum (trap 6)
    assert build.trigger_uuid == PROD_UUID and build.script_tag == TAG and not build.preview
    assert build.duration == pytest.approx(60.5)


def test_an_outcome_before_stopped_is_not_final() -> None:
    build = Build.from_api(build_doc(status="running", outcome="success"))
    assert not build.final and build.outcome is None and build.outcome_status is None
    assert build.duration is None


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("success", TriggerStatus.SUCCESS),
        ("fail", TriggerStatus.FAILURE),
        ("terminated", TriggerStatus.FAILURE),
        ("cancelled", TriggerStatus.CANCELED),
        ("skipped", TriggerStatus.SKIPPED),
        ("something-new", TriggerStatus.FAILURE),
        (None, TriggerStatus.FAILURE),
    ],
)
def test_outcomes_map_to_the_relays_statuses(outcome: str | None, status: TriggerStatus) -> None:
    assert Build.from_api(build_doc(outcome=outcome)).outcome_status is status


def test_a_sparse_build_and_a_skipped_one_parse() -> None:
    sparse = Build.from_api({"status": "queued", "build_trigger_metadata": "?"}, "b-9")
    assert (sparse.build_uuid, sparse.status, sparse.branch, sparse.trigger_source) == (
        "b-9",
        "queued",
        None,
        None,
    )
    skipped = Build.from_api(build_doc(outcome="skipped", running_on=None))
    assert skipped.duration == pytest.approx(65.5)  # from created_on when it never ran
    assert Build.from_api({}, "x").status == "unknown"


def test_an_unknown_build_is_rejected_with_cloudflares_code() -> None:
    api = Api()
    api.on("GET", f"/builds/builds/{BUILD_UUID}", error(404, 12000, "Not found"))
    with pytest.raises(CloudflareRejected) as caught:
        builds(api).build(BUILD_UUID)
    assert (caught.value.http_status, caught.value.code) == (404, 12000)
    assert "permission" not in str(caught.value) and "Workers CI" not in str(caught.value)


@pytest.mark.parametrize(("status", "code"), [(403, 12006), (401, 12006), (400, 12006)])
def test_a_refused_token_names_the_permission(status: int, code: int) -> None:
    api = Api()
    api.on("GET", f"/builds/builds/{BUILD_UUID}", error(status, code, "Invalid token"))
    with pytest.raises(CloudflareRejected) as caught:
        builds(api).build(BUILD_UUID)
    assert (caught.value.http_status, caught.value.code) == (status, code)
    text = str(caught.value)
    assert "Invalid token" in text
    assert "the API token needs Workers CI Read/Write (user-scoped)" in text
    assert TOKEN not in text and TOKEN not in repr(caught.value)


def test_rate_limits_and_outages_are_retryable() -> None:
    api = Api()
    api.on(
        "GET",
        f"/builds/builds/{BUILD_UUID}",
        error(429, 971, "Please wait", **{"Retry-After": "7"}),
        error(503, None, "down"),
    )
    wb = builds(api)
    with pytest.raises(CloudflareRetryable) as caught:
        wb.build(BUILD_UUID)
    assert caught.value.http_status == 429 and caught.value.retry_after == 7.0
    with pytest.raises(CloudflareRetryable):
        wb.build(BUILD_UUID)


def test_an_envelope_with_string_messages_and_odd_results_parses() -> None:
    api = Api()
    body = {"success": True, "errors": [], "messages": ["note"], "result": "ok"}
    api.on("GET", f"/builds/builds/{BUILD_UUID}", httpx.Response(200, json=body))
    assert builds(api).build(BUILD_UUID).status == "unknown"


def test_cancel_is_a_put_without_a_body() -> None:
    api = Api()
    answer = {"build_outcome": "cancelled", "build_uuid": BUILD_UUID, "stopped_on": "2026-01-21"}
    api.on("PUT", f"/builds/builds/{BUILD_UUID}/cancel", ok(answer), ok(None))
    wb = builds(api)
    canceled = wb.cancel(BUILD_UUID)
    assert (canceled.build_uuid, canceled.outcome, canceled.stopped_on) == (
        BUILD_UUID,
        "cancelled",
        "2026-01-21",
    )
    assert api.requests[0].content == b""
    assert wb.cancel(BUILD_UUID).build_uuid == BUILD_UUID  # a null result keeps the uuid


# -- logs -------------------------------------------------------------------------------------


def log_pages(*pages: JSON) -> Callable[[httpx.Request], httpx.Response]:
    """Serve `pages` by cursor: page i answers the request whose cursor is `c<i>`."""

    def reply(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        index = 0 if cursor is None else int(cursor.removeprefix("c"))
        return ok(pages[index])

    return reply


def test_logs_follow_the_cursor_while_truncated() -> None:
    api = Api()
    api.on(
        "GET",
        f"/builds/builds/{BUILD_UUID}/logs",
        log_pages(
            {"lines": [[1636472400, "one"]], "cursor": "c1", "truncated": True},
            {"lines": [], "cursor": "c2", "truncated": True},  # an empty page is not the end
            {"lines": [[1636472401.5, "two"]], "cursor": "c3", "truncated": False},
            {"lines": [[0, "never read"]], "truncated": False},
        ),
    )
    lines = builds(api).logs(BUILD_UUID)
    assert lines == [LogLine(1636472400.0, "one"), LogLine(1636472401.5, "two")]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "c1", "c2"]


@pytest.mark.parametrize(
    "last",
    [
        {"lines": [[1, "b"]], "truncated": True},  # no cursor
        {"lines": [[1, "b"]], "cursor": "c2"},  # no truncated
        {"lines": [[1, "b"]], "cursor": "c1", "truncated": True},  # a cursor seen before
        {"lines": [[1, "b"]], "cursor": "c2", "truncated": "true"},  # not a boolean
    ],
)
def test_logs_stop_unless_cursor_and_truncated(last: JSON) -> None:
    api = Api()
    first = {"lines": [[0, "a"]], "cursor": "c1", "truncated": True}
    api.on("GET", f"/builds/builds/{BUILD_UUID}/logs", log_pages(first, last, first))
    assert [line.text for line in builds(api).logs(BUILD_UUID)] == ["a", "b"]
    assert len(api.requests) == 2


def test_logs_are_bounded_by_a_page_limit_and_tail_reads_them_all() -> None:
    api = Api()

    def endless(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor", "0"))
        return ok({"lines": [[n, f"line {n}"]], "cursor": str(n + 1), "truncated": True})

    api.on("GET", f"/builds/builds/{BUILD_UUID}/logs", endless)
    wb = builds(api)
    assert len(wb.logs(BUILD_UUID, max_pages=5)) == 5 and len(api.requests) == 5
    api.requests.clear()
    assert wb.tail(BUILD_UUID, 2) == ["line 198", "line 199"]
    assert len(api.requests) == 200
    assert wb.tail(BUILD_UUID, 0) == []


def test_log_lines_accept_number_and_string_timestamps() -> None:
    items: list[Any] = [
        [1636472400, "seconds"],
        [1636472400123, "milliseconds"],
        [1636472400.25, "float seconds"],
        ["2021-11-09T15:40:00Z", "iso"],
        ["2021-04-20T19:35:29.0749819Z", "seven digits"],
        ["1636472400", "numeric string"],
        ["soon", "unreadable"],
        [None, "none"],
        [1636472400, 1636472400],  # a number as the message (the generator's example)
        {"ts": "2021-11-09T15:40:00+00:00", "line": "pages form"},
        "bare text",
        [True, "bool"],
        42,
        ["only one"],
    ]
    api = Api()
    api.on("GET", f"/builds/builds/{BUILD_UUID}/logs", ok({"lines": items, "truncated": False}))
    lines = builds(api).logs(BUILD_UUID)
    assert [line.timestamp for line in lines] == [
        1636472400.0,
        pytest.approx(1636472400.123),
        1636472400.25,
        1636472400.0,
        pytest.approx(1618947329.074981),
        1636472400.0,
        None,
        None,
        1636472400.0,
        1636472400.0,
        None,
        None,
    ]
    assert lines[8].text == "1636472400" and lines[10].text == "bare text"


def test_epoch_seconds_edge_cases() -> None:
    assert epoch_seconds(1636472400123456) == pytest.approx(1636472400.123456)
    assert epoch_seconds("2021-11-09T15:40:00") == 1636472400.0  # no zone: UTC
    assert epoch_seconds(float("nan")) is None and epoch_seconds("inf") is None
    assert epoch_seconds(10**400) is None and epoch_seconds([]) is None


# -- deploy hooks -----------------------------------------------------------------------------

HOOK_PATH = HOOK_URL.removeprefix("https://api.test")


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (
            {"already_exists": True, "build_uuid": BUILD_UUID, "status": "queued"},
            (BUILD_UUID, True, "queued"),
        ),
        (
            {"already_exists": False, "build_uuid": BUILD_UUID, "created_on": "x", "status": "q"},
            (BUILD_UUID, False, "q"),
        ),
        (
            {"build_uuid": BUILD_UUID, "branch": "main", "worker": "my-app"},
            (BUILD_UUID, None, None),
        ),
        ({"already_exists": "yes", "status": 3}, (None, None, None)),
        (None, (None, None, None)),
    ],
)
def test_a_deploy_hook_answer_is_read_for_its_build_uuid(
    result: Any, expected: tuple[Any, ...]
) -> None:
    api = Api()
    api.on("POST", HOOK_PATH, ok(result))
    answer = builds(api).trigger_deploy_hook(HOOK_URL)
    assert (answer.build_uuid, answer.already_exists, answer.status) == expected
    assert "authorization" not in api.requests[0].headers
    assert api.requests[0].content == b""


def test_deploy_hook_failures_never_name_the_url() -> None:
    api = Api()
    api.on(
        "POST",
        HOOK_PATH,
        error(404, 12000, "Not found"),
        error(429, 971, "Too many deploy hook builds", **{"Retry-After": "12"}),
    )
    wb = builds(api)
    with pytest.raises(CloudflareRejected) as rejected:
        wb.trigger_deploy_hook(HOOK_URL)
    with pytest.raises(CloudflareRetryable) as limited:
        wb.trigger_deploy_hook(HOOK_URL)
    assert limited.value.retry_after == 12.0
    for caught in (rejected, limited):
        assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in repr(caught.value)


# -- versions ---------------------------------------------------------------------------------

STOPPED = "2026-01-21T18:51:05.500000Z"


def deployment(version: str, created_on: str, *more: JSON) -> JSON:
    versions = [{"version_id": version, "percentage": 100 if not more else 60}, *more]
    return {"id": f"dep-{version}", "created_on": created_on, "versions": versions}


def versioned(api: Api, deployments: list[JSON], by_version: Reply | None = None) -> None:
    api.on("GET", "/workers/scripts/my-app/deployments", ok({"deployments": deployments}))
    if by_version is not None:
        api.on("GET", "/builds/builds", by_version)


def by_version(mapping: dict[str, str]) -> httpx.Response:
    return ok({"builds": {v: {"build_uuid": b} for v, b in mapping.items()}})


def test_the_version_is_the_deployment_confirmed_by_the_version_lookup() -> None:
    api = Api()
    versioned(
        api,
        [
            deployment("v-later", "2026-01-21T19:30:00Z"),  # after the window
            deployment("v-other", "2026-01-21T18:51:00Z"),  # in it, another build's
            deployment("v-ours", "2026-01-21T18:51:04Z"),  # in it, ours
            deployment("v-before", "2026-01-21T18:40:00Z"),  # before the build ran
        ],
        by_version({"v-other": "someone-else", "v-ours": BUILD_UUID}),
    )
    assert builds(api).version_of("my-app", Build.from_api(build_doc())) == "v-ours"
    lookup = api.requests[-1]
    assert lookup.url.params["version_ids"] == "v-other,v-ours"


def test_a_deployment_stamped_when_the_build_stopped_counts() -> None:
    api = Api()
    versioned(api, [deployment("v-1", STOPPED)], by_version({"v-1": BUILD_UUID}))
    assert builds(api).version_of("my-app", Build.from_api(build_doc())) == "v-1"


def test_without_the_lookup_only_a_single_candidate_is_trusted() -> None:
    api = Api()
    refused = error(403, 12006, "Invalid token")
    versioned(api, [deployment("v-1", STOPPED)], refused)
    wb = builds(api)
    build = Build.from_api(build_doc())
    assert wb.version_of("my-app", build) == "v-1"
    versioned(api, [deployment("v-1", STOPPED), deployment("v-2", "2026-01-21T18:51:00Z")], refused)
    assert wb.version_of("my-app", build) is None
    # a version the lookup maps to another build is not ours, whatever the clock says
    versioned(api, [deployment("v-1", STOPPED)], by_version({"v-1": "someone-else"}))
    assert wb.version_of("my-app", build) is None


def test_no_version_for_unfinished_failed_preview_or_split_traffic() -> None:
    api = Api()
    versioned(
        api,
        [deployment("v-split", STOPPED, {"version_id": "v-old", "percentage": 40})],
        by_version({}),
    )
    wb = builds(api)
    assert wb.version_of("my-app", Build.from_api(build_doc())) is None
    api.requests.clear()
    preview_meta = {
        **build_doc()["build_trigger_metadata"],
        "deploy_command": "wrangler versions upload",
    }
    for doc in (
        build_doc(status="running", outcome=None),
        build_doc(outcome="fail"),
        build_doc(build_trigger_metadata=preview_meta),
    ):
        assert wb.version_of("my-app", Build.from_api(doc)) is None
    assert api.requests == []  # decided without a call


def test_the_deployments_list_needs_scripts_read() -> None:
    api = Api()
    api.on("GET", "/workers/scripts/my-app/deployments", error(403, 10000, "Authentication error"))
    with pytest.raises(CloudflareRejected, match="Workers Scripts Read"):
        builds(api).version_of("my-app", Build.from_api(build_doc()))


# -- check_access -----------------------------------------------------------------------------


def test_check_access_reads_the_triggers_once() -> None:
    api = Api()
    api.on("GET", f"/builds/workers/{TAG}/triggers", ok(TRIGGERS))
    builds(api).check_access(TAG)
    assert api.paths() == [f"GET /builds/workers/{TAG}/triggers"]


def test_check_access_with_an_account_scoped_token() -> None:
    api = Api()
    api.on("GET", f"/builds/workers/{TAG}/triggers", error(403, 12006, "Invalid token"))
    with pytest.raises(CloudflareRejected) as caught:
        builds(api).check_access(TAG)
    assert caught.value.code == 12006
    assert str(caught.value) == (
        "HTTP 403, code 12006: check Workers Builds access: Invalid token: the API token needs "
        "Workers CI Read/Write (user-scoped); an account-owned token is refused with 12006"
    )


# -- Pages: rollback, logs, the rollback target ------------------------------------------------


def pages_doc(
    dep_id: str, created_on: str, status: str = "success", env: str = "production"
) -> JSON:
    return {
        "id": dep_id,
        "environment": env,
        "created_on": created_on,
        "latest_stage": {"name": "deploy" if status == "success" else "build", "status": status},
    }


def test_pages_rollback_posts_without_a_body() -> None:
    api = Api()
    path = "/pages/projects/blog/deployments/d-1/rollback"
    api.on("POST", path, ok(pages_doc("d-1", "2026-01-01T00:00:00Z")), ok(None))
    p = pages(api)
    rolled = p.rollback("blog", "d-1")
    assert rolled.id == "d-1" and rolled.outcome == "success"
    assert api.requests[0].content == b""
    assert p.rollback("blog", "d-1").id == "d-1"


def test_pages_logs_and_tail() -> None:
    api = Api()
    data = [
        {"ts": "2021-04-20T19:35:29.0749819Z", "line": "Cloning repository..."},
        {"ts": "2021-04-20T19:35:30Z", "line": "Success: Finished cloning"},
        "junk-but-text",
        7,
    ]
    result = {"total": 3, "includes_container_logs": True, "data": data}
    api.on("GET", "/pages/projects/blog/deployments/d-1/history/logs", ok(result))
    p = pages(api)
    lines = p.logs("blog", "d-1")
    assert [line.text for line in lines] == [
        "Cloning repository...",
        "Success: Finished cloning",
        "junk-but-text",
    ]
    assert lines[0].timestamp == pytest.approx(1618947329.074981)
    assert p.tail("blog", "d-1", 2) == ["Success: Finished cloning", "junk-but-text"]
    api.on("GET", "/pages/projects/blog/deployments/d-1/history/logs", ok([]))
    assert p.logs("blog", "d-1") == []


def test_pages_production_deployments_are_listed_newest_first() -> None:
    api = Api()
    docs = [
        pages_doc("old", "2026-01-01T00:00:00Z"),
        pages_doc("new", "2026-01-03T00:00:00Z"),
        pages_doc("odd", "not a time"),
        pages_doc("mid", "2026-01-02T00:00:00Z"),
    ]
    api.on("GET", "/pages/projects/blog/deployments", ok(docs, result_info={"page": 1}))
    found = pages(api).production_deployments("blog")
    assert [d.id for d in found] == ["new", "mid", "old", "odd"]
    assert api.requests[0].url.params["env"] == "production"


def deployments(*docs: JSON) -> list[Deployment]:
    return [Deployment.from_api(doc) for doc in docs]


def test_previous_production_is_the_newest_older_success() -> None:
    history = deployments(
        pages_doc("d5", "2026-01-05T00:00:00Z"),
        pages_doc("d4", "2026-01-04T00:00:00Z", status="failure"),
        pages_doc("d3", "2026-01-03T00:00:00Z", env="preview"),
        pages_doc("d2", "2026-01-02T00:00:00Z"),
        pages_doc("d1", "2026-01-01T00:00:00Z"),
    )
    assert previous_production(history, "d5").id == "d2"  # type: ignore[union-attr]
    # after rolling back to d2, the next rollback goes further back, not forward to d5
    assert previous_production(history, "d2").id == "d1"  # type: ignore[union-attr]
    assert previous_production(history, "d1") is None
    # the live one is not on the page (or unknown): the newest success that is not it
    assert previous_production(history, "elsewhere").id == "d5"  # type: ignore[union-attr]
    assert previous_production(history, None).id == "d5"  # type: ignore[union-attr]
    assert previous_production([], "d5") is None
