"""Filters: only what should build does; the rest is answered 200 {"ignored": …} and recorded."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers.relay_env import RelayEnv, cli_json
from tests.helpers.senders import SECRET, contentful_headers, github_headers


def _github(event: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    if event == "push":  # a push is taken as one only when its signed body is shaped like one
        body = {**body, "commits": []}
    raw = json.dumps(body).encode()
    headers = github_headers(raw) | {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": f"d-{event}-{body.get('ref')}",
    }
    return raw, headers


def test_filters_decide_what_builds(relay_env: RelayEnv) -> None:
    relay_env.write(
        {
            "targets": {"site": {"project": "site", "debounce": "1h", "max_wait": "1h"}},
            "hooks": {
                "gh": {
                    "provider": "github",
                    "secret": SECRET,
                    "targets": ["site"],
                    "filter": {"branches": ["main", "release/*"]},
                },
                "cms": {
                    "provider": "hmac-sha256",
                    "header": "X-Hub-Signature-256",
                    "prefix": "sha256=",
                    "secret": SECRET,
                    "targets": ["site"],
                    "filter": {
                        "match": [
                            {"header": "X-Env", "values": ["prod*"]},
                            {"json": "sys.type", "values": ["Entry", "Asset"]},
                        ]
                    },
                },
            },
        }
    )
    server = relay_env.serve()

    def post(hook: str, body: bytes, headers: dict[str, str]) -> Any:
        answer = server.post(f"/hooks/{hook}", content=body, headers=headers)
        assert answer.status_code in (200, 202), answer.text
        return answer.json()

    assert post("gh", *_github("push", {"ref": "refs/heads/main"}))["targets"] == ["site"]
    assert post("gh", *_github("push", {"ref": "refs/heads/release/2.0"}))["targets"] == ["site"]
    ignored = post("gh", *_github("push", {"ref": "refs/heads/feature/x"}))
    assert ignored["ignored"] == "branch feature/x is not one of main, release/*"
    ping = post("gh", *_github("ping", {"zen": "hi"}))
    assert "event ping is not one of push" in ping["ignored"]

    def entry(n: int) -> bytes:  # distinct bodies: an identical one would be a duplicate
        return json.dumps({"sys": {"type": "Entry", "n": n}}).encode()

    body = entry(1)
    assert "targets" in post("cms", body, github_headers(body) | {"X-Env": "production"})
    body = entry(2)
    staging = post("cms", body, github_headers(body) | {"X-Env": "staging"})
    assert staging["ignored"] == "header X-Env is 'staging', not one of prod*"
    other = json.dumps({"sys": {"type": "ContentType"}}).encode()
    wrong = post("cms", other, github_headers(other) | {"X-Env": "prod"})
    assert wrong["ignored"] == "body sys.type is 'ContentType', not one of Entry, Asset"
    body = entry(3)
    missing = post("cms", body, github_headers(body))
    assert missing["ignored"] == "header X-Env is missing"

    rows = cli_json(relay_env, "deliveries", "--limit", "20")["deliveries"]
    assert [r["outcome"] for r in rows].count("ignored") == 5
    assert [r["outcome"] for r in rows].count("accepted") == 3
    assert all(r["targets"] == [] for r in rows if r["outcome"] == "ignored")
    burst = cli_json(relay_env, "deliveries", "--hook", "gh")["deliveries"]
    assert {r["hook"] for r in burst} == {"gh"} and len(burst) == 4


def test_contentful_default_builds_only_on_publishing_topics(relay_env: RelayEnv) -> None:
    relay_env.write(
        {
            "targets": {"site": {"project": "site", "debounce": "1h", "max_wait": "1h"}},
            "hooks": {
                "cf": {
                    "provider": "contentful",
                    "secret": "c" * 64,
                    "targets": ["site"],
                    "tolerance": "5m",
                }
            },
        }
    )
    server = relay_env.serve()
    for topic, built in (
        ("ContentManagement.Entry.publish", True),
        ("ContentManagement.Entry.auto_save", False),
        ("ContentManagement.Asset.unpublish", True),
        ("ContentManagement.Entry.save", False),
        ("ContentManagement.Entry.archive", True),
    ):
        body = json.dumps({"sys": {"type": "Entry", "id": topic}}).encode()
        headers = contentful_headers(body, "c" * 64, "/hooks/cf", topic)
        answer = server.post("/hooks/cf", content=body, headers=headers)
        assert answer.status_code in (200, 202), answer.text
        assert ("targets" in answer.json()) is built, (topic, answer.json())
