"""`relay prune` against the fake Pages API: 140 deployments on 6 pages and 6 branches, the live
one rolled back to an old build, builds in flight; faults in the middle; resume; dry run; CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
import redis
from rq import SimpleWorker

from relay.core import keys
from relay.core.cloudflare.pages import Deployment
from relay.core.config import parse_settings
from relay.core.exceptions import PruneBusy, PruneInterrupted
from relay.core.job_queue import SERIALIZER, job_queue
from relay.core.prune_record import last_prune
from relay.core.settings import CloudflareSettings, Settings
from relay.web.providers.registry import PROVIDERS
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.relay_env import ACCOUNT, TOKEN, RelayEnv
from workers import prune_job
from workers import runtime as context
from workers.prune import Pruner, PruneReport, decide
from workers.prune_job import Pacer, enqueue_prune, paced_client

DAY = 86400.0
BRANCHES = ["main", "staging", "feature/login", "fix/typo", "docs"]


def _api(fake: FakeCloudflare, method: str, path: str, **kw: Any) -> Any:
    url = f"{fake.base_url}/accounts/{ACCOUNT}/pages/projects/{path}"
    answer = httpx.request(method, url, headers={"Authorization": f"Bearer {TOKEN}"}, **kw)
    return answer.json()


def _listing(fake: FakeCloudflare, project: str = "blog") -> list[dict[str, Any]]:
    out, page = [], 1
    while items := _api(fake, "GET", f"{project}/deployments?page={page}&per_page=25")["result"]:
        out += items
        page += 1
    return out


@pytest.fixture
def blog(fake_api: FakeCloudflare) -> Iterator[FakeCloudflare]:
    """130 deployments over 58 days on 5 branches, 6 more on a branch not built for a month
    (its newest a failure), the live deployment rolled back to a 20-day-old build, and two
    builds in flight."""
    fake_api.add_project("blog", production_branch="main")
    now = time.time()
    items = [
        {
            "branch": BRANCHES[i % 5],
            "created_on": now - 0.5 * DAY - i * 0.45 * DAY,
            "outcome": "failure" if i % 11 == 3 else "canceled" if i % 17 == 5 else "success",
        }
        for i in range(130)
    ]
    items += [
        {"branch": "old/feature", "created_on": now - (30 + i) * DAY, "outcome": "success"}
        for i in range(1, 6)
    ]
    items.append({"branch": "old/feature", "created_on": now - 30 * DAY, "outcome": "failure"})
    fake_api.seed_deployments("blog", items)
    old_main = [d for d in _listing(fake_api) if d["environment"] == "production"][20]
    _api(fake_api, "POST", f"blog/deployments/{old_main['id']}/rollback")
    fake_api.set_build(duration=600)
    for branch in ("main", "staging"):
        _api(fake_api, "POST", "blog/deployments", files={"branch": (None, branch)})
    fake_api.clear_calls()
    yield fake_api


def _settings(redis_url: str, fake: FakeCloudflare, **target: Any) -> Settings:
    config = {"project": "blog", "branch": "main", "keep": "7d", **target}
    raw = {
        "redis": {"url": redis_url},
        "cloudflare": {"budget": 1_000_000},  # prune's pacing: 0.6 ms between calls
        "targets": {"blog": config},
    }
    env = {
        "CLOUDFLARE_API_BASE": fake.base_url,
        "CLOUDFLARE_ACCOUNT_ID": ACCOUNT,
        "CLOUDFLARE_API_TOKEN": TOKEN,
    }
    return parse_settings(raw, env, schemes=PROVIDERS)


def _prune(client: redis.Redis, settings: Settings, **options: Any) -> PruneReport:
    pages = paced_client(client, settings)
    try:
        return Pruner(client, settings, "blog", pages, **options).run()
    finally:
        pages.close()


def _final(dep: dict[str, Any]) -> bool:
    stage = dep["latest_stage"]
    return stage["status"] in {"failure", "canceled"} or (
        stage["name"] == "deploy" and stage["status"] == "success"
    )


def _succeeded(dep: dict[str, Any]) -> bool:
    return _final(dep) and dep["latest_stage"]["status"] == "success"


def _expected(listing: list[dict[str, Any]], live: str, cutoff: float) -> set[str]:
    """What may go, worked out from the fake's listing independently of the engine."""
    protected = {live}
    branches: dict[str, list[dict[str, Any]]] = {}
    for dep in listing:  # newest first
        branches.setdefault(dep["deployment_trigger"]["metadata"]["branch"], []).append(dep)
    for mine in branches.values():
        protected.add(mine[0]["id"])
        protected |= {next((d["id"] for d in mine if _succeeded(d)), live)}
    protected |= {d["id"] for d in listing if d["aliases"] or not _final(d)}
    return {
        d["id"]
        for d in listing
        if datetime.fromisoformat(d["created_on"].replace("Z", "+00:00")).timestamp() <= cutoff
        and d["id"] not in protected
    }


