"""A signed webhook in, one Pages deployment out, the result recorded: real processes only.

`relay serve` and `relay worker` run as subprocesses against a real redis-server and the fake
Pages API (a real HTTP server); the tests talk to them over HTTP and the CLI.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import stays, wait_for
from tests.helpers.relay_env import ACCOUNT, TOKEN, RelayEnv, cli_json, send
from tests.helpers.senders import SECRET, WHSEC, github_headers, standard_headers


def _target(project: str, **extra: Any) -> dict[str, Any]:
    return {"project": project, "branch": "staging", "debounce": "1.5s", "max_wait": "30s", **extra}


def _hook(targets: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "provider": "hmac-sha256",
        "header": "X-Hub-Signature-256",
        "prefix": "sha256=",
        "secret": SECRET,
        "targets": targets,
        **extra,
    }


def test_burst_of_50_is_one_build_after_the_quiet_period(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("blog", production_branch="main")
    fake_api.set_build(duration=0.5)
    relay_env.write({"targets": {"blog": _target("blog")}, "hooks": {"cms": _hook(["blog"])}})
    server = relay_env.serve()
    relay_env.worker()

    bodies = [json.dumps({"entry": i}).encode() for i in range(50)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: send(server.url, "cms", b), bodies))
    last_ack = time.time()
    assert [a.status_code for a in answers] == [202] * 50
    assert all(a.json()["targets"] == ["blog"] for a in answers)

    calls = wait_for(lambda: fake_api.create_calls("blog"), timeout=15, what="the build call")
    stays(lambda: len(fake_api.create_calls("blog")) == 1, duration=2.5, what="exactly one build")
    call = calls[0]
    assert call["time"] >= last_ack + 1.5 - 0.05, "built before the quiet period ended"
    assert call["time"] <= last_ack + 1.5 + 1.0, "built long after the quiet period"
    assert call["headers"]["authorization"] == f"Bearer {TOKEN}"
    assert call["headers"]["content-type"].startswith("multipart/form-data")
    assert call["form"] == {"branch": "staging"}
    assert f"/accounts/{ACCOUNT}/pages/projects/blog/deployments" in call["path"]

    def recorded() -> Any:
        rows = cli_json(relay_env, "deployments")["deployments"]
        return rows if rows and rows[0]["status"] == "success" else None

    rows = wait_for(recorded, timeout=15, what="the deployment recorded as success")
    assert len(rows) == 1
    row = rows[0]
    assert row["target"] == "blog" and row["deliveries"] == 50
    assert row["deployment_id"] and row["url"].startswith("https://")
    assert row["stage"] == "deploy" and row["stage_status"] == "success"

    deliveries = cli_json(relay_env, "deliveries", "--limit", "100")["deliveries"]
    assert len(deliveries) == 50 and {d["outcome"] for d in deliveries} == {"accepted"}


def test_continuous_stream_builds_at_max_wait(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    fake_api.add_project("docs")
    relay_env.write(
        {
            "targets": {"docs": _target("docs", debounce="1.5s", max_wait="3s")},
            "hooks": {"cms": _hook(["docs"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()

    first = time.time()
    assert send(server.url, "cms", b'{"n":0}').status_code == 202
    n = 1
    while not fake_api.create_calls("docs") and time.time() - first < 8:
        assert send(server.url, "cms", json.dumps({"n": n}).encode()).status_code == 202
        n += 1
        time.sleep(0.25)  # pacing the stream (load generation), not synchronisation
    calls = fake_api.create_calls("docs")
    assert len(calls) == 1, "the stream never paused, so only max_wait may trigger a build"
    assert 3.0 - 0.05 <= calls[0]["time"] - first <= 3.0 + 0.75


def test_three_workers_three_bursts_three_builds(
    relay_env: RelayEnv, fake_api: FakeCloudflare
) -> None:
    for name in ("one", "two", "three"):
        fake_api.add_project(name)
    relay_env.write(
        {
            "targets": {name: _target(name, debounce="1.5s") for name in ("one", "two", "three")},
            "hooks": {name: _hook([name]) for name in ("one", "two", "three")},
        }
    )
    server = relay_env.serve()
    for _ in range(3):
        relay_env.worker()

    def burst(name: str) -> list[int]:
        return [
            send(server.url, name, json.dumps({"i": i, "t": name}).encode()).status_code
            for i in range(20)
        ]

    with ThreadPoolExecutor(3) as pool:
        codes = list(pool.map(burst, ["one", "two", "three"]))
    assert all(c == [202] * 20 for c in codes)
    wait_for(lambda: len(fake_api.create_calls()) >= 3, timeout=15, what="three builds")
    stays(lambda: len(fake_api.create_calls()) == 3, duration=2.0, what="exactly three builds")
    assert sorted(c["project"] for c in fake_api.create_calls()) == ["one", "three", "two"]


def test_same_delivery_id_twice_counts_once(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("blog")
    relay_env.write(
        {
            "targets": {"blog": _target("blog", debounce="0.5s")},
            "hooks": {
                "svix": {"provider": "standard-webhooks", "secret": WHSEC, "targets": ["blog"]}
            },
        }
    )
    server = relay_env.serve()
    body = b'{"type":"entry.published"}'
    first = server.post("/hooks/svix", content=body, headers=standard_headers(body, "msg_1"))
    again = server.post("/hooks/svix", content=body, headers=standard_headers(body, "msg_1"))
    other = server.post("/hooks/svix", content=body, headers=standard_headers(body, "msg_2"))
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"delivery": first.json()["delivery"], "duplicate": True}
    assert other.status_code == 202

    relay_env.worker()
    rows = wait_for(
        lambda: cli_json(relay_env, "deployments")["deployments"], timeout=15, what="the trigger"
    )
    assert rows[0]["deliveries"] == 2
    outcomes = [d["outcome"] for d in cli_json(relay_env, "deliveries")["deliveries"]]
    assert sorted(outcomes) == ["accepted", "accepted", "duplicate"]


def test_deploy_hook_target(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    fake_api.add_project("site")
    hook_url = fake_api.add_deploy_hook("site", "preview")
    relay_env.env["SITE_HOOK"] = hook_url
    relay_env.write(
        {
            "targets": {"site": {"deploy_hook": "${SITE_HOOK}", "debounce": "0.3s"}},
            "hooks": {"cms": _hook(["site"])},
        }
    )
    server = relay_env.serve()
    relay_env.worker()
    for i in range(5):
        assert send(server.url, "cms", json.dumps({"i": i}).encode()).status_code == 202
    calls = wait_for(lambda: fake_api.create_calls("site"), timeout=15, what="the hook call")
    stays(lambda: len(fake_api.create_calls("site")) == 1, duration=1.0, what="one hook call")
    assert "/pages/webhooks/deploy_hooks/" in calls[0]["path"]
    assert "authorization" not in calls[0]["headers"], "deploy hooks take no credentials"
    rows = wait_for(
        lambda: cli_json(relay_env, "deployments")["deployments"], timeout=10, what="the record"
    )
    assert rows[0]["deployment_id"]
    assert hook_url not in json.dumps(rows), "the hook URL is a secret"
    hook_id = hook_url.rsplit("/", 1)[1]
    assert hook_id not in relay_env.logs(), "the hook URL must not reach the logs"


def test_rejections_and_limits(relay_env: RelayEnv, fake_api: FakeCloudflare) -> None:
    relay_env.write(
        {
            "targets": {"blog": _target("blog")},
            "hooks": {"cms": _hook(["blog"])},
            "server": {"max_body": 1000},
        }
    )
    server = relay_env.serve()
    body = b'{"a":1}'
    assert server.post("/hooks/nope", content=body).status_code == 404
    bad = server.post("/hooks/cms", content=body, headers=github_headers(body, "wrong"))
    assert bad.status_code == 401 and "does not match" in bad.json()["error"]
    assert SECRET not in bad.text
    missing = server.post("/hooks/cms", content=body)
    assert missing.status_code == 401 and "X-Hub-Signature-256" in missing.json()["error"]
    big = b"x" * 1001
    assert server.post("/hooks/cms", content=big, headers=github_headers(big)).status_code == 413
    assert httpx.get(server.url + "/hooks/cms").status_code == 405
    # what the webhook path ahead of the router does not take is the router's, as before
    assert server.post("/hooks/cms/extra", content=body).status_code == 404
    assert server.post("/hooks/", content=body).status_code == 404
    assert server.post("/hooks/nope", content=body).json() == {"error": "unknown hook 'nope'"}
    assert missing.headers["content-type"] == "application/json"
    genuine = server.post("/hooks/cms", content=body, headers=github_headers(body))
    assert genuine.status_code == 202, "a forged copy must not make the real one a duplicate"
    rows = cli_json(relay_env, "deliveries")["deliveries"]
    assert [r["outcome"] for r in rows] == ["accepted", "rejected", "rejected"]
    assert "X-Hub-Signature-256" in rows[1]["reason"]
    assert SECRET not in json.dumps(rows)
