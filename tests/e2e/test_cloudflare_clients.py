"""The relay's Cloudflare clients (`WorkersBuilds`, and the `Pages` rollback and log calls)
against the fake Cloudflare API over real HTTP: resolve a Worker, start and watch builds,
read failure logs, cancel, deploy hooks, the account-scoped token, Pages logs and rollback.

Builds advance on the fake's clock, so the tests poll with a deadline (`wait_for`) and use
sub-second build durations.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Pages, previous_production
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.cloudflare.workers_objects import Build
from relay.core.exceptions import CloudflareRejected
from relay.core.records import TriggerStatus
from relay.core.secret import Secret
from relay.core.settings import CloudflareSettings
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import ACCOUNT, TOKEN

WORKER = "my-app"


def settings(fake: FakeCloudflare) -> CloudflareSettings:
    return CloudflareSettings(
        account_id=ACCOUNT, api_token=Secret(TOKEN), api_base=fake.base_url, timeout=5.0
    )


@pytest.fixture
def builds(fake_api: FakeCloudflare) -> Iterator[WorkersBuilds]:
    client = WorkersBuilds(CloudflareClient(settings(fake_api)))
    yield client
    client.close()


@pytest.fixture
def pages(fake_api: FakeCloudflare) -> Iterator[Pages]:
    client = Pages(CloudflareClient(settings(fake_api)))
    yield client
    client.close()


def watch(builds: WorkersBuilds, build_uuid: str, *, timeout: float = 10.0) -> Build:
    """Poll the build until it has stopped, with a deadline."""

    def stopped() -> Build | None:
        build = builds.build(build_uuid)
        return build if build.final else None

    return wait_for(stopped, timeout=timeout, interval=0.05, what=f"build {build_uuid} to stop")


# -- Workers Builds ---------------------------------------------------------------------------


def test_name_to_tag_to_trigger_to_a_watched_successful_build(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    tag = fake_api.add_worker(WORKER)
    fake_api.set_worker_build(duration=0.5)
    assert builds.worker_tag(WORKER) == tag
    trigger = builds.trigger_for(tag, "main")
    assert trigger is not None and trigger.branch_includes == ("main",) and not trigger.preview
    started = builds.start_build(trigger.uuid, "main")
    assert builds.build(started.build_uuid).status in {"queued", "initializing", "running"}
    build = watch(builds, started.build_uuid)
    assert build.outcome == "success" and build.outcome_status is TriggerStatus.SUCCESS
    assert build.branch == "main" and build.trigger_uuid == trigger.uuid
    assert build.trigger_source == "api"  # the fake's choice for manual builds
    assert build.duration is not None and 0.2 <= build.duration <= 2.0
    assert builds.version_of(WORKER, build) == fake_api.worker_version_of(build.build_uuid)
    assert builds.tail(build.build_uuid, 1) == ["Success: Deploy command completed"]
    calls = fake_api.build_calls(WORKER)
    assert len(calls) == 1 and calls[0]["build_uuid"] == started.build_uuid


def test_a_warm_deploy_is_one_call_and_a_preview_branch_deploys_no_version(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    fake_api.add_worker(WORKER)
    fake_api.set_worker_build(duration=0.3)
    builds.deploy(WORKER, "main")
    fake_api.clear_calls()
    builds.deploy(WORKER, "main")
    assert [c["kind"] for c in fake_api.calls()] == ["worker_build"]
    preview = builds.deploy(WORKER, "feature/login")
    build = watch(builds, preview.build_uuid)
    assert build.succeeded and build.preview and build.branch == "feature/login"
    assert builds.version_of(WORKER, build) is None  # `versions upload` changed nothing live


def test_a_failed_build_has_its_error_in_the_log_tail(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    fake_api.add_worker(WORKER)
    fake_api.set_worker_build(duration=0.5, outcome="fail")
    fake_api.set_worker_log_page_size(2)  # several cursor pages
    build = watch(builds, builds.deploy(WORKER, "main").build_uuid)
    assert build.outcome == "fail" and build.outcome_status is TriggerStatus.FAILURE
    assert builds.version_of(WORKER, build) is None
    tail = builds.tail(build.build_uuid, 3)
    assert tail == [
        "✘ [ERROR] Build failed with 1 error:",
        '  src/index.ts:12:2: ERROR: Expected ";" but found "}"',
        "Failed: error occurred while running build command",
    ]
    lines = builds.logs(build.build_uuid)
    assert lines[0].text == "Initializing build environment..."
    stamps = [line.timestamp for line in lines if line.timestamp is not None]
    assert len(stamps) == len(lines) and stamps == sorted(stamps)
    fake_api.set_worker_log_page_size(1000)
    assert builds.logs(build.build_uuid) == lines  # one page or many: the same lines


def test_a_running_build_is_cancelled(fake_api: FakeCloudflare, builds: WorkersBuilds) -> None:
    fake_api.add_worker(WORKER)
    fake_api.set_worker_build(duration=4.0)  # running from 1.6 s to 4 s
    started = builds.deploy(WORKER, "main")
    wait_for(
        lambda: builds.build(started.build_uuid).status == "running",
        timeout=10.0,
        what="the build to run",
    )
    canceled = builds.cancel(started.build_uuid)
    assert canceled.build_uuid == started.build_uuid and canceled.outcome == "cancelled"
    build = builds.build(started.build_uuid)
    assert build.final and build.outcome_status is TriggerStatus.CANCELED
    assert builds.tail(started.build_uuid, 1) == ["Build was cancelled"]
    assert len(fake_api.cancel_calls(WORKER)) == 1


def test_a_deploy_hook_answers_the_queued_build_again(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    fake_api.add_worker(WORKER)
    hook = fake_api.add_worker_deploy_hook(WORKER, "main")
    fake_api.set_worker_build(duration=20.0)  # 4 s queued, then 4 s initializing
    first = builds.trigger_deploy_hook(hook)
    again = builds.trigger_deploy_hook(hook)
    assert first.build_uuid is not None and first.already_exists is False
    assert first.status == "queued"
    assert again.build_uuid == first.build_uuid and again.already_exists is True
    assert again.status in {"queued", "initializing"}
    assert [c["already_exists"] for c in fake_api.build_calls(WORKER)] == [False, True]
    assert all("authorization" not in c["headers"] for c in fake_api.build_calls(WORKER))
    assert builds.build(first.build_uuid).trigger_source == "deploy_hook"
    assert len(fake_api.worker_builds(WORKER)) == 1


def test_an_account_scoped_token_is_refused_with_12006(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    tag = fake_api.add_worker(WORKER)
    fake_api.set_invalid_token(TOKEN)
    assert builds.worker_tag(WORKER) == tag  # Workers Scripts accepts the token
    with pytest.raises(CloudflareRejected) as caught:
        builds.check_access(tag)
    assert caught.value.code == 12006 and caught.value.http_status in (401, 403)
    text = str(caught.value)
    assert "Invalid token" in text and "Workers CI Read/Write (user-scoped)" in text
    assert TOKEN not in text
    with pytest.raises(CloudflareRejected, match="Workers CI"):
        builds.deploy(WORKER, "main")
    assert fake_api.build_calls(WORKER) == []
    fake_api.set_invalid_token(None)
    builds.check_access(tag)


def test_unknown_workers_and_builds_are_rejected(
    fake_api: FakeCloudflare, builds: WorkersBuilds
) -> None:
    fake_api.add_worker(WORKER)
    with pytest.raises(CloudflareRejected, match="no Worker named 'ghost'") as caught:
        builds.worker_tag("ghost")
    assert caught.value.http_status == 404
    with pytest.raises(CloudflareRejected) as unknown:
        builds.build("00000000-0000-4000-8000-000000000000")
    assert (unknown.value.http_status, unknown.value.code) == (404, 12000)
    with pytest.raises(CloudflareRejected) as by_name:
        builds.triggers(WORKER)  # a name where a tag belongs (trap 1)
    assert by_name.value.http_status == 404


# -- Pages ------------------------------------------------------------------------------------


def test_pages_logs_and_a_rollback_to_the_previous_production(
    fake_api: FakeCloudflare, pages: Pages
) -> None:
    fake_api.add_project("blog")
    older, failed = fake_api.seed_deployments(
        "blog",
        [
            {"branch": "main", "created_on": "2026-01-01T00:00:00Z"},
            {"branch": "main", "created_on": "2026-01-02T00:00:00Z", "outcome": "failure"},
        ],
    )
    fake_api.set_build(duration=0.5)
    created = pages.create_deployment("blog", None)
    live = wait_for(
        lambda: pages.get_deployment("blog", created.id).outcome == "success",
        timeout=10.0,
        what="the Pages build to finish",
    )
    assert live
    assert pages.get_project("blog")["canonical_deployment"]["id"] == created.id
    lines = pages.logs("blog", created.id)
    assert lines and all(line.timestamp is not None for line in lines)
    assert pages.tail("blog", created.id, 1) == [lines[-1].text]

    history = pages.production_deployments("blog")
    assert [d.id for d in history] == [created.id, failed["id"], older["id"]]
    target = previous_production(history, created.id)
    assert target is not None and target.id == older["id"]  # the failed one is skipped
    rolled = pages.rollback("blog", target.id)
    assert rolled.id == older["id"] and rolled.outcome == "success"
    assert pages.get_project("blog")["canonical_deployment"]["id"] == older["id"]
    assert previous_production(pages.production_deployments("blog"), older["id"]) is None


def test_pages_logs_of_a_failed_build(fake_api: FakeCloudflare, pages: Pages) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.5, outcome="failure")
    created = pages.create_deployment("blog", "main")
    wait_for(
        lambda: pages.get_deployment("blog", created.id).outcome == "failure",
        timeout=10.0,
        what="the Pages build to fail",
    )
    assert pages.tail("blog", created.id, 1) == ["Failed: error occurred during build"]
    with pytest.raises(CloudflareRejected):
        pages.logs("blog", "00000000-0000-4000-8000-000000000000")
