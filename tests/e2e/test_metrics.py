"""GET /metrics: valid Prometheus text, shared totals read from Redis at scrape time (so every
receiver replica reports the same), this process's own histograms, and no secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from relay.core import keys
from tests.helpers import paths
from tests.helpers.app_server import ADMIN, HOOK_URL_SECRET, AppServer, Records, make_settings
from tests.helpers.senders import SECRET

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(app: AppServer) -> Samples:
    answer = httpx.get(app.url + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    for secret in (SECRET, ADMIN, HOOK_URL_SECRET, "s3cr3t-hook"):
        assert secret not in answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


@pytest.fixture
def app(redis_url: str) -> Iterator[AppServer]:
    with AppServer(make_settings(redis_url)) as server:
        yield server


def test_deliveries_are_counted_across_replicas(app: AppServer, redis_url: str) -> None:
    with AppServer(make_settings(redis_url)) as other:
        assert app.send("cms", b'{"a": 1}').status_code == 202
        assert other.send("cms", b'{"a": 2}').status_code == 202
        assert other.send("cms", b'{"a": 2}').status_code == 200  # the same content again
        assert app.send("cms", b'{"a": 3}', secret="nope").status_code == 401
        for replica in (app, other):
            samples = scrape(replica)
            total = "relay_deliveries_total"
            assert samples[(total, (("hook", "cms"), ("outcome", "accepted")))] == 2
            assert samples[(total, (("hook", "cms"), ("outcome", "duplicate")))] == 1
            assert samples[(total, (("hook", "cms"), ("outcome", "rejected")))] == 1
        # this process's own metrics (both test replicas run in this one process)
        own = scrape(app)
        assert own[("relay_process_deliveries_total", (("hook", "cms"), ("outcome", "accepted")))]
        assert own[("relay_ingest_seconds_count", ())] >= 3


def test_debounce_builds_and_coalescing(app: AppServer, rclient: redis.Redis) -> None:
    records = Records(rclient, app.settings)
    records.succeed("blog", deliveries="10")
    records.succeed("blog", deliveries="20")
    records.fail("docs")
    for i in range(4):
        assert app.send("cms", json.dumps({"i": i}).encode()).status_code == 202
    samples = scrape(app)
    blog, docs = (("target", "blog"),), (("target", "docs"),)
    assert samples[("relay_pending_deliveries", blog)] == 4
    assert samples[("relay_pending_deliveries", docs)] == 0
    assert 25 < samples[("relay_debounce_due_seconds", blog)] <= 30
    assert samples[("relay_build_in_flight", blog)] == 0
    assert samples[("relay_triggers", (("status", "success"), ("target", "blog")))] == 2
    assert samples[("relay_triggers", (("status", "failed"), ("target", "docs")))] == 1
    assert samples[("relay_coalesced_deliveries", blog)] == 30
    assert samples[("relay_deliveries_per_build", blog)] == 15
    assert samples[("relay_failed_triggers", ())] == 1
    assert samples[("relay_queue_jobs", (("queue", "relay"), ("state", "queued")))] == 0
    assert samples[("relay_redis_up", ())] == 1
    assert samples[("relay_cloudflare_budget_limit", ())] == 1200


def test_worker_counters_are_exposed_once_written(app: AppServer, rclient: redis.Redis) -> None:
    """The layout proposed for the workers (relay.core.keys.BUILD_COUNTS, CLOUDFLARE_CALLS)."""
    assert not any(name.startswith("relay_builds") for name, _ in scrape(app))
    rclient.hset(keys.BUILD_COUNTS, mapping={"blog:success": 5, "blog:failed": 1})
    rclient.hset(
        keys.CLOUDFLARE_CALLS,
        mapping={"status:200": 9, "status:429": 2, "le:0.1": 3, "le:0.25": 8, "count": 11},
    )
    rclient.hset(keys.CLOUDFLARE_CALLS, "sum_ms", 2500)
    for bucket in ("0.5", "1.0", "2.5", "5.0", "10.0", "30.0"):
        rclient.hset(keys.CLOUDFLARE_CALLS, f"le:{bucket}", 11)
    samples = scrape(app)
    assert samples[("relay_builds_total", (("status", "success"), ("target", "blog")))] == 5
    assert samples[("relay_cloudflare_responses_total", (("status", "429"),))] == 2
    assert samples[("relay_cloudflare_request_seconds_bucket", (("le", "0.25"),))] == 8
    assert samples[("relay_cloudflare_request_seconds_count", ())] == 11
    assert samples[("relay_cloudflare_request_seconds_sum", ())] == 2.5


def test_metrics_need_no_admin_token(redis_url: str) -> None:
    with AppServer(make_settings(redis_url, admin=None)) as app:
        assert scrape(app)[("relay_redis_up", ())] == 1


def test_grafana_dashboard_and_docs_use_only_real_metrics(
    app: AppServer, rclient: redis.Redis
) -> None:
    rclient.hset(keys.BUILD_COUNTS, "blog:success", 1)
    rclient.hset(keys.CLOUDFLARE_CALLS, mapping={"status:200": 1, "count": 1})
    text = httpx.get(app.url + "/metrics").text
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    families = {
        f.name: f.type
        for f in text_string_to_metric_families(text)
        if not f.name.endswith("_created")  # prometheus_client's creation timestamps
    }
    exposed = {name + end for name, kind in families.items() for end in suffixes[kind]}
    docs = paths.DOCS
    dashboard = (docs / "grafana-dashboard.json").read_text()
    json.loads(dashboard)
    used = set(re.findall(r"\b(relay_[a-z_]+)", dashboard))
    assert used and used <= exposed, used - exposed
    documented = set(re.findall(r"`(relay_[a-z_]+)", (docs / "dashboard.md").read_text()))
    names = {name + ("_total" if kind == "counter" else "") for name, kind in families.items()}
    assert names <= documented, names - documented
