"""The operator controls from the CLI, against real `relay serve` / `relay worker` processes and
the fake Cloudflare API: `relay pause` / `resume`, `deploy --now [--force]`, `deploy --at`,
`scheduled [--cancel]`, `logs`, `rollback` and what `relay check` says about targets.

Nothing here waits by sleeping: every wait polls a condition with a deadline (`wait_for`), and
orderings are read from the records (Redis-clock times), never measured.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.pages import Pages
from relay.core.secret import Secret
from relay.core.settings import CloudflareSettings
from relay.core.store import Store
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import ACCOUNT, TOKEN, RelayEnv, cli, cli_json, send, setup, trigger
from tests.helpers.senders import SECRET

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z  \S")


def _hook(*targets: str) -> dict[str, Any]:
    return {
        "cms": {
            "provider": "hmac-sha256",
            "header": "X-Hub-Signature-256",
            "prefix": "sha256=",
            "secret": SECRET,
            "targets": list(targets),
        }
    }


def _worker_target(env: RelayEnv, **extra: Any) -> None:
    """A relay.toml with one Workers Builds target, `app`, building Worker my-app's main."""
    target = {"worker": "my-app", "branch": "main", "debounce": "0.3s", **extra}
    env.write({"targets": {"app": target}, "hooks": _hook("app")})