def _live(fake: FakeCloudflare) -> str:
    return str(_api(fake, "GET", "blog")["result"]["canonical_deployment"]["id"])


def _deletes(fake: FakeCloudflare) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["method"] == "DELETE"]


def test_prune_deletes_exactly_what_no_rule_protects(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    before, live = _listing(blog), _live(blog)
    assert len(before) == 138 and any(not _final(d) for d in before)
    expected = _expected(before, live, time.time() - 7 * DAY)

    report = _prune(rclient, _settings(redis_url, blog))

    after = {d["id"] for d in _listing(blog)}
    assert report.status == "done" and set(report.deleted) == expected and len(expected) > 80
    assert after == {d["id"] for d in before} - expected
    assert live in after
    pages = {c["query"].get("page") for c in blog.calls() if c["method"] == "GET"}
    assert {"1", "2", "3", "4", "5", "6"} <= pages, "every page listed"
    assert all("force" not in c["query"] for c in _deletes(blog))
    summary = report.to_dict()
    assert summary["deleted"] == len(expected) and summary["kept"] == {"recent": 17}
    assert set(summary["skipped"]) == {"live", "newest"}
    status = last_prune(rclient, "blog")
    assert status is not None and (status.status, status.deleted) == ("done", len(expected))


def test_dry_run_deletes_nothing_and_plans_what_a_run_deletes(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    settings = _settings(redis_url, blog)
    dry = _prune(rclient, settings, dry_run=True)
    assert _deletes(blog) == [] and dry.deleted == [] and len(dry.planned) > 80
    assert last_prune(rclient, "blog") is None, "a dry run records nothing"

    real = _prune(rclient, settings)
    assert real.deleted == dry.planned  # the same deployments, in the same order (oldest first)
    assert real.to_dict()["skipped"] == dry.to_dict()["skipped"]


class FaultAfter:
    """Progress hook: queue a fault on the fake after `n` deletions."""

    def __init__(self, fake: FakeCloudflare, n: int, **fault: Any) -> None:
        self.fake, self.n, self.fault, self.name, self.done = fake, n, fault, "", 0

    def phase(self, name: str, total: int | None) -> None:
        self.name = name

    def advance(self, n: int) -> None:
        if self.name == "deleting":
            self.done += n
            if self.done == self.n:
                self.fake.fault(method="DELETE", **self.fault)


@pytest.mark.parametrize("fault", [{"status": 500}, {"drop": True}], ids=["500", "dropped"])
def test_a_fault_mid_prune_leaves_a_resumable_state(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare, fault: dict[str, Any]
) -> None:
    settings = _settings(redis_url, blog)
    before, live = _listing(blog), _live(blog)
    expected = _expected(before, live, time.time() - 7 * DAY)

    with pytest.raises(PruneInterrupted) as stopped:
        _prune(rclient, settings, progress=FaultAfter(blog, 30, **fault))
    message = str(stopped.value)
    assert "\n" not in message and "30 deleted" in message and "again to resume" in message
    assert TOKEN not in message
    status = last_prune(rclient, "blog")
    assert status is not None and status.status == "interrupted"
    assert status.deleted == 30 and status.remaining == len(expected) - 30

    blog.clear_calls()
    resumed = _prune(rclient, settings)
    assert resumed.resumed and resumed.status == "done"
    assert resumed.counts["deleted"] == len(expected)
    lists = [c for c in blog.calls() if c["method"] == "GET" and "page" in c["query"]]
    assert lists == [], "the resume goes on with the stored plan, it does not list again"
    assert {d["id"] for d in _listing(blog)} == {d["id"] for d in before} - expected


def test_a_deletion_whose_answer_was_lost_counts_as_gone(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    settings = _settings(redis_url, blog)
    with pytest.raises(PruneInterrupted):
        _prune(rclient, settings, progress=FaultAfter(blog, 5, drop=True))
    next_id = rclient.lindex(keys.prune_todo("blog"), -1)
    assert isinstance(next_id, bytes)
    _api(blog, "DELETE", f"blog/deployments/{next_id.decode()}")  # it went through after all

    report = _prune(rclient, settings)
    assert report.status == "done" and report.counts["skipped:gone"] == 1


def test_a_fault_before_planning_keeps_the_last_record(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    settings = _settings(redis_url, blog)
    _prune(rclient, settings)
    blog.fault(status=500, method="GET", path_contains="/projects/blog")
    with pytest.raises(PruneInterrupted, match="get project blog"):
        _prune(rclient, settings)
    status = last_prune(rclient, "blog")
    assert status is not None and status.status == "done"


def test_building_and_unparseable_deployments_are_never_deleted(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    in_flight = {d["id"] for d in _listing(blog) if not _final(d)}
    report = _prune(rclient, _settings(redis_url, blog), now=time.time() + 30 * DAY)
    assert report.counts["skipped:building"] == 2 and report.counts["kept:recent"] == 0
    assert in_flight <= {d["id"] for d in _listing(blog)}


def _dep(i: int, branch: str, age: float, **extra: Any) -> Deployment:
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_800_000_000 - age))
    fields = {
        "url": None,
        "environment": "preview",
        "stage": "deploy",
        "stage_status": "success",
        "created_on": created,
    }
    return Deployment(id=f"d{i}", branch=branch, **{**fields, **extra})


def test_the_rules_in_order() -> None:
    deployments = [
        _dep(0, "a", 1 * DAY),  # recent
        _dep(1, "a", 10 * DAY, stage="build", stage_status="active"),  # building
        _dep(2, "b", 10 * DAY, stage_status="failure"),  # newest of b
        _dep(3, "b", 11 * DAY),  # newest successful of b
        _dep(4, "a", 12 * DAY),  # live
        _dep(5, "b", 13 * DAY, aliases=("https://x.blog.pages.dev",)),  # aliased
        _dep(6, "b", 14 * DAY, created_on="yesterday"),  # no date
        _dep(7, "a", 15 * DAY),  # old: goes
        _dep(8, "b", 16 * DAY, stage_status="failure"),  # old: goes
    ]
    todo, counts = decide(deployments, live_id="d4", cutoff=1_800_000_000 - 7 * DAY)
    assert todo == ["d7", "d8"]
    assert counts == {
        "kept:recent": 1,
        "skipped:building": 1,
        "skipped:newest": 2,
        "skipped:live": 1,
        "skipped:aliased": 1,
        "skipped:no-date": 1,
    }


def test_one_prune_per_project_at_a_time(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare
) -> None:
    rclient.set(keys.prune_lock("blog"), "another-run", ex=60)
    with pytest.raises(PruneBusy, match="already running"):
        _prune(rclient, _settings(redis_url, blog))
    assert blog.calls() == []


def test_pacer_spaces_calls_and_yields_to_a_busy_budget(rclient: redis.Redis) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        rclient.zpopmin(keys.API_BUDGET)  # deploys' requests age out of the window

    pacer = Pacer(rclient, CloudflareSettings(budget=10, budget_window=1.0), sleep=sleep)
    assert pacer.interval == pytest.approx(0.2)  # half of 10 a second
    pacer()
    pacer()
    assert slept and 0.1 < slept[0] <= 0.2, "the second call waits out the spacing"
    seconds, _ = rclient.time()
    rclient.zadd(keys.API_BUDGET, {f"r{i}": seconds * 1000 for i in range(8)})  # 80 % full
    slept.clear()
    pacer._next = 0.0
    pacer()
    assert len(slept) == 1 and pacer.used() == 7


def test_a_scheduled_prune_runs_in_chunks_on_a_worker(
    rclient: redis.Redis, redis_url: str, blog: FakeCloudflare, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(redis_url, blog)
    context.configure(settings)
    monkeypatch.setattr(prune_job, "CHUNK_SECONDS", 0.05)
    enqueue_prune(rclient, "blog", 1_800_000_000)
    enqueue_prune(rclient, "blog", 1_800_000_000)  # the same slot again: one job
    queue = job_queue(rclient)
    assert queue.count == 1
    SimpleWorker([queue], connection=rclient, serializer=SERIALIZER).work(
        burst=True, logging_level="WARNING"
    )

    status = last_prune(rclient, "blog")
    assert status is not None and status.status == "done" and status.origin == "schedule"
    assert status.deleted > 80 and status.remaining == 0
    parts = [j for j in queue.finished_job_registry.get_job_ids() if j.startswith("prune-blog")]
    assert len(parts) > 1, "a long prune hands the worker back between chunks"


def _cli(env: RelayEnv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "relay", "--config", str(env.config), *args],
        env=env.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _write(env: RelayEnv) -> None:
    target = {"project": "blog", "branch": "main", "keep": "7d", "prune_schedule": "0 3 * * *"}
    env.write({"cloudflare": {"budget": 1_000_000}, "targets": {"blog": target}})


def test_cli_dry_run_then_json(relay_env: RelayEnv, blog: FakeCloudflare) -> None:
    _write(relay_env)
    dry = _cli(relay_env, "prune", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: nothing deleted" in dry.stdout and "would delete" in dry.stdout
    assert "blog: listing 138 deployments" in dry.stderr and "blog: listing 138/138" in dry.stderr
    assert _deletes(blog) == []

    done = _cli(relay_env, "prune", "--target", "blog", "--json")
    assert done.returncode == 0, done.stderr
    [report] = json.loads(done.stdout)["prunes"]
    assert report["status"] == "done" and report["deleted"] == len(_deletes(blog)) > 80
    assert report["kept"] == {"recent": 17} and report["skipped"]["live"] == 1
    assert TOKEN not in done.stdout + done.stderr + dry.stdout + dry.stderr


def test_cli_interrupted_says_so_in_one_line_and_resumes(
    relay_env: RelayEnv, blog: FakeCloudflare
) -> None:
    _write(relay_env)
    blog.fault(method="DELETE", status=503)
    stopped = _cli(relay_env, "prune")
    assert stopped.returncode == 1
    error = stopped.stderr.strip().splitlines()[-1]
    assert error.startswith("relay: prune of blog interrupted: HTTP 503")
    assert error.endswith("run `relay prune --target blog` again to resume)")
    assert "interrupted" in stopped.stdout  # the summary of what was done so far

    again = _cli(relay_env, "prune")
    assert again.returncode == 0, again.stderr
    assert "prune of blog (project blog): done, resumed" in again.stdout
    assert "deleted" in again.stdout and "newest" in again.stdout


def test_help_shows_prune_and_schedules(relay_env: RelayEnv) -> None:
    _write(relay_env)
    listing = _cli(relay_env, "--help").stdout
    assert "prune" in listing and "prune_schedule" in listing
    text = _cli(relay_env, "prune", "--help").stdout
    assert "--dry-run" in text and "schedule" in text and "resumes" in text