def _ok(env: RelayEnv, *args: str) -> str:
    result = cli(env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _refused(env: RelayEnv, *args: str) -> str:
    """The one-line reason of a command that must fail (exit 1, nothing on stdout)."""
    result = cli(env, *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


def _held(client: redis.Redis, target: str) -> tuple[str, int] | None:
    """Why the claimer keeps the target's burst waiting, and how many deliveries it holds."""
    pending = Store(client).pending().get(target)
    return (pending.held, pending.count) if pending and pending.held else None


def _triggers(env: RelayEnv) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli_json(env, "deployments")["deployments"]
    return rows


@pytest.fixture
def pages(fake_api: FakeCloudflare) -> Iterator[Pages]:
    cloudflare = CloudflareSettings(
        account_id=ACCOUNT, api_token=Secret(TOKEN), api_base=fake_api.base_url, timeout=5.0
    )
    client = Pages(CloudflareClient(cloudflare))
    yield client
    client.close()


# -- pause and resume ------------------------------------------------------------------------


def test_a_paused_target_collects_and_builds_once_when_resumed(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3)
    url = setup(relay_env)

    assert _ok(relay_env, "pause", "blog", "--reason", "content freeze") == (
        "blog paused until resumed (content freeze)\n"
    )
    for n in range(3):
        answer = send(url, "cms", f'{{"n": {n}}}'.encode())
        assert answer.status_code == 202, answer.text
    held = wait_for(lambda: _held(rclient, "blog"), what="the burst held by the pause")
    assert held == ("paused", 3)

    reason = _refused(relay_env, "deploy", "blog", "--now")
    assert reason.startswith("relay: blog is paused until resumed (content freeze)")
    assert reason.endswith(": nothing done (--force builds anyway)")
    assert fake_api.create_calls("blog") == []
    assert _triggers(relay_env) == []

    assert _ok(relay_env, "resume", "blog") == (
        "blog resumed: what collected meanwhile builds now\n"
    )
    built = trigger(relay_env, "success")
    assert built["deliveries"] == 3
    assert len(fake_api.create_calls("blog")) == 1
    assert _ok(relay_env, "resume", "blog") == "blog was not paused\n"

    # paused again: --now is refused, --now --force builds while the pause stands
    _ok(relay_env, "pause", "--all")
    _refused(relay_env, "deploy", "blog", "--now")
    assert _ok(relay_env, "deploy", "blog", "--now", "--force").startswith("queued blog")
    wait_for(
        lambda: [r for r in _triggers(relay_env) if r["status"] == "success"][1:],
        what="the forced build",
    )
    assert len(fake_api.create_calls("blog")) == 2
    doc = cli_json(relay_env, "resume", "--all")
    assert doc == {"resumed": ["blog"], "not_paused": []}


def test_a_timed_pause_ends_by_itself_and_builds_once(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3)
    url = setup(relay_env)
    paused = cli_json(relay_env, "pause", "blog", "--for", "2s")["paused"]
    assert [p["target"] for p in paused] == ["blog"] and paused[0]["until"] is not None
    assert send(url, "cms", b'{"n": 1}').status_code == 202
    assert send(url, "cms", b'{"n": 2}').status_code == 202

    built = trigger(relay_env, "success")
    assert built["created_at"] >= paused[0]["until"]  # claimed once the pause ran out
    assert built["deliveries"] == 2
    assert len(fake_api.create_calls("blog")) == 1


def test_pause_and_resume_refuse_bad_arguments(relay_env: RelayEnv) -> None:
    relay_env.write({"targets": {"blog": {"project": "blog"}}, "hooks": _hook("blog")})
    for args in (("pause",), ("pause", "blog", "--all"), ("resume",)):
        result = cli(relay_env, *args)
        assert result.returncode == 2 and "give TARGET names or --all" in result.stderr
    assert _refused(relay_env, "pause", "blog", "nope") == "relay: unknown target 'nope'"
    assert cli_json(relay_env, "resume", "blog") == {"resumed": [], "not_paused": ["blog"]}
    bad = cli(relay_env, "pause", "blog", "--for", "soon")
    assert bad.returncode == 2 and "--for" in bad.stderr
    zero = cli(relay_env, "pause", "blog", "--for", "0s")
    assert zero.returncode == 2 and "longer than 0" in zero.stderr


# -- deploys at a set time -------------------------------------------------------------------


def test_a_deploy_at_a_time_fires_once_across_two_workers(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3)
    setup(relay_env)
    relay_env.worker()  # a second claimer races the first for the scheduled deploy

    out = _ok(relay_env, "deploy", "blog", "--at", "+2s")
    match = re.fullmatch(r"scheduled (sd-[0-9a-f]+): blog deploys at (.+ UTC)\n", out)
    assert match, out
    deploy_id = match[1]
    rows = cli_json(relay_env, "scheduled")["scheduled"]
    assert [(r["id"], r["status"]) for r in rows] == [(deploy_id, "scheduled")]

    built = trigger(relay_env, "success")
    assert built["created_at"] >= rows[0]["at"]
    fired = cli_json(relay_env, "scheduled")["scheduled"]
    assert [(r["id"], r["status"]) for r in fired] == [(deploy_id, "fired")]
    assert len(fake_api.create_calls("blog")) == 1
    assert len(_triggers(relay_env)) == 1

    usage = cli(relay_env, "deploy", "blog", "--at", "+1h", "--now")
    assert usage.returncode == 2 and "--at" in usage.stderr
    bad = cli(relay_env, "deploy", "blog", "--at", "2026-12-24T18:00:00")
    assert bad.returncode == 2 and "time zone" in bad.stderr


def test_a_cancelled_scheduled_deploy_does_not_fire(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3)
    target = {"project": "blog", "branch": "main", "debounce": "0.3s"}
    relay_env.write({"targets": {"blog": target}, "hooks": _hook("blog")})
    # no worker yet, so nothing fires before the cancel, however slow this machine is
    dropped = cli_json(relay_env, "deploy", "blog", "--at", "+1s")["scheduled"]
    later = cli_json(relay_env, "deploy", "blog", "--at", "+2s")["scheduled"]
    listed = _ok(relay_env, "scheduled").splitlines()
    assert listed[0].split() == ["ID", "TARGET", "WHEN", "STATUS", "FIRED"]
    assert [line.split()[0] for line in listed[1:]] == [dropped["id"], later["id"]]

    cancelled = _ok(relay_env, "scheduled", "--cancel", dropped["id"])
    assert cancelled.startswith(f"cancelled {dropped['id']}: blog at ")
    assert _refused(relay_env, "scheduled", "--cancel", dropped["id"]) == (
        f"relay: no scheduled deploy {dropped['id']} waiting to fire"
    )
    assert _refused(relay_env, "scheduled", "--cancel", "sd-nope") == (
        "relay: no scheduled deploy sd-nope waiting to fire"
    )
    relay_env.worker()

    def fired() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = cli_json(relay_env, "scheduled")["scheduled"]
        return rows if any(r["status"] == "fired" for r in rows) else None

    rows = {r["id"]: r["status"] for r in wait_for(fired, what="the later deploy to fire")}
    # the later one fired after the cancelled one's time had passed: that one never did
    assert rows == {dropped["id"]: "cancelled", later["id"]: "fired"}
    trigger(relay_env, "success")
    assert len(fake_api.create_calls("blog")) == 1


# -- build logs ------------------------------------------------------------------------------


def test_logs_of_a_failed_pages_build(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    fake_api.set_build(duration=0.3, outcome="failure")
    setup(relay_env)
    _ok(relay_env, "deploy", "blog", "--now")
    failed = trigger(relay_env, "failure")

    out = _ok(relay_env, "logs", failed["id"]).splitlines()
    assert out and all(LOG_LINE.match(line) for line in out), out
    assert out[-1].endswith("  Failed: error occurred during build")

    doc = cli_json(relay_env, "logs", failed["deployment_id"])  # the platform's id works too
    assert doc["target"] == "blog" and doc["build_id"] == failed["deployment_id"]
    assert doc["trigger"] == failed["id"]
    assert doc["lines"][-1]["text"] == "Failed: error occurred during build"
    assert [line["text"] for line in doc["lines"]] == [line.split("  ", 1)[1] for line in out]


def test_logs_of_a_workers_build(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_worker("my-app")
    lines = ["Cloning repository...", "Running build command: npm run build", "Deployed my-app"]
    fake_api.set_worker_build(duration=0.3, log_lines=lines)
    _worker_target(relay_env)
    relay_env.serve()
    relay_env.worker()
    _ok(relay_env, "deploy", "app", "--now")
    built = trigger(relay_env, "success")

    out = _ok(relay_env, "logs", built["id"]).splitlines()
    assert [line.split("  ", 1)[1] for line in out] == lines
    assert all(LOG_LINE.match(line) for line in out)
    doc = cli_json(relay_env, "logs", built["deployment_id"], "--target", "app")
    assert [line["text"] for line in doc["lines"]] == lines
    unknown = _refused(relay_env, "logs", "00000000-0000-4000-8000-000000000000")
    assert unknown.startswith("relay: HTTP 404")
    assert TOKEN not in unknown


# -- rollback --------------------------------------------------------------------------------


def test_rollback_makes_the_previous_production_deployment_live(
    relay_env: RelayEnv, fake_api: FakeCloudflare, pages: Pages
) -> None:
    fake_api.add_project("blog")
    (older,) = fake_api.seed_deployments(
        "blog", [{"branch": "main", "created_on": "2026-01-01T00:00:00Z"}]
    )
    fake_api.set_build(duration=0.3)
    setup(relay_env)
    _ok(relay_env, "deploy", "blog", "--now")
    built = trigger(relay_env, "success")
    assert pages.get_project("blog")["canonical_deployment"]["id"] == built["deployment_id"]

    out = _ok(relay_env, "rollback", "blog")
    match = re.fullmatch(
        rf"blog: rolled back to deployment {older['id']} \((\S+)\); recorded as trigger (\S+)\n",
        out,
    )
    assert match, out
    assert pages.get_project("blog")["canonical_deployment"]["id"] == older["id"]
    rows = _triggers(relay_env)
    rolled = next(r for r in rows if r["id"] == match[2])
    assert rolled["kind"] == "rollback" and rolled["status"] == "success"
    assert rolled["deployment_id"] == older["id"] and rolled["url"] == match[1]
    assert match[2] in _ok(relay_env, "deployments")
    assert len(fake_api.create_calls("blog")) == 1  # a rollback builds nothing

    # back to the newer one by id, as JSON
    doc = cli_json(relay_env, "rollback", "blog", "--to", built["deployment_id"])
    assert doc["deployment_id"] == built["deployment_id"] and doc["trigger"]["kind"] == "rollback"
    assert pages.get_project("blog")["canonical_deployment"]["id"] == built["deployment_id"]


def test_rollback_of_a_worker_target_is_refused(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_worker("my-app")
    _worker_target(relay_env)
    for args in (("rollback", "app"), ("rollback", "app", "--json")):
        reason = _refused(relay_env, *args)
        assert reason == (
            "relay: app: rollback is for Pages projects; roll a Worker back with "
            "`wrangler rollback`"
        )
    assert _refused(relay_env, "rollback", "nope") == "relay: unknown target 'nope'"
    assert fake_api.build_calls("my-app") == []


def test_rollback_in_dry_run_does_nothing(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    relay_env.write(
        {
            "relay": {"dry_run": True},
            "targets": {"blog": {"project": "blog", "branch": "main"}},
            "hooks": _hook("blog"),
        }
    )
    reason = _refused(relay_env, "rollback", "blog")
    assert reason == "relay: blog: relay.dry_run is on: nothing rolled back"
    assert fake_api.calls() == []


# -- relay check -----------------------------------------------------------------------------


def test_check_names_a_missing_workers_trigger_budgets_and_pauses(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog")
    fake_api.add_worker("my-app", connected=False)  # no Workers Builds triggers at all
    relay_env.write(
        {
            "cloudflare": {"budget_builds": "500/month"},
            "targets": {
                "blog": {"project": "blog", "branch": "main", "budget": "20/day"},
                "app": {"worker": "my-app", "branch": "main"},
            },
            "hooks": _hook("blog", "app"),
        }
    )
    _ok(relay_env, "pause", "blog", "--reason", "freeze")

    result = cli(relay_env, "check")
    assert result.returncode == 1
    assert (
        "error: targets.app: Worker 'my-app' has no Workers Builds trigger for branch 'main' "
        "(add one under Settings → Builds)"
    ) in result.stderr.splitlines()
    assert "  blog: pages, Pages project blog branch main; checked on Cloudflare: ok" in (
        result.stdout.splitlines()
    )
    assert "  app: workers, Worker my-app branch main; checked on Cloudflare, 1 problem(s)" in (
        result.stdout.splitlines()
    )
    assert "  blog: 0 of 20/day builds used" in result.stdout.splitlines()
    assert "  all targets: 0 of 500/month builds used" in result.stdout.splitlines()
    assert "warning: blog is paused until resumed (freeze): its builds wait" in result.stderr
    assert TOKEN not in result.stdout + result.stderr

    offline = cli(relay_env, "check", "--offline")
    assert "  app: workers, Worker my-app branch main; not checked (--offline)" in (
        offline.stdout.splitlines()
    )
    assert "Workers Builds trigger" not in offline.stderr
